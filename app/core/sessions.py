"""Flask's signed-cookie session, with its signing serializer built once instead of on every request, and none
for the student API.

Flask builds the serializer twice per request (open and save), and building one serializes a test value:
in the profile of the student API that was ~5 % of a request (bench/README.md, round 4).
"""
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class RequestOnlySession(SecureCookieSession):
    """The session of a request under the student API: empty at the start, never saved, no cookie read or set.

    The API is authenticated by its bearer token and answers in the language its client asks for with
    Accept-Language (its OpenAPI document says so; the student page sends the page's language). A browser's
    cookie, a staff member's one included, plays no part in it, and reading and signing the cookie for
    nothing was ~15 % of a submission's time in Flask (bench/README.md, round 6).
    """


class CookieSessionInterface(SecureCookieSessionInterface):
    def __init__(self, without_cookie_under: str | tuple):
        self._serializers = {}
        self.without_cookie_under = without_cookie_under  # a path prefix: the student API's

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = self._serializers[keys] = super().get_signing_serializer(app)
        return serializer

    def open_session(self, app, request):
        if request.path.startswith(self.without_cookie_under):
            return RequestOnlySession()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if not isinstance(session, RequestOnlySession):
            super().save_session(app, session, response)
