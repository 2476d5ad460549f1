"""The audit chain's keys, its hashes and its verification.

Each event's hash is an HMAC-SHA256, under a key that is not in the database (AUDIT_KEYS), of the previous event's
hash and the event's content: someone who can write to the database but does not hold the key can neither change an
event nor delete one from the middle and recompute the hashes after it. Events written before the key was introduced
carry no key id and are chained by plain SHA-256, as they were; the first keyed event covers their head, so they
cannot be rewritten either once a keyed event follows them. What a key cannot show (events deleted from the end, or
the whole table emptied) the checkpoints outside the database show (app/audit/checkpoints.py).

`walk()` checks the chain; app.audit.services.verify_chain() adds the checkpoints and is what `flask audit verify`
prints and other code (a backup's check) calls.
"""
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from app.audit.models import AuditEvent

GENESIS = "0" * 64
HASHED = ("at", "actor_id", "actor_role", "action", "object_type", "object_id", "student_id", "outcome", "detail")
MIN_KEY_LENGTH = 32
MAX_PROBLEMS_LISTED = 200


class AuditKeyError(RuntimeError):
    """AUDIT_KEYS is missing or malformed."""


def payload(prev_hash: str, row: dict) -> bytes:
    """The bytes an event's hash covers: the previous hash and the event's columns, canonically."""
    body = {name: row[name] for name in HASHED}
    body["at"], body["detail"] = row["at"].isoformat(), row["detail"] or {}
    return (prev_hash + json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)).encode("utf-8")


def unkeyed_digest(data: bytes) -> str:
    """The hash of events written before the audit key existed (and of every event before this version)."""
    return hashlib.sha256(data).hexdigest()


def key_id(key: str) -> str:
    """A key's public name, stored with each event it signs: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def new_key() -> str:
    return secrets.token_urlsafe(32)


class AuditKeyring:
    """AUDIT_KEYS: comma-separated keys, newest first. The first signs new events; all verify the events they signed."""

    def __init__(self, text: str):
        keys = [part.strip() for part in (text or "").split(",") if part.strip()]
        if not keys:
            raise AuditKeyError("AUDIT_KEYS is empty")
        if any(len(k) < MIN_KEY_LENGTH for k in keys):
            raise AuditKeyError(f"every key in AUDIT_KEYS needs at least {MIN_KEY_LENGTH} characters "
                                "(make one with `flask audit new-key`)")
        self.order = [key_id(k) for k in keys]  # newest first
        self._macs = {key_id(k): hmac.new(k.encode("utf-8"), digestmod=hashlib.sha256) for k in keys}
        self.signing_id = self.order[0]

    def knows(self, kid: str) -> bool:
        return kid in self._macs

    def digest(self, kid: str, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the key named `kid` (a copy of the keyed state: no key setup per event)."""
        mac = self._macs[kid].copy()
        mac.update(data)
        return mac.hexdigest()

    def sign(self, data: bytes) -> str:
        return self.digest(self.signing_id, data)

    def age(self, kid: str) -> int:
        """0 for the signing key, 1 for the one before it, …"""
        return self.order.index(kid)


def keyring_from_config(config) -> AuditKeyring:
    return AuditKeyring(config.get("AUDIT_KEYS") or "")


def dev_key(instance_dir: Path) -> str:
    """Development only: a key generated once and kept in instance/ (production refuses to start without one)."""
    path = instance_dir / "audit.key"
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_key())
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class ChainReport:
    """The result of verify_chain(): `ok` is True when the chain and every checkpoint agree."""

    events: int = 0
    head_id: int | None = None
    head_hash: str | None = None
    unkeyed_events: int = 0          # written before the audit key was introduced (SHA-256 chain only)
    checkpoints: int = 0             # checkpoint lines read (those before `checkpoints_before` when given)
    checkpoints_confirmed: int = 0   # of those, the ones whose event is in the chain
    latest_checkpoint_at: datetime | None = None
    checkpoint_dir: str | None = None
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_LISTED:
            self.problems.append(text)
        elif len(self.problems) == MAX_PROBLEMS_LISTED:
            self.problems.append("… (more problems; the count above is complete)")


COLUMNS = [AuditEvent.__table__.c[name] for name in ("id", "prev_hash", "hash", "key_id", *HASHED)]


def matches_its_hash(keyring: AuditKeyring, event) -> bool:
    """Whether one event (a row of COLUMNS) hashes to its `hash`: by its key, or by SHA-256 when it has none."""
    data, kid = payload(event["prev_hash"], event), event["key_id"]
    if kid is None:
        return unkeyed_digest(data) == event["hash"]
    return keyring.knows(kid) and hmac.compare_digest(keyring.digest(kid, data), event["hash"])


def walk(connection, keyring: AuditKeyring, report: ChainReport, wanted: set[str]) -> set[str]:
    """Check every event in id order; return the hashes of `wanted` found in the chain."""
    prev, newest_age, found = GENESIS, None, set()
    rows = connection.execution_options(yield_per=2000).execute(select(*COLUMNS).order_by(AuditEvent.id))
    for row in rows:
        event = row._mapping
        report.events += 1
        report.head_id, report.head_hash = event["id"], event["hash"]
        if event["prev_hash"] != prev:
            report.problem(f"event {event['id']}: previous hash does not match (an event before it was changed or "
                           "deleted)")
        kid = event["key_id"]
        if kid is None:
            report.unkeyed_events += 1
            if newest_age is not None:
                report.problem(f"event {event['id']}: unkeyed after keyed events (the chain was hashed again "
                               "without the audit key)")
            elif not matches_its_hash(keyring, event):
                report.problem(f"event {event['id']}: content does not match its hash (the event was changed)")
        elif not keyring.knows(kid):
            report.problem(f"event {event['id']}: signed with key {kid}, which is not in AUDIT_KEYS")
        else:
            if not matches_its_hash(keyring, event):
                report.problem(f"event {event['id']}: content does not match its hash (the event was changed, or "
                               "its hash computed without the audit key)")
            age = keyring.age(kid)
            if newest_age is not None and age > newest_age:
                report.problem(f"event {event['id']}: signed with an older key after a newer one")
            newest_age = age if newest_age is None else min(newest_age, age)
        if event["hash"] in wanted:
            found.add(event["hash"])
        prev = event["hash"]
    return found
