"""Second-stage interviews, warning levels with their history, reviews, and plans (一生一策).

How the tables fit together (other domains, e.g. term reports, read them; keep this description true):

- ``register_settings``: one row per school that changed a default (interview due days, review period per level).
  A school without a row uses ``DEFAULT_SETTINGS``. The defaults are the school's to change, not clinical facts.
- ``interviews``: the second-stage interview (二级筛查/访谈) by the psychology teacher. ``response_id`` is the
  positive screen that put the student on the interview list (None for an interview without one).
  ``questionnaire_level`` is the warning level the questionnaire's band suggests, ``level`` the one the teacher
  set (they may differ; ``level_reason`` says why). Structured parts: risk and protective factors (codes in
  app/register/factors.py) and the headings of the NIMH ASQ Brief Suicide Safety Assessment. ``judgement``,
  ``notes`` and ``level_reason`` are clinical free text, encrypted at rest (EncryptedText).
- ``warning_entries``: a student's line in a school's register: the level in force (``none`` once lifted), since
  when, the next review due, and the red level's duties (guardian informed, documented reason not to refer).
  One row per (student, school): a new school interviews the student itself and gets its own line.
- ``warning_changes``: the history of a line: every set, raise, lower, lift and confirmation, by whom, why
  (encrypted), from an interview or a review. The level in force at any moment is the last change before it.
- ``warning_reviews``: a periodic review of a line (weekly for red, fortnightly for orange, monthly for yellow
  by default); it moves ``next_review_on``.
- ``support_plans`` / ``plan_tasks``: the plan (一生一策). A change is a new version (version+1, supersedes_id);
  each version has its own tasks. A task's owner is the psychology teacher, the homeroom teacher, the guardian
  or the hospital; the homeroom teacher sees the tasks given to them (their text, the due date) and nothing else.

Reading them for figures: app/register/district.py (the level in force at a moment, the change since a school's
latest round opened, "flagged but no intervention", per-school counts); app/register/services.py (the interview
list, a line's duties, the current plan). Access: app/auth/policy.py (register_scope, can_register).
"""
import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import EncryptedText, UTCDateTime, str_enum
from app.extensions import db


class WarningLevel(str, enum.Enum):
    RED = "red"        # 红色预警 (I)
    ORANGE = "orange"  # 橙色预警 (II)
    YELLOW = "yellow"  # 黄色预警 (III)
    NONE = "none"      # not on the register / lifted


LEVEL_RANK = {WarningLevel.NONE: 0, WarningLevel.YELLOW: 1, WarningLevel.ORANGE: 2, WarningLevel.RED: 3}
ACTIVE_LEVELS = (WarningLevel.RED, WarningLevel.ORANGE, WarningLevel.YELLOW)


class ChangeKind(str, enum.Enum):
    SET = "set"              # first level on this school's register
    RAISED = "raised"
    LOWERED = "lowered"
    LIFTED = "lifted"        # to none
    CONFIRMED = "confirmed"  # the same level again (an interview or a review that kept it)


class TaskOwner(str, enum.Enum):
    PSYCHOLOGY_TEACHER = "psychology_teacher"
    HOMEROOM = "homeroom"
    GUARDIAN = "guardian"
    HOSPITAL = "hospital"


DEFAULT_SETTINGS = {"interview_days": 7, "red_review_days": 7, "orange_review_days": 14, "yellow_review_days": 30}


class RegisterSettings(db.Model):
    """A school's own deadlines: days to interview after a positive screen, days between reviews per level."""

    __tablename__ = "register_settings"

    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), primary_key=True)
    interview_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SETTINGS["interview_days"])
    red_review_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SETTINGS["red_review_days"])
    orange_review_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SETTINGS["orange_review_days"])
    yellow_review_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_SETTINGS["yellow_review_days"])
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    def review_days(self, level) -> int | None:
        level = WarningLevel(level)
        return None if level == WarningLevel.NONE else getattr(self, f"{level.value}_review_days")

    def __repr__(self):
        return f"<RegisterSettings school={self.school_id}>"


