"""Signed, time-limited bearer tokens for a student's session in one campaign.

A token names the campaign, the student and the session generation it was issued in. It is good while it is
younger than STUDENT_TOKEN_MAX_AGE; the API also refuses it once the campaign has closed (or its window
ended) and once a teacher ended the student's session (the participant's generation moved on).
"""
import time
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


_serializers = {}  # one per secret key: built once, not on every request


def _serializer():
    secret = current_app.config["SECRET_KEY"]
    serializer = _serializers.get(secret)
    if serializer is None:
        serializer = _serializers[secret] = URLSafeTimedSerializer(secret, salt="xinqiao-student-session")
    return serializer


class StudentToken(NamedTuple):
    campaign_id: int
    student_id: int
    generation: int


def issue(campaign_id: int, student_id: int, generation: int = 0) -> str:
    return _serializer().dumps({"c": campaign_id, "s": student_id, "g": generation})


# Tokens whose signature was checked: a student sends the same token with each questionnaire of a session.
# Only valid tokens enter, keyed with the secret that signed them; the age is checked again on every use.
_verified: dict = {}
_VERIFIED_MAX = 10_000


def read(token: str) -> StudentToken | None:
    """The token's campaign, student and generation, or None when the token is bad or expired."""
    secret, max_age = current_app.config["SECRET_KEY"], current_app.config["STUDENT_TOKEN_MAX_AGE"]
    known = _verified.get((secret, token))
    if known is not None:
        ids, signed_at = known
        return ids if time.time() - signed_at <= max_age else None
    try:
        data, signed_at = _serializer().loads(token, max_age=max_age, return_timestamp=True)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("s"), int) \
            or not isinstance(data.get("g", 0), int):
        return None
    ids = StudentToken(data["c"], data["s"], data.get("g", 0))  # tokens issued before generations are 0
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(secret, token)] = (ids, signed_at.timestamp())
    return ids
