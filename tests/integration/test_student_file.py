"""One psychological file per student, from primary school to university, through the real HTTP stack."""
import re
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Partnership, School, SchoolLevel
from app.risk.models import Alert
from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student
from app.orgs.school_year import academic_year
from tests.conftest import PASSWORD, login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, join, launch_campaign

PHQ9_MODERATE = [2, 2, 1, 1, 1, 1, 1, 1, 0]  # total 10, no item-9 answer: 4 → 10 is a reliable deterioration


@pytest.fixture
def stages(app, world):
    """A primary school and a university beside the world's middle and high schools, a teacher at each,
    classes, and one student (Xiao Ming) starting in the primary school's final grade."""
    with app.app_context():
        today = clock.today()
        year = academic_year(today)
        primary = School(name="Primary School P", level=SchoolLevel.PRIMARY, district="D1")
        university = School(name="University U", level=SchoolLevel.UNIVERSITY, district="D1")
        db.session.add_all([primary, university])
        db.session.flush()
        for s in (primary, university):
            db.session.add(Partnership(school_id=s.id, hospital_id=world.hospital_id,
                                       signed_on=today - timedelta(days=100), expires_on=today + timedelta(days=300)))
        p6 = ClassGroup(school_id=primary.id, academic_year=year, grade=6, name="六年级（1）班")
        m7 = ClassGroup(school_id=world.school_id, academic_year=year, grade=7, name="初一（1）班")
        h10 = db.session.get(ClassGroup, world.other_class_id)
        u13 = ClassGroup(school_id=university.id, academic_year=year, grade=13, name="心理学2026级1班")
        db.session.add_all([p6, m7, u13])
        db.session.flush()
        accounts.create_user("teacher_p", "Teacher P", PASSWORD, Role.TEACHER, school=primary)
        accounts.create_user("teacher_u", "Teacher U", PASSWORD, Role.TEACHER, school=university)
        student = Student(student_number="G110101201301010011", name="Xiao Ming", sex=Sex.MALE,
                          birth_date=date(2013, 1, 1), guardian_name="Guardian M", guardian_phone="13800000000")
        db.session.add(student)
        db.session.flush()
        db.session.add(Enrollment(student_id=student.id, school_id=primary.id, class_group_id=p6.id,
                                  start_date=today - timedelta(days=30), reason=EnrollmentReason.ADMISSION))
        teacher_p = db.session.scalar(select(User).where(User.username == "teacher_p"))
        for kind in (ConsentKind.SCREENING, ConsentKind.HANDOVER_SCHOOL):
            db.session.add(Consent(student_id=student.id, kind=kind, granted=True, recorded_by_id=teacher_p.id,
                                   recorded_at=clock.now()))
        db.session.commit()
        ns = SimpleNamespace(primary_id=primary.id, university_id=university.id, p6=p6.id, m7=m7.id, h10=h10.id,
                             u13=u13.id, student_id=student.id,
                             student={"id": student.id, "number": student.student_number, "birth_date": "2013-01-01"})
        db.session.remove()
    return ns


class Walk:
    """Moves a frozen clock forward so every step has its own time; logs in afresh after each move."""

    def __init__(self, client_factory):
        self.client_factory = client_factory
        self.now = clock.now().replace(microsecond=0)
        if self.now.month == 8 and self.now.day > 15:  # stay inside one academic year
            self.now -= timedelta(days=20)
        clock.freeze(self.now)

    def tick(self, **delta):
        self.now += timedelta(**delta) if delta else timedelta(hours=1)
        clock.freeze(self.now)

    def as_(self, username):
        return login_as(self.client_factory, username)


def _timeline(page):
    """(kind, school) of each timeline entry, newest first."""
    if 'class="timeline"' not in page:
        assert "Nothing in this file yet." in page
        return []
    body = page.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'<li class="tl-(\w+)">\s*<span class="tl-when">[^<]*</span>\s*<span class="tl-school">([^<]*)</span>', body)


def _screen(app, walk, teacher, class_id, student, answers):
    _, code = launch_campaign(walk.as_(teacher), class_id, scales=tuple(answers))
    answer_all(app.test_client(), code, student, answers)
    walk.tick()


