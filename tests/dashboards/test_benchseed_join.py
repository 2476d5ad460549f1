"""`flask bench seed`'s students can take part: each has the guardian's screening consent, so a student of the
open campaign joins it through the student API like any other (issue 20: the soak test joins 2,000 of them)."""
from sqlalchemy import select

from app.dashboards import benchseed
from app.extensions import db
from app.screening.models import Campaign, CampaignParticipant
from app.students.models import Student


def test_a_seeded_student_joins_the_open_campaign(app):
    with app.app_context():
        benchseed.seed(students=45, responses=40, schools=1, echo=lambda *_: None)
        campaign = db.session.scalar(select(Campaign).where(Campaign.status == "open"))
        joined = set(db.session.scalars(select(CampaignParticipant.student_id)
                                        .where(CampaignParticipant.campaign_id == campaign.id)))
        student = db.session.scalars(select(Student).where(Student.id.not_in(joined or {0}))).first()
        body = {"session_code": campaign.session_code, "student_number": student.student_number,
                "birth_date": student.birth_date.isoformat()}
        db.session.remove()
    response = app.test_client().post("/api/v1/student-sessions", json=body, headers={"Accept-Language": "en"})
    assert response.status_code in (200, 201), response.get_json()
    assert response.get_json()["token"]
