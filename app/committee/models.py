"""CommitteeMember (a student named for a term) and CommitteeReport (a concern, or nothing to report, for a week)."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime
from app.extensions import db

REPORT_CONCERN = "concern"
REPORT_NOTHING = "nothing"


class CommitteeMember(db.Model):
    """A student named as a class's psychological committee member (心理委员) for one term of one school year."""

    __tablename__ = "committee_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    class_group_id: Mapped[int] = mapped_column(ForeignKey("class_groups.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    academic_year: Mapped[str] = mapped_column(String(9))
    term: Mapped[int] = mapped_column(Integer)
    appointed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    student = relationship("Student")
    class_group = relationship("ClassGroup")

    def __repr__(self):
        return f"<CommitteeMember id={self.id} class={self.class_group_id} term={self.academic_year}-{self.term}>"


class CommitteeReport(db.Model):
    """What a committee member sent: a concern about a classmate (it opened or joined an alert) or "nothing to
    report this week". The member never sees it again; the school's psychology teachers see the week's status."""

    __tablename__ = "committee_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_members.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    class_group_id: Mapped[int] = mapped_column(ForeignKey("class_groups.id"), index=True)
    week_start: Mapped[date] = mapped_column(Date, index=True)  # the Monday of the week it was sent in
    kind: Mapped[str] = mapped_column(String(16))
    subject_student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"))
    urgency: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(EncryptedText)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    member = relationship("CommitteeMember")

    def __repr__(self):
        return f"<CommitteeReport id={self.id} member={self.member_id} kind={self.kind}>"
