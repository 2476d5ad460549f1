"""Reliable change between two screenings (Jacobson & Truax 1991)."""

from __future__ import annotations

import math

from .scoring import _resolve

Z_95 = 1.96


def reliable_change(scale_or_code, before_total, after_total, sd=None, reliability=None,
                    registry=None):
    """Jacobson–Truax reliable change index, or None when no SD/reliability is known.

    SEM = SD·√(1−r); S_diff = √2·SEM; RCI = (after − before) / S_diff; |RCI| > 1.96 is a
    reliable change (p < .05). SD and r default to the scale file's sourced values; a
    scale without them (and no values passed) returns None rather than invented numbers.
    For scales where a higher total is better (WHO-5) a rise is an improvement.
    """
    scale = _resolve(scale_or_code, registry)
    defaults = scale.reliable_change or {}
    sd = defaults.get("sd") if sd is None else sd
    reliability = defaults.get("reliability") if reliability is None else reliability
    if sd is None or reliability is None:
        return None
    for name, value in (("before_total", before_total), ("after_total", after_total)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
    if sd <= 0 or not 0 <= reliability < 1:
        raise ValueError("sd must be > 0 and reliability in [0, 1)")
    sem = sd * math.sqrt(1 - reliability)
    s_diff = math.sqrt(2) * sem
    rci = (after_total - before_total) / s_diff
    if abs(rci) <= Z_95:
        judgement = "no_reliable_change"
    else:
        worse = rci > 0 if not scale.higher_is_better else rci < 0
        judgement = "reliable_deterioration" if worse else "reliable_improvement"
    return {"rci": rci, "threshold_points": Z_95 * s_diff, "sd": float(sd),
            "reliability": float(reliability), "judgement": judgement}
