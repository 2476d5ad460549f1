"""Roster import from CSV or XLSX: parse, preview (nothing written), apply all rows in one transaction.

A student is one person across every school, keyed by the national student number (学籍号): a row whose
number is already known attaches to that student and never creates a second record. Any row with an error blocks
the whole import, so a bad file changes nothing. Re-importing the same file finds every row unchanged and writes
nothing. Lookups are done in bulk (a few IN queries per 5,000 numbers, never one SELECT per row) so that 20,000
rows import in seconds.

Who may be touched (issue 15; the rule is `policy.roster_right`, asked per row by the preview and by Apply):
- the district admin's import creates, updates, enrols and moves students at any school;
- a school's import (its psychology teacher's) writes only the school's own current students: their details,
  their class. Every other number becomes an *admission request* that the district admin approves or refuses
  (app/students/admissions.py): a number new to the system, a student enrolled at another school, and a known
  student enrolled nowhere (left, graduated) alike, because attaching that file would hand it over too.
- Why a number new to the system waits for the admin as well: if the school could create it at once, the preview
  (and the class list after Apply) would say which numbers already exist elsewhere. One neutral answer for every
  number that is not the school's own ("admitted once the district admin approves") leaks nothing: a request row
  shows only what the school's own file says, never a stored name, sex, birth date or school, and it is refused or
  approved by a person who sees the record it matches. This is also the practice of the national student register,
  where the education bureau reviews new registrations and transfers.
- A stored birth date is never shown: a row that contradicts it is an error without the date (own students only;
  a request row is not compared at all). An empty guardian cell never blanks the stored guardian, in any import.
- Every preview read is audited with the student numbers it looked up (numbers and ids, no names).

Classes are those of the academic year chosen at upload (this one, or the next for a roster imported in July or
August), stored with the upload so that Apply files the rows where the preview showed them; enrolments still
change on the day of Apply.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import insert, or_, select, update

from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.orgs.school_year import academic_year
from app.students.models import Enrollment, EnrollmentReason, RosterImport, RosterImportStatus, Sex, Student
from app.students import admissions
from app.students.roster_file import RosterError, read_file

CHUNK = 5000
IDENTITY_FIELDS = ("name", "sex", "guardian_name", "guardian_phone")
GUARDIAN_FIELDS = ("guardian_name", "guardian_phone")


@dataclass
class Plan:
    new: list = field(default_factory=list)         # rows creating a student and an admission (the admin's import)
    updated: list = field(default_factory=list)     # known students: changed details, class, or a new enrolment here
    elsewhere: list = field(default_factory=list)   # known students enrolled at another school, moved by the admin
    requests: list = field(default_factory=list)    # a school's rows for numbers not its own: the file's data only
    unchanged: int = 0
    errors: list = field(default_factory=list)      # rows with `error`
    new_classes: list = field(default_factory=list)  # (school_id, grade, name), in the import's academic year
    touched_ids: list = field(default_factory=list)  # every known student looked up: for the audit trail only

    def counts(self):
        return {"new": len(self.new), "updated": len(self.updated), "elsewhere": len(self.elsewhere),
                "requests": len(self.requests), "unchanged": self.unchanged, "errors": len(self.errors),
                "new_classes": len(self.new_classes)}

    @property
    def changes_anything(self):
        return bool(self.new or self.updated or self.elsewhere or self.requests or self.new_classes)


def _chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _known_students(numbers):
    known = {}
    for chunk in _chunks(numbers):
        for row in db.session.execute(select(
                Student.id, Student.student_number, Student.name, Student.sex, Student.birth_date,
                Student.guardian_name, Student.guardian_phone).where(Student.student_number.in_(chunk))):
            known[row.student_number] = row
    return known


def _current_enrollments(student_ids, on):
    current = {}
    for chunk in _chunks(student_ids):
        for row in db.session.execute(select(
                Enrollment.id, Enrollment.student_id, Enrollment.school_id, Enrollment.class_group_id,
                Enrollment.start_date, ClassGroup.academic_year)
                .outerjoin(ClassGroup, ClassGroup.id == Enrollment.class_group_id)
                .where(Enrollment.student_id.in_(chunk), Enrollment.start_date <= on,
                       or_(Enrollment.end_date.is_(None), Enrollment.end_date > on))):
            current[row.student_id] = row
    return current


def _earlier_schools(student_ids):
    schools = {}
    for chunk in _chunks(student_ids):
        for student_id, school_id in db.session.execute(
                select(Enrollment.student_id, Enrollment.school_id).where(Enrollment.student_id.in_(chunk))):
            schools.setdefault(student_id, set()).add(school_id)
    return schools


def plan_import(rows: list[dict], by, *, only_school_id=None, on: date | None = None, year: str | None = None) -> Plan:
    """Classify every row against the database, as `by` may apply it, without writing anything; classes are those
    of `year` (default: the academic year of `on`), enrolments change on `on`."""
    on = on or clock.today()
    year = year or academic_year(on)
    plan = Plan()
    schools = {s.name: s for s in db.session.scalars(select(School))}
    school_names = {s.id: s.name for s in schools.values()}
    wanted_school_ids = {schools[r["school"]].id for r in rows if "error" not in r and r["school"] in schools}
    classes = {(c.school_id, c.grade, c.name): c.id for c in db.session.scalars(
        select(ClassGroup).where(ClassGroup.school_id.in_(wanted_school_ids), ClassGroup.academic_year == year))}
    valid = [r for r in rows if "error" not in r]
    known = _known_students({r["number"] for r in valid})
    current = _current_enrollments([k.id for k in known.values()], on)
    plan.touched_ids = sorted(k.id for k in known.values())
    first_row = {}
    new_classes = set()
    for row in rows:
        if "error" in row:
            plan.errors.append(row)
            continue
        school = schools.get(row["school"])
        if school is None:
            plan.errors.append(dict(row, error="unknown_school", detail=row["school"]))
            continue
        if only_school_id is not None and school.id != only_school_id:
            plan.errors.append(dict(row, error="not_your_school", detail=row["school"]))
            continue
        if school.closed_on is not None:  # a closed school keeps its files and enrols nobody new
            plan.errors.append(dict(row, error="school_closed", detail=row["school"]))
            continue
        if row["number"] in first_row:
            plan.errors.append(dict(row, error="duplicate_in_file", detail=str(first_row[row["number"]])))
            continue
        first_row[row["number"]] = row["row"]
        item = dict(row, school_id=school.id)
        student = known.get(row["number"])
        enrollment = current.get(student.id) if student is not None else None
        right = policy.roster_right(by, enrollment.school_id if enrollment is not None else None)
        if right == policy.ROSTER_REQUEST:
            plan.requests.append(item)  # nothing of a known student is read into the row
            continue
        if right != policy.ROSTER_WRITE:
            plan.errors.append(dict(row, error="not_your_school", detail=row["school"]))
            continue
        if student is not None and student.birth_date.isoformat() != row["birth_date"]:
            plan.errors.append(dict(row, error="birth_date_conflict", detail=""))  # never the stored date
            continue
        class_key = (school.id, row["grade"], row["class"])
        if class_key not in classes:
            new_classes.add(class_key)
        if student is None:
            plan.new.append(item)
            continue
        item["student_id"] = student.id
        for name in GUARDIAN_FIELDS:  # an empty cell keeps what is recorded
            item[name] = row[name] or getattr(student, name) or ""
        changed = [f for f in IDENTITY_FIELDS if f != "sex" and (item[f] or "") != (getattr(student, f) or "")]
        if Sex(row["sex"]) != student.sex:
            changed.append("sex")
        item["changed"] = changed
        if enrollment is not None and enrollment.school_id != school.id:
            item["from_school_id"] = enrollment.school_id
            item["from_school"] = school_names.get(enrollment.school_id, "")
            item["enrollment_id"] = enrollment.id
            plan.elsewhere.append(item)
        elif enrollment is None:
            item["changed"] = changed + ["enrolment"]
            plan.updated.append(item)
        else:
            item["enrollment_id"] = enrollment.id
            if classes.get(class_key) != enrollment.class_group_id:
                item["changed"] = changed + ["class"]
                # Into a later year's class (next year's roster): a new stay from `on`, as a promotion is;
                # a class of the same year, or a stay that began today, is corrected in place.
                item["new_stay"] = (enrollment.academic_year or year) < year and enrollment.start_date < on
            if item["changed"]:
                plan.updated.append(item)
            else:
                plan.unchanged += 1
    plan.new_classes = sorted(new_classes)
    plan.errors.sort(key=lambda r: r["row"])
    return plan


def preview_import(roster_import: RosterImport, by) -> Plan | None:
    """The plan as `by` would apply it, audited with every student number it looked up (no names)."""
    if not roster_import.rows:
        return None
    plan = plan_import(roster_import.rows, by, only_school_id=roster_import.school_id, year=roster_import.academic_year)
    numbers = sorted({r["number"] for r in roster_import.rows if r.get("number")})
    audit.record(by, "roster_previewed", "roster_import", roster_import.id,
                 student_id=plan.touched_ids[0] if len(plan.touched_ids) == 1 else None,
                 detail={"numbers": numbers, "student_ids": plan.touched_ids})
    return plan


# --- applying -----------------------------------------------------------------------------------

def apply_import(roster_import: RosterImport, by, on: date | None = None) -> Plan:
    """Apply every row in the caller's transaction; refuse (nothing written) while any row has an error."""
    db.session.refresh(roster_import, with_for_update=True)  # two clicks on Apply: the second waits, then refuses
    if roster_import.status != RosterImportStatus.PREVIEWED:
        raise RosterError("already_applied")
    on = on or clock.today()
    year = roster_import.academic_year  # the year the preview showed, never recomputed
    if year < academic_year(on):
        # Its classes are last year's: enrolling students in them from today would file them in the past.
        raise RosterError("year_ended", year=year)
    plan = plan_import(roster_import.rows, by, only_school_id=roster_import.school_id, on=on, year=year)
    if plan.errors:
        raise RosterError("has_errors", count=len(plan.errors))
    if plan.new_classes:
        db.session.execute(insert(ClassGroup), [
            {"school_id": s, "academic_year": year, "grade": g, "name": n} for s, g, n in plan.new_classes])
    school_ids = {item["school_id"] for item in plan.new + plan.updated + plan.elsewhere}
    class_ids = {(c.school_id, c.grade, c.name): c.id for c in db.session.scalars(
        select(ClassGroup).where(ClassGroup.school_id.in_(school_ids), ClassGroup.academic_year == year))}

    def class_of(item):
        return class_ids[(item["school_id"], item["grade"], item["class"])]

    if plan.new:
        new_ids = db.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), [
            {"student_number": r["number"], "name": r["name"], "sex": Sex(r["sex"]),
             "birth_date": date.fromisoformat(r["birth_date"]), "guardian_name": r["guardian_name"],
             "guardian_phone": r["guardian_phone"], "created_at": clock.now()} for r in plan.new]).all()
        for item, student_id in zip(plan.new, new_ids):
            item["student_id"] = student_id
    known = plan.updated + plan.elsewhere
    identity = [{"id": r["student_id"], "name": r["name"], "sex": Sex(r["sex"]), "guardian_name": r["guardian_name"],
                 "guardian_phone": r["guardian_phone"]} for r in known if set(r["changed"]) & set(IDENTITY_FIELDS)]
    if identity:
        db.session.execute(update(Student), identity)
    moved = [r for r in plan.updated if "class" in r["changed"]]
    class_moves = [{"id": r["enrollment_id"], "class_group_id": class_of(r)} for r in moved if not r["new_stay"]]
    if class_moves:
        db.session.execute(update(Enrollment), class_moves)
    promoted = [r for r in moved if r["new_stay"]]
    ending = plan.elsewhere + promoted
    if ending:
        db.session.execute(update(Enrollment), [{"id": r["enrollment_id"], "end_date": on} for r in ending])
    enrolments = [(r, EnrollmentReason.ADMISSION) for r in plan.new]
    enrolments += [(r, EnrollmentReason.ADMISSION) for r in plan.updated if "enrolment" in r["changed"]]
    enrolments += [(r, EnrollmentReason.TRANSFER) for r in plan.elsewhere]
    enrolments += [(r, EnrollmentReason.PROMOTION) for r in promoted]
    if enrolments:
        db.session.execute(insert(Enrollment), [
            {"student_id": r["student_id"], "school_id": r["school_id"], "class_group_id": class_of(r),
             "start_date": on, "reason": reason} for r, reason in enrolments])
    _audit_handovers(plan, by, on)
    admissions.request_admissions(plan.requests, roster_import, by, touched_ids=plan.touched_ids)
    roster_import.status = RosterImportStatus.APPLIED
    roster_import.applied_at = clock.now()
    roster_import.summary = plan.counts()
    roster_import.rows = []  # the identities now live in students; keep no second copy
    db.session.flush()
    audit.record(by, "roster_imported", "roster_import", roster_import.id, detail=plan.counts())
    return plan


