"""The certificate PDF and the access rules of the clinical loop: homeroom, admin, break-glass."""
import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.files.models import BreakGlassAccess
from app.care.models import ReturnDecision
from tests.conftest import login_as
from tests.integration.test_care_loop import _day, assess, decide, last_referral_id, refer

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext not installed (apt-get install poppler-utils)")

CONDITIONS = "Reduced timetable\nWeekly check-in with the psychology teacher"


@pytest.fixture
def decided(app, world, client_factory):
    """Student 0 assessed (F32, findings secret) and cleared with conditions; returns the ids and clients."""
    teacher = login_as(client_factory, "teacher")
    refer(teacher, world.student_ids[0], world.hospital_id, reason="REFERRAL-REASON-SECRET")
    rid = last_referral_id(app)
    doctor = login_as(client_factory, "doctor")
    doctor.post(f"/referrals/{rid}/accept")
    assert assess(doctor, rid, findings="FINDINGS-SECRET").status_code == 302

    def issue(share=False):
        r = decide(doctor, rid, "cleared_with_conditions", CONDITIONS, _day(28), share=share)
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
        with app.app_context():
            return db.session.scalar(select(ReturnDecision.id).order_by(ReturnDecision.id.desc()))

    return {"teacher": teacher, "doctor": doctor, "referral": rid, "issue": issue, "student": world.student_ids[0]}


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    return subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


