"""An alert from first sight to closure (issue 17, items 6-11), through the real HTTP stack: why it was raised and
whom to call, the crisis checklist and the guardian calls, the next step after every step, the referral linked both
ways, the school's referral list and student search, and form errors shown on their fields."""
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.risk.models import Alert, AlertStatus, CrisisStep, GuardianContact
from tests.conftest import login_as
from tests.helpers import PHQ9_CRITICAL, answer_all, launch_campaign
from tests.integration.test_care_loop import assess, decide, last_referral_id

ASQ_NEGATIVE = [0, 0, 0, 0, None]


@pytest.fixture
def critical(app, world, client_factory):
    """A critical alert for Student 0 from a PHQ-9 item-9 answer; returns (teacher client, alert id)."""
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "ASQ"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "ASQ": ASQ_NEGATIVE})
    with app.app_context():
        alert = db.session.scalars(select(Alert)).one()
        assert alert.level == "critical"
        return teacher, alert.id


def _now_local(minutes=0):
    return (clock.now() + timedelta(minutes=minutes)).astimezone(clock.LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def test_the_alert_page_says_why_and_whom_to_call_to_those_who_may_know(app, world, client_factory, critical):
    teacher, alert_id = critical
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="alert-answers"' in page
    answers = page.split('data-testid="alert-answers"')[1].split("</section>")[0]
    # the item-9 question comes first, with the option the student chose; the score and band are there
    assert answers.index("Risk question") < answers.index("Little interest")
    assert "Thoughts that you would be better off dead" in answers and "Several days" in answers
    assert "Score" in answers and "/27" in answers
    whom = page.split('data-testid="alert-whom"')[1].split("</section>")[0]
    assert "Class 8-1" in whom and "Homeroom A" in whom and "Guardian" in whom and 'href="tel:13900000000"' in whom
    # the partner hospital's doctor sees a de-identified partner alert: the answers, never whom to call
    doctor = login_as(client_factory, "doctor")
    page = doctor.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="alert-answers"' in page and "13900000000" not in page and "Student 0" not in page


def test_the_crisis_checklist_records_who_and_when_and_a_call_informs_the_guardian(app, world, client_factory, critical):
    teacher, alert_id = critical
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="crisis-checklist"' in page and "Crisis checklist: 0 of 4 steps done" in page
    assert teacher.post(f"/alerts/{alert_id}/checklist", {"step": "not_alone"}).status_code == 302
    # the safety assessment needs what was found: the form comes back with the error on the field
    r = teacher.post(f"/alerts/{alert_id}/checklist", {"step": "safety_assessment", "note": " "})
    assert r.status_code == 400 and "Write what was found, or why not." in r.get_data(as_text=True)
    assert teacher.post(f"/alerts/{alert_id}/checklist", {"step": "not_alone"}).status_code == 400  # once only
    assert teacher.post(f"/alerts/{alert_id}/checklist", {"step": "guardian_informed"}).status_code == 400  # by a call
    # a call that did not reach the guardian ticks nothing; one that did, ticks "guardian informed" at its time
    call = {"g-direction": "outgoing", "g-person": "Guardian", "g-contacted_at": _now_local(), "g-outcome": "no_answer",
            "g-note": "CALL-SECRET rang twice"}
    assert teacher.post(f"/alerts/{alert_id}/guardian-contacts", call).status_code == 302
    r = teacher.post(f"/alerts/{alert_id}/guardian-contacts", {**call, "g-contacted_at": _now_local(90)})
    assert r.status_code == 400 and "The call cannot be in the future." in r.get_data(as_text=True)
    r = teacher.post(f"/alerts/{alert_id}/guardian-contacts", {**call, "g-outcome": ""})
    assert r.status_code == 400 and 'value="CALL-SECRET rang twice"' not in r.get_data(as_text=True)
    assert "CALL-SECRET rang twice</textarea>" in r.get_data(as_text=True)  # what was typed comes back
    assert teacher.post(f"/alerts/{alert_id}/guardian-contacts", {**call, "g-outcome": "reached", "g-note": ""}).status_code == 302
    with app.app_context():
        steps = {s.step: s for s in db.session.scalars(select(CrisisStep).where(CrisisStep.alert_id == alert_id))}
        assert set(steps) == {"not_alone", "guardian_informed"}
        assert steps["not_alone"].done_by.username == "teacher"
        assert [c.outcome for c in db.session.scalars(select(GuardianContact).order_by(GuardianContact.id))] == [
            "no_answer", "reached"]
        stored = db.session.execute(text("SELECT note FROM guardian_contacts WHERE note IS NOT NULL")).scalar()
        assert stored and "CALL-SECRET" not in stored  # encrypted at rest, like other clinical text
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"crisis_step_recorded", "guardian_contact_recorded"} <= actions
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "CALL-SECRET rang twice" in page and "Crisis checklist: 2 of 4 steps done" in page
    assert "Checklist 2/4" in teacher.get("/alerts").get_data(as_text=True)
    # the alert closes with the checklist open only with a note that says why
    r = teacher.post(f"/alerts/{alert_id}/resolve", {"outcome": "monitored_at_school", "note": ""})
    assert r.status_code == 400 and "write why the alert closes anyway" in r.get_data(as_text=True)
    assert teacher.post(f"/alerts/{alert_id}/checklist", {"step": "safety_assessment", "note": "No plan, no means"}).status_code == 302
    assert teacher.post(f"/alerts/{alert_id}/checklist", {"step": "referral", "note": "Guardian takes her to a private clinic today"}).status_code == 302
    assert "Checklist 4/4" in teacher.get("/alerts").get_data(as_text=True)
    assert teacher.post(f"/alerts/{alert_id}/resolve", {"outcome": "contacted_guardian", "note": ""}).status_code == 302
    # a resolved alert takes no more steps, and another school's teacher cannot touch it
    assert teacher.post(f"/alerts/{alert_id}/guardian-contacts", call).status_code == 400
    other = login_as(client_factory, "other_teacher")
    assert other.post(f"/alerts/{alert_id}/checklist", {"step": "not_alone"}).status_code == 404


