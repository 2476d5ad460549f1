"""The lock rule (app/accounts/lockout.py) through the real HTTP stack: strangers are slowed down per account
and client and never lock anyone out; failures after the password (codes at sign-in, re-authentication,
the current password of a password change) count toward one lock, which only a complete proof resets;
unknown usernames cost and answer exactly what real ones do."""
import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from tests.conftest import PASSWORD, login_as, totp_code

WRONG = "wrong-password-123"
WRONG_CODE = "000000"


def _user(app, username):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def _advance(seconds):
    clock.freeze(clock.now() + timedelta(seconds=seconds))


def _flash(response):
    found = re.search(r'class="flash flash-error"[^>]*>(.*?)<', response.get_data(as_text=True), re.S)
    return found.group(1).strip() if found else None


def _password_step(c, username, password):
    response = c.post("/login", {"username": username, "password": password})
    c._token = None  # the session is renewed at the password step
    return response


def _wrong_code(c):
    return c.post("/login/code", {"code": WRONG_CODE})


@pytest.fixture(autouse=True)
def still_clock():
    """Time moves only when a test says so: a hammering loop must not outlast a one-second wait by itself."""
    clock.freeze(clock.now())


@pytest.fixture
def argon2_verifications(monkeypatch):
    """How many argon2 verifications ran: the work that makes a real username's answer slower."""
    calls = []
    real = PasswordHasher.verify

    def counting(self, hash_, password):
        calls.append(hash_)
        return real(self, hash_, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return calls


# --- Medium 2: a correct password does not reset the second-factor failures --------------------------------

def test_wrong_codes_lock_the_account_however_often_the_password_is_given_again(app, world, client_factory):
    attacker = client_factory()  # knows the admin's password, not the authenticator app
    statuses = []
    for _cycle in range(3):
        assert _password_step(attacker, "admin", PASSWORD).headers["Location"].startswith("/login/code")
        for _ in range(2):
            _advance(60)  # past any wait: this test is about the count, not the delays
            statuses.append(_wrong_code(attacker).status_code)
        _advance(60)
    assert statuses == [401, 401, 401, 401, 302, 302]  # the 5th wrong code locked it and ended the pending login
    assert _user(app, "admin").locked_until is not None
    # the right password and a right code no longer open it: the lock is said only after the right password
    _advance(60)
    owner = client_factory()
    refused = _password_step(owner, "admin", PASSWORD)
    assert refused.status_code == 401 and "locked" in _flash(refused)
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "account_locked")) is not None


# --- Medium 3: a stranger cannot lock anyone out -----------------------------------------------------------

@pytest.mark.parametrize("username", ["teacher", "admin"])
def test_a_stranger_slows_down_unknown_devices_but_never_locks_the_owner_out(app, world, client_factory, username):
    own_browser = login_as(client_factory, username)  # the owner signed in here before: a device cookie
    cookie = own_browser.http.get_cookie("xq_device")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    own_browser.post("/logout")

    stranger = client_factory()
    for _ in range(5):
        assert stranger.login(username, WRONG).status_code == 401
    waits = []
    for _ in range(7):  # seven more guesses, each as soon as allowed, hammering in between
        for _ in range(3):
            early = stranger.login(username, WRONG)  # refused unchecked, and not counted
            assert early.status_code == 429
        waits.append(int(early.headers["Retry-After"]))
        _advance(waits[-1])
        assert stranger.login(username, WRONG).status_code == 401
    assert waits == [1, 2, 4, 8, 16, 32, 64]
    assert _user(app, username).locked_until is None

    # the owner's own browser gets in at once, whatever the stranger does
    own_browser._token = None
    assert own_browser.login(username).status_code == 302
    assert own_browser.get("/").status_code == 302
    own_browser.post("/logout")

    # a browser the account never signed in from is slowed down with the stranger (and told how long) ...
    new_device = client_factory()
    slowed = new_device.login(username)
    assert slowed.status_code == 429 and "Try again in" in _flash(slowed)
    # ... and gets in once the wait is over; the account never locked
    assert int(slowed.headers["Retry-After"]) == 128
    _advance(int(slowed.headers["Retry-After"]))
    assert new_device.login(username).status_code == 302
    assert _user(app, username).locked_until is None


