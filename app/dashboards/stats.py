"""numpy helpers for the dashboards: percentiles, rates and trends over arrays fetched from the database."""
import numpy as np

from app.dashboards.suppress import statistic


def hours_between(starts, ends):
    """Elapsed hours between two sequences of aware datetimes (pairs with a missing end are dropped)."""
    pairs = [(s, e) for s, e in zip(starts, ends) if s is not None and e is not None]
    if not pairs:
        return np.empty(0)
    return np.array([(e - s).total_seconds() / 3600.0 for s, e in pairs])


def median_p90(hours):
    """(median, 90th percentile) of a numpy array of hours, each suppressed under 5 events."""
    hours = np.asarray(hours, dtype=float)
    if hours.size == 0:
        return None, None
    median, p90 = np.percentile(hours, [50, 90], method="linear")
    return statistic(hours.size, median, 2), statistic(hours.size, p90, 2)


def trend(xs, ys):
    """Least-squares slope and intercept of ys over xs (numbers); None with fewer than 2 points."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if xs.size < 2 or np.ptp(xs) == 0:
        return None
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(slope), float(intercept)


def trend_word(slope, tolerance=0.5):
    """'rising' / 'falling' / 'stable' for a slope in percentage points per campaign."""
    if slope is None:
        return None
    if slope > tolerance:
        return "rising"
    if slope < -tolerance:
        return "falling"
    return "stable"


def group_counts(keys, weights=None):
    """Counts per distinct key (numpy unique): {key: count}."""
    if len(keys) == 0:
        return {}
    arr = np.asarray(keys)
    uniq, inverse = np.unique(arr, return_inverse=True, axis=0 if arr.ndim > 1 else None)
    sums = np.bincount(inverse.ravel(), weights=weights)
    return {(tuple(u) if arr.ndim > 1 else u.item()): int(s) for u, s in zip(uniq, sums)}
