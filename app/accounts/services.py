"""Account services: create users, authenticate with lockout."""
import logging
from datetime import timedelta

from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.accounts import totp
from app.accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from app.audit import services as audit
from app.core import clock
from app.extensions import db

logger = logging.getLogger(__name__)
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """A rule about accounts was broken; the message is safe to show."""


def create_user(username, display_name, password, role: Role, school=None, hospital=None, class_group=None, email=None):
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    if role in (Role.TEACHER, Role.HOMEROOM) and school is None:
        raise AccountError("school staff need a school")
    if role == Role.DOCTOR and hospital is None:
        raise AccountError("doctors need a hospital")
    user = User(
        username=username.strip().lower(),
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        school=school,
        hospital=hospital,
        class_group=class_group,
        email=email,
        password_changed_at=clock.now(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str):
    """Return (user, None) on success or (None, reason) where reason is 'invalid' or 'locked'."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    now = clock.now()
    if user is None:
        return None, "invalid"
    if user.locked_until and user.locked_until > now:
        return None, "locked"
    if not user.active or not verify_password(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            logger.warning("account %s locked after repeated failures", user.id)
        return None, "invalid"
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, None


def end_all_sessions(user: User):
    """Server-side logout: every cookie carrying the old version stops working."""
    user.session_version += 1


# --- password change -----------------------------------------------------------------------------

def change_password(user: User, current_password: str, new_password: str, *, by: User):
    """Check the current password, apply the policy, end every other session; audited."""
    if not verify_password(user.password_hash, current_password or ""):
        audit.record(by, "password_change", "user", user.id, outcome="denied")
        raise AccountError("wrong_password")
    problem = password_problem(new_password, user.username)
    if problem:
        raise AccountError(problem)
    if verify_password(user.password_hash, new_password):
        raise AccountError("same_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = clock.now()
    user.must_change_password = False  # a one-time password has served its one use
    end_all_sessions(user)
    audit.record(by, "password_changed", "user", user.id)


# --- second factor ---------------------------------------------------------------------------------

def note_failure(user: User):
    """One more failed proof of identity; locks the account after MAX_FAILED_LOGINS."""
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = clock.now() + LOCKOUT
        user.failed_logins = 0
        logger.warning("account %s locked after repeated second-factor failures", user.id)


def check_second_factor(user: User, code: str, secret: str | None = None) -> bool:
    """A fresh code of the user's secret (or of `secret` during enrolment); a code works once only."""
    if user.locked_until and user.locked_until > clock.now():
        return False
    secret = secret or user.totp_secret
    step = totp.matching_step(secret, code, clock.now()) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        note_failure(user)
        return False
    user.totp_last_step = step
    user.failed_logins = 0
    return True


def enrol_second_factor(user: User, secret: str, code: str) -> bool:
    """Store the secret once the user proves their app produces its codes; audited."""
    if not check_second_factor(user, code, secret=secret):
        audit.record(user, "second_factor_enrolment", "user", user.id, outcome="denied")
        return False
    user.totp_secret = secret
    audit.record(user, "second_factor_enrolled", "user", user.id)
    return True


# --- account management by an admin (every change audited; permissions apply at the next request) --

def set_second_factor_required(user: User, required: bool, *, by: User):
    if user.role == Role.ADMIN and not required:
        raise AccountError("admin_needs_second_factor")
    user.totp_required = required
    audit.record(by, "second_factor_required" if required else "second_factor_not_required", "user", user.id)


def set_active(user: User, active: bool, *, by: User):
    if user.id == by.id and not active:
        raise AccountError("cannot_disable_self")
    user.active = active
    end_all_sessions(user)
    audit.record(by, "account_enabled" if active else "account_disabled", "user", user.id)


def reset_failed_logins(user: User, *, by: User):
    user.failed_logins = 0
    user.locked_until = None
    audit.record(by, "account_unlocked", "user", user.id)


def reset_second_factor(user: User, *, by: User, reason: str | None = None):
    """The user lost their phone: they enrol again at the next login."""
    user.totp_secret = None
    user.totp_last_step = None
    end_all_sessions(user)
    audit.record(by, "second_factor_reset", "user", user.id, detail={"reason": reason} if reason else None)
