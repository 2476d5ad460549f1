"""A forgotten password with mail on: a time-limited, single-use link to the account's address; asking reveals
nothing about whether an account has the address (same answer, same database work, rate-limited); with mail off
the page says whom to ask."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from app import create_app
from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db, limiter
from tests.conftest import PASSWORD, login_as
from tests.integration.test_notifications import mail  # noqa: F401  (a local SMTP server)

NEW_PASSWORD = "a-brand-new-passphrase-41"
SAME_ANSWER = "If an account has this address"


@pytest.fixture
def addresses(app, world):
    with app.app_context():
        db.session.execute(update(User).values(email=User.username + "@school.test"))
        db.session.commit()


def _link(message):
    body = message.get_payload(decode=True).decode("utf-8")
    return re.search(r"https://xinqiao\.example\.edu\.cn(/password/reset/\S+)", body).group(1), body


def _forgot(client, address):
    """POST the form; closing the answer is when the server sends the mail (after the answer has gone)."""
    response = client.post("/password/forgot", {"email": address})
    response.close()
    return response


def _ask(client, address):
    response = _forgot(client, address)
    return response, client.get("/login").get_data(as_text=True)


def test_a_known_address_gets_a_link_that_works_once_and_an_unknown_one_the_same_answer(
        app, addresses, client_factory, mail):  # noqa: F811
    mail.start()
    other_session = login_as(client_factory, "teacher")
    anonymous = client_factory()
    known, known_page = _ask(anonymous, "Teacher@School.test ")
    unknown, unknown_page = _ask(anonymous, "nobody@school.test")
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"] == "/login"
    assert SAME_ANSWER in known_page and SAME_ANSWER in unknown_page
    assert len(mail.messages) == 1 and mail.to("teacher@school.test")
    path, body = _link(mail.to("teacher@school.test")[0])
    assert PASSWORD not in body and "teacher" not in path
    with app.app_context():
        outcomes = db.session.scalars(select(AuditEvent.outcome).where(
            AuditEvent.action == "password_reset_requested").order_by(AuditEvent.id)).all()
    assert outcomes == ["ok", "no_account"]

    # The link's token moves into the session and out of the address bar.
    follow = anonymous.get(path)
    assert follow.status_code == 302 and follow.headers["Location"] == "/password/new"
    page = anonymous.get("/password/new").get_data(as_text=True)
    assert 'value="teacher"' in page
    assert anonymous.post("/password/new", {"new_password": "password1234", "confirm": "password1234"}).status_code == 400
    done = anonymous.post("/password/new", {"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/login"

    assert client_factory().login("teacher", NEW_PASSWORD).status_code == 302
    assert client_factory().login("teacher", PASSWORD).status_code == 401
    assert other_session.get("/teacher").status_code == 302  # every other session ended
    assert client_factory().get(path).status_code == 400     # used: the password it was made for is gone
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "password_reset_by_link"))


def test_asking_does_the_same_database_work_for_an_unknown_address(app, addresses, client_factory, mail):  # noqa: F811
    mail.start()
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args):
        statements.append(1)

    client = client_factory()
    client.token()
    event.listen(engine, "before_cursor_execute", count)
    try:
        work = []
        for address in ("doctor@school.test", "no-one@school.test", "homeroom@school.test", "nobody@elsewhere.test"):
            statements.clear()
            response = client.post("/password/forgot", {"email": address})
            work.append(len(statements))
            response.close()
            assert response.status_code == 302
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert work[0] == work[1] == work[2] == work[3], work
    assert len(mail.messages) == 2


def test_a_link_expires_and_a_changed_password_or_address_voids_it(app, addresses, client_factory, mail):  # noqa: F811
    mail.start()
    client = client_factory()
    for _ in range(3):
        _forgot(client, "doctor@school.test")
    first, second, third = (_link(m)[0] for m in mail.to("doctor@school.test"))
    clock.freeze(clock.now() + timedelta(minutes=app.config["PASSWORD_RESET_MINUTES"] + 1))
    assert client_factory().get(first).status_code == 400  # too old
    clock.freeze(None)
    with app.app_context():
        db.session.execute(update(User).where(User.username == "doctor").values(email="new-address@hospital.test"))
        db.session.commit()
    assert client_factory().get(second).status_code == 400  # made for the old address
    with app.app_context():
        db.session.execute(update(User).where(User.username == "doctor").values(email="doctor@school.test"))
        db.session.commit()
    login_as(client_factory, "doctor").post("/account/password", {
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client_factory().get(third).status_code == 400  # the password it was made for was changed


def test_disabled_accounts_get_no_link(app, addresses, client_factory, mail):  # noqa: F811
    mail.start()
    with app.app_context():
        db.session.execute(update(User).where(User.username == "homeroom").values(active=False))
        db.session.commit()
    assert _forgot(client_factory(), "homeroom@school.test").status_code == 302
    assert mail.messages == []


def test_with_mail_off_the_page_says_whom_to_ask(app, world, client_factory):
    client = client_factory()
    page = client.get("/password/forgot")
    assert page.status_code == 200 and 'data-testid="ask-admin"' in page.get_data(as_text=True)
    assert 'name="email"' not in page.get_data(as_text=True)
    assert client.post("/password/forgot", {"email": "teacher@school.test"}).status_code == 404
    assert "/password/forgot" in client.get("/login").get_data(as_text=True)


@pytest.fixture
def limited(app, addresses, mail):  # noqa: F811
    """A second app on the same database with rate limits and mail on."""
    mail.start()
    limited_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                             RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WTF_CSRF_ENABLED=False,
                             **{k: app.config[k] for k in ("MAIL_ENABLED", "SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS",
                                                           "XINQIAO_BASE_URL")})
    limiter.reset()
    yield limited_app
    limiter.reset()
    limiter.enabled = False  # the limiter object is shared: leave it off for the other tests


def _from(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_asking_is_limited_per_client_and_per_address_alike_for_unknown_addresses(limited):
    for email in ("teacher@school.test", "nobody@school.test"):
        codes = [_from(limited, f"10.9.{len(email)}.{i}").post("/password/forgot", data={"email": email}).status_code
                 for i in range(4)]
        assert codes == [302, 302, 302, 429], email
    client = _from(limited, "10.9.9.9")
    codes = [client.post("/password/forgot", data={"email": f"someone{i}@school.test"}).status_code for i in range(6)]
    assert codes == [302] * 5 + [429]
