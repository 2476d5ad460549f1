"""Referral, Assessment (versioned, never edited), ReturnDecision, FollowUp."""
import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime, str_enum
from app.extensions import db


class ReferralStatus(str, enum.Enum):
    SENT = "sent"
    ACCEPTED = "accepted"
    ASSESSED = "assessed"
    CLOSED = "closed"
    DECLINED = "declined"


class AssessmentSetting(str, enum.Enum):
    CLINIC = "clinic"
    ON_SITE = "on_site"


class CarePlan(str, enum.Enum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"
    SCHOOL_SUPPORT = "school_support"
    NONE = "none"


class DecisionOutcome(str, enum.Enum):
    CLEARED = "cleared"
    CLEARED_WITH_CONDITIONS = "cleared_with_conditions"
    NOT_CLEARED = "not_cleared"


class Referral(db.Model):
    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[ReferralStatus] = mapped_column(str_enum(ReferralStatus), default=ReferralStatus.SENT, index=True)
    reason: Mapped[str | None] = mapped_column(EncryptedText)
    decline_reason: Mapped[str | None] = mapped_column(EncryptedText)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declined_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student = relationship("Student")
    school = relationship("School")
    hospital = relationship("Hospital")
    alert = relationship("Alert")
    created_by = relationship("User", foreign_keys=[created_by_id])
    accepted_by = relationship("User", foreign_keys=[accepted_by_id])
    declined_by = relationship("User", foreign_keys=[declined_by_id])
    assessments: Mapped[list["Assessment"]] = relationship(back_populates="referral", order_by="Assessment.id")
    decisions: Mapped[list["ReturnDecision"]] = relationship(back_populates="referral", order_by="ReturnDecision.id")

    @property
    def case_number(self) -> str:
        return f"R{self.id:06d}"

    @property
    def current_assessments(self) -> list["Assessment"]:
        """Assessments not superseded by a correction, oldest first."""
        superseded = {a.supersedes_id for a in self.assessments if a.supersedes_id}
        return [a for a in self.assessments if a.id not in superseded]

    @property
    def latest_assessment(self) -> "Assessment | None":
        current = self.current_assessments
        return max(current, key=lambda a: (a.assessed_on, a.id)) if current else None

    def __repr__(self):
        return f"<Referral id={self.id} status={self.status.value}>"


class Assessment(db.Model):
    """A clinician's assessment. A correction is a new row with version+1 that supersedes the old."""

    __tablename__ = "assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    clinician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assessed_on: Mapped[date] = mapped_column(Date)
    setting: Mapped[AssessmentSetting] = mapped_column(str_enum(AssessmentSetting))
    findings: Mapped[str] = mapped_column(EncryptedText)
    icd10_code: Mapped[str | None] = mapped_column(String(8))
    risk_level: Mapped[str] = mapped_column(String(16))
    plan: Mapped[CarePlan] = mapped_column(str_enum(CarePlan))
    next_review_on: Mapped[date | None] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    referral: Mapped[Referral] = relationship(back_populates="assessments")
    clinician = relationship("User")

    def __repr__(self):
        return f"<Assessment id={self.id} referral={self.referral_id} version={self.version}>"


class ReturnDecision(db.Model):
    __tablename__ = "return_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The assessment (version) the decision rests on: its ICD code is what a shared diagnosis shows.
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id"))
    outcome: Mapped[DecisionOutcome] = mapped_column(str_enum(DecisionOutcome))
    conditions: Mapped[str | None] = mapped_column(EncryptedText)
    review_on: Mapped[date | None] = mapped_column(Date)
    share_diagnosis: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    referral: Mapped[Referral] = relationship(back_populates="decisions")
    decided_by = relationship("User")
    assessment = relationship("Assessment")

    @property
    def case_number(self) -> str:
        return f"D{self.id:06d}"

    @property
    def condition_lines(self) -> list[str]:
        return [line.strip(" \t-•·;；") for line in (self.conditions or "").splitlines() if line.strip(" \t-•·;；")]

    def __repr__(self):
        return f"<ReturnDecision id={self.id} outcome={self.outcome.value}>"


class FollowUp(db.Model):
    """A follow-up task at the school; done when the contact is recorded.

    A decision "cleared with conditions" opens one task per condition line; recording the contact
    closes the task and, when the teacher gives a next due date, opens the next one for the same
    condition. So each condition has a chain of contacts until the review.
    """

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("return_decisions.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    condition: Mapped[str | None] = mapped_column(EncryptedText)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    done_by = relationship("User")
    decision = relationship("ReturnDecision")
    student = relationship("Student")

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, on: date) -> bool:
        return self.done_at is None and self.due_on < on

    def __repr__(self):
        return f"<FollowUp id={self.id} due={self.due_on} done={self.done_at is not None}>"
