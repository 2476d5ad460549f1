"""Checkpoints of the audit chain's head, kept outside the database (AUDIT_CHECKPOINT_DIR).

A keyed chain shows a changed event and one deleted from the middle; it cannot show events deleted from its end, or
a table emptied, because what is left is still a valid chain. A checkpoint is the head's hash at a moment, appended
to a file the database does not hold: `app.audit.services.verify_chain()` then finds every checkpointed event in the chain, or reports
the events gone. Checkpoints are written

- by the application itself after a commit that added audit events, when AUDIT_CHECKPOINT_EVERY events or
  AUDIT_CHECKPOINT_SECONDS seconds have passed since this process's last one (the last event the transaction
  appended: committed by then, so a checkpoint only ever names a committed event), and
- by `flask audit checkpoint`, from cron, which also covers quiet hours.

Each line is JSON with an HMAC under the audit key, so a line cannot be forged without the key. The file is opened
for appending only; keep it where the database's administrators cannot write (another host's mount, a WORM volume,
or ship the log line "audit checkpoint …" to a log server: it holds a hash and a time, no personal data).
"""
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select

from app.audit.chain import COLUMNS, AuditKeyring, matches_its_hash
from app.audit.models import AuditEvent
from app.core import clock, sqlite_writer
from app.extensions import db

logger = logging.getLogger(__name__)
FILE_NAME = "audit-checkpoints.jsonl"


@dataclass(frozen=True)
class Checkpoint:
    at: datetime
    hash: str
    key: str


def _signed(body: dict) -> bytes:
    return b"audit-checkpoint|" + json.dumps(body, sort_keys=True).encode("utf-8")


def append(directory, head_hash: str, keyring: AuditKeyring) -> Path:
    """Append one signed checkpoint of `head_hash` (one write of one line: appends of several processes never mix)."""
    path = Path(directory) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"at": clock.now().isoformat(), "hash": head_hash, "key": keyring.signing_id}
    line = json.dumps(dict(body, mac=keyring.sign(_signed(body))), sort_keys=True) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)
    logger.info("audit checkpoint: head %s at %s", head_hash, body["at"])
    return path


def read(directory, keyring: AuditKeyring, report, before: datetime | None = None) -> list[Checkpoint]:
    """The checkpoints in `directory` (written before `before`, when given); a line that is not a checkpoint signed
    by an audit key is reported as a problem."""
    path = Path(directory) / FILE_NAME
    if not path.exists():
        return []
    found = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, text in enumerate(lines, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                body = {"at": line["at"], "hash": line["hash"], "key": line["key"]}
                signed = keyring.knows(body["key"]) and keyring.digest(body["key"], _signed(body)) == line["mac"]
                point = Checkpoint(datetime.fromisoformat(body["at"]), body["hash"], body["key"])
            except (ValueError, KeyError, TypeError, AttributeError):
                signed = False
            if not signed:
                report.problem(f"{path} line {number}: not a checkpoint signed by an audit key (the file was edited)")
                continue
            if before is None or point.at < before:
                found.append(point)
    report.checkpoints = len(found)
    report.latest_checkpoint_at = max((p.at for p in found), default=None)
    return found


def _reader(engine):
    """A connection of its own that only reads (no writer lock on SQLite)."""
    return engine.connect().execution_options(**{sqlite_writer.READ_ONLY: True})


class ForgedHead(ValueError):
    """The last event does not match its hash: it is not anchored, `flask audit verify` says more."""


def write_checkpoint(app) -> str | None:
    """Append a checkpoint of the committed head now (`flask audit checkpoint`), after checking that the head
    matches its hash (a head forged without the key is never anchored); None when the chain is empty."""
    keyring = app.extensions["audit_keyring"]
    with _reader(db.engine) as connection:
        head = connection.execute(select(*COLUMNS).order_by(AuditEvent.id.desc()).limit(1)).first()
    if head is None:
        return None
    if not matches_its_hash(keyring, head._mapping):
        raise ForgedHead(f"event {head.id}, the last one, does not match its hash")
    append(app.config["AUDIT_CHECKPOINT_DIR"], head.hash, keyring)
    return head.hash


# --- automatic checkpoints after commits ------------------------------------------------------------------------

class _Due:
    """Per process: audit events committed since this process's last checkpoint, and when that was."""

    def __init__(self):
        self.lock = threading.Lock()
        self.directory, self.events, self.last = None, 0, None

    def add(self, directory, events: int, every: int, seconds: float) -> bool:
        with self.lock:
            if directory != self.directory:
                self.directory, self.events, self.last = directory, 0, None
            self.events += events
            now = time.monotonic()
            if self.last is not None and self.events < every and now - self.last < seconds:
                return False
            self.events, self.last = 0, now
            return True


_due = _Due()
EVENTS_KEY = "audit_events_added"  # (how many events this transaction appended, the last one's hash)


def note_events(session, count: int, last_hash: str) -> None:
    """Called by record()/record_many(): this transaction added `count` audit events, the last one `last_hash`."""
    added, _last = session.info.get(EVENTS_KEY, (0, None))
    session.info[EVENTS_KEY] = (added + count, last_hash)


def _after_commit(session):
    count, head = session.info.pop(EVENTS_KEY, (0, None))
    if not count:
        return
    app = current_app._get_current_object()
    directory = app.config.get("AUDIT_CHECKPOINT_DIR")
    if not directory or not _due.add(directory, count, app.config["AUDIT_CHECKPOINT_EVERY"],
                                     app.config["AUDIT_CHECKPOINT_SECONDS"]):
        return
    try:
        # The last event this transaction appended: committed now, and the chain's head when it was appended
        # (appends take the chain's lock until their commit). Asking the database for the head instead cost a
        # connection and three round trips per checkpoint, ~20 a second in a busy morning (bench/README.md).
        append(directory, head, app.extensions["audit_keyring"])
    except Exception:  # noqa: BLE001 - the commit stands; a missed checkpoint is logged, and cron writes the next
        logger.exception("audit checkpoint could not be written to %s", directory)


def _after_rollback(session):
    session.info.pop(EVENTS_KEY, None)


def init_app(app):
    """Listen for commits (once per process), and refuse to start when the checkpoint directory is not writable."""
    if not event.contains(db.session, "after_commit", _after_commit):
        event.listen(db.session, "after_commit", _after_commit)
        event.listen(db.session, "after_rollback", _after_rollback)
    directory = app.config.get("AUDIT_CHECKPOINT_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise RuntimeError(f"AUDIT_CHECKPOINT_DIR {directory} is not writable: audit checkpoints cannot be kept")
