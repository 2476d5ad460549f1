"""Signed, time-limited bearer tokens for a student's session in one campaign."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


_serializers = {}  # one per secret key: built once, not on every request


def _serializer():
    secret = current_app.config["SECRET_KEY"]
    serializer = _serializers.get(secret)
    if serializer is None:
        serializer = _serializers[secret] = URLSafeTimedSerializer(secret, salt="xinqiao-student-session")
    return serializer


def issue(campaign_id: int, student_id: int) -> str:
    return _serializer().dumps({"c": campaign_id, "s": student_id})


def read(token: str):
    """Return (campaign_id, student_id) or None when the token is bad or expired."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["STUDENT_TOKEN_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int) or not isinstance(data.get("s"), int):
        return None
    return data["c"], data["s"]
