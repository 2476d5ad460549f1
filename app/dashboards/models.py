"""MonthlyFigures: a closed month's district figures, kept so that the trend charts need not rescan every response."""
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core import clock
from app.core.types import UTCDateTime
from app.care.models import FollowUp
from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response
from app.students.models import Enrollment

# The dashboards' reads that the measurements (bench/results/dashboards.json) showed needed an index:
# a student's previous response on a scale (reliable change), and a month of a school's responses.
Index("ix_responses_student_scale_submitted", Response.student_id, Response.scale_code, Response.submitted_at)
# A campaign's newest response (campaign_figures: has anything arrived since the figures were stored?). With the
# campaign_id index alone PostgreSQL walks the primary key backwards through every other school's responses
# (200 ms on a 20-school database, teacher dashboard bench); SQLite's index already ends in the rowid.
Index("ix_responses_campaign_id_id", Response.campaign_id, Response.id)
# A school's newest response (the teacher home's default campaign): 100 ms on a province's 5M responses through the
# school_id index alone, instant through this one (bench/results/province.json).
Index("ix_responses_school_id_submitted_at", Response.school_id, Response.submitted_at)
# Open alerts not yet escalated, by due time: the sweep that runs on every dashboard load (137 ms on 360,000 alerts
# without it), and the district's count of current enrolments per school (an index-only count; 300 ms on 1M rows).
Index("ix_alerts_unescalated_due_at", Alert.due_at, sqlite_where=(Alert.status == "open") & Alert.escalated_at.is_(None),
      postgresql_where=(Alert.status == "open") & Alert.escalated_at.is_(None))
Index("ix_enrollments_current_school_id", Enrollment.school_id, sqlite_where=Enrollment.end_date.is_(None),
      postgresql_where=Enrollment.end_date.is_(None))
# Follow-ups not done yet, by due date: the teacher home and its worklist; done ones are most rows and never read here.
Index("ix_follow_ups_open_due_on", FollowUp.due_on, sqlite_where=FollowUp.done_at.is_(None),
      postgresql_where=FollowUp.done_at.is_(None))


class MonthlyFigures(db.Model):
    """Raw (unsuppressed) counts of one month for one school, or for the whole district when school_id is NULL.

    Suppression happens when the figures are shown or exported, never here.
    """

    __tablename__ = "monthly_figures"
    __table_args__ = (UniqueConstraint("month", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, index=True)  # first day of the month, local time
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    figures: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self):
        return f"<MonthlyFigures month={self.month} school={self.school_id}>"


class CampaignFigures(db.Model):
    """A campaign's counts per class, scale, band and risk, its totals per scale, and its reliable deteriorations.

    Responses are immutable, so the figures change only when a response arrives: they are recounted when the
    campaign's highest response id moves past `through_response_id` (never again once the campaign has closed).
    The trend reads only `totals`; the larger columns load when a chart needs them.
    """

    __tablename__ = "campaign_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), unique=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    through_response_id: Mapped[int] = mapped_column(Integer, default=0)
    totals: Mapped[dict] = mapped_column(JSON)                        # {scale: [responses, positive]}
    counts: Mapped[list] = mapped_column(JSON, deferred=True)         # [[class_id, scale, band, risk, n]]
    deteriorations: Mapped[list] = mapped_column(JSON, deferred=True)  # [[student_id, scale, before, after, at]]
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def __repr__(self):
        return f"<CampaignFigures campaign={self.campaign_id}>"
