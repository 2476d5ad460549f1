"""Login (password, then the second factor when enrolled), logout, re-authentication, password change,
second-factor enrolment and language choice."""
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import format_timedelta, gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import devices, lockout, services, totp
from app.accounts.forms import LoginForm, PasswordChangeForm, ReauthForm, SecondFactorForm
from app.accounts.models import Role, User
from app.audit import services as audit
from app.auth import policy
from app.core import clock, crypto
from app.extensions import db, limiter

bp = Blueprint("accounts", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)

HOME_BY_ROLE = {
    Role.ADMIN: "dashboards.admin_home",
    Role.TEACHER: "dashboards.teacher_home",
    Role.HOMEROOM: "dashboards.homeroom_home",
    Role.DOCTOR: "dashboards.doctor_home",
}


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths are followed after login."""
    if not target:
        return None
    if not target.isprintable():  # CR/LF would split the Location header; other controls have no place in a path
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.get("/")
@policy.public
def index():
    if current_user.is_authenticated:
        return redirect(url_for(HOME_BY_ROLE[current_user.role]))
    return redirect(url_for("accounts.login"))


LOCKED_MESSAGE = _l("This account is locked after repeated failed codes or passwords. Ask your administrator to "
                    "unlock it; it also unlocks by itself after 24 hours.")


def _too_soon(attempt, form):
    """A sign-in attempt that came before the account's wait was over: refused without being checked."""
    flash(_("Too many failed attempts for this account from this device. Try again in %(wait)s.",
            wait=format_timedelta(timedelta(seconds=attempt.wait_seconds), threshold=1.5)), "error")
    db.session.commit()  # the clean-up of forgotten counts
    response = make_response(render_template("accounts/login.html", form=form), 429)
    response.headers["Retry-After"] = str(attempt.wait_seconds)
    return response


def _complete_login(user, trusted, next_url):
    """Every factor was right: a fresh session, this browser remembered as the user's device."""
    services.complete_sign_in(user, trusted)
    session.clear()  # a fresh session at login: nothing from before survives
    login_user(user)
    policy.mark_authenticated_now()
    audit.record(user, "login", "user", user.id)
    db.session.commit()
    response = redirect(next_url or url_for(HOME_BY_ROLE[user.role]))
    devices.remember(response, user, trusted)
    return response


@bp.route("/login", methods=["GET", "POST"])
@policy.public
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form), 400 if request.method == "POST" else 200
    trusted = devices.trusted_devices(request)
    attempt = services.begin_sign_in(form.username.data, trusted)
    if attempt.wait_seconds:
        return _too_soon(attempt, form)
    user, problem = services.check_password(attempt, form.password.data)
    if user is None:
        db.session.commit()  # keep the count
        flash(str(LOCKED_MESSAGE) if problem == "locked" else _("Wrong username or password."), "error")
        return render_template("accounts/login.html", form=form), 401
    next_url = safe_next(request.args.get("next"))
    if user.totp_secret:
        db.session.commit()
        session.clear()
        session["pending_login"] = {"user": user.id, "at": int(clock.now().timestamp()), "next": next_url}
        return redirect(url_for("accounts.login_code"))
    return _complete_login(user, trusted, next_url)


PENDING_LOGIN_SECONDS = 300


def _pending_user():
    pending = session.get("pending_login")
    if not isinstance(pending, dict) or clock.now().timestamp() - pending.get("at", 0) > PENDING_LOGIN_SECONDS:
        return None, None
    user = db.session.get(User, pending.get("user"))
    usable = user is not None and user.active and user.totp_secret and not lockout.is_locked(user)
    return (user, pending.get("next")) if usable else (None, None)


@bp.route("/login/code", methods=["GET", "POST"])
@policy.public
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login_code():
    """Second step of a login: the password was right, now the code from the authenticator app."""
    user, next_url = _pending_user()
    if user is None:
        session.pop("pending_login", None)
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return render_template("accounts/code.html", form=form), 400 if request.method == "POST" else 200
    if not services.check_login_code(user, form.code.data):
        audit.record(user, "login_second_factor", "user", user.id, outcome="denied")
        db.session.commit()
        if lockout.is_locked(user):
            session.pop("pending_login", None)
            flash(str(LOCKED_MESSAGE), "error")
            return redirect(url_for("accounts.login"))
        flash(_("The code is wrong or was already used. Wait for the next code and try again."), "error")
        return render_template("accounts/code.html", form=form), 401
    return _complete_login(user, devices.trusted_devices(request), next_url)


@bp.post("/logout")
@login_required
def logout():
    # CSRFProtect has already checked the token of this POST.
    services.end_all_sessions(current_user)
    audit.record(current_user, "logout", "user", current_user.id)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/lang/<code>")
