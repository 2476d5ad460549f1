"""Admission requests: a school's roster rows for students who are not its own, decided by the district admin.

A school's import writes only the school's own current students (policy.roster_right). Every other row is kept
here as a request: nothing of a known student is read into it and nothing moves until the district admin decides.
Approval creates the student (a number new to the system) or enrols the known student at the school: a student
enrolled at another school is transferred (that school loses the student that day, as with the admin's transfer),
a student enrolled nowhere is admitted; earlier schools' entries follow only under the guardian's hand-over consent.
A request whose birth date contradicts the record is never approved: the admin refuses it and the school checks its
file. The admin may approve in one step every request of an import that moves no one away from another school;
a student enrolled at another school is approved one by one. A decision keeps the number and forgets the row's
name, sex, birth date and guardian (they live in the student's record once approved).
"""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup
from app.orgs.school_year import academic_year
from app.students import yearend
from app.students.models import (AdmissionRequest, AdmissionStatus, Enrollment, EnrollmentReason, RosterImport, Sex,
                                 Student)

CHUNK = 5000


class AdmissionError(ValueError):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def request_admissions(items, roster_import: RosterImport, by, touched_ids=()) -> int:
    """Keep each row as a pending request of the import's school. A number the school already asked for (still
    waiting) gets the newer row's details rather than a second request."""
    if not items:
        return 0
    numbers = [item["number"] for item in items]
    waiting = {}
    for start in range(0, len(numbers), CHUNK):
        for request in db.session.scalars(select(AdmissionRequest).where(
                AdmissionRequest.school_id == roster_import.school_id, AdmissionRequest.status == AdmissionStatus.PENDING,
                AdmissionRequest.student_number.in_(numbers[start:start + CHUNK]))):
            waiting[request.student_number] = request
    now = clock.now()
    for item in items:
        request = waiting.get(item["number"])
        if request is None:
            request = AdmissionRequest(school_id=item["school_id"], student_number=item["number"],
                                       status=AdmissionStatus.PENDING)
            db.session.add(request)
        request.roster_import_id, request.row, request.requested_by_id, request.requested_at = \
            roster_import.id, item["row"], by.id, now
        request.name, request.sex = item["name"], Sex(item["sex"])
        request.birth_date = date.fromisoformat(item["birth_date"])
        request.guardian_name, request.guardian_phone = item["guardian_name"], item["guardian_phone"]
        request.grade, request.class_name, request.academic_year = item["grade"], item["class"], roster_import.academic_year
    db.session.flush()
    audit.record(by, "admission_requested", "roster_import", roster_import.id,
                 detail={"school_id": roster_import.school_id, "numbers": sorted(numbers),
                         "student_ids": sorted(touched_ids)})
    return len(items)


# --- what the admin sees -------------------------------------------------------------------------------------

@dataclass
class Match:
    """A pending request beside the record its number matches (the admin's view only)."""

    request: AdmissionRequest
    student: Student | None
    current: Enrollment | None   # where the student is enrolled today
    last: Enrollment | None      # the latest enrolment, for a student enrolled nowhere
    problem: str | None          # why it cannot be approved now

    @property
    def moves_from_another_school(self):
        return self.current is not None and self.current.school_id != self.request.school_id

    @property
    def name_differs(self):
        return self.student is not None and self.student.name != self.request.name


def _problem(request, student, current, on) -> str | None:
    if request.status != AdmissionStatus.PENDING:
        return "decided"
    if request.academic_year < academic_year(on):
        return "year_ended"
    if student is not None and student.birth_date != request.birth_date:
        return "birth_date_differs"
    if current is not None and current.school_id != request.school_id and current.start_date >= on:
        return "starts_today"
    return None


def match(request: AdmissionRequest, on: date | None = None) -> Match:
    on = on or clock.today()
    student = db.session.scalar(select(Student).where(Student.student_number == request.student_number))
    current = student.current_enrollment(on) if student is not None else None
    last = student.enrollments[-1] if student is not None and student.enrollments else None
    return Match(request, student, current, last, _problem(request, student, current, on))


def pending_by_import(limit_per_import: int = 500):
    """[(roster_import, [Match …], count)] of every import with waiting requests, oldest first."""
    counts = dict(db.session.execute(select(AdmissionRequest.roster_import_id, func.count())
                                     .where(AdmissionRequest.status == AdmissionStatus.PENDING)
                                     .group_by(AdmissionRequest.roster_import_id)).all())
    batches = []
    for roster_import in db.session.scalars(select(RosterImport).where(RosterImport.id.in_(counts))
                                            .order_by(RosterImport.id)):
        requests = db.session.scalars(_pending(roster_import.id).order_by(AdmissionRequest.row)
                                      .limit(limit_per_import)).all()
        batches.append((roster_import, [match(r) for r in requests], counts[roster_import.id]))
    return batches


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AdmissionRequest)
                             .where(AdmissionRequest.status == AdmissionStatus.PENDING)) or 0


def recently_decided(limit: int = 20):
    return db.session.scalars(select(AdmissionRequest).where(AdmissionRequest.status != AdmissionStatus.PENDING)
                              .order_by(AdmissionRequest.decided_at.desc(), AdmissionRequest.id.desc())
                              .limit(limit)).all()


