"""Staff accounts as the district admin (any account) and a school's psychology teacher (the homeroom teachers of
their own school) manage them: create with a one-time password, edit role and scope, reset a password or a lost
second factor with a reason (the user is told). Every change is audited; rights are read from the database on
every request, so a change applies at the account's next request."""
import re

from sqlalchemy import func, select

from app.accounts import services
from app.accounts.first_use import give_one_time_password
from app.accounts.models import Role, User
from app.accounts.services import AccountError
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.notifications.services import notify
from app.orgs.models import ClassGroup, Hospital, School
from app.orgs.school_year import academic_year

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._\-]{2,63}$")
# Deliberately loose: one @, no spaces, a dot in the domain. The mail server is the judge of the rest.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
SCOPE_FIELDS = ("role", "school_id", "hospital_id", "class_group_id")


def clean_username(value) -> str:
    username = (value or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise AccountError("bad_username")
    return username


def username_taken(username) -> bool:
    return db.session.scalar(select(User.id).where(func.lower(User.username) == username).limit(1)) is not None


def clean_email(value) -> str | None:
    email = (value or "").strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise AccountError("bad_email")
    return email


def usable_classes(school_id=None):
    """Classes a homeroom teacher can be given: of this academic year or a later one (of one school, or all)."""
    query = select(ClassGroup).where(ClassGroup.academic_year >= academic_year(clock.today()))
    return query.where(ClassGroup.school_id == school_id) if school_id is not None else query


def _get(model, object_id):
    """The row, or None for 0 (the form's "none"), an unknown id, or one no database column can hold."""
    if not isinstance(object_id, int) or not 0 < object_id < 2**31:
        return None
    return db.session.get(model, object_id)


def scope_of(data, *, by, current=None) -> dict:
    """The checked role and scope (school, hospital, class) for an account; a psychology teacher can only give
    the homeroom role at their own school. `current` is the account being edited (None when creating)."""
    if by.role == Role.TEACHER:
        role, school, hospital = Role.HOMEROOM, by.school, None
    else:
        try:
            role = Role(data.get("role"))
        except ValueError as exc:
            raise AccountError("bad_role") from exc
        school, hospital = _get(School, data.get("school_id")), _get(Hospital, data.get("hospital_id"))
    class_group = _get(ClassGroup, data.get("class_group_id"))
    if role in (Role.TEACHER, Role.HOMEROOM):
        if school is None:
            raise AccountError("school_required")
        if school.closed_on is not None and (current is None or current.school_id != school.id):
            raise AccountError("school_closed")
    else:
        school = None
    if role == Role.HOMEROOM:
        if class_group is None or class_group.school_id != school.id or \
                class_group.academic_year < academic_year(clock.today()):
            raise AccountError("class_required")
    else:
        class_group = None
    if role == Role.DOCTOR:
        if hospital is None:
            raise AccountError("hospital_required")
    else:
        hospital = None
    return {"role": role, "school_id": school.id if school else None, "hospital_id": hospital.id if hospital else None,
            "class_group_id": class_group.id if class_group else None}


def _profile(data) -> dict:
    name = (data.get("display_name") or "").strip()
    if not name or len(name) > 80:
        raise AccountError("bad_display_name")
    return {"display_name": name, "email": clean_email(data.get("email"))}


def create_account(data, *, by) -> tuple[User, str]:
    """A new account with a one-time password (returned, to be shown once); audited."""
    username = clean_username(data.get("username"))
    if username_taken(username):
        raise AccountError("username_taken")
    fields = dict(_profile(data), **scope_of(data, by=by))
    user = User(username=username, password_hash="!", created_at=clock.now(), active=True, session_version=1,
                failed_logins=0, **fields)
    password = give_one_time_password(user)
    db.session.add(user)
    db.session.flush()
    audit.record(by, "account_created", "user", user.id, detail={k: getattr(fields[k], "value", fields[k])
                                                                 for k in SCOPE_FIELDS})
    return user, password


def update_account(user, data, *, by):
    """Name, e-mail address, role and scope; nobody changes their own role."""
    fields = dict(_profile(data), **scope_of(data, by=by, current=user))
    if user.id == by.id and fields["role"] != user.role:
        raise AccountError("cannot_change_own_role")
    changed = sorted(k for k, v in fields.items() if getattr(user, k) != v)
    for key, value in fields.items():
        setattr(user, key, value)
    db.session.flush()
    if changed:
        audit.record(by, "account_updated", "user", user.id,
                     detail={"changed": changed, **{k: getattr(fields[k], "value", fields[k]) for k in SCOPE_FIELDS}})
    return changed


def _reason(value) -> str:
    reason = (value or "").strip()
    if len(reason) < 5 or len(reason) > 300:
        raise AccountError("reason_required")
    return reason


def reset_password(user, reason, *, by) -> str:
    """A new one-time password (returned, shown once); every session of the account ends, a lock is cleared
    (services.reset_failed_logins), and the user is told in the inbox and by mail."""
    reason = _reason(reason)
    if user.id == by.id:
        raise AccountError("not_your_own")
    password = give_one_time_password(user)
    services.end_all_sessions(user)
    services.reset_failed_logins(user, by=by)
    audit.record(by, "password_reset_by_admin", "user", user.id, detail={"reason": reason})
    tell_user(user, "account_password_reset")
    return password


def reset_second_factor(user, reason, *, by):
    reason = _reason(reason)
    if user.id == by.id:
        raise AccountError("not_your_own")
    services.reset_second_factor(user, by=by, reason=reason)
    tell_user(user, "account_second_factor_reset")


def tell_user(user, kind):
    """An inbox notice, and a mail when mail is on and the user has an address: the user learns of a change
    they did not make. It names no one and carries only a reference and a link."""
    notify([user], kind, f"ACC-{user.id}", "/account/password", email=True)
