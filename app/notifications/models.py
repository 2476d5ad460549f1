"""Notification: one inbox row per recipient, with the state of its e-mail."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db


class MailState(str, enum.Enum):
    NONE = "none"        # inbox only (no mail wanted, mail off, or no address)
    PENDING = "pending"  # waiting for the next delivery run
    SENDING = "sending"  # claimed by one delivery run
    SENT = "sent"
    FAILED = "failed"    # gave up after MAIL_MAX_ATTEMPTS


class Notification(db.Model):
    """Carries no student name or answer: a kind, a case number and a link inside the app."""

    __tablename__ = "notifications"
    # The same event never reaches the same person twice (e.g. two sweeps escalating one alert).
    __table_args__ = (UniqueConstraint("user_id", "dedup_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    case_number: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(255))
    dedup_key: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[MailState] = mapped_column(str_enum(MailState), default=MailState.NONE, index=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")

    def __repr__(self):
        return f"<Notification id={self.id} kind={self.kind} user={self.user_id}>"
