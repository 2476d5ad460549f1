"""The whole loop through the real HTTP stack: teacher → student → teacher → doctor → teacher."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response, Score
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, launch_campaign


def test_screen_alert_refer_assess_return(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    home = teacher.get("/teacher").get_data(as_text=True)
    assert "Class 8-1" in home

    # 2. the teacher starts a campaign with PHQ-9 and GAD-7 and gets a short code
    campaign_id, code = launch_campaign(teacher, world.class_id)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{6}", code)

    # 3/4. students answer on the API the student page uses
    student_http = app.test_client()
    at_risk, calm = world.students[0], world.students[1]
    receipts = answer_all(student_http, code, at_risk, {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    assert receipts["PHQ-9"]["show_crisis_resources"] is True
    assert [r["number"] for r in receipts["PHQ-9"]["resources"]] == ["12355", "12356", "120"]
    assert receipts["GAD-7"]["show_crisis_resources"] is False
    calm_receipts = answer_all(app.test_client(), code, calm, {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    assert not any(r["show_crisis_resources"] for r in calm_receipts.values())
    assert "total" not in str(calm_receipts)  # students never see scores

    with app.app_context():
        stored = db.session.scalars(select(Response).where(Response.student_id == at_risk["id"])).all()
        assert {r.scale_code for r in stored} == {"PHQ-9", "GAD-7"}
        assert all(len(r.scale_version) >= 8 for r in stored)
        phq = next(r for r in stored if r.scale_code == "PHQ-9")
        assert phq.score.risk == "critical" and "suicidal_ideation" in phq.score.flags and phq.score.total == 4
        alert = db.session.scalar(select(Alert).where(Alert.student_id == at_risk["id"]))
        assert alert.level == "critical" and alert.school_id == world.school_id
        alert_id = alert.id

    # 5. live completion, class scores and bands, the risk list with the critical alert first
    progress = teacher.get(f"/campaigns/{campaign_id}/progress.json").get_json()
    assert progress["classes"][0]["invited"] == 6
    assert progress["classes"][0]["started"] == 2 and progress["classes"][0]["submitted"] == 2
    page = teacher.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    row = re.search(r"Student 0</a></td>(.*?)</tr>", page, re.S).group(1)
    assert "4 <span" in row and "Minimal" in row and "risk-critical" in row
    alerts_page = teacher.get("/alerts").get_data(as_text=True)
    assert f"A{alert_id:06d}" in alerts_page and "Student 0" in alerts_page
    assert teacher.post(f"/alerts/{alert_id}/acknowledge").status_code == 302
    with app.app_context():
        assert db.session.get(Alert, alert_id).status.value == "acknowledged"

    refer_form = teacher.get(f"/students/{at_risk['id']}/refer").get_data(as_text=True)
    assert "Partner Hospital" in refer_form and "Other Hospital" not in refer_form
    r = teacher.post(f"/students/{at_risk['id']}/refer", {"hospital_id": world.hospital_id, "urgency": "critical",
                                                            "reason": "PHQ-9 item 9 answered", "alert_id": alert_id})
    assert r.status_code == 302

    # 6. the doctor: queue, file, accept, assess, decide
    doctor = login_as(client_factory, "doctor")
    queue = doctor.get("/doctor").get_data(as_text=True)
    referral_id = int(re.search(r'/referrals/(\d+)', queue).group(1))
    assert "Student 0" in queue
    file_page = doctor.get(f"/students/{at_risk['id']}").get_data(as_text=True)
    assert "PHQ-9" in file_page and f"A{alert_id:06d}" in file_page and f"R{referral_id:06d}" in file_page
    assert doctor.post(f"/referrals/{referral_id}/accept").status_code == 302
    r = doctor.post(f"/referrals/{referral_id}/assessment", {
        "a-assessed_on": str(clock.today()), "a-setting": "clinic", "a-findings": "Low mood, passive ideation, no plan.",
        "a-icd10_code": "F32", "a-risk_level": "high", "a-plan": "outpatient", "a-next_review_on": str(clock.today() + timedelta(days=14))})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    r = doctor.post(f"/referrals/{referral_id}/decision", {
        "d-outcome": "cleared_with_conditions", "d-conditions": "Weekly check-in with the psychology teacher",
        "d-review_on": str(clock.today() + timedelta(days=28))})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]

    # 7. the teacher sees the decision and its conditions on the student's page
    student_page = teacher.get(f"/students/{at_risk['id']}").get_data(as_text=True)
    assert 'data-testid="decision"' in student_page
    assert "Weekly check-in with the psychology teacher" in student_page
    assert str(clock.today() + timedelta(days=28)) in student_page

    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.student_id == at_risk["id"])))
        assert {"response_submitted", "alert_opened", "alert_acknowledged", "referral_sent", "referral_accepted",
                "assessment_recorded", "return_decided", "file_viewed"} <= actions
        # a response never exists without its score
        assert db.session.scalar(select(func.count(Response.id))) == db.session.scalar(select(func.count(Score.id))) == 4
