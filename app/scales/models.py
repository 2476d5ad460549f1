"""The deployment's questionnaire settings: the cut-off profile chosen per scale (and school level), and the
clinicians' reviews of the Chinese texts a centre loaded."""
import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db

ALL_LEVELS = "all"  # a choice for every school level that has no choice of its own


class CutoffProfileChoice(db.Model):
    """The profile new screenings of a scale are banded with, at every school level or at one."""

    __tablename__ = "cutoff_profile_choices"
    __table_args__ = (UniqueConstraint("scale_code", "school_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_code: Mapped[str] = mapped_column(String(16))
    school_level: Mapped[str] = mapped_column(String(16))  # a SchoolLevel value or ALL_LEVELS
    profile: Mapped[str] = mapped_column(String(64))
    chosen_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    chosen_by = relationship("User")

    def __repr__(self):
        return f"<CutoffProfileChoice {self.scale_code}/{self.school_level}={self.profile}>"


class ReviewDecision(str, enum.Enum):
    APPROVED = "approved"
    REJECTED = "rejected"


class ScaleTextReview(db.Model):
    """A named doctor compared a centre's text of a scale with its source document. One review per text: a
    corrected text is a new file, hence a new text id and a new review."""

    __tablename__ = "scale_text_reviews"
    __table_args__ = (UniqueConstraint("scale_code", "text_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_code: Mapped[str] = mapped_column(String(16))
    text_id: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(64))  # the scale version the doctor saw, for the record
    decision: Mapped[ReviewDecision] = mapped_column(str_enum(ReviewDecision))
    compared_with: Mapped[str] = mapped_column(Text)  # the source document: title, edition, where the centre holds it
    note: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    reviewed_by = relationship("User")

    def __repr__(self):
        return f"<ScaleTextReview {self.scale_code}/{self.text_id} {self.decision.value}>"
