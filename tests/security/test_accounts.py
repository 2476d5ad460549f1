"""Accounts and sessions: password policy, argon2id rehash, lockout, second factor, re-authentication,
logout, idle timeout, permission changes at the next request, cookies."""
import re
from datetime import timedelta

import pyotp
import pytest
from argon2 import PasswordHasher, Type
from sqlalchemy import select

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.accounts.passwords import common_passwords, password_problem
from app.audit.models import AuditEvent
from app.core import clock
from app.extensions import db
from app.orgs.models import Partnership
from tests.conftest import PASSWORD, TOTP_SECRET, login_as, totp_code


def _user(app, username):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def _actions(app, **where):
    with app.app_context():
        query = select(AuditEvent.action, AuditEvent.outcome).order_by(AuditEvent.id)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return db.session.execute(query).all()


# --- passwords ------------------------------------------------------------------------------------

def test_the_shipped_common_password_list_is_loaded():
    common = common_passwords()
    assert len(common) > 19000 and "password" in common and "qwerty" in common


@pytest.mark.parametrize("password,problem", [
    ("short-1", "too_short"), ("password1234", "common"), ("Password2026!!", "common"), ("qwertyqwerty", "common"),
    ("abcabcabcabc", "common"), ("x" * 300, "too_long"), ("teacher-is-my-password", "contains_username"),
    ("correct-horse-battery-9", None), ("南山脚下的一棵老松树在风里摇", None)])
def test_password_policy(password, problem):
    assert password_problem(password, "teacher") == problem


def test_account_creation_refuses_a_common_password(app_ctx, world):
    with pytest.raises(accounts.AccountError, match="common"):
        accounts.create_user("newbie", "New", "iloveyou12345", Role.ADMIN)


def test_password_change_checks_the_current_password_and_the_policy_and_ends_other_sessions(app, world, client_factory):
    other_session = login_as(client_factory, "teacher")
    c = login_as(client_factory, "teacher")
    assert c.get("/account/password").status_code == 200
    wrong = c.post("/account/password", {"current_password": "nope-nope-nope", "new_password": "a-new-long-passphrase-77",
                                         "confirm": "a-new-long-passphrase-77"})
    assert wrong.status_code == 400 and "current password is wrong" in wrong.get_data(as_text=True)
    common = c.post("/account/password", {"current_password": PASSWORD, "new_password": "password123456",
                                          "confirm": "password123456"})
    assert common.status_code == 400 and "too common" in common.get_data(as_text=True)
    ok = c.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-passphrase-77",
                                      "confirm": "a-new-long-passphrase-77"})
    assert ok.status_code == 302
    assert c.get("/teacher").status_code == 200  # this session continues
    assert other_session.get("/teacher").status_code == 302  # every other session ended
    assert client_factory().login("teacher", "a-new-long-passphrase-77").status_code == 302
    assert ("password_change", "denied") in _actions(app) and ("password_changed", "ok") in _actions(app)


def test_login_rehashes_when_the_parameters_rise(app, world, client_factory):
    weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1, type=Type.ID).hash(PASSWORD)
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "teacher")).password_hash = weak
        db.session.commit()
    login_as(client_factory, "teacher")
    stored = _user(app, "teacher").password_hash
    assert stored != weak and stored.startswith("$argon2id$") and "m=512" not in stored


def test_production_parameters_are_owasp_argon2id():
    from app.accounts.passwords import _STRONG

    assert (_STRONG.type, _STRONG.memory_cost, _STRONG.time_cost, _STRONG.parallelism) == (Type.ID, 19456, 2, 1)


# --- lockout: tests/security/test_lockout.py ----------------------------------------------------------

# --- second factor -------------------------------------------------------------------------------

def _enrol(client, app, username):
    page = client.get("/account/second-factor").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "<svg" in page and "<script" not in page
    assert client.post("/account/second-factor", {"code": "000000"}).status_code == 400
    response = client.post("/account/second-factor", {"code": totp_code(app, username, secret)})
    assert response.status_code == 302
    return secret


def test_an_admin_must_enrol_at_first_login_before_anything_else(app, world, client_factory):
    with app.app_context():
        accounts.create_user("admin2", "Admin 2", PASSWORD, Role.ADMIN)
        db.session.commit()
    c = client_factory()
    response = c.login("admin2")
    assert response.status_code == 302
    for url in ("/admin", "/admin/accounts", "/alerts", f"/students/{world.student_ids[0]}"):
        forced = c.get(url)
        assert forced.status_code == 302 and forced.headers["Location"] == "/account/second-factor", url
    secret = _enrol(c, app, "admin2")
    assert c.get("/admin").status_code == 200
    # the next login asks for the code
    c2 = client_factory()
    step1 = c2.post("/login", {"username": "admin2", "password": PASSWORD})
    c2._token = None  # the session was renewed at the password step
    assert step1.headers["Location"].startswith("/login/code")
    assert c2.get("/admin").status_code == 302  # the password alone opens nothing
    assert c2.post("/login/code", {"code": "123456"}).status_code == 401
    assert c2.post("/login/code", {"code": totp_code(app, "admin2", secret)}).status_code == 302
    assert c2.get("/admin").status_code == 200
    assert ("second_factor_enrolled", "ok") in _actions(app)


def test_a_code_is_accepted_once_only(app, world, client_factory):
    code = pyotp.TOTP(TOTP_SECRET).now()
    first, second = client_factory(), client_factory()
    for c in (first, second):
        c.post("/login", {"username": "admin", "password": PASSWORD})
        c._token = None  # the session was renewed at the password step
    assert first.post("/login/code", {"code": code}).status_code == 302
    assert second.post("/login/code", {"code": code}).status_code == 401


