"""Find students past the retention period and delete everything that belongs to them, in one transaction.

Which rows belong to a student is read from the schema: every table with a foreign-key path to
`students` (responses → scores, alerts, referrals → assessments …), so tables added later are covered.
The audit trail is kept (it is the record of who saw the file and is hash-chained); the student row
stays as an anonymous tombstone that the audit rows point to.
"""
from datetime import date

from sqlalchemy import delete, func, or_, select, update

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.students.models import Enrollment, Student

KEPT_TABLES = {"audit_events", "users", "students"}
TOMBSTONE_PREFIX = "purged-"
TOMBSTONE_BIRTH_DATE = date(1900, 1, 1)


def cutoff_date(years: int, today: date | None = None) -> date:
    today = today or clock.today()
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def candidates(cutoff: date):
    """(student_id, left_on) of students whose every enrolment ended before `cutoff`."""
    left_on = func.max(Enrollment.end_date)
    return db.session.execute(
        select(Enrollment.student_id, left_on)
        .join(Student, Student.id == Enrollment.student_id)
        .where(~Student.student_number.startswith(TOMBSTONE_PREFIX))
        .group_by(Enrollment.student_id)
        .having(func.count(Enrollment.end_date) == func.count(Enrollment.id), left_on < cutoff)
        .order_by(Enrollment.student_id)
    ).all()


def _condition(table, student_ids, seen=()):
    """SQL condition selecting the rows of `table` that belong to the students, or None."""
    if table.name == "students":
        return table.c.id.in_(student_ids)
    conditions = []
    for fk in table.foreign_keys:
        parent = fk.column.table
        if parent is table or parent.name in KEPT_TABLES - {"students"} or parent.name in seen:
            continue
        parent_condition = _condition(parent, student_ids, seen + (table.name,))
        if parent_condition is not None:
            conditions.append(fk.parent.in_(select(fk.column).where(parent_condition)))
    return or_(*conditions) if conditions else None


def _plan(student_ids):
    """[(table, condition)] children first, so that deleting in this order never breaks a foreign key."""
    plan = []
    for table in reversed(db.metadata.sorted_tables):
        if table.name in KEPT_TABLES:
            continue
        condition = _condition(table, student_ids)
        if condition is not None:
            plan.append((table, condition))
    return plan


def counts_for(student_ids) -> dict[str, int]:
    """Rows that a purge of these students would delete, by table."""
    counts = {}
    for table, condition in _plan(student_ids):
        n = db.session.scalar(select(func.count()).select_from(table).where(condition))
        if n:
            counts[table.name] = n
    return counts


def purge(student_ids) -> dict[str, int]:
    """Delete every row belonging to the students and anonymise their student rows; flush, never commit."""
    counts = counts_for(student_ids)
    for table, condition in _plan(student_ids):
        db.session.execute(delete(table).where(condition))
    for student_id in student_ids:
        db.session.execute(update(Student).where(Student.id == student_id).values(
            student_number=f"{TOMBSTONE_PREFIX}{student_id}", name="", guardian_name="", guardian_phone="",
            birth_date=TOMBSTONE_BIRTH_DATE))
        audit.record("system", "retention_purged", "student", student_id, student_id)
    audit.record("system", "retention_purge", "students", detail={"students": len(student_ids), "rows": counts})
    db.session.flush()
    return counts
