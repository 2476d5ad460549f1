"""A student's bearer token dies with its campaign (closed by the teacher, or its window over) and when a teacher
ends the student's session; until then it reads and submits, and after it neither reads the name nor stores."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.screening.models import Response
from tests.conftest import login_as
from tests.helpers import PHQ9_LOW, join, launch_campaign, submit


@pytest.fixture
def joined(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id, hours=2)
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    data = join(http, code, world.students[0]).get_json()
    return teacher, campaign_id, code, http, data


def _read(http, token):
    return http.get("/api/v1/student-session", headers={"Authorization": f"Bearer {token}"})


def _responses(app):
    with app.app_context():
        return db.session.scalar(select(func.count(Response.id)))


def test_a_token_dies_when_the_teacher_closes_the_campaign(app, joined):
    teacher, campaign_id, _code, http, data = joined
    assert _read(http, data["token"]).get_json()["student"]["display_name"] == "Student 0"
    assert teacher.post(f"/campaigns/{campaign_id}/close").status_code == 302
    after = _read(http, data["token"])
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "campaign_closed"
    assert "Student 0" not in after.get_data(as_text=True)
    assert submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW).status_code == 422
    assert _responses(app) == 0


def test_a_token_dies_when_the_campaign_window_ends(app, joined):
    _teacher, _campaign_id, _code, http, data = joined
    clock.freeze(clock.now() + timedelta(hours=2, minutes=1))  # the token itself is good for 4 hours
    after = _read(http, data["token"])
    assert after.status_code == 401 and "Student 0" not in after.get_data(as_text=True)


def test_a_teacher_ends_a_students_session_on_every_device(app, world, joined):
    teacher, campaign_id, code, http, data = joined
    questionnaires = data["questionnaires"]
    second_device = join(app.test_client(), code, world.students[0]).get_json()["token"]
    page = teacher.get(f"/campaigns/{campaign_id}").get_data(as_text=True)
    action = f"/campaigns/{campaign_id}/students/{world.student_ids[0]}/end-session"
    assert f'action="{action}"' in page and "End session" in page
    assert f'/students/{world.student_ids[1]}/end-session' not in page  # Student 1 never joined

    ended = teacher.post(action)
    assert ended.status_code == 302
    flash = teacher.get(ended.headers["Location"]).get_data(as_text=True)
    assert "Student 0&#39;s session has ended on every device" in flash and "Ended at" in flash

    for token in (data["token"], second_device):  # both devices, reading and submitting
        after = _read(http, token)
        assert after.status_code == 401 and after.get_json()["error"]["code"] == "session_ended"
        assert "Student 0" not in after.get_data(as_text=True)
        refused = submit(http, token, questionnaires[0], PHQ9_LOW)
        assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "session_ended"
    assert _responses(app) == 0
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "student_session_ended"))
        assert event.student_id == world.student_ids[0] and event.object_id == campaign_id
        assert event.actor_id is not None and event.actor_role == "teacher"

    # the real student joins again with the code and carries on
    again = join(http, code, world.students[0]).get_json()
    assert submit(http, again["token"], questionnaires[0], PHQ9_LOW).status_code == 201
    assert _read(http, again["token"]).status_code == 200


def test_ending_a_session_that_never_started_or_of_another_school_changes_nothing(app, world, joined,
                                                                                 client_factory):
    teacher, campaign_id, _code, http, data = joined
    assert teacher.post(f"/campaigns/{campaign_id}/students/{world.student_ids[1]}/end-session").status_code == 404
    other = login_as(client_factory, "other_teacher")
    assert other.post(f"/campaigns/{campaign_id}/students/{world.student_ids[0]}/end-session").status_code == 404
    assert teacher.post(f"/campaigns/{campaign_id}/students/{world.student_ids[0]}/end-session",
                        csrf=False).status_code == 400
    assert _read(http, data["token"]).status_code == 200