def test_after_acknowledge_the_next_step_stays_and_the_referral_links_both_ways(app, world, client_factory, critical):
    teacher, alert_id = critical
    r = teacher.post(f"/alerts/{alert_id}/acknowledge", {"back": "alert"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/alerts/{alert_id}")
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="refer-from-alert"' in page and 'data-testid="resolve-form"' in page
    # the referral form reached from the alert links it, and comes back to the alert
    form = teacher.get(f"/students/{world.student_ids[0]}/refer?alert={alert_id}").get_data(as_text=True)
    assert f'<option selected value="{alert_id}">' in form
    r = teacher.post(f"/students/{world.student_ids[0]}/refer?alert={alert_id}",
                     {"hospital_id": world.hospital_id, "urgency": "critical", "reason": "ASQ acute", "alert_id": alert_id})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/alerts/{alert_id}")
    rid = last_referral_id(app)
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-testid="linked-referral"' in page and "Referral sent to Partner Hospital" in page
    assert 'data-testid="refer-from-alert"' not in page  # one open referral is enough
    assert f'href="/alerts/{alert_id}"' in teacher.get(f"/referrals/{rid}").get_data(as_text=True)
    # the hospital's states show on the alert's timeline; its decision proposes closing with "referred"
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{rid}/accept").status_code == 302
    assert assess(doctor, rid).status_code == 302
    assert decide(doctor, rid, "cleared_with_conditions", "Weekly check-in", str(clock.today() + timedelta(days=28))).status_code == 302
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    for state in ("Referral accepted by the hospital", "Student assessed at the hospital", "Cleared with conditions"):
        assert state in page
    assert 'data-testid="hospital-proposal"' in page and '<option selected value="referred">' in page
    r = teacher.post(f"/alerts/{alert_id}/resolve", {"outcome": "referred", "note": ""})
    assert r.status_code == 400  # the checklist is not done: closing says why
    assert teacher.post(f"/alerts/{alert_id}/resolve", {"outcome": "referred", "note": "Cleared by the hospital"}).status_code == 302
    with app.app_context():
        assert db.session.get(Alert, alert_id).status == AlertStatus.RESOLVED


def test_the_school_lists_its_referrals_and_finds_its_students(app, world, client_factory, critical):
    teacher, alert_id = critical
    teacher.post(f"/students/{world.student_ids[1]}/refer",
                 {"hospital_id": world.hospital_id, "urgency": "high", "reason": "low mood", "alert_id": 0})
    rid = last_referral_id(app)
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{rid}/decline", {"x-reason": "No capacity"}).status_code == 302
    assert "Student 1" not in teacher.get("/referrals").get_data(as_text=True)  # open ones by default
    declined = teacher.get("/referrals?state=declined").get_data(as_text=True)
    assert "Student 1" in declined and "Declined" in declined and "Refer to another partner hospital" in declined
    assert login_as(client_factory, "other_teacher").get("/referrals?state=all").get_data(as_text=True).count("Student 1") == 0
    assert doctor.get("/referrals").status_code == 404
    # search by name or number, scoped to the school; LIKE wildcards are plain text
    found = teacher.get("/students/find?q=S0003").get_data(as_text=True)
    assert "Student 3" in found and "Student 2" not in found
    assert "Student 5" in teacher.get("/students/find?q=student 5").get_data(as_text=True)
    assert "No student found." in teacher.get("/students/find?q=%25").get_data(as_text=True)
    assert "Other Student" not in teacher.get("/students/find?q=Student").get_data(as_text=True)
    assert "Student 0" not in login_as(client_factory, "other_teacher").get("/students/find?q=Student").get_data(as_text=True)
    # the student's file links the report PDF
    assert f"/students/{world.student_ids[0]}/report.pdf" in teacher.get(f"/students/{world.student_ids[0]}").get_data(as_text=True)


def test_a_decision_without_conditions_shows_the_error_on_the_field_and_keeps_the_input(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    teacher.post(f"/students/{world.student_ids[0]}/refer",
                 {"hospital_id": world.hospital_id, "urgency": "high", "reason": "low mood", "alert_id": 0})
    rid = last_referral_id(app)
    doctor = login_as(client_factory, "doctor")
    doctor.post(f"/referrals/{rid}/accept")
    review = clock.today() + timedelta(days=14)
    assert assess(doctor, rid).status_code == 302  # its next review is in 14 days
    page = doctor.get(f"/referrals/{rid}").get_data(as_text=True)
    assert f'name="d-review_on" type="date" value="{review.isoformat()}"' in page  # prefilled from the assessment
    r = decide(doctor, rid, "cleared_with_conditions", "", "2099-01-01")
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    conditions = body.split('id="d-conditions"')[0].rsplit('<div class="field', 1)[1]
    assert "has-error" in conditions
    assert "Write the conditions of the return." in body.split('id="d-conditions"')[1].split("</div>")[0]
    assert 'value="2099-01-01"' in body and '<option selected value="cleared_with_conditions">' in body
    assert 'data-page-url="/referrals/' in body  # the address goes back to the referral's page


def test_a_follow_up_without_a_note_comes_back_on_the_file_page_with_its_error(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    teacher.post(f"/students/{world.student_ids[0]}/refer",
                 {"hospital_id": world.hospital_id, "urgency": "high", "reason": "low mood", "alert_id": 0})
    rid = last_referral_id(app)
    doctor = login_as(client_factory, "doctor")
    doctor.post(f"/referrals/{rid}/accept")
    assess(doctor, rid)
    decide(doctor, rid, "cleared_with_conditions", "Weekly check-in", str(clock.today() + timedelta(days=28)))
    with app.app_context():
        from app.care.models import FollowUp
        fid = db.session.scalar(select(FollowUp.id))
    r = teacher.post(f"/follow-ups/{fid}", {f"f{fid}-note": "", f"f{fid}-next_due_on": "2000-01-01"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and f'id="follow-up-{fid}"' in body and 'class="error"' in body
    r = teacher.post(f"/follow-ups/{fid}", {f"f{fid}-note": "Met her", f"f{fid}-next_due_on": "2000-01-01"})
    body = r.get_data(as_text=True)
    assert r.status_code == 400 and "The next contact must be after today." in body and "Met her</textarea>" in body
