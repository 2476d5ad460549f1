"""Vectorized scoring of complete responses with numpy; agrees with score() row by row."""

from __future__ import annotations

import numpy as np

from .errors import AnswerError
from .model import INTERNATIONAL, RISK_LEVELS, risk_rank
from .scoring import _resolve


def score_batch(scale_or_code, answers, registry=None, profile=None) -> dict:
    """Score an (n, item_count) integer array of complete responses, banded with a cut-off profile.

    Returns {"total", "band_index", "risk_index", "positive"} as numpy arrays plus "bands" (band codes,
    so bands[band_index] is the band), "risk_levels" (RISK_LEVELS) and "profile". "positive" is the
    profile's threshold applied to the total (scoring.apply_profile has the rules). Missing answers
    cannot be expressed in an integer array: score such rows with score().
    """
    scale = _resolve(scale_or_code, registry)
    chosen = scale.profile(profile) if profile not in (None, INTERNATIONAL) else scale.international_profile
    a = np.asarray(answers)
    if a.ndim != 2 or a.shape[1] != scale.item_count:
        raise AnswerError(f"{scale.code}: expected an array of shape (n, {scale.item_count}), "
                          f"got {a.shape}")
    if a.dtype.kind not in "iu":
        raise AnswerError(f"{scale.code}: answers must be an integer array, got dtype {a.dtype}")
    n = a.shape[0]
    for item in scale.items:
        col = a[:, item.number - 1]
        if n and (col.min() < item.min_value or col.max() > item.max_value):
            bad = int(np.flatnonzero((col < item.min_value) | (col > item.max_value))[0])
            raise AnswerError(f"{scale.code} row {bad} item {item.number}: answer "
                              f"{int(col[bad])} is out of range {item.min_value}-{item.max_value}",
                              item=item.number)
    a = a.astype(np.int64, copy=False)

    def scored(number):
        item = scale.items[number - 1]
        col = a[:, number - 1]
        if number in scale.reversed_items:
            return (item.min_value + item.max_value) - col
        return col

    raw = np.zeros(n, dtype=np.int64)
    for number in scale.scored_items:
        raw += scored(number)
    if scale.transform:
        total = np.floor(raw * scale.transform["multiply"]).astype(np.int64)
    else:
        total = raw

    # Band lookup: ranged bands sorted by min, mapped back to their index in file order.
    ranged = sorted((i for i, b in enumerate(scale.bands) if b.min is not None),
                    key=lambda i: scale.bands[i].min)
    mins = np.array([scale.bands[i].min for i in ranged], dtype=np.int64)
    to_file_index = np.array(ranged, dtype=np.int64)
    band_index = to_file_index[np.searchsorted(mins, total, side="right") - 1]
    band_risk = np.array([risk_rank(b.risk) for b in scale.bands], dtype=np.int64)
    risk_index = band_risk[band_index]

    subscale_positive = None
    for rule in scale.rules:
        when = rule.when
        if "item" in when:
            col = a[:, when["item"] - 1]
            mask = col == when["equals"] if "equals" in when else col >= when["at_least"]
        elif "items_at_least" in when:
            count = np.zeros(n, dtype=np.int64)
            for number in scale.scored_items:
                count += scored(number) >= when["items_at_least"]
            mask = count > when["count_more_than"]
        else:  # any_subscale_positive
            if subscale_positive is None:
                subscale_positive = np.zeros(n, dtype=bool)
                for s in scale.subscale_defs:
                    if s.at_least is None:
                        continue
                    ssum = np.zeros(n, dtype=np.int64)
                    for number in s.items:
                        ssum += scored(number)
                    value = ssum / len(s.items) if s.method == "mean" else ssum
                    subscale_positive |= value >= s.at_least
            mask = subscale_positive
        if rule.band_at_least:
            target = scale.band_index(rule.band_at_least)
            band_index = np.where(mask, np.maximum(band_index, target), band_index)
        if rule.risk:
            risk_index = np.where(mask, np.maximum(risk_index, risk_rank(rule.risk)), risk_index)
    risk_index = np.maximum(risk_index, band_risk[band_index])
    positive = (total >= chosen.at_least if chosen.at_least is not None else total <= chosen.at_most) \
        if chosen is not None else np.zeros(n, dtype=bool)
    if chosen is not None and chosen.code != INTERNATIONAL:
        if scale.two_bands:
            band_index = np.where(positive, np.maximum(band_index, 1), band_index)
        risk_index = np.where(positive, np.maximum(risk_index, risk_rank(scale.positive_band.risk)), risk_index)
    return {"total": total, "band_index": band_index, "risk_index": risk_index, "positive": positive,
            "bands": [b.code for b in scale.bands], "risk_levels": list(RISK_LEVELS),
            "profile": chosen.code if chosen is not None else INTERNATIONAL}
