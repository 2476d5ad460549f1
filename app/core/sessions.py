"""Flask's signed-cookie session, with its signing serializer built once instead of on every request.

Flask builds the serializer twice per request (open and save), and building one serializes a test value:
in the profile of the student API that was ~5 % of a request (bench/README.md, round 4).
"""
from flask.sessions import SecureCookieSessionInterface


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self):
        self._serializers = {}

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer
