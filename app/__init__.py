"""XinQiao (心桥) application factory."""
import functools
import json
import logging
import os
import re
import secrets

from babel import Locale
from flask import Flask, current_app, jsonify, render_template, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from sqlalchemy import event
from werkzeug.exceptions import MethodNotAllowed

import screening_scales
from config import CONFIGS, INSTANCE_DIR
from app.audit import chain as audit_chain, checkpoints as audit_checkpoints
from app.core import clock, crypto, sqlite_writer
from app.core.sessions import CookieSessionInterface
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from app.screening import crisis

logger = logging.getLogger(__name__)

# The student JSON API's paths: its errors are JSON, and it keeps no cookie session (app/core/sessions.py).
API_PATH = "/api/"
FHIR_PATH = "/fhir/"  # the hospital systems' FHIR API: bearer tokens, no session cookie either (app/interop/fhir)


class _Flask(Flask):
    """Flask that asks once, not on every request, whether a hook or view is a coroutine function.

    Flask runs every request hook (~14 here) and view through ensure_sync, which inspects the function each
    time: ~5 % of a student's submission in Flask (bench/README.md, round 5).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._callables = {}

    def ensure_sync(self, func):
        try:
            return self._callables[func]
        except KeyError:
            callable_ = self._callables[func] = super().ensure_sync(func)
            return callable_
        except TypeError:  # not hashable: asked each time, as Flask does
            return super().ensure_sync(func)


def create_app(config_name: str | None = None, **overrides) -> Flask:
    config_name = config_name or os.environ.get("XINQIAO_CONFIG", "development")
    config_class = CONFIGS[config_name]
    if hasattr(config_class, "validate"):
        config_class.validate()
    app = _Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    app.session_interface = CookieSessionInterface(without_cookie_under=(API_PATH, FHIR_PATH))
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.config["CONFIG_NAME"] = config_name  # a second app on another database (backup checks) uses the same
    _ensure_secrets(app)
    crypto.configure(app.config["CLINICAL_DATA_KEYS"])
    app.extensions["audit_keyring"] = audit_chain.keyring_from_config(app.config)
    audit_checkpoints.init_app(app)
    crisis.init_app(app)  # a malformed LOCAL_CRISIS_LINES stops the start-up
    app.extensions["scales"] = screening_scales.load_registry(extra_dirs=app.config["EXTRA_SCALE_DIRS"])

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A ping per checkout costs a round trip on every transaction and a SQLite file never drops the line.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    elif app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") and not app.config["POSTGRESQL_JIT"]:
        _postgresql_without_jit(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    _no_limiter_lookup_for_submissions(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_login(app)
    _init_engine(app)
    _register_blueprints(app)
    # The student API's submissions are stored by the server's writer process, or by a writer thread in this
    # process when there is none (app/screening/writer_process.py, app/screening/intake.py).
    from app.screening import writer_process

    app.extensions["submission_writer"] = writer_process.writer_for(app)
    _register_request_hooks(app)
    _register_error_handlers(app)
    _register_cli(app)
    _register_template_helpers(app)
    _trust_proxies(app)
    _refuse_cut_bodies(app)
    return app


def _postgresql_without_jit(app):
    """jit=off in the connection's start-up options (config POSTGRESQL_JIT): no compilation for short queries."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args["options"] = " ".join(filter(None, [connect_args.get("options"), "-c jit=off"]))
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _refuse_cut_bodies(app):
    """A body that ends before its Content-Length is a 400, not a shorter body (app/core/whole_body.py)."""
    from app.core.whole_body import refuse_cut_bodies

    app.wsgi_app = refuse_cut_bodies(app.wsgi_app)


