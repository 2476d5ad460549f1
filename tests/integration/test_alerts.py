"""Alerts that cannot be missed: due times, escalation under a test-controlled clock, an idempotent sweep,
one open alert per student/level/reason with joins, concerns without screening, outcomes, access rules."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.notifications.models import Notification
from app.orgs.models import Hospital
from app.risk import services as risk
from app.risk.models import Alert, AlertJoin, AlertStatus
from tests.conftest import PASSWORD, login_as
from tests.helpers import GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, answer_all, launch_campaign

ASQ_ACUTE = [1, 0, 0, 0, 1]  # Q5 yes: acute positive, critical
ASQ_NEGATIVE = [0, 0, 0, 0, None]
PHQ9_HIGH = [2, 2, 2, 2, 2, 2, 2, 2, 0]  # total 16, no item-9 answer: high


def _recipients(app, kind, alert_id):
    with app.app_context():
        return sorted(db.session.scalars(
            select(User.username).join(Notification, Notification.user_id == User.id)
            .where(Notification.kind == kind, Notification.link == f"/alerts/{alert_id}")))


def _sweep(app):
    result = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


def _alert(app, alert_id=None):
    with app.app_context():
        query = select(Alert).order_by(Alert.id)
        alert = db.session.get(Alert, alert_id) if alert_id else db.session.scalars(query).first()
        db.session.expunge_all()
        return alert


@pytest.fixture
def t0():
    """A fixed, test-controlled 'now' (10:00 in Shanghai, a school morning)."""
    moment = clock.now().replace(hour=2, minute=0, second=0, microsecond=0)
    clock.freeze(moment)
    return moment


@pytest.fixture
def critical(app, world, client_factory, t0):
    """A critical alert for world.students[0], opened at t0 from a PHQ-9 item-9 answer."""
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "ASQ"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "ASQ": ASQ_NEGATIVE})
    alert = _alert(app)
    assert alert.level == "critical"
    return alert


# --- due times and escalation -------------------------------------------------------------------

def test_every_level_gets_its_due_time_from_the_configured_target(app, world, client_factory, t0):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    answer_all(app.test_client(), code, world.students[1], {"PHQ-9": PHQ9_HIGH, "GAD-7": GAD7_LOW})
    with app.app_context():
        due = {a.level: a.due_at - a.opened_at for a in db.session.scalars(select(Alert))}
    assert due["critical"] == timedelta(hours=1)
    assert due["high"] == timedelta(hours=24)
    page = teacher.get("/alerts").get_data(as_text=True)
    assert page.count("Due ") >= 2

    targets = app.config["ALERT_TARGET_MINUTES"]
    app.config["ALERT_TARGET_MINUTES"] = dict(targets, moderate=30)
    try:
        r = teacher.post("/concerns/new", {"student_number": world.students[2]["number"], "level": "moderate",
                                           "category": "parent_call", "note": "Mother called"})
        assert r.status_code == 302
    finally:
        app.config["ALERT_TARGET_MINUTES"] = targets
    with app.app_context():
        moderate = db.session.scalar(select(Alert).where(Alert.level == "moderate"))
        assert moderate.due_at - moderate.opened_at == timedelta(minutes=30)


def test_critical_alert_opens_with_notice_to_teachers_and_the_partner_hospital_at_once(app, world, critical):
    # nobody is on duty at the partner hospital: all its doctors hear of it; never another school or hospital
    assert _recipients(app, "alert_critical_opened", critical.id) == ["doctor", "teacher", "teacher2"]


def test_an_overdue_critical_alert_escalates_once_to_teachers_and_duty_doctors(app, world, client_factory, critical, t0):
    with app.app_context():
        hospital = db.session.get(Hospital, world.hospital_id)
        accounts.create_user("duty_doc", "Doctor on duty", PASSWORD, Role.DOCTOR, hospital=hospital)
        db.session.execute(text("UPDATE users SET on_duty = :t WHERE username = 'duty_doc'"), {"t": True})
        db.session.commit()

    clock.freeze(t0 + timedelta(minutes=59))
    assert "alerts escalated: 0" in _sweep(app)
    assert _recipients(app, "alert_escalated", critical.id) == []

    clock.freeze(t0 + timedelta(minutes=61))
    assert "alerts escalated: 1" in _sweep(app)
    assert _recipients(app, "alert_escalated", critical.id) == ["duty_doc", "teacher", "teacher2"]
    assert _alert(app, critical.id).escalated_at == t0 + timedelta(minutes=61)

    clock.freeze(t0 + timedelta(minutes=62))
    assert "alerts escalated: 0" in _sweep(app)  # running it again never double-notifies
    clock.freeze(t0 + timedelta(hours=5))
    _sweep(app)
    assert _recipients(app, "alert_escalated", critical.id) == ["duty_doc", "teacher", "teacher2"]
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "alert_escalated")) == 1

    # marked overdue on every dashboard that shows it
    teacher = login_as(client_factory, "teacher")
    for url in ("/alerts", "/teacher", f"/alerts/{critical.id}"):
        page = teacher.get(url).get_data(as_text=True)
        assert "Overdue" in page and "Escalated" in page, url
    doctor = login_as(client_factory, "doctor")
    for url in ("/alerts", "/doctor"):
        assert "Overdue" in doctor.get(url).get_data(as_text=True), url
    admin = login_as(client_factory, "admin")
    page = admin.get("/admin").get_data(as_text=True)
    assert 'data-testid="overdue-count"><span class="num">1<' in page


def test_an_acknowledged_alert_never_escalates(app, world, client_factory, critical, t0):
    teacher = login_as(client_factory, "teacher")
    clock.freeze(t0 + timedelta(minutes=30))
    assert teacher.post(f"/alerts/{critical.id}/acknowledge").status_code == 302
    clock.freeze(t0 + timedelta(hours=3))
    assert "alerts escalated: 0" in _sweep(app)
    assert "Overdue" not in teacher.get("/alerts").get_data(as_text=True)


def test_a_dashboard_load_runs_the_sweep(app, world, client_factory, critical, t0):
    teacher = login_as(client_factory, "teacher")
    clock.freeze(t0 + timedelta(minutes=65))
    assert teacher.get("/teacher").status_code == 200
    assert _alert(app, critical.id).escalated_at is not None
    assert _recipients(app, "alert_escalated", critical.id) == ["doctor", "teacher", "teacher2"]
    for user, url in (("teacher2", "/alerts"), ("doctor", "/doctor"), ("admin", "/admin")):
        assert login_as(client_factory, user).get(url).status_code == 200
    assert _recipients(app, "alert_escalated", critical.id) == ["doctor", "teacher", "teacher2"]


def test_concurrent_sweeps_escalate_each_alert_once(app, world, client_factory, critical, t0):
    clock.freeze(t0 + timedelta(hours=2))
    errors = []

    def run():
        try:
            with app.app_context():
                risk.escalate_overdue_alerts()
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert _recipients(app, "alert_escalated", critical.id) == ["doctor", "teacher", "teacher2"]


def test_a_sweep_that_lost_the_race_does_not_notify_again(app, world, critical, t0):
    """A sweep whose list of overdue alerts was read before another sweep escalated them claims nothing."""
    clock.freeze(t0 + timedelta(hours=2))
    _sweep(app)
    with app.app_context():
        assert risk.escalate_alert(critical.id, clock.now()) is None  # the stale candidate
        db.session.commit()
    assert _recipients(app, "alert_escalated", critical.id) == ["doctor", "teacher", "teacher2"]


def test_a_high_alert_escalates_after_24_hours_and_a_moderate_one_after_7_days(app, world, client_factory, t0):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id, scales=("PHQ-9", "GAD-7"))
    answer_all(app.test_client(), code, world.students[1], {"PHQ-9": PHQ9_HIGH, "GAD-7": GAD7_LOW})
    teacher.post("/concerns/new", {"student_number": world.students[2]["number"], "level": "moderate",
                                   "category": "classmate_worry", "note": "Friends say she cries in class"})
    with app.app_context():
        high = db.session.scalar(select(Alert.id).where(Alert.level == "high"))
        moderate = db.session.scalar(select(Alert.id).where(Alert.level == "moderate"))
    clock.freeze(t0 + timedelta(hours=23, minutes=59))
    assert "alerts escalated: 0" in _sweep(app)
    clock.freeze(t0 + timedelta(hours=24, minutes=1))
    assert "alerts escalated: 1" in _sweep(app)
    assert _recipients(app, "alert_escalated", high) == ["doctor", "teacher", "teacher2"]
    clock.freeze(t0 + timedelta(days=7, minutes=1))
    assert "alerts escalated: 1" in _sweep(app)
    # an escalated moderate alert reaches the partner hospital, which may now open it (without identity)
    assert "doctor" in _recipients(app, "alert_escalated", moderate)
    doctor = login_as(client_factory, "doctor")
    page = doctor.get(f"/alerts/{moderate}").get_data(as_text=True)
    assert f"A{moderate:06d}" in page and "Student 2" not in page and "cries in class" not in page
    assert login_as(client_factory, "other_doctor").get(f"/alerts/{moderate}").status_code == 404


# --- one open alert per student, level and reason -------------------------------------------------

def test_a_second_critical_answer_the_same_day_joins_the_open_alert(app, world, client_factory, critical, t0):
    teacher = login_as(client_factory, "teacher")
    clock.freeze(t0 + timedelta(hours=3))
    _, code = launch_campaign(teacher, world.class_id, scales=("ASQ", "GAD-7"))
    answer_all(app.test_client(), code, world.students[0], {"ASQ": ASQ_ACUTE, "GAD-7": GAD7_LOW})
    with app.app_context():
        alerts = db.session.scalars(select(Alert)).all()
        assert len(alerts) == 1
        joins = db.session.scalars(select(AlertJoin)).all()
        assert [(j.alert_id, j.response.scale_code) for j in joins] == [(critical.id, "ASQ")]
        assert db.session.scalar(select(func.count(Notification.id)).where(
            Notification.kind == "alert_critical_opened")) == 3  # joining does not re-announce
    page = teacher.get(f"/alerts/{critical.id}").get_data(as_text=True)
    assert "Joined this alert" in page and "ASQ" in page and "PHQ-9" in page


def test_a_resolved_alert_is_not_joined_a_new_one_opens(app, world, client_factory, critical, t0):
    teacher = login_as(client_factory, "teacher")
    assert teacher.post(f"/alerts/{critical.id}/resolve", {"outcome": "contacted_guardian", "note": "Guardian took the student home; checklist on paper"}).status_code == 302
    _, code = launch_campaign(teacher, world.class_id, scales=("ASQ",))
    answer_all(app.test_client(), code, world.students[0], {"ASQ": ASQ_ACUTE})
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id)).where(Alert.status == AlertStatus.OPEN)) == 1
        assert db.session.scalar(select(func.count(Alert.id))) == 2


def test_the_database_refuses_a_second_unresolved_alert_for_the_same_student_level_and_reason(app, world, critical):
    from sqlalchemy.exc import IntegrityError

    with app.app_context():
        first = db.session.get(Alert, critical.id)
        db.session.add(Alert(student_id=first.student_id, school_id=first.school_id, level="critical",
                             reason="suicide_risk", opened_at=clock.now(), due_at=clock.now()))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_a_racing_second_alert_joins_the_winner(app, world, critical, monkeypatch):
    """The loser of a race (its check ran before the winner committed, so it saw no open alert) joins the winner."""
    original, calls = risk.find_open_alert, []

    def stale_first_look(*args):
        calls.append(args)
        return None if len(calls) == 1 else original(*args)

    monkeypatch.setattr(risk, "find_open_alert", stale_first_look)
    with app.app_context():
        student = db.session.get(Alert, critical.id).student
        joined = risk.raise_alert(student, world.school_id, "critical", "suicide_risk", by=None, note="race")
        db.session.commit()
        assert joined.id == critical.id
        assert db.session.scalar(select(func.count(Alert.id))) == 1
        assert db.session.scalar(select(AlertJoin.note)) == "race"


# --- concerns without screening ------------------------------------------------------------------

def test_a_teacher_raises_a_concern_from_the_student_file(app, world, client_factory, t0):
    teacher = login_as(client_factory, "teacher")
    sid = world.students[3]["id"]
    page = teacher.get(f"/students/{sid}").get_data(as_text=True)
    assert 'data-testid="concern-form"' in page
    r = teacher.post("/concerns/new", {"student_number": world.students[3]["number"], "level": "critical",
                                       "category": "self_harm_sign", "note": "Fresh cuts on the forearm"})
    assert r.status_code == 302
    with app.app_context():
        alert = db.session.scalar(select(Alert))
        assert (alert.level, alert.reason, alert.raised_by.username) == ("critical", "self_harm_sign", "teacher")
        raw = db.session.execute(text("SELECT note FROM alerts")).scalar()
        assert "forearm" not in raw  # encrypted at rest
    assert r.headers["Location"].endswith(f"/alerts/{alert.id}")
    page = teacher.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Fresh cuts on the forearm" in page and "Student 3" in page and "sign of self-harm" in page
    # a critical concern reaches the other teachers and the hospital, not the one who raised it
    assert _recipients(app, "alert_critical_opened", alert.id) == ["doctor", "teacher2"]
    # a second concern of the same kind joins, keeping its note
    teacher2 = login_as(client_factory, "teacher2")
    teacher2.post("/concerns/new", {"student_number": world.students[3]["number"], "level": "critical",
                                    "category": "self_harm_sign", "note": "Wrote a goodbye letter"})
    page = teacher.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Wrote a goodbye letter" in page and "Teacher A2" in page


def test_bad_concern_input_is_refused_clearly_and_changes_nothing(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    cases = [
        {"student_number": world.students[0]["number"], "level": "critical", "category": "parent_call", "note": ""},
        {"student_number": world.students[0]["number"], "level": "low", "category": "parent_call", "note": "x"},
        {"student_number": world.students[0]["number"], "level": "high", "category": "gossip", "note": "x"},
        {"student_number": "T0001", "level": "high", "category": "other", "note": "other school's student"},
    ]
    for data in cases:
        r = teacher.post("/concerns/new", data)
        assert r.status_code == 400, data
    assert "No student with this number" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id))) == 0


def test_a_homeroom_teacher_raises_a_concern_for_the_own_class_and_sees_only_needs_attention(app, world, client_factory):
    homeroom = login_as(client_factory, "homeroom")
    page = homeroom.get("/homeroom").get_data(as_text=True)
    assert f"/concerns/new?student={world.students[4]['id']}" in page
    assert homeroom.get(f"/concerns/new?student={world.students[4]['id']}").status_code == 200
    assert homeroom.get(f"/concerns/new?student={world.other_student_id}").status_code == 404
    r = homeroom.post("/concerns/new", {"student_number": world.students[4]["number"], "level": "high",
                                        "category": "classmate_worry", "note": "Classmates say he talks of dying"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/homeroom")
    page = homeroom.get("/homeroom").get_data(as_text=True)
    assert "Needs attention" in page and "talks of dying" not in page
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
    assert homeroom.get(f"/alerts/{alert_id}").status_code == 404
    assert homeroom.get("/alerts").status_code == 404
    r = homeroom.post("/concerns/new", {"student_number": "T0001", "level": "high", "category": "other", "note": "x"})
    assert r.status_code == 400
    teacher = login_as(client_factory, "teacher")
    assert "talks of dying" in teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)


def test_doctors_and_admins_cannot_raise_concerns(world, client_factory):
    for user in ("doctor", "admin"):
        c = login_as(client_factory, user)
        assert c.get("/concerns/new").status_code == 404
        assert c.post("/concerns/new", {"student_number": world.students[0]["number"], "level": "high",
                                        "category": "other", "note": "x"}).status_code == 404


# --- closing with an outcome --------------------------------------------------------------------

def test_an_alert_closes_only_with_an_outcome_and_a_false_positive_needs_a_reason(app, world, client_factory, critical):
    teacher = login_as(client_factory, "teacher")
    url = f"/alerts/{critical.id}/resolve"
    assert teacher.post(url, {"outcome": ""}).status_code == 400
    assert teacher.post(url, {"outcome": "made_up"}).status_code == 400
    r = teacher.post(url, {"outcome": "false_positive", "note": "  "})
    assert r.status_code == 400 and "Say why this was a false positive" in r.get_data(as_text=True)
    assert _alert(app, critical.id).status == AlertStatus.OPEN
    assert teacher.post(url, {"outcome": "false_positive", "note": "Misread item 9; confirmed with the student"}).status_code == 302
    alert = _alert(app, critical.id)
    assert (alert.status, alert.outcome) == (AlertStatus.RESOLVED, "false_positive")
    assert alert.acknowledged_at is not None
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert_resolved"))
        assert event.detail == {"outcome": "false_positive"} and event.student_id == critical.student_id
    page = teacher.get(f"/alerts/{critical.id}").get_data(as_text=True)
    assert "False positive" in page and "Misread item 9" in page and 'data-testid="resolve-form"' not in page
    assert teacher.post(url, {"outcome": "referred"}).status_code == 302  # already resolved: told, nothing changes
    assert _alert(app, critical.id).outcome == "false_positive"


def test_only_the_schools_psychology_teachers_may_resolve(app, world, client_factory, critical):
    for user in ("other_teacher", "doctor", "other_doctor", "admin", "homeroom"):
        c = login_as(client_factory, user)
        assert c.post(f"/alerts/{critical.id}/resolve", {"outcome": "monitored_at_school"}).status_code == 404, user
    assert _alert(app, critical.id).status == AlertStatus.OPEN


# --- the alert's page ---------------------------------------------------------------------------

def test_who_sees_what_on_the_alert_page(app, world, client_factory, critical):
    teacher = login_as(client_factory, "teacher")
    page = teacher.get(f"/alerts/{critical.id}").get_data(as_text=True)
    assert "Student 0" in page and 'data-testid="alert-timeline"' in page and "Alert opened" in page
    doctor = login_as(client_factory, "doctor")
    page = doctor.get(f"/alerts/{critical.id}").get_data(as_text=True)
    assert f"A{critical.id:06d}" in page and "Student 0" not in page and "S0000" not in page
    assert 'data-testid="resolve-form"' not in page
    admin = login_as(client_factory, "admin")
    assert "Student 0" in admin.get(f"/alerts/{critical.id}").get_data(as_text=True)
    for user in ("other_teacher", "other_doctor", "homeroom"):
        assert login_as(client_factory, user).get(f"/alerts/{critical.id}").status_code == 404, user
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "alert_viewed")) == 3


def test_a_doctor_never_sees_a_partner_schools_moderate_alert_before_escalation(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    teacher.post("/concerns/new", {"student_number": world.students[0]["number"], "level": "moderate",
                                   "category": "other", "note": "quiet lately"})
    alert_id = _alert(app).id
    assert login_as(client_factory, "doctor").get(f"/alerts/{alert_id}").status_code == 404


def test_low_answers_open_no_alert(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    with app.app_context():
        assert db.session.scalar(select(func.count(Alert.id))) == 0
        assert db.session.scalar(select(func.count(Notification.id))) == 0
