"""record() appends an audit row in the caller's transaction; verify() walks the hash chain."""
import hashlib
import json

from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 428_001  # serializes appends on PostgreSQL so the chain never forks


_HASHED = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "student_id", "outcome", "detail")


def _digest_row(prev_hash: str, row: dict) -> str:
    body = {name: row[name] for name in _HASHED}
    body["at"], body["detail"] = row["at"].isoformat(), row["detail"] or {}
    payload = prev_hash + json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _digest(prev_hash: str, event: AuditEvent) -> str:
    return _digest_row(prev_hash, {name: getattr(event, name) for name in _HASHED})


def _role_of(actor) -> str:
    if isinstance(actor, str):  # "student" for a student session, "system" for commands
        return actor
    return actor.role.value if actor is not None else "system"


_CHAIN_END = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
_PG_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def _last_hash() -> str:
    """The chain's end, read after taking the append lock (PostgreSQL) so that the chain never forks."""
    db.session.flush()  # events added as objects earlier in the transaction come first
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(_PG_LOCK, {"k": _PG_AUDIT_LOCK})
    return connection.execute(_CHAIN_END).scalar() or GENESIS


def _row(actor, action, object_type, object_id=None, student_id=None, outcome="ok", detail=None, *, prev) -> dict:
    """The columns of one event, its hash chained to `prev`."""
    row = {"at": clock.now().replace(microsecond=0), "actor_id": getattr(actor, "id", None),
           "actor_role": _role_of(actor), "action": action, "object_type": object_type, "object_id": object_id,
           "student_id": student_id, "outcome": outcome, "detail": detail or {}, "prev_hash": prev}
    row["hash"] = _digest_row(prev, row)
    return row


def record(actor, action: str, object_type: str, object_id=None, student_id=None, outcome="ok", detail=None):
    """Append one event. `actor` is a User, "student", or None for the system."""
    event = AuditEvent(**_row(actor, action, object_type, object_id, student_id, outcome, detail, prev=_last_hash()))
    db.session.add(event)
    db.session.flush()
    return event


_INSERT_EVENTS = AuditEvent.__table__.insert()


def record_many(events: list[dict]) -> None:
    """Append several events in one multi-row insert (a batch of submissions).

    Each dict holds record()'s arguments by name, `actor` included. Rows are inserted in chain order, so ids
    follow the chain.
    """
    if not events:
        return
    prev, rows = _last_hash(), []
    for fields in events:
        rows.append(_row(prev=prev, **fields))
        prev = rows[-1]["hash"]
    db.session.connection().execute(_INSERT_EVENTS, rows)


def verify() -> list[str]:
    """Walk the chain in id order; return a list of problems (empty when intact)."""
    problems = []
    prev = GENESIS
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        if event.prev_hash != prev:
            problems.append(f"event {event.id}: previous hash does not match (a row before it was changed or deleted)")
        if _digest(event.prev_hash, event) != event.hash:
            problems.append(f"event {event.id}: content does not match its hash (the row was changed)")
        prev = event.hash
    return problems


def record_list_view(actor, view: str, student_ids) -> None:
    """Audit a page that shows several students' identities: one event naming the view and every student id."""
    ids = sorted({int(i) for i in student_ids})
    if not ids:
        return
    record(actor, "students_listed", "view", student_id=ids[0] if len(ids) == 1 else None,
           detail={"view": view, "student_ids": ids})
