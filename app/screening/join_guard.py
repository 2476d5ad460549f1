"""The one rule for guessing at the student's join: wrong answers slow down the client that gives them.

A student proves who they are with the session code on the board, the student number and the birth date: a small
secret, so guessing must be slow. It used to be slowed by a count per student number (twenty wrong birth dates
from anywhere kept the real student out for a quarter of an hour) and by a count per address (a whole school
behind one NAT address could not join). Now every attempt is counted, before it is checked, in three scopes:

- the client and the student number (CLIENT_NUMBER_FREE attempts, then growing delays): one device guessing one
  student's birth date. The client is the address with the device id the student page keeps in the browser;
  the real student on another device has a count of their own;
- the address and the student number (ADDRESS_NUMBER_FREE, then growing delays): the same guessing from many
  device ids at one address. A device the student has joined from before is not counted here (the page keeps
  its device id; a success records it), so only a first join from that address can be slowed, and only after
  a stranger there made ADDRESS_NUMBER_FREE wrong guesses at that student's number;
- the client and the session code (CLIENT_CODE_FREE, then growing delays): one device trying a class's numbers.

A success takes its own attempt off every count (and clears the client's count on that student), so typing
mistakes of a class on a shared lab PC do not add up. After the free attempts the next attempt in the scope
waits 1 s, then 2 s, 4 s ... up to MAX_DELAY; an attempt made too early is refused unchecked and not counted.
Counts forget after FORGET_AFTER. They live in the database, so every worker and process sees the same ones.
What is left, and said in SECURITY.md: a stranger at the same address can slow a student's first join on a new
device there; an attacker with many addresses gets ADDRESS_NUMBER_FREE guesses per address and student number.
"""
import hashlib
import hmac
import math
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.core import clock
from app.extensions import db
from app.screening.models import JoinThrottle

CLIENT_NUMBER_FREE = 5
ADDRESS_NUMBER_FREE = 30
CLIENT_CODE_FREE = 30
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)
NO_DEVICE = "-"


@dataclass
class JoinAttempt:
    """One counted join attempt: `wait_seconds` > 0 means it was refused unchecked."""
    counted: dict[str, int] = field(default_factory=dict)  # scope key → its free attempts
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
    """Count one join attempt in each of its scopes, or refuse it unchecked when one of them must wait. Flushes."""
    now = clock.now()
    number, code, address = number.strip().upper()[:32], "".join(code.split()).upper()[:32], address or "-"
    db.session.execute(delete(JoinThrottle).where(JoinThrottle.last_attempt_at < now - FORGET_AFTER)
                       .execution_options(synchronize_session=False))
    attempt = JoinAttempt(clears=_key("client-number", address, device, number))
    scopes = {attempt.clears: CLIENT_NUMBER_FREE, _key("client-code", address, device, code): CLIENT_CODE_FREE}
    if device != NO_DEVICE:
        attempt.known_device = _key("known-device", device, number)
    if attempt.known_device is None or db.session.scalar(
            select(JoinThrottle.id).where(JoinThrottle.scope_key == attempt.known_device)) is None:
        scopes[_key("address-number", address, number)] = ADDRESS_NUMBER_FREE
    waits = db.session.scalars(select(JoinThrottle.next_attempt_at).where(
        JoinThrottle.scope_key.in_(scopes), JoinThrottle.next_attempt_at > now)).all()
    if waits:
        attempt.wait_seconds = max(1, math.ceil((max(waits) - now).total_seconds()))
        return attempt
    for key, free in scopes.items():
        if not _count(key, free, now):
            attempt.wait_seconds = 1  # a parallel attempt counted first and this scope must wait now
            return attempt
        attempt.counted[key] = free
    return attempt


def _count(key: str, free: int, now) -> bool:
    for _ in range(3):  # a parallel attempt changed the count under us: read it again
        row = db.session.execute(select(JoinThrottle.id, JoinThrottle.attempts, JoinThrottle.next_attempt_at)
                                 .where(JoinThrottle.scope_key == key)).first()
        if row is None:
            try:
                with db.session.begin_nested():
                    db.session.add(JoinThrottle(scope_key=key, attempts=1, last_attempt_at=now,
                                                next_attempt_at=now + delay_after(1, free)))
                return True
            except IntegrityError:
                continue
        if row.next_attempt_at > now:
            return False
        counted = db.session.execute(
            update(JoinThrottle).where(JoinThrottle.id == row.id, JoinThrottle.attempts == row.attempts)
            .values(attempts=row.attempts + 1, last_attempt_at=now,
                    next_attempt_at=now + delay_after(row.attempts + 1, free))
            .execution_options(synchronize_session=False))
        if counted.rowcount == 1:
            return True
    return False


def succeeded(attempt: JoinAttempt) -> None:
    """The attempt was right: its count comes off every scope, the client's count on the student is cleared, and
    the device is remembered as one the student joined from. Flushes."""
    now = clock.now()
    db.session.execute(delete(JoinThrottle).where(JoinThrottle.scope_key == attempt.clears)
                       .execution_options(synchronize_session=False))
    for key, free in attempt.counted.items():
        if key == attempt.clears:
            continue
        attempts = db.session.scalar(update(JoinThrottle).where(JoinThrottle.scope_key == key,
                                                                JoinThrottle.attempts > 0)
                                     .values(attempts=JoinThrottle.attempts - 1).returning(JoinThrottle.attempts)
                                     .execution_options(synchronize_session=False))
        if attempts is not None and attempts < free:
            db.session.execute(update(JoinThrottle).where(JoinThrottle.scope_key == key)
                               .values(next_attempt_at=now).execution_options(synchronize_session=False))
    if attempt.known_device is None:
        return
    remembered = db.session.execute(update(JoinThrottle).where(JoinThrottle.scope_key == attempt.known_device)
                                    .values(last_attempt_at=now).execution_options(synchronize_session=False))
    if remembered.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(JoinThrottle(scope_key=attempt.known_device, attempts=0, last_attempt_at=now,
                                            next_attempt_at=now))
        except IntegrityError:
            pass  # a parallel join from the same device remembered it
