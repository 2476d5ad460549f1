"""Campaign, Response (immutable once submitted) and Score."""
import enum
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from screening_scales import INTERNATIONAL
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
    # Chosen at launch and kept for the whole session (NULL on campaigns launched before they existed):
    # {code: text id} for each scale given in a centre's reviewed text (a shipped text has no entry), and
    # {code: cut-off profile} resolved from the deployment's choice for the school's level.
    scale_texts: Mapped[dict | None] = mapped_column(JSON)
    cutoff_profiles: Mapped[dict | None] = mapped_column(JSON)

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
    # The crisis screen stays until the student has seen it and chosen to go on (a reload, a dropped connection
    # or a re-join shows it again); a crisis answer submitted after this moment shows it again.
    crisis_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "I want to talk to someone now": set once, so that a double tap raises one concern.
    talk_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
    # The cut-off profile the band and risk were computed with: a later choice never rewrites a stored result.
    cutoff_profile: Mapped[str] = mapped_column(String(64), default=INTERNATIONAL, server_default=INTERNATIONAL)

    response: Mapped[Response] = relationship(back_populates="score")
    rebands: Mapped[list["ScoreReband"]] = relationship(back_populates="score", order_by="ScoreReband.id")

    def __repr__(self):
        return f"<Score id={self.id} response={self.response_id} profile={self.cutoff_profile}>"


class ScoreReband(db.Model):
    """A stored result banded again with another cut-off profile by `flask scales reband`: what it was, what it
    became, who did it and why. The score row carries the new banding; this row keeps the old one."""

    __tablename__ = "score_rebands"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("scores.id"), index=True)
    from_profile: Mapped[str] = mapped_column(String(64))
    from_band: Mapped[str | None] = mapped_column(String(32))
    from_risk: Mapped[str] = mapped_column(String(16))
    from_flags: Mapped[list] = mapped_column(JSON, default=list)
    to_profile: Mapped[str] = mapped_column(String(64))
    to_band: Mapped[str | None] = mapped_column(String(32))
    to_risk: Mapped[str] = mapped_column(String(16))
    to_flags: Mapped[list] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    rebanded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    rebanded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    score: Mapped[Score] = relationship(back_populates="rebands")
    rebanded_by = relationship("User")

    def __repr__(self):
        return f"<ScoreReband id={self.id} score={self.score_id} {self.from_profile}->{self.to_profile}>"


class JoinThrottle(db.Model):
    """Wrong answers at the student's join, counted per scope (a client and a student number, an address and a
    student number, a client and a session code) since the scope's last success: they set when the next attempt
    in that scope may be checked (app/screening/join_guard.py). A device a student joined from is kept here too
    (attempts 0), so that guesses at the student's number from elsewhere never slow that device down.

    Keyed by a keyed hash of the scope, so the table names no student number, code or address."""

    __tablename__ = "join_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def __repr__(self):
        return f"<JoinThrottle id={self.id} attempts={self.attempts}>"
