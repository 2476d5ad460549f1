"""The one rule for guessing at the student's join: wrong answers slow down the client that gives them.

A student proves who they are with the session code on the board, the student number and the birth date: a small
secret, so guessing must be slow. It used to be slowed by a count per student number (twenty wrong birth dates
from anywhere kept the real student out for a quarter of an hour) and by a count per address (a whole school
behind one NAT address could not join). Now each wrong answer is counted in three scopes:

- the client and the student number (CLIENT_NUMBER_FREE wrong answers, then growing delays): one device guessing one
  student's birth date. The client is the address with the device id the student page keeps in the browser;
  the real student on another device has a count of their own;
- the address and the student number (ADDRESS_NUMBER_FREE, then growing delays): the same guessing from many
  device ids at one address. A device the student has joined from before is not counted here (the page keeps
  its device id; a success records it), so only a first join from that address can be slowed, and only after
  a stranger there made ADDRESS_NUMBER_FREE wrong guesses at that student's number;
- the client and the session code (CLIENT_CODE_FREE, then growing delays): one device trying a class's numbers.

An attempt made while one of its scopes must wait is refused unchecked and not counted; a wrong answer counts in
every scope; after a scope's free attempts its next attempt waits 1 s, then 2 s, 4 s ... up to MAX_DELAY. A right
answer clears the client's count on that student (a class's typing mistakes on a shared lab PC are counted per
student) and remembers the device. The counts are read and changed inside the join's transaction: on SQLite every
transaction holds the one writer lock, on PostgreSQL the scope rows are locked (FOR UPDATE), so parallel guesses
cannot slip past a count (only the very first burst on a scope that has no row yet can). Counts forget after
FORGET_AFTER. They live in the database, so every worker and process sees the same ones.

What is left, and said in SECURITY.md: a stranger at the same address can slow a student's first join on a new
device there; an attacker with many addresses gets ADDRESS_NUMBER_FREE guesses per address and student number.
"""
import hashlib
import hmac
import math
import random
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.core import clock
from app.extensions import db
from app.screening.models import JoinThrottle

CLIENT_NUMBER_FREE = 5
ADDRESS_NUMBER_FREE = 30
CLIENT_CODE_FREE = 30
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
NO_DEVICE = "-"
# The refusals that count: a wrong code or wrong details (a closed session or missing consent guesses nothing).
WRONG_ANSWERS = frozenset({"unknown_code", "details_do_not_match"})


@dataclass
class JoinAttempt:
    """One join attempt's scopes (key → free attempts) and their rows; `wait_seconds` > 0: refused unchecked."""
    scopes: dict[str, int] = field(default_factory=dict)
    rows: dict[str, tuple] = field(default_factory=dict)  # scope key → (attempts, last_attempt_at, next_attempt_at)
    clears: str = ""  # the client-and-number scope: a success clears it
    known_device: str | None = None
    wait_seconds: int = 0


def delay_after(attempts: int, free: int) -> timedelta:
    if attempts < free:
        return timedelta(0)
    return min(timedelta(seconds=2 ** min(attempts - free, 20)), MAX_DELAY)


def _key(*parts: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(secret, "\x1f".join(("join",) + parts).encode("utf-8"), hashlib.sha256).hexdigest()


def device_id(value) -> str:
    """The page's device id (any short string), or NO_DEVICE."""
    return value.strip()[:64] if isinstance(value, str) and value.strip() else NO_DEVICE


def begin(address: str, device: str, code: str, number: str) -> JoinAttempt:
    """The attempt's scopes, read (and locked) in the caller's transaction; `wait_seconds` when one must wait."""
    now = clock.now()
    number, code, address = number.strip().upper()[:32], "".join(code.split()).upper()[:32], address or "-"
    if random.random() < 0.01:  # forget old counts now and then, not on every join
        db.session.execute(delete(JoinThrottle).where(JoinThrottle.last_attempt_at < now - FORGET_AFTER)
                           .execution_options(synchronize_session=False))
    attempt = JoinAttempt(clears=_key("client-number", address, device, number))
    by_address = _key("address-number", address, number)
    attempt.scopes = {attempt.clears: CLIENT_NUMBER_FREE, _key("client-code", address, device, code): CLIENT_CODE_FREE,
                      by_address: ADDRESS_NUMBER_FREE}
    if device != NO_DEVICE:
        attempt.known_device = _key("known-device", device, number)
    query = select(JoinThrottle.scope_key, JoinThrottle.attempts, JoinThrottle.last_attempt_at,
                   JoinThrottle.next_attempt_at).where(JoinThrottle.scope_key.in_([*attempt.scopes, attempt.known_device]))
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    attempt.rows = {key: (attempts, last, next_at) for key, attempts, last, next_at in db.session.execute(query)}
    if attempt.known_device in attempt.rows:
        del attempt.scopes[by_address]  # the student joined from this device before: guesses elsewhere do not count
    waits = [attempt.rows[key][2] for key in attempt.scopes if key in attempt.rows and attempt.rows[key][2] > now]
    if waits:
        attempt.wait_seconds = max(1, math.ceil((max(waits) - now).total_seconds()))
    return attempt


def _upsert(key: str, attempts: int, now, next_at) -> None:
    insert = (postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)(JoinThrottle)
    statement = insert.values(scope_key=key, attempts=attempts, last_attempt_at=now, next_attempt_at=next_at)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[JoinThrottle.scope_key],
        set_={"attempts": statement.excluded.attempts, "last_attempt_at": now, "next_attempt_at": next_at}))


def failed(attempt: JoinAttempt) -> None:
    """A wrong answer: one more in every scope of the attempt."""
    now = clock.now()
    for key, free in attempt.scopes.items():
        attempts = (attempt.rows[key][0] if key in attempt.rows else 0) + 1
        _upsert(key, attempts, now, now + delay_after(attempts, free))


def succeeded(attempt: JoinAttempt) -> None:
    """A right answer: the client's count on the student is cleared and the device is remembered."""
    now = clock.now()
    if attempt.clears in attempt.rows:
        db.session.execute(delete(JoinThrottle).where(JoinThrottle.scope_key == attempt.clears)
                           .execution_options(synchronize_session=False))
    known = attempt.rows.get(attempt.known_device)
    if attempt.known_device and (known is None or known[1] < now - FORGET_AFTER / 2):
        _upsert(attempt.known_device, 0, now, now)
