"""User accounts of staff. Students do not have accounts: they join a session by code."""
import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime, str_enum
from app.extensions import db


class Role(str, enum.Enum):
    ADMIN = "admin"          # district / mental-health centre
    TEACHER = "teacher"      # school psychology teacher
    HOMEROOM = "homeroom"    # class teacher: sees "needs attention" only
    DOCTOR = "doctor"        # hospital clinician


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"), index=True)
    class_group_id: Mapped[int | None] = mapped_column(ForeignKey("class_groups.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Doctors on duty receive escalated alerts of partner schools (all of a hospital's doctors when none is).
    on_duty: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Bumped at logout and on permission changes: every older session stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    # Failed proofs by someone who had already given the password or held a session (a wrong code at sign-in,
    # a wrong re-authentication or current password) since the last complete proof; the 5th locks the
    # account (app/accounts/lockout.py). Wrong passwords alone never lock it: they slow that device down.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while the password is a one-time password given by an admin: it must be changed at first use.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Second factor (TOTP): the secret is encrypted like clinical text; admins may require it for staff.
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    totp_required: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # a code is accepted once only

    school = relationship("School")
    hospital = relationship("Hospital")
    class_group = relationship("ClassGroup")

    @property
    def is_active(self):
        return self.active

    @property
    def needs_second_factor(self) -> bool:
        """Admins always, other staff when an admin requires it."""
        return self.role == Role.ADMIN or bool(self.totp_required)

    @property
    def must_enrol_second_factor(self) -> bool:
        return self.needs_second_factor and not self.totp_secret

    def get_id(self):
        # The session carries the version, so bumping it logs every session out.
        return f"{self.id}:{self.session_version}"

    def __repr__(self):
        return f"<User id={self.id} role={self.role.value}>"


class StaffImportStatus(str, enum.Enum):
    PREVIEWED = "previewed"
    APPLIED = "applied"


class StaffImport(db.Model):
    """An uploaded list of staff accounts kept between preview and apply; its rows are dropped once applied."""

    __tablename__ = "staff_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when a school's psychology teacher uploads: every row must then be a homeroom teacher of this school.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[StaffImportStatus] = mapped_column(str_enum(StaffImportStatus), default=StaffImportStatus.PREVIEWED)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")

    def __repr__(self):
        return f"<StaffImport id={self.id} status={self.status.value}>"


class SignInThrottle(db.Model):
    """Attempts at proving one account's identity from one client (a trusted device, or all unknown devices),
    since the last complete proof from it: they set when the next attempt may be checked (lockout.py).

    Keyed by a keyed hash of the username as typed, so that unknown usernames are slowed down exactly like
    real ones and the table names nobody.
    """

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("account_key", "client_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64))
    client_key: Mapped[str] = mapped_column(String(40))
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self):
        return f"<SignInThrottle id={self.id} attempts={self.attempts}>"