def test_waits_grow_up_to_fifteen_minutes_and_an_early_attempt_is_not_checked(app, world, client_factory,
                                                                               argon2_verifications):
    stranger = client_factory()
    for _ in range(5):
        assert stranger.login("homeroom", WRONG).status_code == 401
    waits = []
    for _ in range(4):
        early = stranger.login("homeroom", PASSWORD)  # even the right password is not checked while waiting
        assert early.status_code == 429
        waits.append(int(early.headers["Retry-After"]))
        checked = len(argon2_verifications)
        _advance(waits[-1])
        assert stranger.login("homeroom", WRONG).status_code == 401
        assert len(argon2_verifications) == checked + 1
    assert waits == [1, 2, 4, 8]
    from app.accounts import lockout

    assert [lockout.delay_after(n).total_seconds() for n in (4, 5, 14, 15, 40, 40_000)] == [0, 1, 512, 900, 900, 900]
    assert _user(app, "homeroom").locked_until is None


def test_counts_are_forgotten_after_a_quiet_day(app, world, client_factory):
    stranger = client_factory()
    for _ in range(5):
        stranger.login("doctor", WRONG)
    assert stranger.login("doctor", WRONG).status_code == 429
    _advance(24 * 3600 + 1)
    assert [stranger.login("doctor", WRONG).status_code for _ in range(5)] == [401] * 5


def test_a_forged_device_cookie_counts_as_an_unknown_device(app, world, client_factory):
    stranger = client_factory()
    for _ in range(5):
        stranger.login("teacher", WRONG)
    forged = client_factory()
    forged.http.set_cookie("xq_device", "W1sxLCAiMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiXV0.forged.sig")
    assert forged.login("teacher").status_code == 429


# --- Low 5: usernames cannot be told apart by timing or by the answer --------------------------------------

def test_every_password_check_does_the_same_work_whatever_the_username(app, world, client_factory,
                                                                       argon2_verifications):
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "teacher2")).active = False
        db.session.commit()
    answers = {}
    for username in ("teacher", "no-such-teacher", "teacher2"):  # real, unknown, disabled
        before = len(argon2_verifications)
        response = client_factory().login(username, WRONG)
        assert len(argon2_verifications) == before + 1, username  # one argon2 verification each, no more
        answers[username] = (response.status_code, _flash(response))
    assert len(set(answers.values())) == 1, answers
    # the unknown username was checked against a hash with the real parameters
    dummy, real = argon2_verifications[1], argon2_verifications[0]
    assert dummy.split("$")[:4] == real.split("$")[:4]


def test_unknown_usernames_are_slowed_down_like_real_ones(app, world, client_factory):
    sequences = {}
    for username in ("teacher", "no-such-teacher"):
        c = client_factory()
        sequences[username] = [(r.status_code, _flash(r), r.headers.get("Retry-After"))
                               for r in (c.login(username, WRONG) for _ in range(7))]
    assert sequences["teacher"] == sequences["no-such-teacher"]
    assert [status for status, _m, _w in sequences["teacher"]] == [401] * 5 + [429] * 2


def test_a_locked_account_answers_like_an_unknown_one_until_the_right_password_is_given(app, world, client_factory):
    attacker = client_factory()
    _password_step(attacker, "admin", PASSWORD)
    for _ in range(5):
        _advance(5)  # past the waits, within the five minutes a pending sign-in lasts
        _wrong_code(attacker)
    assert _user(app, "admin").locked_until is not None
    _advance(60)  # past the wait the attacker's attempts set for unknown devices
    wrong_for_locked = client_factory().login("admin", WRONG)
    wrong_for_unknown = client_factory().login("no-such-admin", WRONG)
    assert (wrong_for_locked.status_code, _flash(wrong_for_locked)) == \
        (wrong_for_unknown.status_code, _flash(wrong_for_unknown)) == (401, "Wrong username or password.")
    _advance(60)
    right = client_factory().login("admin")
    assert right.status_code == 401 and "locked" in _flash(right)


