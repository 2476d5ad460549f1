"""Hand-over on transfer: pages that list a student's entries outside the file page (the referral form, the student
report PDF) withhold an earlier school's entries exactly as the file does, until the guardian consents."""
from sqlalchemy import select

from app.accounts.models import User
from app.care import services as care
from app.care.models import Referral
from app.extensions import db
from app.orgs.models import School
from app.risk import services as risk
from app.students.consent import record_consent
from app.students.models import ConsentKind, Student
from tests.conftest import login_as
from tests.security.conftest import transfer_moved_students
from tests.security.test_matrix import _text_of as _raw_text_of


def _text_of(response):
    return " ".join(_raw_text_of(response).split())  # table cells and paragraphs wrap in a PDF


def _user(name):
    return db.session.scalar(select(User).where(User.username == name))


def _consent(app, student_id, kind):
    """The guardian signs; the psychology teacher of the student's new school records it."""
    with app.app_context():
        record_consent(db.session.get(Student, student_id), kind, True, "signed form", by=_user("other_teacher"))
        db.session.commit()
        db.session.remove()


def test_the_referral_form_offers_an_earlier_schools_alerts_and_declines_only_with_hand_over_consent(
        app, client_factory, case):
    with app.app_context():
        referral = db.session.get(Referral, case.referral_sent)  # Student 1's, with its open alert
        care.decline_referral(referral, "DECLINE-REASON-earlier-school", by=_user("doctor"))
        alert_number = referral.alert.case_number
        db.session.commit()
        db.session.remove()
    transfer_moved_students(app, case.world)
    new_school = login_as(client_factory, "other_teacher")
    url = f"/students/{case.world.student_ids[1]}/refer"

    page = new_school.get(url).get_data(as_text=True)
    assert alert_number not in page and "DECLINE-REASON-earlier-school" not in page
    _consent(app, case.world.student_ids[1], ConsentKind.HANDOVER_SCHOOL)
    page = new_school.get(url).get_data(as_text=True)
    assert alert_number in page and "DECLINE-REASON-earlier-school" in page


def test_the_student_report_shows_a_doctor_an_earlier_schools_entries_only_with_hand_over_consent(
        app, client_factory, case):
    """Student 2 had a concern at the middle school, moved, and was referred by the high school: the hospital sees
    the high school's referral; the middle school's alert only under handover_hospital consent."""
    student_id = case.world.student_ids[2]
    with app.app_context():
        student = db.session.get(Student, student_id)
        risk.raise_alert(student, case.world.school_id, "moderate", "concern", by=_user("teacher"))
        db.session.commit()
        db.session.remove()
    transfer_moved_students(app, case.world)
    with app.app_context():
        high_school = db.session.get(School, case.world.other_school_id)
        care.refer_student(db.session.get(Student, student_id), high_school.id, case.hospital_id, "high",
                           "referred by the new school", by=_user("other_teacher"))
        db.session.commit()
        db.session.remove()
    doctor = login_as(client_factory, "doctor")

    report = _text_of(doctor.get(f"/students/{student_id}/report.pdf"))
    file_page = doctor.get(f"/students/{student_id}").get_data(as_text=True)
    assert 'data-testid="handover-notice"' in file_page
    assert "Concern raised by staff" not in report and "not consented to hand the file over" in report
    _consent(app, student_id, ConsentKind.HANDOVER_HOSPITAL)
    report = _text_of(doctor.get(f"/students/{student_id}/report.pdf"))
    assert "Concern raised by staff" in report and "not consented" not in report


def test_with_hand_over_consent_the_new_school_reads_the_whole_file_and_report(app, client_factory, case):
    """Student 0's file and report at the new school: its own entries only, then (consent recorded) the middle
    school's alert, assessment and return decision too (DESIGN.md: the whole file from the first day)."""
    transfer_moved_students(app, case.world)
    new_school = login_as(client_factory, "other_teacher")
    earlier = (case.case_numbers[0], "findings 0", "decision conditions 0")  # the alert's number, clinical text

    def file_and_report():
        page = new_school.get(f"/students/{case.student}").get_data(as_text=True)
        return page, _text_of(new_school.get(f"/students/{case.student}/report.pdf"))

    page, report = file_and_report()
    assert 'data-testid="handover-notice"' in page and "not consented to hand the file over" in report
    assert not [text for text in earlier if text in page + report]
    _consent(app, case.student, ConsentKind.HANDOVER_SCHOOL)
    page, report = file_and_report()
    assert all(text in page for text in earlier), page
    assert all(text in report for text in earlier[1:]), report  # the report names no case numbers


def test_a_hospital_that_declined_the_earlier_schools_referral_is_still_offered_to_the_new_school(
        app, client_factory, case):
    """The decline belongs to the earlier school's file: the new school neither learns of it from a missing option
    nor is stopped from referring there. The school that was declined still refers elsewhere."""
    with app.app_context():
        care.decline_referral(db.session.get(Referral, case.referral_sent), "not now", by=_user("doctor"))
        db.session.commit()
        db.session.remove()
    hospital_option = f'<option value="{case.hospital_id}"'
    student_id = case.world.student_ids[1]
    assert hospital_option not in login_as(client_factory, "teacher").get(f"/students/{student_id}/refer").get_data(
        as_text=True)
    transfer_moved_students(app, case.world)
    assert hospital_option in login_as(client_factory, "other_teacher").get(f"/students/{student_id}/refer").get_data(
        as_text=True)
