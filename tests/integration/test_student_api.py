"""Bad input on the student side gets a clear message and stores nothing; retries never double-count."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.risk.models import Alert
from app.screening.models import Response, Score
from tests.conftest import login_as, new_key
from tests.helpers import PHQ9_CRITICAL, PHQ9_LOW, join, launch_campaign, submit


@pytest.fixture
def session(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    data = join(http, code, world.students[0]).get_json()
    return http, code, data


def count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


@pytest.mark.parametrize("change, message", [
    ({"session_code": "ZZZZZZ"}, "session code is not valid"),
    ({"birth_date": "2011-02-03"}, "do not match"),
    ({"birth_date": "not-a-date"}, "do not match"),
    ({"student_number": "T0001"}, "do not match"),  # a student of another school
])
def test_wrong_details_are_refused_with_a_clear_message(app, world, client_factory, change, message):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    body = {"session_code": code, "student_number": world.students[0]["number"],
            "birth_date": world.students[0]["birth_date"], **change}
    response = http.post("/api/v1/student-sessions", json=body, headers={"Accept-Language": "en"})
    assert response.status_code == 401
    assert message in response.get_json()["error"]["message"]


def test_chinese_message_by_default(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    response = app.test_client().post("/api/v1/student-sessions", json={
        "session_code": code, "student_number": world.students[0]["number"], "birth_date": "2000-01-01"})
    assert "出生日期" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("answers, item", [
    ([0, 1, 0, 0, 1, 0, None, 0, 0], 7),      # a missing ordinary item
    ([0, 1, 0, 0, 1, 0, 4, 0, 0], 7),         # out of range, never clamped
    ([0, 1, 0, 0, 1, 0, "2", 0, 0], 7),       # wrong type
    ([0, 1, 0], None),                        # too few
])
def test_invalid_answers_name_the_item_and_store_nothing(app, session, answers, item):
    http, _, data = session
    response = submit(http, data["token"], data["questionnaires"][0], answers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error.get("item") == item
    if item:
        assert str(item) in error["message"]
    assert count(app, Response) == 0 and count(app, Score) == 0


def test_a_tampered_scale_version_is_refused(app, session):
    http, _, data = session
    tampered = dict(data["questionnaires"][0], version="0000deadbeef")
    response = submit(http, data["token"], tampered, PHQ9_LOW)
    assert response.status_code == 422 and "updated" in response.get_json()["error"]["message"]
    assert count(app, Response) == 0


def test_a_forged_token_is_refused(app, session):
    http, _, data = session
    response = submit(http, data["token"] + "x", data["questionnaires"][0], PHQ9_LOW)
    assert response.status_code == 401 and count(app, Response) == 0


def test_a_token_accepted_before_is_refused_once_it_is_too_old(app, session, monkeypatch):
    # Checked tokens are remembered (a student sends the same one with each questionnaire): the age is not.
    http, _, data = session
    questionnaires = data["questionnaires"]
    assert submit(http, data["token"], questionnaires[0], PHQ9_LOW).status_code == 201
    monkeypatch.setitem(app.config, "STUDENT_TOKEN_MAX_AGE", -1)
    response = submit(http, data["token"], questionnaires[1], [0] * len(questionnaires[1]["items"]))
    assert response.status_code == 401 and count(app, Response) == 1
    assert http.get("/api/v1/student-session", headers={"Authorization": f"Bearer {data['token']}"}).status_code == 401


def test_same_idempotency_key_returns_the_same_response(app, session):
    http, _, data = session
    key = new_key()
    first = submit(http, data["token"], data["questionnaires"][0], PHQ9_CRITICAL, key=key)
    again = submit(http, data["token"], data["questionnaires"][0], PHQ9_CRITICAL, key=key)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["response_id"] == again.get_json()["response_id"]
    assert again.get_json()["show_crisis_resources"] is True
    assert count(app, Response) == 1 and count(app, Alert) == 1
    other_key = submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW)
    assert other_key.status_code == 409 and count(app, Response) == 1


def test_malformed_bodies_get_4xx_not_5xx(app, session):
    http, _, data = session
    auth = {"Authorization": f"Bearer {data['token']}"}
    for body in (None, "[]", '"x"', '{"answers": {"a": 1}}', '{"scale": 1}'):
        response = http.post("/api/v1/responses", data=body, headers={**auth, "Content-Type": "application/json"})
        assert 400 <= response.status_code < 500
    assert http.post("/api/v1/student-sessions", data="{", headers={"Content-Type": "application/json"}).status_code == 400


def test_session_resumes_with_submitted_marks(app, session):
    http, _, data = session
    submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW)
    again = http.get("/api/v1/student-session", headers={"Authorization": f"Bearer {data['token']}"}).get_json()
    assert [q["submitted"] for q in again["questionnaires"]] == [True, False]


def test_the_api_neither_reads_nor_sets_cookies(app, world, client_factory):
    # Its language is the one asked for (Accept-Language), not a choice kept in the browser's session cookie.
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    teacher.get("/lang/en")
    body = {"session_code": code, "student_number": world.students[0]["number"], "birth_date": "2000-01-01"}
    response = teacher.http.post("/api/v1/student-sessions", json=body, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 401 and "出生日期" in response.get_json()["error"]["message"]
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    assert "Sign out" in teacher.get("/", follow_redirects=True).get_data(as_text=True)  # the staff session lives on


@pytest.mark.parametrize("key", ["not-a-uuid", "7f1c5a4e00004000800000000000000a", "{7f1c5a4e-0000-4000-8000-00000000000a}",
                                 "urn:uuid:7f1c5a4e-0000-4000-8000-00000000000a", "7f1c5a4e-0000-4000-8000-00000000000a\n",
                                 "7f1c5a4e-0000-4000-8000-00000000000g", 12345])
def test_an_idempotency_key_must_be_a_uuid_in_its_usual_form(app, session, key):
    http, _, data = session
    response = submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW, key=key)
    assert response.status_code == 422 and "UUID" in response.get_json()["error"]["message"]
    assert count(app, Response) == 0


def test_an_upper_case_key_is_the_same_key(app, session):
    http, _, data = session
    key = new_key()
    first = submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW, key=key.upper())
    again = submit(http, data["token"], data["questionnaires"][0], PHQ9_LOW, key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["response_id"] == again.get_json()["response_id"]