def _trust_proxies(app):
    """Behind TRUSTED_PROXIES reverse proxies (nginx), take the client's address and scheme from the headers they
    set, so that rate limits count the real client; with none (the default) a forged header changes nothing."""
    count = app.config["TRUSTED_PROXIES"]
    if count > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def _ensure_secrets(app):
    """Development keeps generated keys in instance/; production refuses to start without them."""
    if not app.config.get("SECRET_KEY"):
        path = INSTANCE_DIR / "secret_key"
        if not path.exists():
            INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        app.config["SECRET_KEY"] = path.read_text().strip()
    if not app.config.get("CLINICAL_DATA_KEYS"):
        app.config["CLINICAL_DATA_KEYS"] = crypto.dev_keys(INSTANCE_DIR)
    if not app.config.get("AUDIT_KEYS"):
        app.config["AUDIT_KEYS"] = audit_chain.dev_key(INSTANCE_DIR)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:///:memory:"):
        os.makedirs(os.path.dirname(uri[len("sqlite:///"):]) or ".", exist_ok=True)


# Parsed once: flask-babel parses what the selector returns on every request that translates anything, and
# babel's Locale.parse takes ~0.1 ms (a page, an API message, a student's crisis resources).
_LOCALES = {code: Locale.parse(code) for code in ("zh_CN", "en")}


def _select_locale():
    chosen = session.get("lang")
    if chosen in _LOCALES:
        return _LOCALES[chosen]
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    return _LOCALES["en" if best == "en" else "zh_CN"]


def _no_limiter_lookup_for_submissions(app):
    """Flask-Limiter looks for application-wide limits before every request, for limit headers after it and
    clears its state at the end; this app has no application-wide limit (each limit is on its view, checked by
    its decorator). For the student's submission, the busiest endpoint, which has no limit, those steps were
    ~20 % of its time in Flask (bench/README.md): its hooks skip that endpoint. A limit put on submit_response by
    decorator would still be checked; an application-wide one would not reach it."""
    if not limiter.enabled:
        return  # RATELIMIT_ENABLED off: Flask-Limiter added no hook
    before, after = app.before_request_funcs[None], app.after_request_funcs[None]
    teardown = app.teardown_request_funcs[None]
    # All three fail at start-up if Flask-Limiter changes how it hooks in.
    check = before[before.index(limiter._check_request_limit)]
    inject = next(hook for hook in after if isinstance(hook, functools.partial) and hook.args == (limiter,))
    release = teardown[teardown.index(limiter._Limiter__release_context)]
    submission = "api.submit_response"

    def check_request_limit():
        return None if request.endpoint == submission else check()

    def inject_limit_headers(response):
        return response if request.endpoint == submission else inject(response)

    def release_context(exc=None):
        if request.endpoint != submission:
            release(exc)

    before[before.index(check)] = check_request_limit
    after[after.index(inject)] = inject_limit_headers
    teardown[teardown.index(release)] = release_context


def _init_login(app):
    from app.accounts.models import User

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(token):
        try:
            user_id, version = (int(part) for part in token.split(":"))
        except (ValueError, AttributeError):
            return None
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.session_version != version:
            return None
        return user