class Interview(db.Model):
    """The second-stage interview; structured headings plus encrypted free text."""

    __tablename__ = "interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("responses.id"))
    interviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    interviewed_on: Mapped[date] = mapped_column(Date)
    risk_factors: Mapped[list] = mapped_column(JSON, default=list)
    protective_factors: Mapped[list] = mapped_column(JSON, default=list)
    # ASQ Brief Suicide Safety Assessment headings (codes in app/register/factors.py)
    suicidal_thoughts: Mapped[str] = mapped_column(String(24))
    suicide_plan: Mapped[str] = mapped_column(String(24))
    past_behaviour: Mapped[list] = mapped_column(JSON, default=list)
    symptoms: Mapped[list] = mapped_column(JSON, default=list)
    guardian_interviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    safety_plan_made: Mapped[bool] = mapped_column(Boolean, default=False)
    disposition: Mapped[str] = mapped_column(String(24))
    judgement: Mapped[str] = mapped_column(EncryptedText)
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    questionnaire_level: Mapped[WarningLevel | None] = mapped_column(str_enum(WarningLevel, 8))
    level: Mapped[WarningLevel] = mapped_column(str_enum(WarningLevel, 8))
    level_reason: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    interviewer = relationship("User")
    response = relationship("Response")

    @property
    def case_number(self) -> str:
        return f"I{self.id:06d}"

    def __repr__(self):
        return f"<Interview id={self.id} level={self.level.value}>"


class WarningEntry(db.Model):
    """A student's line in one school's warning register (预警库)."""

    __tablename__ = "warning_entries"
    __table_args__ = (UniqueConstraint("student_id", "school_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    level: Mapped[WarningLevel] = mapped_column(str_enum(WarningLevel, 8), index=True)
    level_since: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    next_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    guardian_informed_on: Mapped[date | None] = mapped_column(Date)
    guardian_informed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    no_referral_reason: Mapped[str | None] = mapped_column(EncryptedText)  # red: the documented reason not to refer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    student = relationship("Student")
    school = relationship("School")
    changes: Mapped[list["WarningChange"]] = relationship(back_populates="entry", order_by="WarningChange.id")
    reviews: Mapped[list["WarningReview"]] = relationship(back_populates="entry", order_by="WarningReview.id")

    @property
    def case_number(self) -> str:
        return f"W{self.id:06d}"

    @property
    def is_active(self) -> bool:
        return self.level != WarningLevel.NONE

    def is_overdue(self, on: date) -> bool:
        return self.is_active and self.next_review_on is not None and self.next_review_on < on

    def __repr__(self):
        return f"<WarningEntry id={self.id} level={self.level.value}>"


class WarningChange(db.Model):
    """One step in a register line's history."""

    __tablename__ = "warning_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("warning_entries.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    from_level: Mapped[WarningLevel] = mapped_column(str_enum(WarningLevel, 8))
    to_level: Mapped[WarningLevel] = mapped_column(str_enum(WarningLevel, 8))
    kind: Mapped[ChangeKind] = mapped_column(str_enum(ChangeKind, 12))
    reason: Mapped[str] = mapped_column(EncryptedText)
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interviews.id"))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("warning_reviews.id"))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    entry: Mapped[WarningEntry] = relationship(back_populates="changes")
    changed_by = relationship("User")

    def __repr__(self):
        return f"<WarningChange id={self.id} {self.from_level.value}->{self.to_level.value}>"


class WarningReview(db.Model):
    """A periodic review of a register line (it may also change the level: then a WarningChange names it)."""

    __tablename__ = "warning_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("warning_entries.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(EncryptedText)
    reviewed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    entry: Mapped[WarningEntry] = relationship(back_populates="reviews")
    reviewed_by = relationship("User")

    def __repr__(self):
        return f"<WarningReview id={self.id} entry={self.entry_id}>"


class SupportPlan(db.Model):
    """一生一策: one version of a student's plan at a school. A change is a new version; none is edited."""

    __tablename__ = "support_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("warning_entries.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("support_plans.id"))
    goals: Mapped[str] = mapped_column(EncryptedText)
    review_dates: Mapped[list] = mapped_column(JSON, default=list)  # ISO dates, ascending
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    created_by = relationship("User")
    tasks: Mapped[list["PlanTask"]] = relationship(back_populates="plan", order_by="PlanTask.id")

    @property
    def case_number(self) -> str:
        return f"P{self.id:06d}"

    def __repr__(self):
        return f"<SupportPlan id={self.id} version={self.version}>"


class PlanTask(db.Model):
    """Who does what in one plan version."""

    __tablename__ = "plan_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("support_plans.id"), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    owner: Mapped[TaskOwner] = mapped_column(str_enum(TaskOwner, 24))
    action: Mapped[str] = mapped_column(EncryptedText)
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    plan: Mapped[SupportPlan] = relationship(back_populates="tasks")
    student = relationship("Student")
    done_by = relationship("User")

    def is_overdue(self, on: date) -> bool:
        return self.done_at is None and self.due_on is not None and self.due_on < on

    def __repr__(self):
        return f"<PlanTask id={self.id} owner={self.owner.value}>"
