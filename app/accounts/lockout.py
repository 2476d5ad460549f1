"""The one lock rule for every proof of identity: the password and the code at sign-in, re-authentication,
and the current password of a password change.

After OWASP's "Slow Down Online Guessing Attacks with Device Cookies" and its Authentication Cheat Sheet, a
lock that any stranger can trigger is a denial of service (five wrong passwords used to lock a teacher out
for a quarter of an hour, again after every unlock). So there are two counts:

1. The password at sign-in, per account and client. The client is the browser a signed device cookie names
   (issued at each complete sign-in, app/accounts/devices.py), or else "unknown devices", all together. An
   attempt is counted before it is checked, so that parallel guesses cannot slip past the count, and a
   complete sign-in from that client clears its count. After FREE_ATTEMPTS attempts the next waits 1 s,
   then 2 s, 4 s ... up to MAX_DELAY; an attempt made too early is refused without being checked (and is not
   counted, so hammering does not push the wait further). Strangers together get about a hundred guesses a
   day at one account, while its owner's own browser keeps its own count and gets in at once. Wrong
   passwords never lock the account. The count is kept under a keyed hash of the username as typed, so an
   unknown username is slowed down exactly like a real one.
2. Every proof made after the password or inside a session, per account: the code at sign-in,
   re-authentication, the current password of a password change. Each is counted before it is checked;
   a success clears the count, and the LOCK_AFTER-th failure in a row locks the account for LOCK_FOR or
   until an admin unlocks it (the accounts page shows it), and ends its sessions. A stranger without the
   password cannot cause it, and a correct password at sign-in resets nothing: only a right code does.
"""
import hashlib
import hmac
import logging
import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import SignInThrottle, User
from app.audit import services as audit
from app.core import clock
from app.extensions import db

logger = logging.getLogger(__name__)

FREE_ATTEMPTS = 5
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)  # a count whose last attempt is older starts again from zero
LOCK_AFTER = 5
LOCK_FOR = timedelta(hours=24)
UNKNOWN_DEVICES = "*"


@dataclass
class Attempt:
    """One counted sign-in attempt; `wait_seconds` > 0 means it was refused unchecked."""
    account_key: str
    client_key: str
    user: User | None
    wait_seconds: int = 0


def account_key(username: str) -> str:
    """A keyed hash of the username as the login form normalises it: the same for real and unknown names."""
    normalised = (username or "").strip().lower()[:64]
    key = current_app.config["SECRET_KEY"].encode("utf-8")
    return hmac.new(key, b"sign-in:" + normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def client_key(user: User | None, trusted_devices: dict) -> str:
    device = trusted_devices.get(user.id) if user is not None else None
    return f"device:{device}" if device else UNKNOWN_DEVICES


def delay_after(attempts: int) -> timedelta:
    """How long the next sign-in attempt waits after `attempts` attempts without a complete sign-in."""
    if attempts < FREE_ATTEMPTS:
        return timedelta(0)
    doublings = min(attempts - FREE_ATTEMPTS, 20)  # past MAX_DELAY anyway; a year of attempts must not overflow
    return min(timedelta(seconds=2 ** doublings), MAX_DELAY)


# --- 1. the password at sign-in: slowed down per account and client ---------------------------------------

def begin_sign_in(username: str, user: User | None, trusted_devices: dict) -> Attempt:
    """Count one sign-in attempt for (account, client), or refuse it when it comes too early. Flushes."""
    now = clock.now()
    attempt = Attempt(account_key(username), client_key(user, trusted_devices), user)
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.last_attempt_at < now - FORGET_AFTER)
                       .execution_options(synchronize_session=False))
    where = (SignInThrottle.account_key == attempt.account_key, SignInThrottle.client_key == attempt.client_key)
    for _ in range(3):  # a parallel attempt on the same count changed it under us: read it again
        row = db.session.execute(select(SignInThrottle.id, SignInThrottle.attempts, SignInThrottle.next_attempt_at)
                                 .where(*where)).first()
        if row is None:
            try:
                with db.session.begin_nested():
                    db.session.add(SignInThrottle(account_key=attempt.account_key, client_key=attempt.client_key,
                                                  attempts=1, last_attempt_at=now, next_attempt_at=now + delay_after(1)))
                return attempt
            except IntegrityError:
                continue
        if row.next_attempt_at > now:
            attempt.wait_seconds = max(1, math.ceil((row.next_attempt_at - now).total_seconds()))
            return attempt
        counted = db.session.execute(
            update(SignInThrottle).where(SignInThrottle.id == row.id, SignInThrottle.attempts == row.attempts)
            .values(attempts=row.attempts + 1, last_attempt_at=now, next_attempt_at=now + delay_after(row.attempts + 1))
            .execution_options(synchronize_session=False))
        if counted.rowcount == 1:
            return attempt
    attempt.wait_seconds = 1
    return attempt


def signed_in(user: User, trusted_devices: dict) -> None:
    """A complete sign-in (every factor right): this client's count and the account's failures are cleared."""
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.account_key == account_key(user.username),
                                                    SignInThrottle.client_key == client_key(user, trusted_devices))
                       .execution_options(synchronize_session=False))
    user.failed_logins = 0


# --- 2. proofs after the password or inside a session: the lock -------------------------------------------

def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


def begin_proof(user: User) -> bool:
    """Count one proof on the account before it is checked (parallel guesses cannot exceed LOCK_AFTER);
    False, and nothing counted, while the account is locked. Flushes."""
    now = clock.now()
    db.session.flush()
    count = db.session.scalar(
        update(User).where(User.id == user.id, User.failed_logins < LOCK_AFTER,
                           or_(User.locked_until.is_(None), User.locked_until <= now))
        .values(failed_logins=User.failed_logins + 1).returning(User.failed_logins)
        .execution_options(synchronize_session=False))
    if count is None:
        return False
    set_committed_value(user, "failed_logins", count)
    return True


def proof_succeeded(user: User) -> None:
    user.failed_logins = 0


def proof_failed(user: User) -> None:
    """The proof counted by begin_proof() was wrong: the LOCK_AFTER-th in a row locks the account and ends
    its sessions."""
    if user.failed_logins < LOCK_AFTER:
        return
    user.locked_until = clock.now() + LOCK_FOR
    user.failed_logins = 0  # after the lock, a fresh count
    user.session_version += 1
    audit.record(user, "account_locked", "user", user.id, outcome="denied")
    logger.warning("account %s locked after %s failed proofs after the password", user.id, LOCK_AFTER)


# --- the admin's view and unlock ---------------------------------------------------------------------------

def slowed_down(users) -> dict[int, int]:
    """For the admin's list: user id → attempts counted on the user's account from its most active client,
    for accounts whose next attempt from some client has to wait."""
    by_key = {account_key(user.username): user.id for user in users}
    if not by_key:
        return {}
    rows = db.session.execute(select(SignInThrottle.account_key, SignInThrottle.attempts).where(
        SignInThrottle.account_key.in_(by_key), SignInThrottle.attempts >= FREE_ATTEMPTS,
        SignInThrottle.last_attempt_at >= clock.now() - FORGET_AFTER))
    slowed: dict[int, int] = {}
    for key, attempts in rows:
        slowed[by_key[key]] = max(attempts, slowed.get(by_key[key], 0))
    return slowed


def clear(user: User) -> None:
    """The admin's unlock: the account's failures, its lock and every client's count on it."""
    user.failed_logins = 0
    user.locked_until = None
    db.session.execute(delete(SignInThrottle).where(SignInThrottle.account_key == account_key(user.username))
                       .execution_options(synchronize_session=False))