def _audit_handovers(plan, by, on):
    """A known student starting at a new school is a hand-over of the file: one audit event each."""
    joining = [r for r in plan.elsewhere] + [r for r in plan.updated if "enrolment" in r["changed"]]
    earlier = _earlier_schools([r["student_id"] for r in joining])
    for row in joining:
        before = earlier.get(row["student_id"], set()) - {row["school_id"]}
        if before:
            audit.record(by, "file_handed_over", "student", row["student_id"], row["student_id"],
                         detail={"to_school_id": row["school_id"], "from_school_ids": sorted(before),
                                 "via": "roster_import"})


def store_upload(data: bytes, filename: str, by, only_school_id=None, year: str | None = None) -> RosterImport:
    """Parse the upload and keep the rows, and the academic year to file them in (default: this one),
    for preview and apply."""
    rows = read_file(data, filename)
    roster_import = RosterImport(created_by_id=by.id, school_id=only_school_id, filename=(filename or "roster")[:200],
                                 academic_year=year or academic_year(clock.today()),
                                 sha256=hashlib.sha256(data).hexdigest(), rows=rows, created_at=clock.now())
    db.session.add(roster_import)
    db.session.flush()
    audit.record(by, "roster_uploaded", "roster_import", roster_import.id,
                 detail={"rows": len(rows), "academic_year": roster_import.academic_year})
    return roster_import
