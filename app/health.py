"""GET /healthz: the process answers and the database answers, and takes writes."""
import logging
import threading
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.auth import policy
from app.core import clock
from app.extensions import db
from app.monitoring import services as monitoring

logger = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
@policy.public
def healthz():
    try:
        with monitoring.reading() as connection:  # a reader: it neither waits for nor blocks the writers
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        logger.exception("health check: database does not answer")
        return jsonify({"status": "error", "database": "unavailable"}), 503
    if not _database_writable():
        return jsonify({"status": "error", "database": "unwritable"}), 503
    # An alert that is never escalated fails silently: say so, still 200 (the process can serve).
    problem = monitoring.sweep_problem()
    if problem:
        return jsonify({"status": "degraded", "database": "ok", "reasons": [problem]})
    return jsonify({"status": "ok", "database": "ok"})


# --- the database takes writes (issue 20: a full disk or a read-only database answered "ok") ---------------
WRITE_PROBE_SECONDS = 10  # a write at most this often per process; the answer in between is the last one
_probes_lock = threading.Lock()


def _database_writable() -> bool:
    """Whether a small write commits: read-only databases, full disks and PostgreSQL in read-only mode answer
    reads but not writes. Probed at most every WRITE_PROBE_SECONDS per process (a monitor polls often)."""
    with _probes_lock:
        _probe = current_app.extensions.setdefault("health_write_probe", {"at": None, "writable": True,
                                                                           "lock": threading.Lock()})
    _probe_lock = _probe["lock"]
    now = time.monotonic()
    if _probe["at"] is not None and now - _probe["at"] < WRITE_PROBE_SECONDS:
        return _probe["writable"]
    if not _probe_lock.acquire(blocking=False):
        return _probe["writable"]  # another request probes right now
    try:
        _probe["writable"] = _write_probe()
        _probe["at"] = time.monotonic()
        return _probe["writable"]
    finally:
        _probe_lock.release()


def _write_probe() -> bool:
    from app.monitoring.models import HealthProbe

    try:
        probe = db.session.get(HealthProbe, "healthz")
        if probe is None:
            db.session.add(HealthProbe(name="healthz", probed_at=clock.now()))
        else:
            probe.probed_at = clock.now()
        db.session.commit()
        return True
    except SQLAlchemyError as exc:
        db.session.rollback()
        logger.error("health check: the database takes no writes (%s)", type(getattr(exc, "orig", None) or exc).__name__)
        return False
