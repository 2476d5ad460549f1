"""Alert: open → acknowledged → resolved, with a due time from its level's target."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime, str_enum
from app.extensions import db


class AlertStatus(str, enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


def alert_case_number(alert_id: int) -> str:
    """What staff, mail and the inbox call an alert: no student detail in it."""
    return f"A{alert_id:06d}"


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        # One student, one unresolved alert per level and reason, also under concurrent submissions.
        Index("uq_alerts_one_unresolved", "student_id", "level", "reason", unique=True,
              sqlite_where=text("status != 'resolved'"), postgresql_where=text("status != 'resolved'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    level: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[AlertStatus] = mapped_column(str_enum(AlertStatus), default=AlertStatus.OPEN, index=True)
    note: Mapped[str | None] = mapped_column(EncryptedText)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[str | None] = mapped_column(String(40))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set once, by the sweep that escalated the alert past its due time (the claim that prevents re-notifying).
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome_note: Mapped[str | None] = mapped_column(EncryptedText)

    student = relationship("Student")
    school = relationship("School")
    response = relationship("Response")
    acknowledged_by = relationship("User", foreign_keys=[acknowledged_by_id])
    resolved_by = relationship("User", foreign_keys=[resolved_by_id])
    raised_by = relationship("User", foreign_keys=[raised_by_id])
    joins: Mapped[list["AlertJoin"]] = relationship(back_populates="alert", order_by="AlertJoin.id")

    @property
    def case_number(self) -> str:
        return alert_case_number(self.id)

    def is_overdue(self, at: datetime) -> bool:
        return self.status == AlertStatus.OPEN and at > self.due_at

    def __repr__(self):
        return f"<Alert id={self.id} level={self.level} status={self.status.value}>"


class AlertJoin(db.Model):
    """A later response or concern that joined an already open alert instead of opening a second one."""

    __tablename__ = "alert_joins"
    __table_args__ = (UniqueConstraint("alert_id", "response_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    alert = relationship("Alert", back_populates="joins")
    response = relationship("Response")
    raised_by = relationship("User")

    def __repr__(self):
        return f"<AlertJoin id={self.id} alert={self.alert_id} response={self.response_id}>"


class CrisisStep(db.Model):
    """One step of a critical alert's crisis checklist (the ASQ pathway), done once: who did it and when."""

    __tablename__ = "alert_crisis_steps"
    __table_args__ = (UniqueConstraint("alert_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    step: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    done_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText)

    done_by = relationship("User")

    def __repr__(self):
        return f"<CrisisStep id={self.id} alert={self.alert_id} step={self.step}>"


class GuardianContact(db.Model):
    """A call with the student's guardian about an alert: who called whom, when, what came of it (note encrypted)."""

    __tablename__ = "guardian_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    direction: Mapped[str] = mapped_column(String(16))  # "outgoing": staff called; "incoming": the guardian called
    person: Mapped[str] = mapped_column(String(80))     # whom: the guardian's name, or who answered
    contacted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    recorded_by = relationship("User")

    def __repr__(self):
        return f"<GuardianContact id={self.id} alert={self.alert_id} outcome={self.outcome}>"
