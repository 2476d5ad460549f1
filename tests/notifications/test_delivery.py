"""Delivery of alert notices by every channel through the real stack (a student's submission, the sweep, the
alert page, the dashboards) against the providers' local fake servers: queued with the alert and sent only
after the answer went out, each request validly signed, the body free of any student detail, retries with
backoff and never twice, a channel that gives up shown as a problem, and the one-tap acknowledgement link."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.notifications import delivery
from app.notifications.models import Delivery, DeliveryAttempt, DeliveryState, DutyGroup, UserChannel
from app.risk.models import Alert, AlertStatus
from tests.conftest import login_as
from tests.helpers import PHQ9_CRITICAL, join, launch_campaign, submit

# What must never leave the building: the student's name, number, birth date, guardian and answers.
FORBIDDEN = ("Student 0", "S0000", "2012-01-01", "Guardian", "13900000000", "PHQ", "item 9", "answers")


def set_up_channels(app, world, fakes, *, groups=True):
    """teacher: SMS and WeCom; doctor: SMS; duty groups: the school's WeCom robot, the hospital's DingTalk robot
    and webhook. Returns {username: user id}."""
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        now = clock.now()
        db.session.add_all([
            UserChannel(user_id=users["teacher"].id, channel="sms", address="13800000001", levels=["high"], verified_at=now),
            UserChannel(user_id=users["teacher"].id, channel="wecom_app", address="zhang.laoshi", levels=[], verified_at=now),
            UserChannel(user_id=users["doctor"].id, channel="sms", address="13800000009", levels=[], verified_at=now),
            UserChannel(user_id=users["teacher2"].id, channel="sms", address="13800000002", levels=[]),  # never verified
        ])
        if groups:
            db.session.add_all([
                DutyGroup(school_id=world.school_id, channel="wecom_robot", name="School duty", levels=["high"],
                          url=f"{fakes.wecom.base}/cgi-bin/webhook/send?key=robot-key-1"),
                DutyGroup(hospital_id=world.hospital_id, channel="dingtalk_robot", name="Hospital duty", levels=[],
                          url=f"{fakes.dingtalk.base}/robot/send?access_token=ding-token", secret="SEC-ding-secret"),
                DutyGroup(hospital_id=world.hospital_id, channel="webhook", name="Hospital system", levels=[],
                          url=f"{fakes.webhook.base}/xinqiao", secret="hospital-webhook-secret"),
            ])
        db.session.commit()
        ids = {name: u.id for name, u in users.items()}
        ids.update({g.name: f"group:{g.id}" for g in db.session.scalars(select(DutyGroup))})
        db.session.remove()
    return ids


def screen(app, client_factory, world, answers=PHQ9_CRITICAL, close=True):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    phq9 = next(q for q in data["questionnaires"] if q["scale"] == "PHQ-9")
    response = submit(http, data["token"], phq9, answers)
    assert response.status_code == 201
    if close:
        response.close()  # what the WSGI server does once the answer has gone out: delivery runs then
    with app.app_context():
        alert_id = db.session.scalar(select(Alert.id))
        db.session.remove()
    return alert_id, response


def deliveries(app):
    with app.app_context():
        rows = [(d.channel, d.recipient, d.kind, d.state, d.attempts)
                for d in db.session.scalars(select(Delivery).order_by(Delivery.id))]
        db.session.remove()
    return rows


def all_bodies(fakes):
    return [r.text for fake in vars(fakes).values() for r in fake.requests]


def test_a_critical_answer_reaches_every_channel_after_the_answer_with_no_student_detail(
        app, world, client_factory, providers):
    ids = set_up_channels(app, world, providers)
    alert_id, response = screen(app, client_factory, world, close=False)
    # Queued in the submission's transaction, nothing sent yet: the student's answer went out first.
    assert all(fake.requests == [] for fake in vars(providers).values())
    queued = deliveries(app)
    assert {(c, r) for c, r, *_ in queued} == {
        ("sms", f"user:{ids['teacher']}"), ("wecom_app", f"user:{ids['teacher']}"), ("sms", f"user:{ids['doctor']}"),
        ("wecom_robot", ids["School duty"]), ("dingtalk_robot", ids["Hospital duty"]), ("webhook", ids["Hospital system"])}
    assert all(state == DeliveryState.PENDING for *_, state, _a in queued)
    response.close()
    assert {state for *_, state, _a in deliveries(app)} == {DeliveryState.SENT}
    assert len(providers.aliyun.valid) == 2 and len(providers.wecom.app_messages()) == 1
    assert len(providers.wecom.robot_messages()) == 1 and len(providers.dingtalk.valid) == 1
    assert len(providers.webhook.valid) == 1
    assert all(r["valid"] for fake in vars(providers).values() for r in fake.requests), \
        [(r["path"], r["problem"]) for fake in vars(providers).values() for r in fake.requests if not r["valid"]]
    case = f"A{alert_id:06d}"
    for body in all_bodies(providers):
        if "gettoken" in body:
            continue
        leaked = [secret for secret in FORBIDDEN if secret in body]
        assert not leaked, (leaked, body)
    sms = {p["params"]["PhoneNumbers"]: json.loads(p["params"]["TemplateParam"]) for p in providers.aliyun.valid}
    assert sms["13800000001"]["case"] == case and sms["13800000001"]["school"] == "Middle School A"
    assert "/ack/" in sms["13800000001"]["link"]            # the teacher may acknowledge from the message
    assert sms["13800000009"]["link"] == f"https://xinqiao.example.edu.cn/alerts/{alert_id}"  # a doctor may not
    hook = json.loads(providers.webhook.valid[0]["body"])
    assert hook["event"] == f"alert:{alert_id}:opened" and hook["level"] == "critical" and hook["case_number"] == case
    with app.app_context():
        assert db.session.scalar(select(DeliveryAttempt.answer).join(Delivery).where(Delivery.channel == "webhook")) == "HTTP 200"
    result = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert "messages sent: 0" in result.output  # nothing is sent twice
    assert len(providers.aliyun.requests) == 2


def test_a_failing_channel_is_retried_with_backoff_shown_on_the_alert_page_and_never_sent_twice(
        app, world, client_factory, providers):
    set_up_channels(app, world, providers)
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    providers.dingtalk.fail_next(1, "error")
    providers.webhook.fail_next(1, "slow")
    alert_id, _ = screen(app, client_factory, world)
    with app.app_context():
        ding = db.session.scalar(select(Delivery).where(Delivery.channel == "dingtalk_robot"))
        hook = db.session.scalar(select(Delivery).where(Delivery.channel == "webhook"))
        assert (ding.state, ding.attempts, ding.last_answer) == (DeliveryState.PENDING, 1, "errcode 130101 send too fast")
        assert ding.next_attempt_at == start + timedelta(seconds=30)
        assert (hook.state, hook.last_answer) == (DeliveryState.PENDING, "timeout after 1 s")
        db.session.remove()
    teacher = login_as(client_factory, "teacher")
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-channel="dingtalk_robot" data-state="pending"' in page and "failed: retrying" in page
    assert "errcode 130101" in page and 'data-channel="sms" data-state="sent"' in page
    runner = app.test_cli_runner()
    assert "messages sent: 0; messages failed: 0" in runner.invoke(args=["alerts", "sweep"]).output  # not yet due
    clock.freeze(start + timedelta(seconds=31))
    assert "messages sent: 2; messages failed: 0" in runner.invoke(args=["alerts", "sweep"]).output
    assert "messages sent: 0" in runner.invoke(args=["alerts", "sweep"]).output
    assert len(providers.dingtalk.requests) == 2 and all(r["valid"] for r in providers.dingtalk.requests)
    page = teacher.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-channel="dingtalk_robot" data-state="sent"' in page and "2 tries" in page
    with app.app_context():
        answers = db.session.scalars(select(DeliveryAttempt.answer).join(Delivery)
                                     .where(Delivery.channel == "dingtalk_robot").order_by(DeliveryAttempt.id)).all()
        assert answers == ["errcode 130101 send too fast", "errcode 0 ok"]


def test_a_critical_alert_no_channel_could_deliver_is_a_problem_on_the_dashboards(
        app, world, client_factory, providers, monkeypatch):
    set_up_channels(app, world, providers, groups=False)
    monkeypatch.setitem(app.config, "CHANNEL_MAX_ATTEMPTS", 2)
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    providers.aliyun.fail_next(4, "error")
    providers.wecom.fail_next(4, "http500")
    alert_id, _ = screen(app, client_factory, world)
    with app.app_context():
        assert delivery.count_unreached_critical_alerts() == 1  # every channel tried, none got through: shown already
        db.session.remove()
    clock.freeze(start + timedelta(seconds=31))
    app.test_cli_runner().invoke(args=["alerts", "sweep"])
    with app.app_context():
        assert set(db.session.scalars(select(Delivery.state))) == {DeliveryState.FAILED}
        assert delivery.count_unreached_critical_alerts() == 1
        db.session.remove()
    case = f"A{alert_id:06d}"
    for user, home in (("teacher", "/teacher"), ("doctor", "/doctor"), ("admin", "/admin")):
        page = login_as(client_factory, user).get(home).get_data(as_text=True)
        assert 'data-testid="unreached-alerts"' in page and case in page, user
    page = login_as(client_factory, "other_teacher").get("/teacher").get_data(as_text=True)
    assert 'data-testid="unreached-alerts"' not in page and case not in page  # another school's alert
    # and the operator's monitoring pages someone for it
    assert "xinqiao_critical_alerts_unreached 1.0" in app.test_client().get("/metrics").get_data(as_text=True)
    login_as(client_factory, "teacher").post(f"/alerts/{alert_id}/acknowledge")
    with app.app_context():
        assert delivery.count_unreached_critical_alerts() == 0  # somebody has it now
    assert "xinqiao_critical_alerts_unreached 0.0" in app.test_client().get("/metrics").get_data(as_text=True)


def test_escalation_uses_the_same_channels(app, world, client_factory, providers):
    ids = set_up_channels(app, world, providers)
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    screen(app, client_factory, world)
    clock.freeze(start + timedelta(minutes=61))
    output = app.test_cli_runner().invoke(args=["alerts", "sweep"]).output
    assert "alerts escalated: 1" in output and "messages sent: 6" in output, output
    escalated = {(c, r) for c, r, kind, *_ in deliveries(app) if kind == "alert_escalated"}
    assert ("sms", f"user:{ids['teacher']}") in escalated and ("dingtalk_robot", ids["Hospital duty"]) in escalated
    assert len(escalated) == 6


def test_levels_decide_what_else_reaches_a_channel(app, world, client_factory, providers):
    ids = set_up_channels(app, world, providers)
    screen(app, client_factory, world, answers=[3, 3, 3, 3, 3, 0, 0, 0, 0])  # high: the teachers' inbox
    sent = {(c, r) for c, r, *_ in deliveries(app)}
    # teacher's SMS wants high, the WeCom app does not; hospital groups hear only what its doctors hear
    assert sent == {("sms", f"user:{ids['teacher']}"), ("wecom_robot", ids["School duty"])}


def _teacher_sms_link(providers):
    params = next(p["params"] for p in providers.aliyun.valid if p["params"]["PhoneNumbers"] == "13800000001")
    return json.loads(params["TemplateParam"])["link"]


def test_the_link_in_a_message_acknowledges_once_without_showing_anything_and_stops_the_escalation(
        app, world, client_factory, providers):
    set_up_channels(app, world, providers)
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    alert_id, _ = screen(app, client_factory, world)
    path = _teacher_sms_link(providers).removeprefix("https://xinqiao.example.edu.cn")
    phone = client_factory()  # not signed in: the phone's browser
    page = phone.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"A{alert_id:06d}" not in text and "Student 0" not in text and "Middle School A" not in text
    assert phone.post(path, csrf=False).status_code == 400  # CSRF stays on
    done = phone.post(path)
    assert done.status_code == 302 and done.headers["Location"].endswith("/ack/done")
    with app.app_context():
        alert = db.session.get(Alert, alert_id)
        assert alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_by.username == "teacher"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert_acknowledged"))
        assert event.detail == {"via": "message_link"} and event.student_id == world.student_ids[0]
        db.session.remove()
    assert phone.post(path).status_code == 404 and phone.get(path).status_code == 404  # once only
    clock.freeze(start + timedelta(minutes=61))
    assert "alerts escalated: 0" in app.test_cli_runner().invoke(args=["alerts", "sweep"]).output


def test_a_link_is_refused_when_forged_expired_or_when_the_alert_is_no_longer_open(
        app, world, client_factory, providers):
    set_up_channels(app, world, providers)
    start = clock.now().replace(microsecond=0)
    alert_id, _ = screen(app, client_factory, world)
    path = _teacher_sms_link(providers).removeprefix("https://xinqiao.example.edu.cn")
    phone = client_factory()
    assert phone.get(path[:-3] + "abc").status_code == 404                   # forged
    with app.app_context():
        forged = delivery._serializer().dumps(999)
    assert phone.get(f"/ack/{forged}").status_code == 404                    # no such message
    clock.freeze(start + timedelta(minutes=61))
    assert phone.get(path).status_code == 404 and phone.post(path).status_code == 404  # expired (60 minutes)
    clock.freeze(None)
    login_as(client_factory, "teacher2").post(f"/alerts/{alert_id}/acknowledge")
    assert phone.get(path).status_code == 404                                # acknowledged meanwhile
    with app.app_context():
        assert db.session.get(Alert, alert_id).acknowledged_by.username == "teacher2"


def test_a_disabled_account_or_a_removed_channel_is_not_sent_to(app, world, client_factory, providers):
    ids = set_up_channels(app, world, providers, groups=False)
    with app.app_context():
        db.session.execute(update(User).where(User.id == ids["doctor"]).values(active=False))
        db.session.commit()
    screen(app, client_factory, world, close=False)
    assert {r for _c, r, *_ in deliveries(app)} == {f"user:{ids['teacher']}"}


def test_a_concern_raised_on_a_page_goes_out_after_that_response(app, world, client_factory, providers):
    set_up_channels(app, world, providers)
    teacher2 = login_as(client_factory, "teacher2")
    response = teacher2.post("/concerns/new", {"student_number": "S0000", "level": "critical",
                                              "category": "self_harm_sign", "note": "cut marks seen in class"})
    assert response.status_code == 302 and providers.aliyun.requests == []
    response.close()
    assert len(providers.aliyun.valid) == 2 and len(providers.dingtalk.valid) == 1
    assert not any("cut marks" in body for body in all_bodies(providers))


def test_two_delivery_runs_at_once_send_each_message_once(app, world, client_factory, providers):
    import threading

    set_up_channels(app, world, providers)
    screen(app, client_factory, world, close=False)  # queued, not sent: two sweeps find them at the same moment
    barrier = threading.Barrier(2)
    results = []

    def run():
        with app.app_context():
            barrier.wait()
            results.append(delivery.deliver_due())
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(sent for sent, _failed in results) == 6
    assert len(providers.aliyun.requests) == 2 and len(providers.dingtalk.requests) == 1
    assert len(providers.webhook.requests) == 1 and len(providers.wecom.robot_messages()) == 1
