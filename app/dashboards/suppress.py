"""Small-cell suppression: no published figure may rest on fewer than 5 students (DESIGN.md, access rules).

Every aggregate on a dashboard, in a CSV/XLSX export and in a PDF passes through this module.
"""
SUPPRESSED = "<5"
MIN_CELL = 5


def suppress(n):
    """A count, or "<5" when it counts 1 to 4 students (0 is shown: it identifies no one)."""
    if n is None:
        return None
    return SUPPRESSED if 0 < n < MIN_CELL else n


def is_suppressed(value) -> bool:
    return value == SUPPRESSED


def rate(numerator, denominator, digits=1):
    """A percentage, suppressed when the denominator is under 5 students or the numerator counts 1 to 4
    (a rate and its denominator give back the count). None when there is nothing to divide."""
    if not denominator:
        return None
    if denominator < MIN_CELL or 0 < numerator < MIN_CELL:
        return SUPPRESSED
    return round(100.0 * numerator / denominator, digits)


def suppress_row(counts):
    """Suppress a row of counts whose total is published: 1–4 become "<5", and when exactly one cell is
    suppressed the next smallest non-zero cell is suppressed too, so the total cannot give it back."""
    shown = [suppress(n) for n in counts]
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
    if values_count < MIN_CELL:
        return SUPPRESSED
    return round(float(value), digits)
