"""The inbox (unread count in the header, open, mark read, owner only) and e-mail through a real local
SMTP server (aiosmtpd): what arrives, what never does (names, answers), retries without double-sending."""
import email
import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from app.accounts.models import User
from app.care.models import Referral
from app.core import clock
from app.extensions import db
from app.notifications import services as notifications
from app.notifications.models import MailState, Notification
from app.risk.models import Alert
from tests.conftest import login_as
from tests.helpers import PHQ9_CRITICAL, join, launch_campaign, submit


class Collector:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail(app):
    """Mail on, pointed at a port of our own; `mail.start()` brings the SMTP server up on it."""
    port = _free_port()
    saved = {k: app.config.get(k) for k in ("MAIL_ENABLED", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "XINQIAO_BASE_URL")}
    app.config.update(MAIL_ENABLED=True, SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False,
                      XINQIAO_BASE_URL="https://xinqiao.example.edu.cn")
    collector = Collector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)

    class Mail:
        messages = collector.messages

        @staticmethod
        def start():
            controller.start()

        @staticmethod
        def to(address):
            return [m for rcpts, m in collector.messages if address in rcpts]

    yield Mail
    try:
        controller.stop()
    except (AssertionError, RuntimeError):
        pass  # never started
    app.config.update(saved)


@pytest.fixture
def emails(app, world):
    with app.app_context():
        db.session.execute(update(User).values(email=User.username + "@school.test"))
        db.session.commit()


def _screen_critical(app, client_factory, world, close=True):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    responses = {q["scale"]: q for q in data["questionnaires"]}
    r = submit(http, data["token"], responses["PHQ-9"], PHQ9_CRITICAL)
    assert r.status_code == 201
    if close:
        r.close()  # what the WSGI server does once the answer has gone out: mail is sent then
    with app.app_context():
        return db.session.scalar(select(Alert.id))


def _body(message):
    return message.get_payload(decode=True).decode("utf-8")


def test_a_critical_alert_is_mailed_at_once_with_a_link_and_case_number_only(app, world, client_factory, emails, mail):
    mail.start()
    alert_id = _screen_critical(app, client_factory, world)
    assert sorted(r for rcpts, _ in mail.messages for r in rcpts) == [
        "doctor@school.test", "teacher2@school.test", "teacher@school.test"]
    message = mail.to("teacher@school.test")[0]
    case = f"A{alert_id:06d}"
    subject = str(email.header.make_header(email.header.decode_header(message["Subject"])))
    body = _body(message)
    assert case in subject and case in body
    assert f"https://xinqiao.example.edu.cn/alerts/{alert_id}" in body
    for secret in ("Student 0", "S0000", "2012-01-01", "PHQ", "item 9", "Guardian", "13900000000"):
        assert secret not in body and secret not in subject, secret
    with app.app_context():
        states = db.session.scalars(select(Notification.mail_state).where(Notification.kind == "alert_critical_opened")).all()
        assert states == [MailState.SENT] * 3
    # the sweep finds nothing left to send: no second copy
    result = app.test_cli_runner().invoke(args=["alerts", "sweep"])
    assert "mail sent: 0" in result.output
    assert len(mail.messages) == 3


@pytest.mark.parametrize("answers, level, notified", [
    ([3, 3, 3, 3, 3, 0, 0, 0, 0], "high", {"teacher", "teacher2"}),   # total 15: the teachers' inbox, no mail
    ([2, 2, 2, 2, 2, 0, 0, 0, 0], "moderate", set()),                  # total 10: the worklist, nobody paged
])
def test_who_is_told_when_an_alert_opens(app, world, client_factory, emails, mail, answers, level, notified):
    mail.start()
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    data = join(http, code, world.students[0]).get_json()
    phq9 = next(q for q in data["questionnaires"] if q["scale"] == "PHQ-9")
    submit(http, data["token"], phq9, answers).close()
    with app.app_context():
        assert db.session.scalar(select(Alert.level)) == level
        rows = db.session.execute(select(User.username, Notification.kind, Notification.mail_state)
                                  .join(User, User.id == Notification.user_id)).all()
    assert {username for username, _kind, _state in rows} == notified
    assert all(kind == f"alert_{level}_opened" and state == MailState.NONE for _u, kind, state in rows)
    assert mail.messages == []


def test_an_smtp_outage_loses_nothing_and_the_sweep_delivers_exactly_once_later(app, world, client_factory, emails, mail):
    alert_id = _screen_critical(app, client_factory, world)  # the SMTP server is not up yet
    with app.app_context():
        assert db.session.get(Alert, alert_id) is not None  # the alert stands whatever mail does
        rows = db.session.scalars(select(Notification)).all()
        assert {r.mail_state for r in rows} == {MailState.PENDING} and all(r.mail_attempts == 1 for r in rows)
    mail.start()
    runner = app.test_cli_runner()
    assert "mail sent: 3" in runner.invoke(args=["alerts", "sweep"]).output
    assert "mail sent: 0" in runner.invoke(args=["alerts", "sweep"]).output
    assert len(mail.messages) == 3