def _pending(import_id):
    return select(AdmissionRequest).where(AdmissionRequest.roster_import_id == import_id,
                                          AdmissionRequest.status == AdmissionStatus.PENDING)


# --- deciding ------------------------------------------------------------------------------------------------

def _class_for(request) -> ClassGroup:
    class_group = db.session.scalar(select(ClassGroup).where(
        ClassGroup.school_id == request.school_id, ClassGroup.academic_year == request.academic_year,
        ClassGroup.grade == request.grade, ClassGroup.name == request.class_name))
    if class_group is None:
        class_group = ClassGroup(school_id=request.school_id, academic_year=request.academic_year,
                                 grade=request.grade, name=request.class_name)
        db.session.add(class_group)
        db.session.flush()
    return class_group


def _decided(request, status, by, note=""):
    """Record the decision; the row's identity details are no longer needed (the record holds them if approved)."""
    request.status, request.decided_by_id, request.decided_at = status, by.id, clock.now()
    request.decision_note = (note or "").strip()[:200]
    request.name = request.guardian_name = request.guardian_phone = ""
    request.sex = request.birth_date = None


def approve_admission(request: AdmissionRequest, by, on: date | None = None) -> Student:
    """Create or enrol the requested student at the requesting school from `on`, as the admin decided."""
    on = on or clock.today()
    found = match(request, on)
    if found.problem:
        raise AdmissionError(found.problem)
    student, current = found.student, found.current
    class_group = _class_for(request)
    detail = {"request_id": request.id, "school_id": request.school_id, "new_student": student is None}
    if student is None:
        student = Student(student_number=request.student_number, name=request.name, sex=request.sex,
                          birth_date=request.birth_date, guardian_name=request.guardian_name,
                          guardian_phone=request.guardian_phone, created_at=clock.now())
        db.session.add(student)
        db.session.flush()
        _enrol(student, class_group, on)
    elif current is not None and current.school_id == request.school_id:
        detail["already_enrolled"] = True  # enrolled here meanwhile (by the admin): nothing moves
    elif current is not None:
        detail["from_school_id"] = current.school_id
        yearend.transfer_student(student, class_group, by=by, on=on)
    else:
        earlier = sorted({e.school_id for e in student.enrollments} - {request.school_id})
        _enrol(student, class_group, on)
        if earlier:
            audit.record(by, "file_handed_over", "student", student.id, student.id,
                         detail={"to_school_id": request.school_id, "from_school_ids": earlier, "via": "admission"})
    request.student_id = student.id
    _decided(request, AdmissionStatus.APPROVED, by)
    db.session.flush()
    audit.record(by, "admission_approved", "admission_request", request.id, student.id, detail=detail)
    return student


def _enrol(student, class_group, on):
    db.session.add(Enrollment(student_id=student.id, school_id=class_group.school_id, class_group_id=class_group.id,
                              start_date=on, reason=EnrollmentReason.ADMISSION))
    db.session.flush()
    db.session.expire(student, ["enrollments"])


def refuse_admission(request: AdmissionRequest, by, note: str = ""):
    """Nothing moves; the school sees the refusal and the admin's note."""
    if request.status != AdmissionStatus.PENDING:
        raise AdmissionError("decided")
    student_id = db.session.scalar(select(Student.id).where(Student.student_number == request.student_number))
    _decided(request, AdmissionStatus.REFUSED, by, note)
    db.session.flush()
    audit.record(by, "admission_refused", "admission_request", request.id, student_id,
                 detail={"school_id": request.school_id})


def approve_import(roster_import: RosterImport, by, on: date | None = None) -> tuple[int, int]:
    """Approve every waiting request of the import that moves no one away from another school and has no problem:
    new numbers, and students enrolled nowhere whose birth date matches. Returns (approved, still waiting)."""
    on = on or clock.today()
    approved = left = 0
    for request in db.session.scalars(_pending(roster_import.id).order_by(AdmissionRequest.row)).all():
        found = match(request, on)
        if found.problem or found.moves_from_another_school:
            left += 1
            continue
        approve_admission(request, by, on)
        approved += 1
    return approved, left


def refuse_import(roster_import: RosterImport, by, note: str = "") -> int:
    requests = db.session.scalars(_pending(roster_import.id)).all()
    for request in requests:
        refuse_admission(request, by, note)
    return len(requests)


def requests_of(roster_import: RosterImport, by):
    """The import's requests, for the school that made them (its own rows and the admin's decisions); audited
    with their numbers."""
    requests = db.session.scalars(select(AdmissionRequest).where(AdmissionRequest.roster_import_id == roster_import.id)
                                  .order_by(AdmissionRequest.row)).all()
    if requests:
        audit.record(by, "admission_requests_viewed", "roster_import", roster_import.id,
                     detail={"numbers": [r.student_number for r in requests]})
    return requests


def waiting_counts(import_ids) -> dict[int, int]:
    if not import_ids:
        return {}
    return dict(db.session.execute(select(AdmissionRequest.roster_import_id, func.count())
                                   .where(AdmissionRequest.roster_import_id.in_(list(import_ids)),
                                          AdmissionRequest.status == AdmissionStatus.PENDING)
                                   .group_by(AdmissionRequest.roster_import_id)).all())