def test_a_student_walks_from_primary_school_to_university(app, world, stages, client_factory):
    walk = Walk(client_factory)
    sid, student = stages.student_id, stages.student
    file_url = f"/students/{sid}"

    # primary school: a screening; only the primary teacher sees the file
    _screen(app, walk, "teacher_p", stages.p6, student, {"PHQ-9": PHQ9_LOW})
    assert walk.as_("teacher_p").get(file_url).status_code == 200
    for other in ("teacher", "other_teacher", "teacher_u", "doctor", "homeroom"):
        assert walk.as_(other).get(file_url).status_code == 404, other

    # year-end at the primary school: the final grade graduates, the primary school loses access
    walk.tick(days=1)
    assert walk.as_("admin").post(f"/schools/{stages.primary_id}/year-end").status_code == 302
    assert walk.as_("teacher_p").get(file_url).status_code == 404

    # the middle school imports its new intake: the same number attaches to the same student
    walk.tick(days=1)
    csv_text = ("school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone\n"
                f"Middle School A,初一（1）班,7,{student['number']},Xiao Ming,M,2013-01-01,Guardian M,13800000000\n")
    teacher = walk.as_("teacher")
    import_id = _upload(teacher, csv_text.encode())
    preview = teacher.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert _count(preview, "requests") == 1 and _count(preview, "updated") == 0
    assert teacher.post(f"/rosters/{import_id}/apply").status_code == 302
    assert teacher.get(file_url).status_code == 404  # a graduate's file moves only when the district admin admits
    assert walk.as_("admin").post(f"/admin/rosters/{import_id}/admissions/approve").status_code == 302
    teacher = walk.as_("teacher")
    with app.app_context():
        assert db.session.scalar(select(Student.id).where(Student.student_number == student["number"])) == sid
        assert len(db.session.scalars(select(Student)).all()) == 8  # no second record

    page = teacher.get(file_url).get_data(as_text=True)
    assert "Hand-over summary" in page and "Primary School P" in page
    assert _timeline(page) == [("screening", "Primary School P")]

    # middle school: a critical answer, the alert, a referral, an assessment and a return decision
    walk.tick(days=1)
    _screen(app, walk, "teacher", stages.m7, student, {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id).where(Alert.student_id == sid))
    teacher = walk.as_("teacher")
    assert teacher.post(f"/alerts/{alert_id}/acknowledge").status_code == 302
    walk.tick()
    teacher = walk.as_("teacher")
    assert teacher.post(f"{file_url}/refer", {"hospital_id": world.hospital_id, "urgency": "critical",
                                              "reason": "item 9", "alert_id": alert_id}).status_code == 302
    walk.tick()
    doctor = walk.as_("doctor")
    referral_id = int(re.search(r"/referrals/(\d+)", doctor.get("/doctor").get_data(as_text=True)).group(1))
    # without hospital hand-over consent the doctor sees the referring school's entries, not the primary school's
    doctor_page = doctor.get(file_url).get_data(as_text=True)
    assert "Primary School P" not in _timeline(doctor_page).__str__() and 'data-testid="handover-notice"' in doctor_page
    assert doctor.post(f"/referrals/{referral_id}/accept").status_code == 302
    walk.tick()
    doctor = walk.as_("doctor")
    assert doctor.post(f"/referrals/{referral_id}/assessment", {
        "a-assessed_on": walk.now.date().isoformat(), "a-setting": "clinic", "a-findings": "SECRET-FINDINGS",
        "a-risk_level": "high", "a-plan": "outpatient"}).status_code == 302
    walk.tick()
    review_on = (walk.now + timedelta(days=60)).date().isoformat()
    doctor = walk.as_("doctor")
    assert doctor.post(f"/referrals/{referral_id}/decision", {
        "d-outcome": "cleared_with_conditions", "d-conditions": "Weekly check-in CONDITION-TEXT",
        "d-review_on": review_on}).status_code == 302

    # transfer to the high school: the middle school loses access the same day, the high school sees all
    walk.tick(days=1)
    admin = walk.as_("admin")
    assert admin.post(f"/admin/students/{sid}/transfer", {"class_group_id": stages.h10}).status_code == 302
    assert walk.as_("teacher").get(file_url).status_code == 404
    assert walk.as_("teacher").get(f"/alerts/{alert_id}").status_code in (404, 405)
    high = walk.as_("other_teacher")
    page = high.get(file_url).get_data(as_text=True)
    summary = page.split('data-testid="handover-summary"', 1)[1].split("</section>", 1)[0]
    assert "Hand-over summary" in summary
    assert f"A{alert_id:06d}" in summary                     # the acknowledged, still open alert
    assert "CONDITION-TEXT" in summary and review_on in summary  # active conditions and review date
    assert "PHQ-9" in summary and "GAD-7" in summary           # last screening of each scale
    assert "Middle School A" in summary and "Primary School P" in summary
    assert "SECRET-FINDINGS" in page  # the psychology teacher reads clinical text of the whole file

    # high school: a screening that is reliably worse than the last PHQ-9
    walk.tick(days=1)
    _screen(app, walk, "other_teacher", stages.h10, student, {"PHQ-9": PHQ9_MODERATE})
    page = walk.as_("other_teacher").get(file_url).get_data(as_text=True)
    assert "Reliable deterioration" in page and "SD 6.0" in page and "r 0.89" in page

    # the high school's year-end graduates the final grade (the class is made grade 12); then university
    walk.tick(days=1)
    with app.app_context():
        db.session.get(ClassGroup, stages.h10).grade = 12
        db.session.commit()
    assert walk.as_("admin").post(f"/schools/{world.other_school_id}/year-end").status_code == 302
    assert walk.as_("other_teacher").get(file_url).status_code == 404
    walk.tick(days=1)
    assert walk.as_("admin").post(f"/admin/students/{sid}/transfer", {"class_group_id": stages.u13}).status_code == 302

    uni = walk.as_("teacher_u")
    page = uni.get(file_url).get_data(as_text=True)
    timeline = _timeline(page)
    assert timeline == [
        ("follow_up", "Middle School A"),  # the open task from the return conditions, dated by its due day
        ("screening", "High School B"), ("alert", "High School B"),
        ("decision", "Middle School A"), ("assessment", "Middle School A"), ("referral", "Middle School A"),
        ("screening", "Middle School A"), ("screening", "Middle School A"), ("alert", "Middle School A"),
        ("screening", "Primary School P"),
    ], timeline
    for gone in ("teacher_p", "teacher", "other_teacher", "homeroom", "other_doctor"):
        assert walk.as_(gone).get(file_url).status_code == 404, gone

    with app.app_context():
        reasons = [e.reason for e in db.session.scalars(
            select(Enrollment).where(Enrollment.student_id == sid).order_by(Enrollment.start_date, Enrollment.id))]
        assert reasons == [EnrollmentReason.ADMISSION, EnrollmentReason.GRADUATION, EnrollmentReason.ADMISSION,
                           EnrollmentReason.TRANSFER, EnrollmentReason.GRADUATION, EnrollmentReason.TRANSFER]
        handovers = db.session.scalars(select(AuditEvent).where(
            AuditEvent.student_id == sid, AuditEvent.action == "file_handed_over")).all()
        assert {e.detail["to_school_id"] for e in handovers} == {world.school_id, world.other_school_id, stages.university_id}

    # the admin lists who saw the file and when
    log = walk.as_("admin").get(f"/admin/students/{sid}/access-log").get_data(as_text=True)
    for name in ("Teacher P", "Teacher A", "Teacher B", "Teacher U", "Doctor P"):
        assert name in log, name
    assert "file_viewed" in log and "file_handed_over" in log


