"""Access rules of the walking skeleton: out-of-scope objects answer 404; CSRF is enforced."""
import pytest
from sqlalchemy import select

from app.care.models import Referral
from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, answer_all, launch_campaign


@pytest.fixture
def case(app, world, client_factory):
    """A critical alert and a referral for world.students[0] at the middle school."""
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    teacher.post(f"/students/{world.students[0]['id']}/refer",
                 {"hospital_id": world.hospital_id, "urgency": "critical", "reason": "item 9", "alert_id": alert_id})
    with app.app_context():
        referral_id = db.session.scalar(select(Referral.id))
    return {"campaign": campaign_id, "alert": alert_id, "referral": referral_id, "student": world.students[0]["id"]}


def test_teacher_of_other_school_gets_404_everywhere(client_factory, case):
    other = login_as(client_factory, "other_teacher")
    for url in (f"/students/{case['student']}", f"/campaigns/{case['campaign']}",
                f"/campaigns/{case['campaign']}/progress.json", f"/referrals/{case['referral']}",
                f"/students/{case['student']}/refer"):
        assert other.get(url).status_code == 404, url
    assert other.post(f"/alerts/{case['alert']}/acknowledge").status_code == 404
    assert other.post(f"/students/{case['student']}/refer", {"hospital_id": 1, "urgency": "high", "reason": "x"}).status_code == 404
    assert other.post(f"/campaigns/{case['campaign']}/close").status_code == 404
    assert f"A{case['alert']:06d}" not in other.get("/alerts").get_data(as_text=True)


def test_doctor_without_referral_gets_404(client_factory, case):
    other = login_as(client_factory, "other_doctor")
    assert other.get(f"/students/{case['student']}").status_code == 404
    assert other.get(f"/referrals/{case['referral']}").status_code == 404
    assert other.post(f"/referrals/{case['referral']}/accept").status_code == 404
    assert other.post(f"/referrals/{case['referral']}/decision", {"d-outcome": "cleared"}).status_code == 404
    assert "Student 0" not in other.get("/doctor").get_data(as_text=True)


def test_doctor_of_partner_hospital_sees_referred_student_only(world, client_factory, case):
    doctor = login_as(client_factory, "doctor")
    assert doctor.get(f"/students/{case['student']}").status_code == 200
    assert doctor.get(f"/students/{world.students[1]['id']}").status_code == 404  # not referred
    # teacher pages are not the doctor's
    assert doctor.get(f"/campaigns/{case['campaign']}").status_code == 404


def test_doctor_sees_partner_alert_without_identity(client_factory, case):
    doctor = login_as(client_factory, "doctor")
    page = doctor.get("/alerts").get_data(as_text=True)
    assert f"A{case['alert']:06d}" in page
    assert "Student 0" not in page


def test_homeroom_teacher_sees_needs_attention_only(world, client_factory, case):
    homeroom = login_as(client_factory, "homeroom")
    page = homeroom.get("/homeroom").get_data(as_text=True)
    assert "Student 0" in page and "Needs attention" in page
    assert "PHQ-9" not in page and "item 9" not in page
    for url in (f"/students/{case['student']}", "/alerts", f"/referrals/{case['referral']}", f"/campaigns/{case['campaign']}"):
        assert homeroom.get(url).status_code == 404, url


def test_admin_sees_file_without_clinical_text(app, world, client_factory, case):
    doctor = login_as(client_factory, "doctor")
    doctor.post(f"/referrals/{case['referral']}/accept")
    doctor.post(f"/referrals/{case['referral']}/assessment", {
        "a-assessed_on": str(clock.today()), "a-setting": "clinic", "a-findings": "SECRET-FINDINGS-TEXT",
        "a-risk_level": "high", "a-plan": "outpatient"})
    admin = login_as(client_factory, "admin")
    page = admin.get(f"/students/{case['student']}").get_data(as_text=True)
    assert page.count("Assessment") >= 1 and "SECRET-FINDINGS-TEXT" not in page
    assert "SECRET-FINDINGS-TEXT" in doctor.get(f"/students/{case['student']}").get_data(as_text=True)


def test_anonymous_and_student_session_cannot_reach_staff_pages(app, world, client_factory, case):
    anonymous = client_factory()
    for url in ("/teacher", "/doctor", "/admin", "/alerts", f"/students/{case['student']}", f"/referrals/{case['referral']}"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    # a student's bearer token opens nothing on the staff side
    http = app.test_client()
    session = http.post("/api/v1/student-sessions", json={
        "session_code": "NOSUCH", "student_number": world.students[1]["number"], "birth_date": world.students[1]["birth_date"]})
    assert session.status_code == 401
    page = http.get("/alerts", headers={"Authorization": "Bearer anything"})
    assert page.status_code == 302


def test_post_without_csrf_token_is_refused(app, world, client_factory, case):
    teacher = login_as(client_factory, "teacher")
    response = teacher.post(f"/alerts/{case['alert']}/acknowledge", csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Alert, case["alert"]).status.value == "open"
    assert client_factory().post("/login", {"username": "teacher", "password": "correct-horse-battery-9"},
                                 csrf=False).status_code == 400


def test_session_id_changes_at_login_and_logout_ends_it(app, world, client_factory):
    c = client_factory()
    c.get("/login")
    before = c.http.get_cookie("session").value
    assert c.login("teacher").status_code == 302
    after = c.http.get_cookie("session").value
    assert before != after
    stolen = after
    assert c.post("/logout").status_code == 302
    replay = client_factory()
    replay.http.set_cookie("session", stolen)
    assert replay.get("/teacher").status_code == 302  # the old cookie no longer works


def test_wrong_password_is_refused_and_undeclared_paths_404(world, client_factory):
    c = client_factory()
    response = c.login("teacher", "wrong-password-123")
    assert response.status_code == 401 and "Wrong username or password" in response.get_data(as_text=True)
    assert c.get("/no/such/page").status_code == 404
