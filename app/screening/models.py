"""Campaign, Response (immutable once submitted) and Score."""
import enum
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db


class CampaignStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


campaign_classes = Table(
    "campaign_classes",
    db.metadata,
    Column("campaign_id", ForeignKey("campaigns.id"), primary_key=True),
    Column("class_group_id", ForeignKey("class_groups.id"), primary_key=True),
)


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    scale_codes: Mapped[list] = mapped_column(JSON)
    session_code: Mapped[str] = mapped_column(String(12), unique=True)
    status: Mapped[CampaignStatus] = mapped_column(str_enum(CampaignStatus), default=CampaignStatus.OPEN)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    school = relationship("School")
    classes = relationship("ClassGroup", secondary=campaign_classes, order_by="ClassGroup.grade, ClassGroup.name")
    created_by = relationship("User")

    def is_open(self, at: datetime) -> bool:
        return campaign_open(self, at)


def campaign_open(campaign, at: datetime) -> bool:
    """Open at `at`: a Campaign, or a row with its status, opens_at and closes_at."""
    return campaign.status == CampaignStatus.OPEN and campaign.opens_at <= at < campaign.closes_at


class CampaignParticipant(db.Model):
    """A student who joined a campaign's session: the 'started' figure of live progress."""

    __tablename__ = "campaign_participants"
    __table_args__ = (UniqueConstraint("campaign_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    class_group_id: Mapped[int | None] = mapped_column(ForeignKey("class_groups.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Every student token carries the generation it was issued in; a teacher ending the student's session
    # raises it, and every token issued before stops working (app/api/tokens.py).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    session_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Response(db.Model):
    """One questionnaire answered by one student in one campaign. Never updated."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("campaign_id", "student_id", "scale_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No single-column indexes: (campaign_id, student_id, scale_code) and (campaign_id, id) serve the
    # campaign, (student_id, scale_code, submitted_at) the student, and each index is written per submission.
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"))
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    class_group_id: Mapped[int | None] = mapped_column(ForeignKey("class_groups.id"))
    scale_code: Mapped[str] = mapped_column(String(16))
    scale_version: Mapped[str] = mapped_column(String(64))
    answers: Mapped[list] = mapped_column(JSON)
    quality_flags: Mapped[list] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)

    campaign = relationship("Campaign")
    student = relationship("Student")
    school = relationship("School")
    score: Mapped["Score"] = relationship(back_populates="response", uselist=False)


class Score(db.Model):
    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id"), unique=True)
    total: Mapped[int | None] = mapped_column(Integer)
    band: Mapped[str | None] = mapped_column(String(32))
    risk: Mapped[str] = mapped_column(String(16), index=True)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    subscales: Mapped[dict] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    response: Mapped[Response] = relationship(back_populates="score")
