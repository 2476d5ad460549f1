"""The sweep's last run, and the figures an operator is woken for (read from the database at scrape time)."""
import logging
import time
from contextlib import contextmanager
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from app.core import clock, sqlite_writer
from app.extensions import db
from app.monitoring.models import SweepRun
from app.notifications.models import MailState, Notification
from app.risk.models import Alert, AlertStatus

logger = logging.getLogger(__name__)
SOURCES = ("scheduled", "page")
PAGE_RECORD_EVERY_S = 60  # a dashboard load notes its sweep at most once a minute per process: no write per page
_page_recorded_at = 0.0


def record_sweep(source: str) -> bool:
    """Note that the escalation sweep ran now, in the caller's transaction; True when a row was written.

    The scheduled sweep is always noted; the page sweep at most once a minute per process (a busy dashboard
    would otherwise write on every load).
    """
    global _page_recorded_at
    if source == "page":
        if time.monotonic() - _page_recorded_at < PAGE_RECORD_EVERY_S:
            return False
        _page_recorded_at = time.monotonic()
    connection = db.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    now = clock.now()
    statement = dialect.insert(SweepRun).values(source=source, last_run_at=now)
    connection.execute(statement.on_conflict_do_update(index_elements=["source"], set_={"last_run_at": now}))
    return True


@contextmanager
def reading():
    """A connection for reading only: on SQLite a snapshot that never waits for (or blocks) the writer."""
    with db.engine.connect().execution_options(**{sqlite_writer.READ_ONLY: True}) as connection:
        yield connection


def last_sweeps(connection) -> dict:
    """{source: last run (aware UTC)} for the sources that ever ran."""
    return dict(connection.execute(select(SweepRun.source, SweepRun.last_run_at)).all())


def sweep_problem() -> str | None:
    """Why escalation may be failing silently, or None. Only the scheduled sweep counts: page loads sweep
    only while someone looks, and they never retry mail."""
    limit = timedelta(minutes=current_app.config["SWEEP_STALE_MINUTES"])
    try:
        with reading() as connection:
            last = last_sweeps(connection).get("scheduled")
    except SQLAlchemyError:
        logger.exception("health check: the sweep's last run cannot be read")
        return "the alert sweep's last run cannot be read"
    if last is None:
        return "the alert sweep (flask alerts sweep) has never run"
    if clock.now() - last > limit:
        minutes = int((clock.now() - last).total_seconds() // 60)
        return f"the alert sweep (flask alerts sweep) last ran {minutes} minutes ago"
    return None


def overdue_alerts(connection) -> dict:
    """{level: (count, minutes the oldest is past its target)} of open (unacknowledged) alerts past due."""
    now = clock.now()
    rows = connection.execute(
        select(Alert.level, func.count(Alert.id), func.min(Alert.due_at))
        .where(Alert.status == AlertStatus.OPEN, Alert.due_at < now).group_by(Alert.level)).all()
    result = {}
    for level, count, oldest_due in rows:  # min() keeps the column's type: aware UTC
        result[level] = (count, max(0.0, (now - oldest_due).total_seconds() / 60))
    return result


def mail_queue(connection) -> dict:
    """Counts of e-mail by state (pending, sending, failed), retrying (pending after a failed attempt) and the
    minutes the oldest pending mail has waited."""
    counts = dict(connection.execute(
        select(Notification.mail_state, func.count(Notification.id))
        .where(Notification.mail_state.in_([MailState.PENDING, MailState.SENDING, MailState.FAILED]))
        .group_by(Notification.mail_state)).all())
    retrying = connection.scalar(select(func.count(Notification.id)).where(
        Notification.mail_state == MailState.PENDING, Notification.mail_attempts > 0)) or 0
    oldest = connection.scalar(select(func.min(Notification.created_at)).where(
        Notification.mail_state.in_([MailState.PENDING, MailState.SENDING])))
    return {"pending": counts.get(MailState.PENDING, 0), "sending": counts.get(MailState.SENDING, 0),
            "failed": counts.get(MailState.FAILED, 0), "retrying": retrying,
            "oldest_pending_minutes": (clock.now() - oldest).total_seconds() / 60 if oldest else 0.0}
