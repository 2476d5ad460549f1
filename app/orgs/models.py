"""School, Hospital, Partnership, ClassGroup. Nothing here is ever deleted: a school is closed, an agreement
ends (early, with a reason, or at its expiry date)."""
import enum
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint, and_, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.types import str_enum
from app.extensions import db


class SchoolLevel(str, enum.Enum):
    PRIMARY = "primary"
    MIDDLE = "middle"
    HIGH = "high"
    VOCATIONAL = "vocational"
    UNIVERSITY = "university"


class School(db.Model):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    level: Mapped[SchoolLevel] = mapped_column(str_enum(SchoolLevel))
    district: Mapped[str] = mapped_column(String(80), default="")
    # The school's own code (学校标识码); schools made before it was asked for may lack one until edited.
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    # A closed school keeps its files but starts no campaign, imports no roster and gets no new account.
    closed_on: Mapped[date | None] = mapped_column(Date)
    closed_reason: Mapped[str | None] = mapped_column(String(300))

    classes: Mapped[list["ClassGroup"]] = relationship(back_populates="school", order_by="ClassGroup.grade, ClassGroup.name")
    partnerships: Mapped[list["Partnership"]] = relationship(back_populates="school")

    def __repr__(self):
        return f"<School id={self.id} level={self.level.value}>"


class Hospital(db.Model):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    partnerships: Mapped[list["Partnership"]] = relationship(back_populates="hospital")

    def __repr__(self):
        return f"<Hospital id={self.id}>"


class Partnership(db.Model):
    """A cooperation agreement (校医合作协议); in force from signed_on to expires_on inclusive, or to ended_on
    when the admin ended it early (that day is still in force: referrals stop the next day)."""

    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("school_id", "hospital_id", "signed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(300))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    school: Mapped[School] = relationship(back_populates="partnerships")
    hospital: Mapped[Hospital] = relationship(back_populates="partnerships")

    @property
    def last_day(self) -> date:
        return min(self.expires_on, self.ended_on) if self.ended_on else self.expires_on

    def is_active(self, on: date) -> bool:
        return self.signed_on <= on <= self.last_day

    @classmethod
    def in_force(cls, on: date):
        """SQL condition: the agreement is in force on `on` (every query of partner schools or hospitals uses it)."""
        return and_(cls.signed_on <= on, cls.expires_on >= on, or_(cls.ended_on.is_(None), cls.ended_on >= on))

    def __repr__(self):
        return f"<Partnership id={self.id} school={self.school_id} hospital={self.hospital_id}>"


class ClassGroup(db.Model):
    __tablename__ = "class_groups"
    __table_args__ = (UniqueConstraint("school_id", "academic_year", "grade", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    academic_year: Mapped[str] = mapped_column(String(9))  # "2026-2027"
    grade: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))

    school: Mapped[School] = relationship(back_populates="classes")

    def __repr__(self):
        return f"<ClassGroup id={self.id} school={self.school_id} grade={self.grade}>"