def _init_engine(app):
    """SQLite: WAL, a busy timeout, foreign keys, and BEGIN IMMEDIATE so writers queue instead of failing."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_ms = app.config["SQLITE_BUSY_TIMEOUT_MS"]
    synchronous = app.config["SQLITE_SYNCHRONOUS"]
    if synchronous not in ("FULL", "EXTRA", "NORMAL"):
        raise RuntimeError("SQLITE_SYNCHRONOUS must be FULL, EXTRA or NORMAL")
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")  # FULL: an acknowledged submission survives power loss
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    # Writers queue on a lock (threads and processes) and then BEGIN IMMEDIATE: see app/core/sqlite_writer.py.
    app.extensions["sqlite_writer"] = sqlite_writer.install(engine, busy_ms / 1000)


def _register_blueprints(app):
    from app.accounts.views import bp as accounts_bp
    from app.api.views import bp as api_bp
    from app.care.views import bp as care_bp
    from app.dashboards.views import bp as dashboards_bp
    from app.files.views import bp as files_bp
    from app.health import bp as health_bp
    from app.notifications import services as notifications
    from app.notifications.views import bp as notifications_bp
    from app.risk.views import bp as risk_bp
    from app.risk.views import concerns_bp
    from app.screening.views import bp as screening_bp
    from app.students.views import bp as students_bp

    for bp in (accounts_bp, api_bp, care_bp, dashboards_bp, files_bp, health_bp, risk_bp, screening_bp, students_bp):
        app.register_blueprint(bp)
    from app.students.admin_views import bp as rosters_bp
    from app.students.admission_views import bp as admissions_bp

    app.register_blueprint(rosters_bp)
    app.register_blueprint(admissions_bp)
    from app.notifications.channel_views import bp as channels_bp

    for bp in (notifications_bp, concerns_bp, channels_bp):
        app.register_blueprint(bp)
    notifications.init_app(app)
    from app.accounts.admin_views import bp as account_admin_bp
    from app.audit.views import bp as audit_bp

    for bp in (account_admin_bp, audit_bp):
        app.register_blueprint(bp)
    _register_setting_up(app)
    _register_warning_register(app)
    from app.monitoring import views as monitoring

    app.register_blueprint(monitoring.bp)
    monitoring.init_app(app)
    from app.scales.views import bp as scales_bp

    app.register_blueprint(scales_bp)
    _register_fhir(app)
    _register_committee(app)
    _register_live_alerts(app)
    _register_exports(app)


def _register_fhir(app):
    """FHIR R4 for the partner hospital and the district (issue 21, app/interop/fhir)."""
    from app.interop.fhir.admin_views import bp as fhir_admin_bp
    from app.interop.fhir.views import bp as fhir_bp

    from app.interop.fhir.cli import fhir_cli

    for bp in (fhir_bp, fhir_admin_bp):
        app.register_blueprint(bp)
    app.cli.add_command(fhir_cli)


def _register_committee(app):
    """Class committee members (班级心理委员) and the term and district reports (issue 19, items 4 and 7)."""
    from app.committee.views import bp as committee_bp
    from app.reports.views import bp as reports_bp

    app.register_blueprint(committee_bp)
    app.register_blueprint(reports_bp)


def _register_live_alerts(app):
    """New critical and high alerts on every open staff page, by light polling (issue 17)."""
    from app.risk.live import bp as live_alerts_bp

    app.register_blueprint(live_alerts_bp)


def _register_exports(app):
    """The district's exports: every response (streamed), the research export (issue 21)."""
    from app.exports.views import bp as exports_bp

    app.register_blueprint(exports_bp)


def _register_setting_up(app):
    """Organisations, classes, staff accounts and their imports, password recovery (issue 16)."""
    from app.accounts import first_use
    from app.accounts.recovery_views import bp as recovery_bp
    from app.accounts.staff_import_views import bp as staff_import_bp
    from app.orgs.views import bp as orgs_bp

    for bp in (orgs_bp, staff_import_bp, recovery_bp):
        app.register_blueprint(bp)
    first_use.init_app(app)


def _register_warning_register(app):
    """The second stage, the warning register (预警库) and plans (一生一策): issue 19."""
    from app.register.views import bp as register_bp

    app.register_blueprint(register_bp)


SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
     "form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)


# A JSON string may escape half of a UTF-16 surrogate pair ("\\ud800"): no database can store such a string.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _has_lone_surrogate(body: bytes) -> bool:
    """True when the JSON body decodes to a string holding half a surrogate pair (a whole pair is one character)."""
    try:
        json.dumps(json.loads(body), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except (ValueError, RecursionError):
        return False  # not JSON: the view answers 400 for that itself
    return False


# Each endpoint's body limit, where it needs less than MAX_CONTENT_LENGTH (uploads): a join is a few hundred bytes,
# a submission a few kilobytes. A 58 MB join used to be read and parsed whole (issue 20).
BODY_LIMITS = {"api.create_student_session": "JOIN_MAX_BYTES", "api.submit_response": "SUBMISSION_MAX_BYTES"}


def _limit_bodies(app):
    """Before any other hook (Flask-Limiter, CSRF, the NUL check) can read the body: refuse one larger than its
    endpoint's limit from its Content-Length, and cap what is read of one sent without it (chunked)."""
    limits = {endpoint: app.config[name] for endpoint, name in BODY_LIMITS.items()}

    def limit_body():
        limit = limits.get(request.endpoint)
        if limit is None:
            return None
        if (request.content_length or 0) > limit:
            return _error_response(413)
        request.max_content_length = limit
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, limit_body)


