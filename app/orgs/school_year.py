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


# Terms (学期): the first from September to January, the second from February to August. Committee members are named
# for a term, and the school's term summary (一校一总结) counts one.
def term_of(on: date) -> tuple[str, int]:
    """('2026-2027', 1) for a date from September 2026 to January 2027; ('2026-2027', 2) from February to August."""
    return academic_year(on), 1 if on.month >= 9 or on.month == 1 else 2


def term_bounds(year: str, term: int) -> tuple[date, date]:
    """The term's first day and the first day after it."""
    start = int(year[:4])
    if term == 1:
        return date(start, 9, 1), date(start + 1, 2, 1)
    return date(start + 1, 2, 1), date(start + 1, 9, 1)


def parse_term(value: str | None) -> tuple[str, int] | None:
    """'2026-2027-1' → ('2026-2027', 1); None for anything else."""
    if not isinstance(value, str) or len(value) != 11 or value[9] != "-" or value[10] not in "12":
        return None
    year = value[:9]
    if not (year[:4].isdigit() and year[4] == "-" and year[5:].isdigit() and int(year[5:]) == int(year[:4]) + 1):
        return None
    return year, int(value[10])


def term_key(year: str, term: int) -> str:
    return f"{year}-{term}"