@needs_pdftotext
def test_certificate_contents_without_diagnosis(app, decided, tmp_path):
    decision_id = decided["issue"](share=False)
    response = decided["teacher"].get(f"/decisions/{decision_id}/certificate.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    text = pdf_text(response.data, tmp_path)
    for expected in ("Return-to-school certificate", "Middle School A", "Student 0", "S0000", "Cleared with conditions",
                     "Reduced timetable", "Weekly check-in with the psychology teacher", _day(28), "Doctor P",
                     "Partner Hospital", _day(), f"D{decision_id:06d}", f"R{decided['referral']:06d}"):
        assert expected in text, expected
    assert "F32" not in text and "Depressive" not in text and "Diagnosis" not in text
    assert "FINDINGS-SECRET" not in text and "REFERRAL-REASON-SECRET" not in text
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
        assert event.object_id == decision_id and event.detail["diagnosis_shared"] is False


@needs_pdftotext
def test_certificate_names_the_diagnosis_only_when_shared_and_speaks_chinese(app, decided, tmp_path, client_factory):
    decision_id = decided["issue"](share=True)
    text = pdf_text(decided["doctor"].get(f"/decisions/{decision_id}/certificate.pdf").data, tmp_path)
    assert "F32 Depressive episode" in text and "FINDINGS-SECRET" not in text
    chinese = login_as(client_factory, "doctor")
    chinese.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    text = pdf_text(chinese.get(f"/decisions/{decision_id}/certificate.pdf").data, tmp_path)
    assert "复学" in text and "有条件复学" in text and "F32" in text  # the embedded font carries the Chinese text


def test_certificate_is_for_the_hospital_and_the_current_school_only(app, world, decided, client_factory):
    decision_id = decided["issue"]()
    url = f"/decisions/{decision_id}/certificate.pdf"
    assert login_as(client_factory, "teacher2").get(url).status_code == 200  # any teacher of the current school
    for username in ("other_teacher", "other_doctor", "homeroom", "admin"):
        assert login_as(client_factory, username).get(url).status_code == 404, username
    # after a transfer the old school no longer gets it
    from app.students.models import Enrollment

    with app.app_context():
        enrollment = db.session.scalar(select(Enrollment).where(Enrollment.student_id == decided["student"]))
        enrollment.end_date = clock.today()
        db.session.commit()
    assert decided["teacher"].get(url).status_code == 404
    assert decided["doctor"].get(url).status_code == 200


def test_homeroom_sees_only_needs_attention_for_own_class(app, world, decided, client_factory):
    decided["issue"]()  # Student 0 now has open follow-up conditions and no open alert
    homeroom = login_as(client_factory, "homeroom")
    page = homeroom.get("/homeroom").get_data(as_text=True)
    row = re.search(r"<tr><td>S0000</td>(.*?)</tr>", page, re.S).group(1)
    assert "Needs attention" in row
    assert "Needs attention" not in re.search(r"<tr><td>S0001</td>(.*?)</tr>", page, re.S).group(1)
    assert "Other Student" not in page  # another school's class
    for secret in ("FINDINGS-SECRET", "REFERRAL-REASON-SECRET", "Reduced timetable", "F32", "Cleared", "PHQ"):
        assert secret not in page, secret
    with app.app_context():
        follow_up_id = db.session.scalar(select(ReturnDecision.id))
    for url in (f"/students/{decided['student']}", f"/referrals/{decided['referral']}", "/teacher", "/doctor",
                f"/decisions/{follow_up_id}/certificate.pdf", f"/students/{decided['student']}/break-glass"):
        assert homeroom.get(url).status_code == 404, url
    assert homeroom.post("/follow-ups/1", {"f1-note": "x"}).status_code == 404


def test_admin_sees_no_clinical_text(app, world, decided, client_factory):
    decided["issue"]()
    teacher = decided["teacher"]
    with app.app_context():
        from app.care.models import FollowUp

        fid = db.session.scalar(select(FollowUp.id))
    teacher.post(f"/follow-ups/{fid}", {f"f{fid}-note": "CONTACT-NOTE-SECRET"})
    admin = login_as(client_factory, "admin")
    page = admin.get(f"/students/{decided['student']}").get_data(as_text=True)
    assert "Student 0" in page and "Cleared with conditions" in page
    for secret in ("FINDINGS-SECRET", "REFERRAL-REASON-SECRET", "Reduced timetable", "CONTACT-NOTE-SECRET"):
        assert secret not in page, secret
    assert admin.get(f"/referrals/{decided['referral']}").status_code == 404
    assert "break-glass" in page  # the way to emergency access is offered


def test_break_glass_asks_a_reason_is_audited_time_limited_and_shown_to_the_school(app, world, decided, client_factory):
    decided["issue"]()
    student = decided["student"]
    admin = login_as(client_factory, "admin")
    assert admin.get(f"/students/{student}/break-glass").status_code == 200
    short = admin.post(f"/students/{student}/break-glass", {"reason": "urgent"})
    assert short.status_code == 400 and "at least 20 characters" in short.get_data(as_text=True)
    assert admin.post(f"/students/{student}/break-glass", {"reason": "x" * 30}, csrf=False).status_code == 400
    with app.app_context():
        assert db.session.scalar(select(BreakGlassAccess.id)) is None
        assert "break_glass" not in set(db.session.scalars(select(AuditEvent.action)))

    reason = "Police report a missing student; hospital needs the risk plan now"
    assert admin.post(f"/students/{student}/break-glass", {"reason": reason}).status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "break_glass"))
        access = db.session.scalar(select(BreakGlassAccess))
        assert event.student_id == student and event.actor_role == "admin"
        # the reason stays in its encrypted row, which the event names; the audit trail carries no free text
        assert event.detail["break_glass_id"] == access.id and access.reason == reason
        assert reason not in str(event.detail)
    page = admin.get(f"/students/{student}").get_data(as_text=True)
    assert "FINDINGS-SECRET" in page and "Reduced timetable" in page
    with app.app_context():
        viewed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "file_viewed")
                                    .order_by(AuditEvent.id.desc())).first()
        assert viewed.detail["break_glass"] is True
    # only this student: another student's file shows no clinical text to the admin
    assert admin.get(f"/students/{world.student_ids[1]}").status_code == 200

    # the school sees who, when and why
    school_page = decided["teacher"].get(f"/students/{student}").get_data(as_text=True)
    notice = re.search(r'data-testid="break-glass">(.*?)</section>', school_page, re.S).group(1)
    assert "Admin" in notice and reason in notice and clock.now().astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%d") in notice

    # the access ends after the configured time
    clock.freeze(clock.now() + timedelta(minutes=app.config["BREAK_GLASS_MINUTES"] + 1))
    admin = login_as(client_factory, "admin")
    assert "FINDINGS-SECRET" not in admin.get(f"/students/{student}").get_data(as_text=True)

    # no other role may break the glass
    for username in ("teacher", "doctor", "homeroom"):
        assert login_as(client_factory, username).post(f"/students/{student}/break-glass",
                                                       {"reason": reason}).status_code == 404, username