def _register_request_hooks(app):
    from app.auth import policy

    _limit_bodies(app)

    @app.before_request
    def deny_undeclared():
        # Deny by default: a route whose access was never declared is not served.
        if request.endpoint is None and isinstance(request.routing_exception, MethodNotAllowed):
            return _method_not_allowed(request.routing_exception)  # the path exists; this method does not
        if request.endpoint is None or not policy.is_declared(request.endpoint):
            return _error_response(404)
        return None

    @app.before_request
    def refuse_impossible_input():
        # A NUL character is never valid input, and PostgreSQL text cannot hold it: refuse it as a bad
        # request before any view sees it (forms, query strings and JSON bodies alike).
        req = request._get_current_object()  # one proxy lookup, not one per use: this runs on every request
        if any(isinstance(v, int) and v >= 2**31 for v in (req.view_args or {}).values()):
            return _error_response(404)  # no row has such an id, and PostgreSQL's integer cannot compare it
        sources = [req.args] if req.query_string else []
        if req.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            sources.append(req.form)
        for source in sources:
            for key, values in source.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    return _error_response(400)
        if req.is_json:
            body = req.get_data()
            if b"\\u0000" in body or (_SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(body)):
                return _error_response(400)
        return None

    @app.before_request
    def staff_idle_timeout():
        if policy.is_bearer_api(request) or not current_user.is_authenticated:
            return None
        now = int(clock.now().timestamp())
        last_seen = session.get("last_seen")
        if last_seen is not None and now - last_seen > app.config["STAFF_IDLE_TIMEOUT"].total_seconds():
            logout_user()
            session.clear()
            return login_manager.unauthorized()
        if last_seen is None or not getattr(app.view_functions.get(request.endpoint), "_xinqiao_passive", False):
            session["last_seen"] = now  # a page's own polling (policy.passive) is not the person's activity
        return None

    @app.after_request
    def security_headers(response):
        headers = response.headers
        present = {name.lower() for name in headers.keys()}  # one pass: setdefault scans the headers each time
        for name, value in SECURITY_HEADERS:
            if name.lower() not in present:
                headers.add(name, value)
        if request.endpoint != "static":
            # Pages and API answers may carry student data: never cache them anywhere.
            headers["Cache-Control"] = "no-store"
        return response

    @app.teardown_request
    def rollback_on_error(exc):
        if exc is not None:
            db.session.rollback()


MESSAGES = {
    400: _l("The request could not be understood. Go back and try again."),
    404: _l("This page does not exist, or you do not have access to it."),
    405: _l("This action is not allowed here."),
    413: _l("The file is too large."),
    429: _l("Too many attempts. Wait a minute and try again."),
    500: _l("Something went wrong on our side. Nothing was saved from this request. Please try again."),
}


def _error_response(status):
    message = str(MESSAGES.get(status, MESSAGES[500]))
    if request.path.startswith(FHIR_PATH):
        from app.interop.fhir.views import outcome

        return outcome(status, "not-found" if status == 404 else "processing", message)
    if request.path.startswith(API_PATH):
        return jsonify({"error": {"code": str(status), "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def _method_not_allowed(exc):
    """405 with the Allow header RFC 9110 asks for (the methods the path has)."""
    response = current_app.make_response(_error_response(405))
    response.headers["Allow"] = ", ".join(sorted(exc.valid_methods or ()))
    return response


def _register_error_handlers(app):
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def csrf_error(_exc):
        return _error_response(400)

    for status in (400, 404, 413, 429):
        app.register_error_handler(status, lambda exc, status=status: _error_response(status))
    app.register_error_handler(405, _method_not_allowed)

    @app.errorhandler(500)
    def server_error(_exc):
        db.session.rollback()
        return _error_response(500)


def _register_cli(app):
    from app.cli import register
    from app.risk.cli import alerts_cli

    register(app)
    app.cli.add_command(alerts_cli, "alerts")
    from app.backups.cli import backup_cli

    app.cli.add_command(backup_cli)


def _register_template_helpers(app):
    from app.web import template_helpers

    app.context_processor(template_helpers)
