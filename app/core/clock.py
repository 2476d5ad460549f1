"""One source of 'now' so that tests can move time (escalation, review dates)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

_frozen: datetime | None = None
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _frozen if _frozen is not None else datetime.now(timezone.utc)


def today() -> date:
    """Today's date in the schools' time zone (enrolments and review dates are local dates)."""
    return now().astimezone(LOCAL_TZ).date()


def freeze(moment: datetime | None) -> None:
    """Pin the clock (tests only); None releases it."""
    global _frozen
    if moment is not None and moment.tzinfo is None:
        raise ValueError("freeze() needs an aware datetime")
    _frozen = moment
