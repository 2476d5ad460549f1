"""record() appends an audit event in the caller's transaction; verify_chain() checks the chain (app/audit/chain.py)
and the checkpoints outside the database (app/audit/checkpoints.py)."""
from datetime import datetime

from flask import current_app
from sqlalchemy import select, text

from app.audit import checkpoints
from app.audit.chain import GENESIS, AuditKeyring, ChainReport, payload, walk
from app.audit.models import AuditEvent
from app.core import clock, sqlite_writer
from app.extensions import db

_PG_AUDIT_LOCK = 428_001  # serializes appends on PostgreSQL so the chain never forks


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


def _row(keyring, actor, action, object_type, object_id=None, student_id=None, outcome="ok", detail=None, *,
         prev) -> dict:
    """The columns of one event, its hash (HMAC under the signing audit key) chained to `prev`."""
    row = {"at": clock.now().replace(microsecond=0), "actor_id": getattr(actor, "id", None),
           "actor_role": _role_of(actor), "action": action, "object_type": object_type, "object_id": object_id,
           "student_id": student_id, "outcome": outcome, "detail": detail or {}, "prev_hash": prev,
           "key_id": keyring.signing_id}
    row["hash"] = keyring.sign(payload(prev, row))
    return row


def record(actor, action: str, object_type: str, object_id=None, student_id=None, outcome="ok", detail=None):
    """Append one event. `actor` is a User, "student", or None for the system."""
    keyring = current_app.extensions["audit_keyring"]
    event = AuditEvent(**_row(keyring, actor, action, object_type, object_id, student_id, outcome, detail,
                              prev=_last_hash()))
    db.session.add(event)
    db.session.flush()
    checkpoints.note_events(db.session, 1, event.hash)
    return event


_INSERT_EVENTS = AuditEvent.__table__.insert()


def record_many(events: list[dict]) -> None:
    """Append several events in one multi-row insert (a batch of submissions).

    Each dict holds record()'s arguments by name, `actor` included. Rows are inserted in chain order, so ids
    follow the chain.
    """
    if not events:
        return
    keyring = current_app.extensions["audit_keyring"]
    prev, rows = _last_hash(), []
    for fields in events:
        rows.append(_row(keyring, prev=prev, **fields))
        prev = rows[-1]["hash"]
    db.session.connection().execute(_INSERT_EVENTS, rows)
    checkpoints.note_events(db.session, len(rows), prev)


def verify_chain(connection=None, *, keyring: AuditKeyring | None = None, checkpoint_dir="config",
                 checkpoints_before: datetime | None = None) -> ChainReport:
    """Verify the audit chain and the checkpoints kept outside the database; never raises for what it finds.

    connection: a SQLAlchemy Connection to the database to check, e.g. a restored backup's (default: a new
        connection of the application's engine, which sees what is committed).
    keyring: default the current application's AUDIT_KEYS.
    checkpoint_dir: a directory of checkpoints (default AUDIT_CHECKPOINT_DIR); None checks the chain alone.
    checkpoints_before: only checkpoints written before this moment must be found (a backup taken then holds no
        later event).
    """
    keyring = keyring or current_app.extensions["audit_keyring"]
    if checkpoint_dir == "config":
        checkpoint_dir = current_app.config.get("AUDIT_CHECKPOINT_DIR")
    report = ChainReport(checkpoint_dir=str(checkpoint_dir) if checkpoint_dir else None)
    lines = checkpoints.read(checkpoint_dir, keyring, report, before=checkpoints_before) if checkpoint_dir else []
    wanted = {line.hash for line in lines}
    if connection is not None:
        found = walk(connection, keyring, report, wanted)
    else:  # what is committed, on a reader's connection: a long walk never holds SQLite's writers back
        with db.engine.connect().execution_options(**{sqlite_writer.READ_ONLY: True}) as reader:
            found = walk(reader, keyring, report, wanted)
    for line in lines:
        if line.hash in found:
            report.checkpoints_confirmed += 1
        else:
            report.problem(f"checkpoint of {line.at.isoformat()}: its event (hash {line.hash[:16]}…) is not in the "
                           "chain (events were deleted from the end, or the table was emptied or rebuilt)")
    if not checkpoint_dir:
        report.warnings.append("no checkpoint directory (AUDIT_CHECKPOINT_DIR): events deleted from the end of the "
                               "chain, or an emptied table, cannot be detected")
    elif report.events and not lines:
        report.warnings.append(f"no checkpoint in {checkpoint_dir} yet: run `flask audit checkpoint`")
    if report.unkeyed_events:
        report.warnings.append(f"{report.unkeyed_events} events written before the audit key was introduced are "
                               "chained by SHA-256 only; the keyed events after them and the checkpoints protect them")
    return report


def verify(**options) -> list[str]:
    """The problems verify_chain() finds (empty when the chain and its checkpoints are intact)."""
    return verify_chain(**options).problems


def record_list_view(actor, view: str, student_ids) -> None:
    """Audit a page that shows several students' identities: one event naming the view and every student id."""
    ids = sorted({int(i) for i in student_ids})
    if not ids:
        return
    record(actor, "students_listed", "view", student_id=ids[0] if len(ids) == 1 else None,
           detail={"view": view, "student_ids": ids})
