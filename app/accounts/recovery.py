"""A forgotten password, when mail is on: a time-limited, single-use link sent to the account's address.

The link carries a signed token (itsdangerous, the app's secret key) naming the account and a fingerprint of its
password hash and address: setting a password (by the link or otherwise) or changing the address voids every
earlier link, and PASSWORD_RESET_MINUTES voids it anyway. Asking reveals nothing: an unknown address gets the
same answer after the same work (a token is made and an audit row written either way), and the mail is sent after
the answer has gone. The second factor is untouched: an account that has one still needs its code to sign in.
"""
import hashlib
import logging
from email.message import EmailMessage

from flask import after_this_request, current_app
from flask_babel import force_locale, gettext as _
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.accounts import services
from app.accounts.models import User
from app.accounts.passwords import hash_password, password_problem, verify_password
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.notifications import services as notifications

logger = logging.getLogger(__name__)
_SALT = "xinqiao-password-reset"


def mail_on() -> bool:
    return notifications.mail_configured()


class _ClockSigner(TimestampSigner):
    """Signs and checks the age on the application's clock (app.core.clock), as every other deadline here."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT, signer=_ClockSigner)


def _fingerprint(user) -> str:
    return hashlib.sha256(f"{user.password_hash}|{user.email or ''}".encode()).hexdigest()[:24]


def make_token(user) -> str:
    return _serializer().dumps({"u": user.id, "f": _fingerprint(user)})


def user_for_token(token):
    """The active account the token was made for, or None (bad, expired, or already used)."""
    try:
        data = _serializer().loads(token or "", max_age=current_app.config["PASSWORD_RESET_MINUTES"] * 60)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = db.session.get(User, data["u"])
    if user is None or not user.active or not user.email or data.get("f") != _fingerprint(user):
        return None
    return user


def request_reset(address: str):
    """Send a reset link to every active account with this address; the same work and answer when there is none."""
    address = (address or "").strip()
    users = db.session.scalars(select(User).where(func.lower(User.email) == address.lower(), User.active.is_(True))
                               ).all() if address else []
    links = [(user.email, _link(make_token(user))) for user in users]
    if not users:
        _link(_serializer().dumps({"u": 0, "f": hashlib.sha256(address.encode()).hexdigest()[:24]}))
    audit.record(None, "password_reset_requested", "user", users[0].id if users else None,
                 outcome="ok" if users else "no_account")
    if links:
        _send_after_response(links)


def _link(token) -> str:
    return current_app.config["XINQIAO_BASE_URL"].rstrip("/") + "/password/reset/" + token


def _send_after_response(links):
    app = current_app._get_current_object()

    @after_this_request
    def send(response):
        def deliver():
            with app.app_context():
                for address, link in links:
                    try:
                        notifications.send_message(_compose(address, link))
                    except Exception:  # noqa: BLE001  the person may ask again; never break the answer
                        logger.warning("a password-reset mail could not be sent")

        response.call_on_close(deliver)
        return response


def _compose(address, link):
    cfg = current_app.config
    with force_locale(cfg["BABEL_DEFAULT_LOCALE"]):
        message = EmailMessage()
        message["Subject"] = _("XinQiao: reset your password")
        message["From"] = cfg["SMTP_FROM"]
        message["To"] = address
        message.set_content("\n".join([
            _("Someone asked to reset the XinQiao password of the account with this address."),
            _("Choose a new password here within %(minutes)s minutes (the link works once):",
              minutes=cfg["PASSWORD_RESET_MINUTES"]),
            link,
            "",
            _("If it was not you, ignore this mail: your password stays as it is."),
        ]))
    return message


def complete_reset(user, new_password: str):
    """Set the password the person chose through the link; every session of the account ends; audited."""
    problem = password_problem(new_password, user.username)
    if problem:
        raise services.AccountError(problem)
    if verify_password(user.password_hash, new_password):
        raise services.AccountError("same_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    services.end_all_sessions(user)
    audit.record(user, "password_reset_by_link", "user", user.id)