@policy.public
def set_language(code):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("accounts.index"))


# --- second factor: enrolment is forced before anything else when the account needs it ------------

ENROLMENT_OPEN_ENDPOINTS = {"accounts.second_factor", "accounts.logout", "accounts.set_language", "static"}


@bp.before_app_request
def force_second_factor_enrolment():
    if policy.is_bearer_api(request) or not current_user.is_authenticated or not current_user.must_enrol_second_factor:
        return None
    if request.endpoint in ENROLMENT_OPEN_ENDPOINTS or not request.endpoint or not policy.is_declared(request.endpoint):
        return None
    if getattr(current_app.view_functions.get(request.endpoint), "_xinqiao_public", False):
        return None  # public pages hold nothing of the account's
    return redirect(url_for("accounts.second_factor"))


@bp.route("/account/second-factor", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def second_factor():
    if current_user.totp_secret:
        return render_template("accounts/second_factor.html", enrolled=True)
    secret = _enrolment_secret()
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        if services.enrol_second_factor(current_user, secret, form.code.data):
            session.pop("totp_enrol", None)
            policy.mark_authenticated_now()
            db.session.commit()
            flash(_("Second factor set up. From now on you sign in with your password and a code."), "success")
            return redirect(url_for(HOME_BY_ROLE[current_user.role]))
        db.session.commit()
        flash(_("The code is wrong. Check the time on your phone and enter the newest code."), "error")
        status = 400
    elif request.method == "POST":
        status = 400
    uri = totp.provisioning_uri(secret, current_user.username)
    return render_template("accounts/second_factor.html", enrolled=False, form=form, secret=secret,
                           qr_svg=totp.qr_svg(uri), forced=current_user.must_enrol_second_factor), status


def _enrolment_secret():
    """One secret per enrolment attempt, kept encrypted in the session until a code proves it."""
    stored = session.get("totp_enrol")
    if stored:
        try:
            return crypto.decrypt(stored)
        except crypto.KeyError_:
            pass
    secret = totp.new_secret()
    session["totp_enrol"] = crypto.encrypt(secret)
    return secret


# --- re-authentication (exports, break-glass) and password change ---------------------------------

def _sign_out_locked():
    """The lock rule has just locked the account (its sessions ended): leave with the reason."""
    logout_user()
    session.clear()
    flash(str(LOCKED_MESSAGE), "error")
    return redirect(url_for("accounts.login"))


@bp.route("/reauth", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def reauth():
    form = ReauthForm()
    next_url = safe_next(request.args.get("next")) or url_for(HOME_BY_ROLE[current_user.role])
    needs_code = bool(current_user.totp_secret)
    if not form.validate_on_submit():
        return render_template("accounts/reauth.html", form=form, needs_code=needs_code), \
            400 if request.method == "POST" else 200
    ok = services.reauthenticate(current_user, form.password.data, form.code.data or "")
    audit.record(current_user, "reauthenticated", "user", current_user.id, outcome="ok" if ok else "denied")
    db.session.commit()
    if lockout.is_locked(current_user):
        return _sign_out_locked()
    if not ok:
        flash(_("Wrong password or code."), "error")
        return render_template("accounts/reauth.html", form=form, needs_code=needs_code), 401
    policy.mark_authenticated_now()
    return redirect(next_url)


PASSWORD_ERRORS = {
    "wrong_password": _l("The current password is wrong."),
    "too_short": _l("The new password needs at least 12 characters."),
    "too_long": _l("The new password is too long."),
    "common": _l("This password is too common. Choose a longer phrase that others would not guess."),
    "contains_username": _l("The password must not contain your username."),
    "same_password": _l("Choose a password different from the current one."),
}


@bp.route("/account/password", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def change_password():
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return render_template("accounts/password.html", form=form), 400 if request.method == "POST" else 200
    problem = services.new_password_problem(current_user, form.new_password.data)
    if problem:  # refused before the current password is looked at: nothing to count
        flash(PASSWORD_ERRORS[problem], "error")
        return render_template("accounts/password.html", form=form), 400
    try:
        services.change_password(current_user, form.current_password.data, form.new_password.data, by=current_user)
    except services.AccountError as exc:
        db.session.commit()  # keep the count and the audit row of a wrong current password
        if lockout.is_locked(current_user):
            return _sign_out_locked()
        flash(PASSWORD_ERRORS[str(exc)], "error")
        return render_template("accounts/password.html", form=form), 400
    db.session.commit()
    # This session continues under the new version; every other session has ended.
    login_user(current_user._get_current_object())
    policy.mark_authenticated_now()
    flash(_("Your password was changed. Other sessions have been signed out."), "success")
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))
