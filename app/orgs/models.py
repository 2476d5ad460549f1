"""School, Hospital, Partnership, ClassGroup."""
import enum
from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
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

    classes: Mapped[list["ClassGroup"]] = relationship(back_populates="school", order_by="ClassGroup.grade, ClassGroup.name")
    partnerships: Mapped[list["Partnership"]] = relationship(back_populates="school")

    def __repr__(self):
        return f"<School id={self.id} level={self.level.value}>"


class Hospital(db.Model):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    partnerships: Mapped[list["Partnership"]] = relationship(back_populates="hospital")


class Partnership(db.Model):
    """A cooperation agreement (校医合作协议); active from signed_on to expires_on inclusive."""

    __tablename__ = "partnerships"
    __table_args__ = (UniqueConstraint("school_id", "hospital_id", "signed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)

    school: Mapped[School] = relationship(back_populates="partnerships")
    hospital: Mapped[Hospital] = relationship(back_populates="partnerships")

    def is_active(self, on: date) -> bool:
        return self.signed_on <= on <= self.expires_on


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
