"""A centre's own Chinese text of a scale: not offered, and refused, until a doctor has reviewed it; then used,
and every result shows staff what its Chinese text was (students never see it)."""
import re
import subprocess

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.extensions import db
from app.scales.models import ScaleTextReview
from app.screening import services as screening
from app.screening.models import Campaign
from tests.conftest import login_as
from tests.helpers import PHQ9_CRITICAL, join, launch_campaign, load_centre_texts, submit


@pytest.fixture
def centre(app):
    restore = load_centre_texts(app)
    text = app.extensions["scales"].texts("PHQ-9")[1]
    yield text
    restore()


def _start(teacher, world, scales):
    return teacher.post("/campaigns/new", {"title": "Autumn", "class_ids": [world.class_id], "scale_codes": scales,
                                           "open_hours": 2})


def _campaigns(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Campaign.id)))


def _review(client, text, **form):
    data = {"decision": "approved", "compared_with": "PHQ-9 Chinese (China) PDF, phqscreeners.com, held in room 3",
            "confirm": "y"}
    data.update(form)
    return client.post(f"/scales/texts/PHQ-9/{text.text_id}/review", data)


def test_an_unreviewed_text_is_not_offered_and_is_refused(app, world, client_factory, centre):
    teacher = login_as(client_factory, "teacher")
    page = teacher.get("/campaigns/new").get_data(as_text=True)
    choice = f"PHQ-9@{centre.text_id}"
    assert choice not in page and 'value="PHQ-9"' in page
    assert "1 text(s) loaded by the centre await a doctor’s review" in page
    refused = _start(teacher, world, [choice, "GAD-7"])
    assert refused.status_code == 400 and "no doctor has approved it" in refused.get_data(as_text=True)
    assert _campaigns(app) == 0
    with app.app_context():  # the rule itself, not only the form
        from app.orgs.models import ClassGroup, School

        school, cls = db.session.get(School, world.school_id), db.session.get(ClassGroup, world.class_id)
        by = db.session.scalar(select(User).where(User.username == "teacher"))
        with pytest.raises(screening.ScreeningError) as exc:
            screening.launch_campaign(school, [cls], [choice], "x", _later(), by=by)
        assert exc.value.code == "text_not_reviewed"
        db.session.rollback()


def _later():
    from datetime import timedelta

    from app.core import clock

    return clock.now() + timedelta(hours=2)


def test_only_a_doctor_reviews_and_the_review_names_who_when_and_against_what(app, world, client_factory, centre):
    for username in ("teacher", "admin", "homeroom"):
        assert _review(login_as(client_factory, username), centre).status_code == 404, username
    doctor = login_as(client_factory, "doctor")
    page = doctor.get(f"/scales/texts/PHQ-9/{centre.text_id}").get_data(as_text=True)
    assert 'data-testid="awaiting-review"' in page and "Record my review" in page
    assert page.count('class="differs"') == 10  # every item and the instructions differ from the shipped copy
    assert _review(doctor, centre, compared_with="").status_code == 400
    assert _review(doctor, centre, confirm="").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count(ScaleTextReview.id))) == 0
    done = _review(doctor, centre)
    assert done.status_code == 302
    with app.app_context():
        review = db.session.scalars(select(ScaleTextReview)).one()
        assert (review.scale_code, review.text_id, review.version, review.decision.value) == (
            "PHQ-9", centre.text_id, centre.version, "approved")
        assert review.reviewed_by.username == "doctor" and "phqscreeners" in review.compared_with
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "scale_text_reviewed")).one()
        assert event.actor_id == review.reviewed_by_id and event.detail["text_id"] == centre.text_id
    again = _review(doctor, centre, decision="rejected")
    assert again.status_code == 400 and "already been reviewed" in again.get_data(as_text=True)
    assert 'data-testid="review-record"' in doctor.get(f"/scales/texts/PHQ-9/{centre.text_id}").get_data(as_text=True)


def test_a_reviewed_text_is_used_and_every_result_says_what_its_text_was(app, world, client_factory, centre):
    _review(login_as(client_factory, "doctor"), centre)
    teacher = login_as(client_factory, "teacher")
    form = teacher.get("/campaigns/new").get_data(as_text=True)
    choice = f"PHQ-9@{centre.text_id}"
    assert re.search(rf'value="{re.escape(choice)}" checked', form), "the reviewed text is the default PHQ-9"
    assert "Validated text" in form and "Doctor P" in form  # the badge, and its explanation names the reviewer
    campaign_id, code = launch_campaign(teacher, world.class_id, scales=(choice, "GAD-7"))
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        assert campaign.scale_texts == {"PHQ-9": centre.text_id} and campaign.scale_codes == ["PHQ-9", "GAD-7"]

    http = app.test_client()
    session = join(http, code, world.students[0]).get_json()
    phq = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    assert phq["version"] == centre.version and phq["items"][7]["text"].endswith("（测试）")
    body = str(session)
    for word in ("translation", "unverified", "Validated", "已验证", "未核对", "validated_official", "provenance"):
        assert word not in body, word  # students never see what the text is
    shipped = dict(phq, version=app.extensions["scales"].get("PHQ-9").version)
    wrong = submit(http, session["token"], shipped, PHQ9_CRITICAL)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "scale_version_mismatch"
    assert submit(http, session["token"], phq, PHQ9_CRITICAL).status_code == 201

    with app.app_context():
        from app.risk.models import Alert

        alert_id = db.session.scalars(select(Alert.id)).one()
    for url in (f"/campaigns/{campaign_id}", f"/students/{world.student_ids[0]}", f"/alerts/{alert_id}"):
        page = teacher.get(url).get_data(as_text=True)
        assert 'data-text-state="approved"' in page and "Validated text" in page, url
    pdf = teacher.get(f"/students/{world.student_ids[0]}/report.pdf")
    assert pdf.status_code == 200
    text = subprocess.run(["pdftotext", "-q", "-", "-"], input=pdf.get_data(), capture_output=True, check=True).stdout
    assert "Validated text" in text.decode("utf-8")


def test_shipped_texts_are_labelled_where_results_are_shown(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "SCARED"))
    page = teacher.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    assert page.count('data-text-state="shipped"') == 2
    assert "Unverified copy" in page and "Our translation" in page
    assert 'title="Copied from public sources as the official Chinese text' in page  # the badge explains itself
    texts = teacher.get("/scales/texts").get_data(as_text=True)
    assert texts.count("Unverified copy") >= 5 and texts.count("Our translation") >= 6
    pdf = teacher.get(f"/campaigns/{campaign_id}/classes/{world.class_id}/report.pdf")
    assert pdf.status_code == 200
    text = subprocess.run(["pdftotext", "-q", "-", "-"], input=pdf.get_data(), capture_output=True, check=True).stdout
    assert "PHQ-9 · Unverified copy" in text.decode("utf-8") and "SCARED · Our translation" in text.decode("utf-8")


def test_a_rejected_text_stays_unusable(app, world, client_factory, centre):
    assert _review(login_as(client_factory, "doctor"), centre, decision="rejected").status_code == 302
    teacher = login_as(client_factory, "teacher")
    assert f"PHQ-9@{centre.text_id}" not in teacher.get("/campaigns/new").get_data(as_text=True)
    assert _start(teacher, world, [f"PHQ-9@{centre.text_id}"]).status_code == 400
    assert "Review rejected" in teacher.get("/scales/texts").get_data(as_text=True)
