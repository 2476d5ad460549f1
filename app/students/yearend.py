"""Year-end moves: promote a school's classes, graduate the final grade, transfer a student.

Every move is one new Enrollment row carrying its reason, and the enrolment it replaces ends that day.
A graduation is recorded as an Enrollment of zero length (start = end = graduation day, no class) at the
graduating school, so the enrolment history reads admission → promotion … → graduation. Grades are
numbered continuously: primary 1–6, middle 7–9, high and vocational 10–12, university 13–16.
"""
import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, SchoolLevel
from app.students.models import Enrollment, EnrollmentReason
from app.orgs.school_year import academic_year, next_year

FINAL_GRADE = {SchoolLevel.PRIMARY: 6, SchoolLevel.MIDDLE: 9, SchoolLevel.HIGH: 12,
               SchoolLevel.VOCATIONAL: 12, SchoolLevel.UNIVERSITY: 16}
# Grade words inside Chinese class names, so that 初二（1）班 becomes 初三（1）班 on promotion.
GRADE_WORDS = {1: "一年级", 2: "二年级", 3: "三年级", 4: "四年级", 5: "五年级", 6: "六年级",
               7: "初一", 8: "初二", 9: "初三", 10: "高一", 11: "高二", 12: "高三",
               13: "大一", 14: "大二", 15: "大三", 16: "大四"}


class YearEndError(ValueError):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def promoted_class_name(name: str, grade: int) -> str:
    """The class's name one grade up: grade words and a leading 'grade-' number are advanced."""
    word, up = GRADE_WORDS.get(grade), GRADE_WORDS.get(grade + 1)
    if word and up and word in name:
        return name.replace(word, up, 1)
    return re.sub(rf"(?<!\d){grade}(?=-)", str(grade + 1), name, count=1)


@dataclass
class YearEndStep:
    class_group: ClassGroup
    students: int
    graduates: bool
    target_name: str | None


def plan_year_end(school, on: date | None = None) -> list[YearEndStep]:
    """Per class with current students in this academic year: promoted to which class, or graduating."""
    on = on or clock.today()
    year = academic_year(on)
    final = FINAL_GRADE[school.level]
    steps = []
    for class_group in db.session.scalars(select(ClassGroup).where(
            ClassGroup.school_id == school.id, ClassGroup.academic_year == year).order_by(ClassGroup.grade, ClassGroup.name)):
        count = len(_current(class_group.id, on))
        if not count:
            continue
        graduates = class_group.grade >= final
        steps.append(YearEndStep(class_group, count, graduates,
                                 None if graduates else promoted_class_name(class_group.name, class_group.grade)))
    return steps


def _current(class_group_id, on):
    return db.session.scalars(select(Enrollment).where(
        Enrollment.class_group_id == class_group_id, Enrollment.start_date <= on,
        or_(Enrollment.end_date.is_(None), Enrollment.end_date > on))).all()


def run_year_end(school, by, on: date | None = None) -> dict:
    """Promote every class of this academic year to the next grade and graduate the final grade."""
    on = on or clock.today()
    steps = plan_year_end(school, on)
    if not steps:
        raise YearEndError("nothing_to_promote")
    promoted = graduated = 0
    for step in steps:
        source = step.class_group
        target = None
        if not step.graduates:
            target = _class(school.id, next_year(source.academic_year), source.grade + 1, step.target_name)
        for enrollment in _current(source.id, on):
            enrollment.end_date = on
            if step.graduates:
                db.session.add(Enrollment(student_id=enrollment.student_id, school_id=school.id, class_group_id=None,
                                          start_date=on, end_date=on, reason=EnrollmentReason.GRADUATION))
                graduated += 1
            else:
                db.session.add(Enrollment(student_id=enrollment.student_id, school_id=school.id,
                                          class_group_id=target.id, start_date=on, reason=EnrollmentReason.PROMOTION))
                promoted += 1
    db.session.flush()
    result = {"promoted": promoted, "graduated": graduated}
    audit.record(by, "year_end_run", "school", school.id, detail=result)
    return result


def _class(school_id, year, grade, name):
    existing = db.session.scalar(select(ClassGroup).where(
        ClassGroup.school_id == school_id, ClassGroup.academic_year == year, ClassGroup.grade == grade,
        ClassGroup.name == name))
    if existing is not None:
        return existing
    class_group = ClassGroup(school_id=school_id, academic_year=year, grade=grade, name=name)
    db.session.add(class_group)
    db.session.flush()
    return class_group


def transfer_student(student, to_class: ClassGroup, by, on: date | None = None):
    """Enrol the student in `to_class` (any school, any level) from `on`; the current enrolment ends that day."""
    on = on or clock.today()
    current = student.current_enrollment(on)
    if current is not None and current.class_group_id == to_class.id:
        raise YearEndError("already_there")
    earlier_schools = sorted({e.school_id for e in student.enrollments} - {to_class.school_id})
    if current is not None:
        if current.start_date >= on:
            raise YearEndError("starts_today")
        current.end_date = on
    enrollment = Enrollment(student_id=student.id, school_id=to_class.school_id, class_group_id=to_class.id,
                            start_date=on, reason=EnrollmentReason.TRANSFER)
    db.session.add(enrollment)
    db.session.flush()
    audit.record(by, "student_transferred", "enrollment", enrollment.id, student.id,
                 detail={"from_school_id": current.school_id if current else None, "to_school_id": to_class.school_id})
    if earlier_schools:
        audit.record(by, "file_handed_over", "student", student.id, student.id,
                     detail={"to_school_id": to_class.school_id, "from_school_ids": earlier_schools, "via": "transfer"})
    return enrollment
