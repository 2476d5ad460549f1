"""Issue 17, items 1-5 through the real stack: the projector view shows no student, the live alerts answer is
scoped and cheap (ETag), the crisis screen state lives on the server, a student's request to talk raises one
concern, and no student-facing page or API says 您 or 患者."""
import re
import threading

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from app.api.views import questionnaire_payload
from app.extensions import db
from app.risk.models import Alert
from app.screening import projection
from app.screening.services import registry
from app.screening.student_texts import ADULT_WORDS
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, join, launch_campaign, submit


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


# --- 1. the projector view ---------------------------------------------------------------------------

def test_projector_shows_code_qr_and_counts_but_no_student(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    campaign_id, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    join(app.test_client(), code, world.students[1])

    page = teacher.get(f"/campaigns/{campaign_id}/projector")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-testid="projector-code">{code}<' in html
    link = f"http://localhost/s?code={code}"
    with app.test_request_context():
        assert str(projection.qr_svg(link)) in html  # the QR code is the join link with the code in it
    for name in ("Student 0", "Student 1", "Teacher A"):
        assert name not in html
    assert "live-alerts" not in html and "inbox" not in html.lower()
    assert 'data-testid="projector-joined">2<' in html and 'data-testid="projector-submitted">1<' in html

    counts = teacher.get(f"/campaigns/{campaign_id}/projector.json").get_json()
    assert counts == {"invited": 6, "started": 2, "submitted": 1, "open": True}
    assert login_as(client_factory, "other_teacher").get(f"/campaigns/{campaign_id}/projector").status_code == 404


def test_the_join_link_prefills_the_code_and_ignores_anything_else(client):
    assert 'value="ABC234"' in client.get("/s?code=abc234").get_data(as_text=True)
    html = client.get('/s?code="><script>').get_data(as_text=True)
    assert 'id="session_code"' in html and "<script>\"" not in html and 'value=""' in html


# --- 2. live alerts ------------------------------------------------------------------------------------

def test_live_alerts_are_scoped_and_answer_304_when_unchanged(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    empty = teacher.get("/live/alerts.json")
    assert empty.status_code == 200 and empty.get_json()["alerts"] == []
    etag = empty.headers["ETag"]
    assert teacher.get("/live/alerts.json", headers={"If-None-Match": etag}).status_code == 304

    _, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    changed = teacher.get("/live/alerts.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    data = changed.get_json()
    assert [a["level"] for a in data["alerts"]] == ["critical"] and data["open_urgent"] == 1
    assert data["inbox_unread"] >= 1 and data["alerts"][0]["url"] == f"/alerts/{data['alerts'][0]['id']}"
    assert "Student 0" not in changed.get_data(as_text=True)  # a case number, never a name

    for username in ("other_teacher", "homeroom", "other_doctor"):
        assert login_as(client_factory, username).get("/live/alerts.json").get_json()["alerts"] == [], username
    assert len(login_as(client_factory, "doctor").get("/live/alerts.json").get_json()["alerts"]) == 1

    alert_id = data["alerts"][0]["id"]
    assert teacher.post(f"/alerts/{alert_id}/acknowledge").status_code == 302
    assert teacher.get("/live/alerts.json").get_json()["alerts"] == []  # the banner goes once acknowledged
    assert client_factory().get("/live/alerts.json").status_code == 302  # signed out: the login page


# --- 3. and 4. the crisis screen, "your teacher has been told", "I want to talk to someone now" ----------

def test_the_crisis_screen_stays_pending_until_the_student_goes_on(app, world, client_factory):
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    http = app.test_client()
    session = join(http, code, world.students[0]).get_json()
    assert session["crisis"] == {"shown": False, "pending": False, "teacher_told": False, "talk_requested": False,
                                 "resources": []}
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    receipt = submit(http, session["token"], phq9, PHQ9_CRITICAL).get_json()
    assert receipt["show_crisis_resources"] and receipt["teacher_told"] is True

    again = http.get("/api/v1/student-session", headers=_bearer(session["token"])).get_json()["crisis"]
    assert again["pending"] and again["teacher_told"] and [r["tel"] for r in again["resources"]][-1] == "120"
    rejoined = join(app.test_client(), code, world.students[0]).get_json()  # another device
    assert rejoined["crisis"]["pending"]

    seen = http.post("/api/v1/student-session/crisis-seen", headers=_bearer(session["token"]))
    assert seen.status_code == 200 and seen.get_json()["pending"] is False
    after = join(app.test_client(), code, world.students[0]).get_json()["crisis"]
    assert after["shown"] and not after["pending"]


def test_a_crisis_receipt_is_answered_without_waiting_for_the_sqlite_writer_lock(app, world, client_factory,
                                                                                  monkeypatch):
    """"Your teacher has been told" is read by the request, never under the writer lock: on SQLite the request
    would otherwise queue behind the writer's batch in progress and hold up the next one (bench/README.md, round 7).
    Only the writer, which stores the submission, takes the lock."""
    lock = app.extensions.get("sqlite_writer")
    if lock is None:
        pytest.skip("PostgreSQL: no writer lock")
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    http = app.test_client()
    session = join(http, code, world.students[0]).get_json()
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    takers, real_acquire = [], lock.acquire

    def acquire(key):
        takers.append(threading.current_thread().name)
        return real_acquire(key)

    monkeypatch.setattr(lock, "acquire", acquire)
    receipt = submit(http, session["token"], phq9, PHQ9_CRITICAL).get_json()
    assert receipt["show_crisis_resources"] and receipt["teacher_told"] is True
    assert takers and set(takers) == {"xinqiao-submission-writer"}, takers


def test_teacher_told_is_false_when_no_psychology_teacher_can_be_reached(app, world, client_factory):
    from app.accounts.models import Role, User

    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)
    with app.app_context():
        for user in db.session.scalars(select(User).where(User.role == Role.TEACHER, User.school_id == world.school_id)):
            user.active = False
        db.session.commit()
    receipts = answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    assert receipts["PHQ-9"]["show_crisis_resources"] and receipts["PHQ-9"]["teacher_told"] is False


def test_talk_now_raises_one_concern_however_often_it_is_tapped(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    session = join(http, code, world.students[2]).get_json()
    for q in session["questionnaires"]:
        submit(http, session["token"], q, PHQ9_LOW if q["scale"] == "PHQ-9" else GAD7_LOW)
    answers = [http.post("/api/v1/student-session/talk", headers=_bearer(session["token"])) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.get_json() == {"talk_requested": True, "teacher_told": True} for a in answers)
    with app.app_context():
        alerts = db.session.execute(select(Alert.level, Alert.reason).where(
            Alert.student_id == world.student_ids[2])).all()
        assert alerts == [("high", "student_request")]
    feed = teacher.get("/live/alerts.json").get_json()["alerts"]
    assert [(a["level"], a["reason_label"]) for a in feed] == [("high", "The student asked to talk to someone now")]
    assert http.post("/api/v1/student-session/talk").status_code == 401  # no token, no concern


# --- 5. the student's words --------------------------------------------------------------------------

def _adult_words(text):
    return [word for word in ADULT_WORDS if word in text]


def test_no_student_facing_page_or_api_says_nin_or_patient(app, world, client_factory):
    zh = {"Accept-Language": "zh-CN"}
    assert _adult_words(app.test_client().get("/s", headers=zh).get_data(as_text=True)) == []
    _, code = launch_campaign(login_as(client_factory, "teacher"), world.class_id, scales=("PHQ-9", "GAD-7"))
    http = app.test_client()
    joined = http.post("/api/v1/student-sessions", headers=zh, json={
        "session_code": code, "student_number": world.students[0]["number"],
        "birth_date": world.students[0]["birth_date"]})
    body = joined.get_data(as_text=True)
    assert joined.status_code == 201 and _adult_words(body.encode().decode("unicode_escape")) == []
    titles = [q["title"] for q in joined.get_json()["questionnaires"]]
    assert titles[0] == "我最近的心情（PHQ-9）"
    receipt = submit(http, joined.get_json()["token"], joined.get_json()["questionnaires"][0], PHQ9_CRITICAL)
    assert _adult_words(receipt.get_data(as_text=True)) == []

    # Every shipped questionnaire, in both languages, as the student API gives it.
    with app.test_request_context(headers=zh):
        for scale in list(registry().all_texts()):
            for locale in ("zh_CN", "en"):
                with force_locale(locale):
                    payload = str(questionnaire_payload(scale, False))
                assert _adult_words(payload) == [], (scale.code, locale)
                assert not re.search(r"\bpatient\b", payload, re.I), (scale.code, locale)


def test_staff_pages_keep_the_official_title(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    page = teacher.get("/campaigns/new", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "患者健康问卷（PHQ-9）" in page or "Patient Health Questionnaire (PHQ-9)" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id))) == 0


def test_polling_live_alerts_does_not_keep_an_unattended_session_alive(app, world, client_factory):
    from datetime import timedelta

    from app.core import clock

    teacher = login_as(client_factory, "teacher")
    start = clock.now()
    clock.freeze(start)
    assert teacher.get("/teacher").status_code == 200  # the last thing the teacher did
    for minutes in (10, 20, 29):  # the page polls all along; nobody touches it
        clock.freeze(start + timedelta(minutes=minutes))
        assert teacher.get("/live/alerts.json").status_code == 200
    clock.freeze(start + timedelta(minutes=31))
    assert teacher.get("/live/alerts.json").status_code == 302  # idle for 31 minutes: signed out
    assert teacher.get("/teacher").status_code == 302
