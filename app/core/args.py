"""Numbers and months from the query string: one strict parser, so that a hostile value is ignored here instead
of failing deeper down (a 20-digit id overflows SQLite's and PostgreSQL's integers; "²".isdigit() is true but
int("²") fails; year 9999 has no next month)."""
import re
from datetime import date

from app.core import clock

MAX_ID = 2**31 - 1  # PostgreSQL's integer; no row has a larger id
_INTEGER = re.compile(r"-?[0-9]{1,10}")  # ASCII digits only: str.isdigit() accepts "²" and "٣"
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
FIRST_YEAR = 2000  # no screening in this system predates it


def int_arg(args, name: str, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """args[name] as an integer within [low, high]; None when it is missing, malformed or out of range."""
    value = args.get(name)
    if not value or not _INTEGER.fullmatch(value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def id_arg(args, name: str) -> int | None:
    """A row id from the query string (a positive integer that fits the database), or None."""
    return int_arg(args, name, low=1, high=MAX_ID)


def month_arg(args, name: str = "month") -> date:
    """'2026-11' → date(2026, 11, 1); anything malformed, or outside 2000 … next year, → the current month."""
    today = clock.today()
    match = _MONTH.fullmatch(args.get(name) or "")
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if FIRST_YEAR <= year <= today.year + 1 and 1 <= month <= 12:
            return date(year, month, 1)
    return today.replace(day=1)
