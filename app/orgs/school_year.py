"""The school year: September to August, written '2026-2027' (ClassGroup.academic_year compares in order as text)."""
from datetime import date


def academic_year(on: date) -> str:
    """'2026-2027' for a date from September 2026 to August 2027."""
    start = on.year if on.month >= 9 else on.year - 1
    return f"{start}-{start + 1}"


def next_year(year: str) -> str:
    """'2027-2028' after '2026-2027'."""
    start = int(year[:4]) + 1
    return f"{start}-{start + 1}"


def import_years(on: date) -> tuple[str, str]:
    """The years a roster may be filed in: this one, and the next (schools import it in July or August)."""
    this_year = academic_year(on)
    return this_year, next_year(this_year)
