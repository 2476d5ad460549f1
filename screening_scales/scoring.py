"""Score one response: total, band, risk, flags and subscales, following each scale's rules.

Missing-answer policy (issue 3): a missing ordinary item is an AnswerError naming the
item; a missing critical item (PHQ-9/PHQ-A item 9, the PHQ-A suicide questions, any ASQ
question) is unresolved risk and is reported, never raised, so that it cannot be lost.
If a response has both a missing ordinary item and a danger signal (a critical answer or
a missing critical item), it is also reported rather than raised: total and band are
None where they cannot be computed and the flag 'incomplete' is added.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .errors import AnswerError
from .model import INTERNATIONAL, RISK_LEVELS, CutoffProfile, Scale, risk_rank


@dataclass(frozen=True)
class ScoreResult:
    scale: str
    version: str
    total: int | None
    band: str | None
    risk: str
    flags: tuple = ()
    subscales: dict = field(default_factory=dict)
    profile: str = INTERNATIONAL  # the cut-off profile the result was banded with

    def to_dict(self) -> dict:
        return {"scale": self.scale, "version": self.version, "total": self.total,
                "band": self.band, "risk": self.risk, "flags": list(self.flags),
                "subscales": {k: (dict(v) if isinstance(v, dict) else v)
                              for k, v in self.subscales.items()},
                "profile": self.profile}


def _resolve(scale_or_code, registry):
    if isinstance(scale_or_code, Scale):
        return scale_or_code
    if registry is None:
        from .loader import default_registry
        registry = default_registry()
    return registry.get(scale_or_code)


def _check_answers(scale: Scale, answers) -> list:
    """Validate type, count and range; pad omitted trailing optional/conditional items with None."""
    if isinstance(answers, (str, bytes)) or not hasattr(answers, "__len__"):
        raise AnswerError(f"{scale.code}: answers must be a list of integers or None")
    answers = list(answers)
    n, omittable_tail = scale.item_count, scale.omittable_tail
    if not n - omittable_tail <= len(answers) <= n:
        expected = str(n) if not omittable_tail else f"{n - omittable_tail} to {n}"
        raise AnswerError(f"{scale.code}: expected {expected} answers, got {len(answers)}")
    answers += [None] * (n - len(answers))
    for item, value in zip(scale.items, answers):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            # numpy integers are accepted; floats/strings are not (never coerce).
            if type(value).__module__ == "numpy" and hasattr(value, "dtype") and value.dtype.kind in "iu":
                value = int(value)
                answers[item.number - 1] = value
            else:
                raise AnswerError(f"{scale.code} item {item.number}: answer must be an integer, "
                                  f"got {value!r}", item=item.number)
        if value not in item.values:
            raise AnswerError(f"{scale.code} item {item.number}: answer {value} is out of range "
                              f"{item.min_value}-{item.max_value}", item=item.number)
    return answers


def _asked(item, answers) -> bool | None:
    """Whether a conditional item should have been asked: True, False, or None if unknown."""
    if not item.asked_if:
        return True
    cond = [answers[n - 1] for n in item.asked_if["any_of"]]
    if any(v == item.asked_if["equals"] for v in cond):
        return True
    if any(v is None for v in cond):
        return None
    return False


def item_score(scale: Scale, number: int, value: int) -> int:
    item = scale.items[number - 1]
    if number in scale.reversed_items:
        return item.min_value + item.max_value - value
    return value


def transform_total(scale: Scale, raw: int) -> int:
    if scale.transform:
        return math.floor(raw * scale.transform["multiply"])
    return raw


def band_for_total(scale: Scale, total: int):
    for b in scale.bands:
        if b.min is not None and b.min <= total <= b.max:
            return b
    raise AssertionError(f"{scale.code}: total {total} in no band (validated loader should prevent this)")


def _subscales(scale: Scale, answers) -> dict:
    out = {}
    for s in scale.subscale_defs:
        vals = [item_score(scale, n, answers[n - 1]) for n in s.items]
        if s.method == "mean":
            score = round(sum(vals) / len(vals), 2)
            positive_value = sum(vals) / len(vals)
        else:
            score = positive_value = sum(vals)
        entry = {"score": score}
        if s.at_least is not None:
            entry["positive"] = bool(positive_value >= s.at_least)
        out[s.code] = entry
    return out


def _rule_fires(scale: Scale, when: dict, answers, subscales) -> bool:
    if "item" in when:
        v = answers[when["item"] - 1]
        if v is None:
            return False
        if "equals" in when:
            return v == when["equals"]
        return v >= when["at_least"]
    if "items_at_least" in when:
        if any(answers[n - 1] is None for n in scale.scored_items):
            return False
        count = sum(1 for n in scale.scored_items
                    if item_score(scale, n, answers[n - 1]) >= when["items_at_least"])
        return count > when["count_more_than"]
    if "any_subscale_positive" in when:
        return any(v.get("positive") for v in subscales.values() if isinstance(v, dict))
    return False


def score(scale_or_code, answers, registry=None, profile=None) -> ScoreResult:
    """Score one response given in item order as option values (None = missing), banded with the named cut-off
    profile (None: the international bands)."""
    scale = _resolve(scale_or_code, registry)
    chosen = scale.profile(profile) if profile not in (None, INTERNATIONAL) else None  # unknown: raise first
    result = _score_international(scale, answers)
    return apply_profile(scale, result, chosen) if chosen is not None else result


# A positive screen by a profile's threshold (set only under a profile other than the international one).
CUTOFF_POSITIVE = "cutoff_positive"


def apply_profile(scale: Scale, result: ScoreResult, profile) -> ScoreResult:
    """Re-band an international result with a cut-off profile (a CutoffProfile or its code).

    A profile only ever adds positive screens (the loader refuses one that would remove any): a total on its
    positive side gets at least the risk the international bands give a positive screen (moderate for every
    shipped scale) and the flag `cutoff_positive`; on a negative/positive scale the band becomes the positive one,
    on a scale with severity bands the band (the instrument's own severity label) stays. Nothing is ever lowered,
    so critical answers, rules and unanswered risk questions keep what they set. Without a total the profile
    cannot judge and the result keeps its international banding.
    """
    if result.profile != INTERNATIONAL:
        raise ValueError(f"{result.scale}: re-band the international result, not one banded with {result.profile}")
    if profile in (None, INTERNATIONAL):
        return result
    if not isinstance(profile, CutoffProfile):
        profile = scale.profile(profile)
    if profile.code == INTERNATIONAL:
        return result
    band, risk, flags = result.band, result.risk, result.flags
    if profile.is_positive(result.total):
        positive = scale.positive_band
        if scale.two_bands and band == scale.bands[0].code:
            band = positive.code
        if risk_rank(positive.risk) > risk_rank(risk):
            risk = positive.risk
        flags = flags + (CUTOFF_POSITIVE,)
    # Built directly: dataclasses.replace() costs as much again, and this runs for every stored submission.
    return ScoreResult(result.scale, result.version, result.total, band, risk, flags, result.subscales, profile.code)


def _score_international(scale: Scale, answers) -> ScoreResult:
    answers = _check_answers(scale, answers)

    missing_critical, missing_ordinary = [], []
    for item in scale.items:
        if answers[item.number - 1] is not None:
            continue
        asked = _asked(item, answers)
        if item.number in scale.critical_items and asked is not False:
            missing_critical.append(item.number)
        elif item.optional or asked is False or (asked is None and item.asked_if):
            continue
        else:
            missing_ordinary.append(item.number)

    complete = all(answers[n - 1] is not None for n in scale.scored_items)
    total = None
    subscales = {}
    if complete:
        raw = sum(item_score(scale, n, answers[n - 1]) for n in scale.scored_items)
        total = transform_total(scale, raw)
        subscales = _subscales(scale, answers)
        if scale.transform:
            subscales["raw"] = raw
        for name, spec in scale.derived.items():
            subscales[name] = total * spec["multiply"]

    band = band_for_total(scale, total) if total is not None else None
    if band is None and missing_critical and scale.unanswered_band:
        band = scale.band(scale.unanswered_band)  # e.g. ASQ: a refusal counts as positive
    risk = band.risk if band is not None else "low"
    rule_flags = []
    for rule in scale.rules:
        if not _rule_fires(scale, rule.when, answers, subscales):
            continue
        if rule.risk and risk_rank(rule.risk) > risk_rank(risk):
            risk = rule.risk
        if rule.band_at_least:
            target = scale.band(rule.band_at_least)
            if band is None or scale.band_index(target.code) > scale.band_index(band.code):
                band = target
                if risk_rank(band.risk) > risk_rank(risk):
                    risk = band.risk
        rule_flags.extend(rule.flags)
    if band is not None and risk_rank(band.risk) > risk_rank(risk):
        risk = band.risk

    flags = list(band.flags) if band is not None else []
    flags += rule_flags
    if missing_critical:
        flags.append("risk_item_unanswered")
        if risk_rank(risk) < risk_rank("high"):
            risk = "high"
    if missing_ordinary:
        if not missing_critical and risk_rank(risk) < risk_rank("high"):
            first = missing_ordinary[0]
            raise AnswerError(f"{scale.code} item {first}: answer is missing"
                              + (f" (also items {', '.join(map(str, missing_ordinary[1:]))})"
                                 if len(missing_ordinary) > 1 else ""), item=first)
        flags.append("incomplete")
    return ScoreResult(scale.code, scale.version, total, band.code if band else None, risk,
                       tuple(dict.fromkeys(flags)), subscales)


# Any sign of suicide risk, or a suicide question left open, shows the student the crisis resources:
# showing them once too often costs little; missing them once can cost a life.
CRISIS_FLAGS = frozenset({
    "suicidal_ideation", "recent_suicidal_thoughts", "past_suicide_attempt",
    "suicide_risk", "acute_suicide_risk", "risk_item_unanswered",
})


def needs_crisis_resources(risk: str | None, flags) -> bool:
    """Whether the student page must show crisis resources for a result of this risk and these flags: risk
    'critical', or any crisis flag (e.g. an ASQ positive, a past attempt on PHQ-A at risk 'high', an
    unanswered suicide question)."""
    return risk == "critical" or not CRISIS_FLAGS.isdisjoint(flags or ())


def shows_crisis_resources(result: ScoreResult) -> bool:
    return needs_crisis_resources(result.risk, result.flags)


__all__ = ["CRISIS_FLAGS", "CUTOFF_POSITIVE", "ScoreResult", "apply_profile", "needs_crisis_resources", "score",
           "shows_crisis_resources", "RISK_LEVELS"]
