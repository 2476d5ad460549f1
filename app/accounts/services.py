"""Account services: create users, sign in (the lock rule is lockout.py's), second factor, admin changes."""
from sqlalchemy import func, select

from app.accounts.models import Role, User
from app.accounts import lockout, totp
from app.accounts.passwords import dummy_hash, hash_password, needs_rehash, password_problem, verify_password
from app.audit import services as audit
from app.core import clock
from app.extensions import db

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


def _find_user(username: str):
    return db.session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))


def begin_sign_in(username: str, trusted_devices: dict) -> lockout.Attempt:
    """Count a sign-in attempt for this username from this client (app/accounts/lockout.py)."""
    return lockout.begin_sign_in(username, _find_user(username), trusted_devices)


def check_password(attempt: lockout.Attempt, password: str):
    """Return (user, None) when the password is right, else (None, 'invalid') or, only after the right
    password, (None, 'locked'). One argon2 verification whatever the username: an unknown or disabled account
    is checked against a dummy hash, so neither the timing nor the answer tells which usernames exist."""
    user = attempt.user
    right = verify_password(user.password_hash if user is not None else dummy_hash(), password or "")
    if not right or user is None or not user.active:
        return None, "invalid"  # counted already; a wrong password never locks (lockout.py)
    if lockout.is_locked(user):
        return None, "locked"
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user, None


def complete_sign_in(user: User, trusted_devices: dict) -> None:
    """Every factor was right: this client's count and the account's failures start from zero."""
    lockout.signed_in(user, trusted_devices)
    user.last_login_at = clock.now()


def end_all_sessions(user: User):
    """Server-side logout: every cookie carrying the old version stops working."""
    user.session_version += 1


# --- password change -----------------------------------------------------------------------------

def new_password_problem(user: User, new_password: str) -> str | None:
    """The policy's objection to a new password (checked before the current password is even looked at)."""
    return password_problem(new_password, user.username)


def change_password(user: User, current_password: str, new_password: str, *, by: User):
    """Check the current password (a failure counts toward the lock, lockout.py), apply the policy, end every
    other session; audited."""
    if not lockout.begin_proof(user) or not verify_password(user.password_hash, current_password or ""):
        lockout.proof_failed(user)
        audit.record(by, "password_change", "user", user.id, outcome="denied")
        raise AccountError("wrong_password")
    lockout.proof_succeeded(user)
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

def _accept_code(user: User, code: str, secret: str | None = None) -> bool:
    """A fresh code of the user's secret (or of `secret` during enrolment); a code works once only."""
    secret = secret or user.totp_secret
    step = totp.matching_step(secret, code, clock.now()) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def check_login_code(user: User, code: str) -> bool:
    """The second step of a sign-in. A wrong code counts toward the lock: whoever typed it knew the password."""
    return _proof(user, lambda: _accept_code(user, code))


def reauthenticate(user: User, password: str, code: str) -> bool:
    """Password, and code when enrolled, inside a session (before exports and break-glass). A failure counts
    toward the lock: whoever is trying holds the session."""
    return _proof(user, lambda: verify_password(user.password_hash, password or "")
                  and (not user.totp_secret or _accept_code(user, code)))


def _proof(user: User, check) -> bool:
    """Counted before it is checked, refused unchecked while the account is locked (lockout.py)."""
    if lockout.begin_proof(user) and check():
        lockout.proof_succeeded(user)
        return True
    lockout.proof_failed(user)
    return False


def enrol_second_factor(user: User, secret: str, code: str) -> bool:
    """Store the secret once the user proves their app produces its codes; audited. A wrong code here is not a
    failed proof of identity (the secret is shown to the session holder; guessing its codes gains nothing)."""
    if not _accept_code(user, code, secret=secret):
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
    """The admin's unlock: the lock, the failures and every client's slowed-down count of the account."""
    lockout.clear(user)
    audit.record(by, "account_unlocked", "user", user.id)


def reset_second_factor(user: User, *, by: User, reason: str | None = None):
    """The user lost their phone: they enrol again at the next login."""
    user.totp_secret = None
    user.totp_last_step = None
    end_all_sessions(user)
    audit.record(by, "second_factor_reset", "user", user.id, detail={"reason": reason} if reason else None)
