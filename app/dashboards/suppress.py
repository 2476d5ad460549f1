"""Small-cell suppression: no published figure may rest on fewer than 5 students (DESIGN.md, access rules).

Every aggregate on a dashboard, in a CSV/XLSX export and in a PDF passes through this module.

Suppression protects students from a reader who cannot see them. A psychology teacher looking at her own school's
figures sees every name behind them a click away (the drill-down lists them): "<5" there only hides the numbers
she works with. So a view whose reader may see every student counted (policy.sees_every_student_counted) builds
its figures inside `every_count_shown()`; everything else (district pages, doctors' views of partner schools, every
CSV/XLSX that can leave the school) stays suppressed, which is also the default.
"""
from contextlib import contextmanager
from contextvars import ContextVar

SUPPRESSED = "<5"
MIN_CELL = 5
_every_count_shown = ContextVar("every_count_shown", default=False)


@contextmanager
def every_count_shown(shown: bool = True):
    """Within this block, counts and rates are shown as they are (only when `shown`, so a view can pass the
    policy's answer straight in)."""
    token = _every_count_shown.set(bool(shown))
    try:
        yield
    finally:
        _every_count_shown.reset(token)


def counts_suppressed() -> bool:
    """Whether figures built now show "<5" (for the note that explains it)."""
    return not _every_count_shown.get()


def suppress(n):
    """A count, or "<5" when it counts 1 to 4 students (0 is shown: it identifies no one)."""
    if n is None:
        return None
    if _every_count_shown.get():
        return n
    return SUPPRESSED if 0 < n < MIN_CELL else n


def is_suppressed(value) -> bool:
    return value == SUPPRESSED


def rate(numerator, denominator, digits=1):
    """A percentage, suppressed when the denominator is under 5 students or the numerator counts 1 to 4
    (a rate and its denominator give back the count). None when there is nothing to divide."""
    if not denominator:
        return None
    if _every_count_shown.get():
        return round(100.0 * numerator / denominator, digits)
    if denominator < MIN_CELL or 0 < numerator < MIN_CELL:
        return SUPPRESSED
    return round(100.0 * numerator / denominator, digits)


def suppress_row(counts):
    """Suppress a row of counts whose total is published: 1–4 become "<5", and when exactly one cell is
    suppressed the next smallest non-zero cell is suppressed too, so the total cannot give it back."""
    shown = [suppress(n) for n in counts]
    if _every_count_shown.get():
        return shown
    hidden = [i for i, v in enumerate(shown) if is_suppressed(v)]
    if len(hidden) == 1:
        candidates = [i for i, n in enumerate(counts) if n and i not in hidden]
        if candidates:
            shown[min(candidates, key=lambda i: counts[i])] = SUPPRESSED
    return shown


def statistic(values_count, value, digits=1):
    """A median or percentile over `values_count` events: suppressed under 5."""
    if not values_count:
        return None
    if values_count < MIN_CELL and not _every_count_shown.get():
        return SUPPRESSED
    return round(float(value), digits)
