"""One-time passwords: an account made or reset by an admin (or a school's psychology teacher) starts with a
password that only its first sign-in may use, to choose the user's own. Until then every page leads to the
password change, and after ONE_TIME_PASSWORD_DAYS the one-time password no longer works."""
import secrets
from datetime import timedelta

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from app.accounts.passwords import hash_password, password_problem
from app.auth import policy
from app.core import clock

# Lower-case letters and digits without the look-alikes (0/o, 1/l/i), in four groups: easy to read out and type,
# and 31^16 ≈ 2^79 possibilities.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
OPEN_ENDPOINTS = {"accounts.change_password", "accounts.second_factor", "accounts.logout", "accounts.set_language",
                  "static"}


def new_one_time_password(username: str = "") -> str:
    while True:
        password = "-".join("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(4))
        if password_problem(password, username) is None:
            return password


def give_one_time_password(user) -> str:
    """Set a fresh one-time password on `user` and return it (shown once to whoever made it, never stored)."""
    password = new_one_time_password(user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = True
    return password


def one_time_password_expired(user) -> bool:
    days = current_app.config["ONE_TIME_PASSWORD_DAYS"]
    return bool(user.must_change_password and user.password_changed_at
                and clock.now() - user.password_changed_at > timedelta(days=days))


def init_app(app):
    @app.before_request
    def force_password_change():
        if policy.is_bearer_api(request) or not current_user.is_authenticated or not current_user.must_change_password:
            return None
        if one_time_password_expired(current_user):
            logout_user()
            session.clear()
            flash(_("Your one-time password has expired. Ask your administrator for a new one."), "error")
            return redirect(url_for("accounts.login"))
        if request.endpoint in OPEN_ENDPOINTS or not request.endpoint or not policy.is_declared(request.endpoint):
            return None
        if getattr(app.view_functions.get(request.endpoint), "_xinqiao_public", False):
            return None
        return redirect(url_for("accounts.change_password"))
