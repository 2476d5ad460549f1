"""Response-quality checks. They describe the response and never change its risk."""

from __future__ import annotations

from .scoring import _check_answers, _resolve


def quality_flags(scale_or_code, answers, seconds_taken=None, registry=None) -> list:
    """Return quality flags: 'too_fast', 'straight_lining'.

    too_fast: seconds_taken below the scale file's quality.min_seconds (a configurable
    plausibility floor, about 1 s per item; see each file's quality.basis).
    straight_lining: every answered item has the same value on a scale with reversed
    items, where identical answers contradict each other.
    """
    scale = _resolve(scale_or_code, registry)
    answers = _check_answers(scale, answers)
    flags = []
    min_seconds = scale.quality.get("min_seconds")
    if seconds_taken is not None and min_seconds is not None and seconds_taken < min_seconds:
        flags.append("too_fast")
    if scale.has_reversed_items:
        given = [answers[n - 1] for n in scale.scored_items if answers[n - 1] is not None]
        if len(given) == len(scale.scored_items) and len(set(given)) == 1:
            flags.append("straight_lining")
    return flags