# --- one lock rule: re-authentication and the password-change form count with the codes --------------------

def test_failures_of_every_kind_count_toward_one_lock(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    for _ in range(2):
        assert admin.post("/reauth", {"password": WRONG, "code": WRONG_CODE}).status_code == 401
    # a new sign-in with the right password does not reset them; three wrong codes make five
    other = client_factory()
    _password_step(other, "admin", PASSWORD)
    statuses = []
    for _ in range(3):
        _advance(60)
        statuses.append(_wrong_code(other).status_code)
    assert statuses == [401, 401, 302]
    assert _user(app, "admin").locked_until is not None
    assert admin.get("/admin").status_code == 302  # the lock ended every session


def test_the_password_change_form_cannot_be_used_to_guess_the_current_password(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    form = {"new_password": "a-new-long-passphrase-77", "confirm": "a-new-long-passphrase-77"}
    for _ in range(4):
        wrong = teacher.post("/account/password", dict(form, current_password=WRONG))
        assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    _advance(1)
    locked = teacher.post("/account/password", dict(form, current_password=WRONG))
    assert locked.status_code == 302 and locked.headers["Location"] == "/login"
    assert teacher.get("/teacher").status_code == 302  # signed out
    assert _user(app, "teacher").locked_until is not None
    refused = client_factory().login("teacher")
    assert refused.status_code == 401 and "locked" in _flash(refused)
    with app.app_context():
        denied = db.session.scalars(select(AuditEvent.action).where(AuditEvent.outcome == "denied")).all()
    assert denied.count("password_change") == 5 and "account_locked" in denied


def test_a_policy_error_in_the_new_password_does_not_count(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    for _ in range(8):
        short = teacher.post("/account/password", {"current_password": PASSWORD, "new_password": "short",
                                                   "confirm": "short"})
        assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    assert _user(app, "teacher").failed_logins == 0


# --- the lock is the admin's to see and clear, and ends by itself after a day -------------------------------

def _lock_by_wrong_codes(app, client_factory, username="admin"):
    attacker = client_factory()
    _password_step(attacker, username, PASSWORD)
    for _ in range(5):
        _advance(5)  # past the waits, within the five minutes a pending sign-in lasts
        _wrong_code(attacker)
    assert _user(app, username).locked_until is not None


def test_the_admin_sees_locked_and_slowed_accounts_and_clears_them(app, world, client_factory):
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "teacher")).totp_secret = \
            db.session.scalar(select(User).where(User.username == "admin")).totp_secret
        db.session.commit()
    _lock_by_wrong_codes(app, client_factory, "teacher")
    stranger = client_factory()
    for _ in range(6):  # five counted, the sixth refused unchecked (and not counted)
        stranger.login("doctor", WRONG)
    admin = login_as(client_factory, "admin")
    page = admin.get("/admin/accounts").get_data(as_text=True)
    teacher_row = re.search(r'<tr data-username="teacher">(.*?)</tr>', page, re.S).group(1)
    doctor_row = re.search(r'<tr data-username="doctor">(.*?)</tr>', page, re.S).group(1)
    assert 'data-testid="locked"' in teacher_row and "Reset failed logins" in teacher_row
    assert "Sign-in slowed down: 5 failed attempts" in doctor_row and "Reset failed logins" in doctor_row
    for username in ("teacher", "doctor"):
        assert admin.post(f"/admin/accounts/{_user(app, username).id}/unlock").status_code == 302
    assert client_factory().login("teacher").status_code == 302
    assert client_factory().login("doctor").status_code == 302
    with app.app_context():
        unlocked = db.session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "account_unlocked")).all()
    assert sorted(unlocked) == sorted([_user(app, "teacher").id, _user(app, "doctor").id])


def test_the_lock_ends_by_itself_after_a_day(app, world, client_factory):
    _lock_by_wrong_codes(app, client_factory)
    _advance(24 * 3600 - 600)
    assert client_factory().login("admin").status_code == 401
    _advance(601)
    assert client_factory().login("admin").status_code == 302
    assert _user(app, "admin").failed_logins == 0  # the complete sign-in reset the failures
