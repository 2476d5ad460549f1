"""Paths that change who can see a student (issue 15): roster imports, admission requests, alerts a doctor reaches
outside the file, declined referrals. Each test drives the real HTTP stack with CSRF on."""
import io
import re

from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from app.students.models import AdmissionRequest, AdmissionStatus, Enrollment, Student
from app.orgs.school_year import academic_year
from tests.conftest import login_as
from tests.security.conftest import transfer_moved_students

HEADER = "school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone\n"


def _upload(client, *rows):
    data = (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")
    response = client.post("/rosters", {"file": (io.BytesIO(data), "roster.csv"),
                                        "academic_year": academic_year(clock.today())},
                           content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def _student(app, number):
    with app.app_context():
        student = db.session.scalar(select(Student).where(Student.student_number == number))
        current = student.current_enrollment()
        state = (student.name, student.sex.value, student.guardian_name, student.guardian_phone,
                 current.school_id if current else None, len(student.enrollments))
        db.session.remove()
    return state


def _audit(app, action):
    with app.app_context():
        rows = [e.detail for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                                     .order_by(AuditEvent.id))]
        db.session.remove()
    return rows


# --- Critical: a school's import never takes another school's student ------------------------------------------

def test_a_school_import_naming_another_schools_student_moves_renames_and_reveals_nothing(app, world, client_factory):
    """The penetration test's attack: the high school's teacher imports the middle school's Student 0 twice (a
    guessed birth date, then the real one) and applies. Nothing of the student is shown, nothing moves."""
    s0 = world.students[0]
    teacher, intruder = login_as(client_factory, "teacher"), login_as(client_factory, "other_teacher")
    teacher.post("/concerns/new", {"student_number": s0["number"], "level": "high", "category": "classmate_worry",
                                   "note": "worried"})
    before = _student(app, s0["number"])
    guess = _upload(intruder, f"High School B,Class 10-1,10,{s0['number']},Guessed Name,F,2012-12-26,,")
    page = intruder.get(f"/rosters/{guess}").get_data(as_text=True)
    for secret in (s0["birth_date"], "Student 0", "Middle School A", "Guardian", "13900000000"):
        assert secret not in page, secret
    assert 'data-testid="roster-requests"' in page and "Guessed Name" in page

    real = _upload(intruder, f"High School B,Class 10-1,10,{s0['number']},Student 0,M,{s0['birth_date']},,")
    page = intruder.get(f"/rosters/{real}").get_data(as_text=True)
    assert "Middle School A" not in page and "elsewhere" not in page.lower()
    assert intruder.post(f"/rosters/{real}/apply").status_code == 302

    assert _student(app, s0["number"]) == before  # not moved, not renamed, guardian kept
    assert teacher.get(f"/students/{s0['id']}").status_code == 200
    assert intruder.get(f"/students/{s0['id']}").status_code == 404
    assert "Student 0" in teacher.get("/alerts").get_data(as_text=True)  # the open alert stays with its school
    # Every preview is audited with the numbers it looked up (and the ids it matched), no names.
    previews = _audit(app, "roster_previewed")
    assert len(previews) == 2 and all(d["numbers"] == [s0["number"]] and d["student_ids"] == [s0["id"]]
                                      for d in previews)
    assert "Student 0" not in str(previews)
    with app.app_context():
        request = db.session.scalars(select(AdmissionRequest)).one()
        assert (request.student_number, request.status, request.student_id) == \
            (s0["number"], AdmissionStatus.PENDING, None)


def _neutral(page, number, import_id):
    """A preview page with what legitimately differs between two uploads (number, import id, tokens) taken out."""
    page = page.replace(number, "NUMBER").replace(f"#{import_id}", "#ID").replace(f"/rosters/{import_id}", "/rosters/ID")
    return re.sub(r'value="[^"]+" name="csrf_token"|name="csrf_token" type="hidden" value="[^"]+"', "TOKEN", page)


def test_the_preview_cannot_tell_a_number_known_elsewhere_from_an_unknown_one(app, world, client_factory):
    """The same row with another school's real student number and with a number nobody has: the pages are the same,
    whether the name, sex and birth date guessed are right or wrong."""
    intruder = login_as(client_factory, "other_teacher")
    s0 = world.students[0]
    pages = []
    for number in (s0["number"], "Z9999"):
        for name, sex, born in (("Student 0", "M", s0["birth_date"]), ("Wrong Guess", "F", "2011-11-11")):
            import_id = _upload(intruder, f"High School B,Class 10-1,10,{number},{name},{sex},{born},,")
            pages.append((name, _neutral(intruder.get(f"/rosters/{import_id}").get_data(as_text=True), number,
                                         import_id)))
    assert pages[0] == pages[2] and pages[1] == pages[3]
    assert "Changes" not in pages[0][1] and "Currently at" not in pages[0][1]


def test_a_known_student_enrolled_nowhere_is_not_attached_by_a_school_import(app, world, client_factory):
    """A student who left the middle school is enrolled nowhere: the high school's import does not attach the file
    (that would hand it over); the district admin admits the student, and then the file is the high school's."""
    s1 = world.students[1]
    with app.app_context():
        for enrollment in db.session.scalars(select(Enrollment).where(Enrollment.student_id == s1["id"])):
            enrollment.end_date = clock.today()
        db.session.commit()
        db.session.remove()
    intruder = login_as(client_factory, "other_teacher")
    import_id = _upload(intruder, f"High School B,Class 10-1,10,{s1['number']},Student 1,F,{s1['birth_date']},,")
    assert 'data-testid="roster-requests"' in intruder.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert intruder.post(f"/rosters/{import_id}/apply").status_code == 302
    assert intruder.get(f"/students/{s1['id']}").status_code == 404
    assert _student(app, s1["number"])[4] is None

    admin = login_as(client_factory, "admin")
    queue = admin.get("/admin/admissions").get_data(as_text=True)
    assert "Enrolled nowhere; last at Middle School A" in queue
    assert admin.post(f"/admin/rosters/{import_id}/admissions/approve").status_code == 302
    assert intruder.get(f"/students/{s1['id']}").status_code == 200
    assert _student(app, s1["number"])[4] == world.other_school_id
    assert [d["via"] for d in _audit(app, "file_handed_over")] == ["admission"]


def test_only_the_district_admin_moves_another_schools_student_and_the_school_sees_the_decision(
        app, world, client_factory):
    s0, s2 = world.students[0], world.students[2]
    intruder = login_as(client_factory, "other_teacher")
    import_id = _upload(intruder, f"High School B,Class 10-1,10,{s0['number']},Student 0,M,{s0['birth_date']},,",
                        f"High School B,Class 10-1,10,{s2['number']},Student 2,M,2012-12-12,,",
                        "High School B,Class 10-2,10,N5555,Brand New,F,2011-02-03,Parent,13900000009")
    assert intruder.post(f"/rosters/{import_id}/apply").status_code == 302
    with app.app_context():
        requests = {r.student_number: r.id for r in db.session.scalars(select(AdmissionRequest))}
        db.session.remove()
    for user in ("teacher", "homeroom", "doctor"):
        assert login_as(client_factory, user).get("/admin/admissions").status_code == 404
        assert login_as(client_factory, user).post(
            f"/admin/admissions/{requests[s0['number']]}/approve").status_code == 404

    admin = login_as(client_factory, "admin")
    queue = admin.get("/admin/admissions").get_data(as_text=True)
    assert "Enrolled at Middle School A since" in queue and "New number" in queue
    assert "row differs from the record" in queue
    # "Admit all" admits the new number only: a student enrolled at another school is decided one by one, and a
    # contradicting birth date never.
    admin.post(f"/admin/rosters/{import_id}/admissions/approve")
    assert _student(app, "N5555")[4] == world.other_school_id
    assert _student(app, s0["number"])[4] == world.school_id
    page = admin.post(f"/admin/admissions/{requests[s2['number']]}/approve", follow_redirects=True)
    assert "differs from the record" in page.get_data(as_text=True)
    assert _student(app, s2["number"])[4] == world.school_id
    assert admin.post(f"/admin/admissions/{requests[s2['number']]}/refuse",
                      {"note": "Not your student: check the number"}).status_code == 302
    assert admin.post(f"/admin/admissions/{requests[s0['number']]}/approve").status_code == 302

    assert login_as(client_factory, "teacher").get(f"/students/{s0['id']}").status_code == 404
    assert intruder.get(f"/students/{s0['id']}").status_code == 200
    with app.app_context():
        decided = {r.student_number: r for r in db.session.scalars(select(AdmissionRequest))}
        assert all(r.name == "" and r.birth_date is None for r in decided.values())  # the row's details are dropped
        db.session.remove()
    school_view = intruder.get(f"/rosters/{import_id}").get_data(as_text=True)
    assert "Refused" in school_view and "Not your student: check the number" in school_view
    assert school_view.count("Admitted") == 2
    assert [d["from_school_id"] for d in _audit(app, "student_transferred")] == [world.school_id]
    assert len(_audit(app, "admission_approved")) == 2 and len(_audit(app, "admission_refused")) == 1


def test_an_import_never_blanks_the_guardian_with_an_empty_cell(app, world, client_factory):
    s1 = world.students[1]
    for username in ("admin", "teacher"):
        client = login_as(client_factory, username)
        import_id = _upload(client, f"Middle School A,Class 8-1,8,{s1['number']},Student 1,F,{s1['birth_date']},,")
        page = client.get(f"/rosters/{import_id}").get_data(as_text=True)
        assert 'data-testid="nothing-to-change"' in page, username
        client.post(f"/rosters/{import_id}/apply")
        assert _student(app, s1["number"])[2:4] == ("Guardian", "13900000000"), username


# --- Medium 1: a doctor reaches an alert only under the file's hand-over rule ----------------------------------

def test_a_doctor_sees_a_later_schools_alert_only_under_the_hospital_hand_over_consent(app, client_factory, case):
    """Student 0 was referred by the middle school, then moved to the high school without handover_hospital
    consent; the high school raises a concern. The doctor reads the file without it, so neither the alert pages nor
    the risk list may show it with the student's identity or note."""
    transfer_moved_students(app, case.world)
    new_school = login_as(client_factory, "other_teacher")
    ids = {}
    for level in ("moderate", "high"):
        response = new_school.post("/concerns/new", {"student_number": case.world.students[0]["number"], "level": level,
                                                     "category": "classmate_worry", "note": f"NEW-SCHOOL-NOTE-{level}"})
        ids[level] = int(response.headers["Location"].rstrip("/").split("/")[-1])
    doctor = login_as(client_factory, "doctor")
    # A moderate concern is no partner alert: out of the doctor's scope entirely.
    assert doctor.get(f"/alerts/{ids['moderate']}").status_code == 404
    assert f'data-alert="{ids["moderate"]}"' not in doctor.get("/alerts").get_data(as_text=True)
    # A high one is a partner school's alert, shown as all partner alerts are: without identity or note.
    page = doctor.get(f"/alerts/{ids['high']}").get_data(as_text=True)
    assert "Student 0" not in page and "NEW-SCHOOL-NOTE" not in page and 'data-testid="alert-student"' not in page
    # The referring school's own alert still shows the student and the note.
    assert "alert note 0" in doctor.get(f"/alerts/{case.alert}").get_data(as_text=True)

    new_school.post(f"/students/{case.student}/consent", {"kind": "handover_hospital", "granted": "yes", "confirm": "y"})
    page = doctor.get(f"/alerts/{ids['moderate']}").get_data(as_text=True)
    assert "Student 0" in page and "NEW-SCHOOL-NOTE-moderate" in page


# --- Low 7: a declined referral stays with the hospital without identity ----------------------------------------

def test_a_declined_referral_shows_the_hospital_no_name_or_school(app, client_factory, case):
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{case.referral_sent}/decline", {"x-reason": "DECLINED: no capacity"}).status_code == 302
    for username in ("doctor", "doctor2"):
        page = login_as(client_factory, username).get(f"/referrals/{case.referral_sent}").get_data(as_text=True)
        assert "Student 1" not in page and "Middle School A" not in page and "referral reason 1" not in page, username
        assert 'data-testid="referral-deidentified"' in page and "DECLINED: no capacity" in page, username
    assert doctor.get(f"/students/{case.world.student_ids[1]}").status_code == 404
    school = login_as(client_factory, "teacher").get(f"/referrals/{case.referral_sent}").get_data(as_text=True)
    assert "Student 1" in school and "DECLINED: no capacity" in school


def test_a_doctor_sees_an_earlier_schools_follow_up_task_only_under_the_hospital_hand_over_consent(
        app, client_factory, case):
    """The same rule for the file page's list of open follow-ups: Student 2 had a task at the middle school, moved,
    and was referred by the high school; the doctor sees the task only once the guardian consents."""
    from datetime import timedelta

    from app.care.models import FollowUp

    student_id = case.world.student_ids[2]
    with app.app_context():
        db.session.add(FollowUp(student_id=student_id, school_id=case.world.school_id, condition="EARLIER-SCHOOL-TASK",
                                due_on=clock.today() + timedelta(days=3), created_at=clock.now()))
        db.session.commit()
        db.session.remove()
    transfer_moved_students(app, case.world)
    new_school = login_as(client_factory, "other_teacher")
    assert new_school.post(f"/students/{student_id}/refer", {"hospital_id": case.hospital_id, "urgency": "high",
                                                             "reason": "referred by the new school",
                                                             "alert_id": 0}).status_code == 302
    doctor = login_as(client_factory, "doctor")
    assert "EARLIER-SCHOOL-TASK" not in doctor.get(f"/students/{student_id}").get_data(as_text=True)
    new_school.post(f"/students/{student_id}/consent", {"kind": "handover_hospital", "granted": "yes", "confirm": "y"})
    assert "EARLIER-SCHOOL-TASK" in doctor.get(f"/students/{student_id}").get_data(as_text=True)