def test_without_handover_consent_the_new_school_sees_its_own_entries_and_how_to_get_consent(
        app, world, stages, client_factory):
    walk = Walk(client_factory)
    sid, student = stages.student_id, stages.student
    _screen(app, walk, "teacher_p", stages.p6, student, {"PHQ-9": PHQ9_CRITICAL})
    walk.tick(days=1)
    primary = walk.as_("teacher_p")
    assert primary.post(f"/students/{sid}/consent", {"kind": "handover_school", "granted": "no",
                                                     "note": "guardian refused", "confirm": "y"}).status_code == 302
    assert walk.as_("admin").post(f"/admin/students/{sid}/transfer", {"class_group_id": stages.m7}).status_code == 302
    teacher = walk.as_("teacher")
    page = teacher.get(f"/students/{sid}").get_data(as_text=True)
    assert 'data-testid="handover-notice"' in page and "Primary School P" in page
    assert _timeline(page) == []
    with app.app_context():
        old_alerts = [a.case_number for a in db.session.scalars(select(Alert).where(Alert.student_id == sid))]
    assert old_alerts
    summary = page.split('data-testid="handover-summary"', 1)[1]
    assert not any(case in summary for case in old_alerts)  # the old alert is not handed over
    assert teacher.get("/alerts").get_data(as_text=True).count("Xiao Ming") == 0
    # the new school records the guardian's consent: the earlier file appears
    assert teacher.post(f"/students/{sid}/consent", {"kind": "handover_school", "granted": "yes",
                                                     "confirm": "y"}).status_code == 302
    page = teacher.get(f"/students/{sid}").get_data(as_text=True)
    assert 'data-testid="handover-notice"' not in page
    assert _timeline(page) == [("screening", "Primary School P"), ("alert", "Primary School P")]