def test_admin_requires_second_factor_for_a_teacher(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    admin = login_as(client_factory, "admin")
    teacher_id = _user(app, "teacher").id
    page = admin.get("/admin/accounts").get_data(as_text=True)
    assert 'data-username="teacher"' in page
    assert admin.post(f"/admin/accounts/{teacher_id}/second-factor", {"required": "1"}).status_code == 302
    # next request of the running session: enrol first
    assert teacher.get("/teacher").headers["Location"] == "/account/second-factor"
    _enrol(teacher, app, "teacher")
    assert teacher.get("/teacher").status_code == 200
    admin_id = _user(app, "admin").id
    assert admin.post(f"/admin/accounts/{admin_id}/second-factor", {"required": "0"}).status_code == 400
    assert admin.post(f"/admin/accounts/{teacher_id}/second-factor", {"required": "maybe"}).status_code == 400
    assert ("second_factor_required", "ok") in _actions(app, object_id=teacher_id)


# --- re-authentication ---------------------------------------------------------------------------

def test_exports_require_a_recent_password_and_code(app, world, client_factory):
    admin = login_as(client_factory, "admin")
    url = f"/admin/students/{world.student_ids[0]}/access-log.csv"
    assert admin.get(url).status_code == 200  # just signed in
    clock.freeze(clock.now() + timedelta(minutes=6))
    response = admin.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith("/reauth?next=")
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="code"' in page  # enrolled: the code is asked too
    assert admin.post(response.headers["Location"], {"password": PASSWORD, "code": "000000"}).status_code == 401
    back = admin.post(response.headers["Location"], {"password": PASSWORD, "code": totp_code(app, "admin")})
    assert back.status_code == 302 and back.headers["Location"] == url
    export = admin.get(url)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert ("access_log_exported", "ok") in _actions(app, student_id=world.student_ids[0])
    assert "Student 0" not in export.get_data(as_text=True)


def test_reauth_refuses_foreign_next_and_counts_failures(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    response = teacher.post("/reauth?next=https://evil.example/x", {"password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/teacher"
    for _ in range(5):
        teacher.post("/reauth", {"password": "wrong-password-123"})
    assert teacher.get("/teacher").status_code == 302  # locked and signed out


# --- sessions ------------------------------------------------------------------------------------

def test_logout_invalidates_the_session_server_side(app, world, client_factory):
    c = login_as(client_factory, "teacher")
    stolen = c.http.get_cookie("session").value
    c.post("/logout")
    replay = client_factory()
    replay.http.set_cookie("session", stolen)
    assert replay.get("/teacher").status_code == 302


def test_staff_idle_timeout_is_thirty_minutes(app, world, client_factory):
    c = login_as(client_factory, "teacher")
    clock.freeze(clock.now() + timedelta(minutes=29))
    assert c.get("/teacher").status_code == 200
    clock.freeze(clock.now() + timedelta(minutes=31))
    assert c.get("/teacher").status_code == 302


def test_disabling_an_account_ends_its_sessions_at_the_next_request(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    admin = login_as(client_factory, "admin")
    teacher_id = _user(app, "teacher").id
    assert admin.post(f"/admin/accounts/{teacher_id}/active", {"active": "0"}).status_code == 302
    assert teacher.get("/teacher").status_code == 302
    assert client_factory().login("teacher").status_code == 401
    assert admin.post(f"/admin/accounts/{_user(app, 'admin').id}/active", {"active": "0"}).status_code == 400


def test_a_teacher_moved_to_another_school_loses_the_old_students_at_the_next_request(app, world, client_factory):
    teacher = login_as(client_factory, "teacher")
    url = f"/students/{world.student_ids[0]}"
    assert teacher.get(url).status_code == 200
    with app.app_context():
        db.session.scalar(select(User).where(User.username == "teacher")).school_id = world.other_school_id
        db.session.commit()
    assert teacher.get(url).status_code == 404
    assert teacher.get(f"/students/{world.other_student_id}").status_code == 200


def test_an_expired_partnership_hides_partner_alerts_at_the_next_request(app, world, client_factory):
    from app.risk import services as risk
    from app.students.models import Student

    with app.app_context():
        student = db.session.get(Student, world.student_ids[0])
        risk.raise_alert(student, world.school_id, "critical", "concern")
        db.session.commit()
    doctor = login_as(client_factory, "doctor")
    assert "A000001" in doctor.get("/alerts").get_data(as_text=True)
    with app.app_context():
        for p in db.session.scalars(select(Partnership)):
            p.expires_on = clock.today() - timedelta(days=1)
        db.session.commit()
    assert "A000001" not in doctor.get("/alerts").get_data(as_text=True)


def test_cookies_are_httponly_samesite_and_secure_in_production(app, world, client_factory, monkeypatch):
    c = client_factory()
    response = c.post("/login", {"username": "teacher", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("CLINICAL_DATA_KEYS", app.config["CLINICAL_DATA_KEYS"])
    monkeypatch.setenv("AUDIT_KEYS", app.config["AUDIT_KEYS"])
    prod = create_app("production", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      SECRET_KEY="x" * 32, CLINICAL_DATA_KEYS=app.config["CLINICAL_DATA_KEYS"])
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["SESSION_COOKIE_HTTPONLY"]
    assert prod.config["REMEMBER_COOKIE_SECURE"]
    # the device cookie set at sign-in (app/accounts/devices.py), over HTTPS as production serves
    https = prod.test_client()
    page = https.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    signed_in = https.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"username": "teacher", "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 302
    device = next(c for c in signed_in.headers.getlist("Set-Cookie") if c.startswith("xq_device="))
    assert "Secure" in device and "HttpOnly" in device and "SameSite=Lax" in device
