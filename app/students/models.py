"""Student (one person across every school) and Enrollment (one stay at one school)."""
import enum
from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core import clock
from app.core.types import UTCDateTime, str_enum
from app.extensions import db


class Sex(str, enum.Enum):
    FEMALE = "F"
    MALE = "M"


class EnrollmentReason(str, enum.Enum):
    ADMISSION = "admission"
    PROMOTION = "promotion"
    TRANSFER = "transfer"
    GRADUATION = "graduation"


class Student(db.Model):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(primary_key=True)
    # National student number (学籍号): the stable identity across schools.
    student_number: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    sex: Mapped[Sex] = mapped_column(str_enum(Sex, length=1))
    birth_date: Mapped[date] = mapped_column(Date)
    guardian_name: Mapped[str] = mapped_column(String(80), default="")
    guardian_phone: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    enrollments: Mapped[list["Enrollment"]] = relationship(
        back_populates="student", order_by="Enrollment.start_date"
    )

    def current_enrollment(self, on: date | None = None) -> "Enrollment | None":
        on = on or clock.today()
        for enrollment in reversed(self.enrollments):
            if enrollment.is_current(on):
                return enrollment
        return None

    def age_on(self, on: date) -> int:
        return on.year - self.birth_date.year - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))


class Enrollment(db.Model):
    """A student's stay at a school, in a class; end_date is the first day no longer enrolled."""

    __tablename__ = "enrollments"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    class_group_id: Mapped[int | None] = mapped_column(ForeignKey("class_groups.id"), index=True)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[EnrollmentReason] = mapped_column(str_enum(EnrollmentReason))

    student: Mapped[Student] = relationship(back_populates="enrollments")
    school = relationship("School")
    class_group = relationship("ClassGroup")

    def is_current(self, on: date) -> bool:
        return self.start_date <= on and (self.end_date is None or on < self.end_date)

    def __repr__(self):
        return f"<Enrollment id={self.id} student={self.student_id} school={self.school_id}>"


class ConsentKind(str, enum.Enum):
    """What the guardian consented to (PIPL: a minor's data and all health data need separate consent)."""

    SCREENING = "screening"                  # taking part in psychological screening
    HANDOVER_SCHOOL = "handover_school"      # handing the file to the next school(s) the student attends
    HANDOVER_HOSPITAL = "handover_hospital"  # handing earlier schools' entries to a referred-to partner hospital


class Consent(db.Model):
    """One recorded guardian decision. Append-only: the newest row per (student, kind) is in force;
    a withdrawal is a new row with granted=False, so who recorded what and when is never lost."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id"), index=True)
    kind: Mapped[ConsentKind] = mapped_column(str_enum(ConsentKind))
    granted: Mapped[bool] = mapped_column(Boolean)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(String(200), default="")

    student = relationship("Student")
    recorded_by = relationship("User")

    def __repr__(self):
        return f"<Consent id={self.id} student={self.student_id} kind={self.kind.value} granted={self.granted}>"


class RosterImportStatus(str, enum.Enum):
    PREVIEWED = "previewed"
    APPLIED = "applied"


class RosterImport(db.Model):
    """An uploaded roster kept between preview and apply. The parsed rows are dropped once applied."""

    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Set when a school's teacher uploads: every row must then be of this school.
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    # The academic year ('2027-2028') whose classes the rows are filed in: chosen at upload (this year or the
    # next, for a roster imported before September), kept so that Apply files them where the preview showed.
    academic_year: Mapped[str] = mapped_column(String(9))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[RosterImportStatus] = mapped_column(str_enum(RosterImportStatus), default=RosterImportStatus.PREVIEWED)
    summary: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User")
    school = relationship("School")

    def __repr__(self):
        return f"<RosterImport id={self.id} year={self.academic_year} status={self.status.value}>"


class AdmissionStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class AdmissionRequest(db.Model):
    """A school's roster row for a student number that is not one of the school's current students.

    Nothing moves until the district admin decides: approval creates the student (a number new to the system) or
    enrols the known student at the school (a transfer; earlier schools' entries follow under the hand-over consent
    rules); refusal changes nothing. The row's identity details are kept only while the request waits.
    """

    __tablename__ = "admission_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    roster_import_id: Mapped[int] = mapped_column(ForeignKey("roster_imports.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    row: Mapped[int] = mapped_column()  # the spreadsheet row, so that the school finds it in its file
    student_number: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, length=1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    guardian_name: Mapped[str] = mapped_column(String(80), default="")
    guardian_phone: Mapped[str] = mapped_column(String(32), default="")
    grade: Mapped[int] = mapped_column()
    class_name: Mapped[str] = mapped_column(String(40))
    academic_year: Mapped[str] = mapped_column(String(9))
    status: Mapped[AdmissionStatus] = mapped_column(str_enum(AdmissionStatus), default=AdmissionStatus.PENDING,
                                                    index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(String(200), default="")
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), index=True)  # set on approval

    school = relationship("School")
    roster_import = relationship("RosterImport")
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    def __repr__(self):
        return f"<AdmissionRequest id={self.id} school={self.school_id} status={self.status.value}>"