def test_screening_without_guardian_consent_is_refused(app, world, stages, client_factory):
    walk = Walk(client_factory)
    teacher_p = walk.as_("teacher_p")
    _, code = launch_campaign(teacher_p, stages.p6, scales=("PHQ-9",))
    assert teacher_p.post(f"/students/{stages.student_id}/consent", {
        "kind": "screening", "granted": "no", "confirm": "y"}).status_code == 302
    refused = join(app.test_client(), code, stages.student)
    assert refused.status_code == 403
    assert "监护人" in refused.get_json()["error"]["message"]  # in the student's language (Chinese by default)
    # a consent form without the confirmation box changes nothing
    assert teacher_p.post(f"/students/{stages.student_id}/consent", {
        "kind": "screening", "granted": "yes"}).status_code == 400
    assert join(app.test_client(), code, stages.student).status_code == 403
    # withdrawn mid-session: the next submission is refused, nothing stored
    assert teacher_p.post(f"/students/{stages.student_id}/consent", {
        "kind": "screening", "granted": "yes", "confirm": "y"}).status_code == 302
    session = join(app.test_client(), code, stages.student)
    assert session.status_code == 201
    teacher_p.post(f"/students/{stages.student_id}/consent", {"kind": "screening", "granted": "no", "confirm": "y"})
    data = session.get_json()
    http = app.test_client()
    from tests.helpers import submit

    r = submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "no_screening_consent"
    with app.app_context():
        history = db.session.scalars(select(Consent).where(Consent.student_id == stages.student_id,
                                                           Consent.kind == ConsentKind.SCREENING)
                                     .order_by(Consent.id)).all()
        assert [c.granted for c in history] == [True, False, True, False]
        assert {c.recorded_by.username for c in history} == {"teacher_p"}


def test_consent_page_is_for_the_current_school_only(world, stages, client_factory):
    assert login_as(client_factory, "teacher").get(f"/students/{stages.student_id}/consent").status_code == 404
    assert login_as(client_factory, "doctor").get(f"/students/{stages.student_id}/consent").status_code == 404
    assert login_as(client_factory, "teacher_p").get(f"/students/{stages.student_id}/consent").status_code == 200


# --- helpers shared with the roster tests ---------------------------------------------------------

def _upload(client, data: bytes, filename="roster.csv", year=None):
    import io

    year = year or academic_year(clock.today())
    r = client.post("/rosters", {"file": (io.BytesIO(data), filename), "academic_year": year},
                    content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def _count(page, name):
    return int(re.search(rf'data-testid="count-{name}">(\d+)<', page).group(1))


def test_launching_a_screening_warns_about_students_without_consent(app, world, stages, client_factory):
    teacher_p = login_as(client_factory, "teacher_p")
    teacher_p.post(f"/students/{stages.student_id}/consent", {"kind": "screening", "granted": "no", "confirm": "y"})
    r = teacher_p.post("/campaigns/new", {"title": "T", "class_ids": [stages.p6], "scale_codes": ["PHQ-9"], "open_hours": 2})
    assert r.status_code == 302
    assert "1 students in these classes have no guardian consent" in teacher_p.get(r.headers["Location"]).get_data(as_text=True)


def test_the_transfer_form_offers_other_schools_classes_of_this_year_or_later(app, world, stages, client_factory):
    with app.app_context():
        this_year = academic_year(clock.today())
        start = int(this_year[:4])
        past = ClassGroup(school_id=stages.university_id, academic_year=f"{start - 1}-{start}", grade=13,
                          name="PAST-YEAR-CLASS")
        coming = ClassGroup(school_id=stages.university_id, academic_year=f"{start + 1}-{start + 2}", grade=13,
                            name="NEXT-YEAR-CLASS")
        db.session.add_all([past, coming])
        db.session.commit()
        past_id = past.id
        db.session.remove()
    admin = login_as(client_factory, "admin")
    page = admin.get(f"/admin/students/{stages.student_id}").get_data(as_text=True)
    offered = page.split('name="class_group_id"', 1)[1].split("</select>", 1)[0]
    assert "NEXT-YEAR-CLASS" in offered and "心理学2026级1班" in offered
    assert "PAST-YEAR-CLASS" not in offered
    assert "六年级（1）班" not in offered  # the student's own school is not a transfer
    # and the form accepts only what it offers
    assert admin.post(f"/admin/students/{stages.student_id}/transfer", {"class_group_id": past_id}).status_code == 302
    with app.app_context():
        assert db.session.get(Student, stages.student_id).current_enrollment().class_group_id == stages.p6
