"""Response-quality flags reach the teacher and never hide a risk answer."""
import uuid
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response
from tests.conftest import login_as
from tests.helpers import join, launch_campaign


def test_too_fast_and_straight_lining_are_shown_and_risk_still_routes(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "CES-DC"))
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    auth = {"Authorization": f"Bearer {data['token']}"}
    just_now = datetime.now(timezone.utc).isoformat()
    phq, cesdc = data["questionnaires"]
    for q, answers in ((phq, [3] * 9), (cesdc, [2] * 20)):
        r = http.post("/api/v1/responses", headers=auth, json={
            "scale": q["scale"], "version": q["version"], "answers": answers,
            "idempotency_key": str(uuid.uuid4()), "started_at": just_now})
        assert r.status_code == 201
    with app.app_context():
        flags = {r.scale_code: r.quality_flags for r in db.session.scalars(select(Response))}
        assert "too_fast" in flags["PHQ-9"]
        assert "straight_lining" in flags["CES-DC"]  # CES-DC has reversed items
        # a quality flag never hides item 9 (CES-DC opens its own alert, so pick PHQ-9's)
        phq_alert = select(Alert.level).join(Response, Alert.response_id == Response.id).where(
            Response.scale_code == "PHQ-9")
        assert db.session.scalar(phq_alert) == "critical"
    page = teacher.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Answered unusually fast" in page and "Same answer to every question" in page
    file_page = teacher.get(f"/students/{world.students[0]['id']}").get_data(as_text=True)
    assert "Answered unusually fast" in file_page