def test_an_overdue_alert_is_mailed_once_to_teachers_and_duty_doctors(app, world, client_factory, emails, mail):
    start = clock.now().replace(microsecond=0)
    clock.freeze(start)
    with app.app_context():
        db.session.execute(update(User).where(User.username == "doctor").values(on_duty=True))
        db.session.commit()
    mail.start()
    alert_id = _screen_critical(app, client_factory, world)
    opened = len(mail.messages)
    clock.freeze(start + timedelta(minutes=61))
    runner = app.test_cli_runner()
    assert "alerts escalated: 1; mail sent: 3" in runner.invoke(args=["alerts", "sweep"]).output
    assert "alerts escalated: 0; mail sent: 0" in runner.invoke(args=["alerts", "sweep"]).output
    escalated = mail.messages[opened:]
    assert sorted(r for rcpts, _ in escalated for r in rcpts) == [
        "doctor@school.test", "teacher2@school.test", "teacher@school.test"]
    assert all(f"A{alert_id:06d}" in _body(m) for _, m in escalated)


def test_mail_is_off_by_default(app, world, client_factory, emails):
    assert app.config["MAIL_ENABLED"] is False
    _screen_critical(app, client_factory, world)
    with app.app_context():
        assert set(db.session.scalars(select(Notification.mail_state))) == {MailState.NONE}
        assert notifications.deliver_pending_mail() == (0, 0)


def test_referral_changes_reach_the_other_side(app, world, client_factory, emails, mail):
    mail.start()
    alert_id = _screen_critical(app, client_factory, world)
    before = len(mail.messages)
    teacher = login_as(client_factory, "teacher")
    teacher.post(f"/students/{world.students[0]['id']}/refer",
                 {"hospital_id": world.hospital_id, "urgency": "critical", "reason": "item 9", "alert_id": alert_id})
    with app.app_context():
        referral = db.session.scalar(select(Referral))
        # the school-side change (sent) reached the hospital's doctors through the care service
        assert [n.user.username for n in db.session.scalars(select(Notification).where(
            Notification.kind == "referral_sent"))] == ["doctor"]
        referral_id, case = referral.id, referral.case_number
    doctor = login_as(client_factory, "doctor")
    assert doctor.post(f"/referrals/{referral_id}/accept").status_code == 302
    with app.app_context():
        accepted = db.session.scalars(select(Notification).where(Notification.kind == "referral_accepted")).all()
        assert sorted(n.user.username for n in accepted) == ["teacher", "teacher2"]  # hospital-side: the teachers
        notifications.deliver_pending_mail()
    new = mail.messages[before:]
    assert sorted(r for rcpts, _ in new for r in rcpts) == ["doctor@school.test", "teacher2@school.test", "teacher@school.test"]
    assert all(case in _body(m) and "Student 0" not in _body(m) and "item 9" not in _body(m) for _, m in new)
    page = login_as(client_factory, "teacher2").get("/inbox").get_data(as_text=True)
    assert "Referral accepted" in page and case in page


# --- the inbox ----------------------------------------------------------------------------------

def test_the_header_shows_the_unread_count_and_opening_marks_read(app, world, client_factory):
    alert_id = _screen_critical(app, client_factory, world)
    teacher2 = login_as(client_factory, "teacher2")
    page = teacher2.get("/teacher").get_data(as_text=True)
    assert 'data-testid="inbox-unread"' in page and '>1</span>' in page
    inbox = teacher2.get("/inbox").get_data(as_text=True)
    assert "Critical alert opened" in inbox and f"A{alert_id:06d}" in inbox and "Student 0" not in inbox
    with app.app_context():
        note_id = db.session.scalar(select(Notification.id).join(User).where(User.username == "teacher2"))
    r = teacher2.post(f"/inbox/{note_id}/open")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/alerts/{alert_id}")
    assert 'data-testid="inbox-unread"' not in teacher2.get("/teacher").get_data(as_text=True)


def test_an_inbox_is_its_owners_alone(app, world, client_factory):
    _screen_critical(app, client_factory, world)
    with app.app_context():
        note_id = db.session.scalar(select(Notification.id).join(User).where(User.username == "teacher2"))
    for user in ("teacher", "other_teacher", "admin", "homeroom"):
        c = login_as(client_factory, user)
        assert c.post(f"/inbox/{note_id}/open").status_code == 404, user
    with app.app_context():
        assert db.session.get(Notification, note_id).read_at is None
    assert login_as(client_factory, "homeroom").get("/inbox").status_code == 200  # every staff user has an inbox
    assert client_factory().get("/inbox").status_code == 302  # anonymous: to the login page


def test_mark_all_read_needs_csrf_and_touches_only_my_rows(app, world, client_factory):
    _screen_critical(app, client_factory, world)
    teacher = login_as(client_factory, "teacher")
    assert teacher.post("/inbox/read-all", csrf=False).status_code == 400
    assert teacher.post("/inbox/read-all").status_code == 302
    with app.app_context():
        unread = dict(db.session.execute(select(User.username, func.count(Notification.id)).join(User)
                                         .where(Notification.read_at.is_(None)).group_by(User.username)).all())
    assert unread == {"teacher2": 1, "doctor": 1}


def test_only_an_admin_sets_who_is_on_duty(app, world, client_factory):
    with app.app_context():
        doctor_id = db.session.scalar(select(User.id).where(User.username == "doctor"))
    for user in ("teacher", "doctor", "homeroom"):
        c = login_as(client_factory, user)
        assert c.get("/duty").status_code == 404 and c.post(f"/duty/{doctor_id}").status_code == 404
    admin = login_as(client_factory, "admin")
    assert "Doctor P" in admin.get("/duty").get_data(as_text=True)
    assert admin.post(f"/duty/{doctor_id}").status_code == 302
    with app.app_context():
        assert db.session.get(User, doctor_id).on_duty is True
