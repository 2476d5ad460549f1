"""Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a browser where an account
completed a sign-in is recognised at its next sign-in, so that strangers' failed attempts at that account do
not slow its owner down there (app/accounts/lockout.py). The cookie proves nothing by itself: it only picks
which count an attempt falls into. Signed, HttpOnly, one entry per account (a shared staff-room computer
holds several), renewed with a new device id at every complete sign-in.
"""
import secrets
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE_NAME = "xq_device"
LIFETIME = timedelta(days=180)
MAX_ACCOUNTS = 8
_ID_LENGTH = 32


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="xinqiao-device")


def trusted_devices(request) -> dict[int, str]:
    """user id → device id, from the request's device cookie (empty when missing, forged or expired)."""
    raw = request.cookies.get(COOKIE_NAME)
    if not raw:
        return {}
    try:
        entries = _serializer().loads(raw, max_age=LIFETIME.total_seconds())
    except BadSignature:  # SignatureExpired included
        return {}
    if not isinstance(entries, list):
        return {}
    return {entry[0]: entry[1] for entry in entries[:MAX_ACCOUNTS]
            if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], int)
            and isinstance(entry[1], str) and len(entry[1]) == _ID_LENGTH}


def remember(response, user, trusted: dict) -> None:
    """After a complete sign-in: this browser is the user's device from now on, under a new id."""
    entries = [[user.id, secrets.token_hex(_ID_LENGTH // 2)]]
    entries += [[user_id, device] for user_id, device in trusted.items() if user_id != user.id]
    response.set_cookie(COOKIE_NAME, _serializer().dumps(entries[:MAX_ACCOUNTS]), max_age=int(LIFETIME.total_seconds()),
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False), httponly=True, samesite="Lax")
