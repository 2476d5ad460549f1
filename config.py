"""Configuration classes. Environment variables override; DATABASE_URL picks the engine."""
import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("XINQIAO_INSTANCE_DIR", BASE_DIR / "instance"))


def _env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _sqlite_url(name):
    return f"sqlite:///{INSTANCE_DIR / name}"


class Config:
    """Settings shared by every environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or _sqlite_url("xinqiao.sqlite")
    # PostgreSQL restarts drop pooled connections (dropped for SQLite in app/__init__.py). A database error's message
    # names the statement but not its values: bound values are names, answers and notes, and messages reach the log.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # PostgreSQL's JIT compiles any statement whose estimated cost passes jit_above_cost: the scoped queries of a
    # school's dashboard at a province's size (EXISTS on enrolments and consents) are estimated far above what they
    # cost and paid ~20 ms of compilation each for ~5 ms of work. Off for the application's connections; 1 keeps the
    # server's setting (bench/README.md, "A province's data").
    POSTGRESQL_JIT = os.environ.get("POSTGRESQL_JIT", "0") == "1"
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "15000"))
    # FULL survives power loss; NORMAL (WAL) survives a killed process but may lose the last commits on power loss.
    SQLITE_SYNCHRONOUS = os.environ.get("SQLITE_SYNCHRONOUS", "FULL").upper()

    # Comma-separated Fernet keys for clinical free text; the first one encrypts.
    CLINICAL_DATA_KEYS = os.environ.get("CLINICAL_DATA_KEYS")
    # Comma-separated keys of the audit chain's HMAC, newest first: the first signs, all verify (app/audit/chain.py).
    AUDIT_KEYS = os.environ.get("AUDIT_KEYS")
    # Checkpoints of the audit chain's head, outside the database (app/audit/checkpoints.py); "" turns them off.
    AUDIT_CHECKPOINT_DIR = os.environ.get("AUDIT_CHECKPOINT_DIR", str(INSTANCE_DIR / "audit-checkpoints")) or None
    AUDIT_CHECKPOINT_EVERY = int(os.environ.get("AUDIT_CHECKPOINT_EVERY", "100"))  # events, or
    AUDIT_CHECKPOINT_SECONDS = int(os.environ.get("AUDIT_CHECKPOINT_SECONDS", "60"))  # seconds, whichever first

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("XINQIAO_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = ("zh_CN", "en")

    WTF_CSRF_TIME_LIMIT = None  # a class period can be long; the token lives with the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    STAFF_IDLE_TIMEOUT = timedelta(minutes=int(os.environ.get("STAFF_IDLE_MINUTES", "30")))

    # Counts shared by every worker on this machine without Redis (app/core/ratelimit_storage.py); several
    # machines: redis://… Per-process memory:// doubled every limit under `make run`'s two workers (issue 15).
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or f"xinqiao-sqlite:///{INSTANCE_DIR / 'ratelimits.sqlite3'}"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "20 per minute")
    # Student joins have no per-address limit (a whole school joins from one NAT address): guessing is slowed per
    # client and student number, address and student number, client and session code (app/screening/join_guard.py).
    # A join the database cannot take just now answers 503 with this Retry-After; the page tries again by itself.
    JOIN_RETRY_AFTER_SECONDS = int(os.environ.get("JOIN_RETRY_AFTER_SECONDS", "2"))
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "xinqiao")
    # Years a student's file is kept after the student left the last school. The legal basis and the
    # number are for the deploying institution to set; `flask retention purge --dry-run` shows the effect.
    RETENTION_YEARS = int(os.environ.get("RETENTION_YEARS", "10"))
    MAX_CONTENT_LENGTH = 60 * 1024 * 1024
    # The student API's bodies (app/__init__.py BODY_LIMITS): refused with 413 before anything reads them.
    JOIN_MAX_BYTES = int(os.environ.get("JOIN_MAX_BYTES", "4096"))
    SUBMISSION_MAX_BYTES = int(os.environ.get("SUBMISSION_MAX_BYTES", str(64 * 1024)))
    ROSTER_MAX_BYTES = int(os.environ.get("ROSTER_MAX_MB", "10")) * 1024 * 1024  # larger rosters get a clear message
    # Setting up (README "Starting empty"): a one-time password given by an admin works this many days; a
    # password-reset link (mail on) this many minutes; reset requests per address and per e-mail address.
    ONE_TIME_PASSWORD_DAYS = int(os.environ.get("ONE_TIME_PASSWORD_DAYS", "7"))
    PASSWORD_RESET_MINUTES = int(os.environ.get("PASSWORD_RESET_MINUTES", "30"))
    PASSWORD_RESET_RATE_LIMIT = os.environ.get("PASSWORD_RESET_RATE_LIMIT", "5 per 15 minutes")
    PASSWORD_RESET_ADDRESS_RATE_LIMIT = os.environ.get("PASSWORD_RESET_ADDRESS_RATE_LIMIT", "3 per hour")

    # Service-level targets for alerts, in minutes (DESIGN.md: risk levels).
    ALERT_TARGET_MINUTES = {
        "critical": int(os.environ.get("ALERT_TARGET_CRITICAL_MINUTES", "60")),
        "high": int(os.environ.get("ALERT_TARGET_HIGH_MINUTES", str(24 * 60))),
        "moderate": int(os.environ.get("ALERT_TARGET_MODERATE_MINUTES", str(7 * 24 * 60))),
    }
    # Referral waiting-time targets in hours, from sending to the first assessment, by urgency.
    # These are local service targets that each district sets for itself (configurable here),
    # not clinical facts.
    REFERRAL_TARGET_HOURS = {"critical": 24, "high": 72, "moderate": 14 * 24, "low": 30 * 24}
    # A condition of a return to school is checked by the school every this many days (first contact
    # and the default for the next one); the teacher may set another date at each contact.
    FOLLOW_UP_INTERVAL_DAYS = int(os.environ.get("FOLLOW_UP_INTERVAL_DAYS", "7"))
    # How long a district admin's break-glass opening of one student's clinical text lasts.
    BREAK_GLASS_MINUTES = int(os.environ.get("BREAK_GLASS_MINUTES", "30"))
    # Escalated and critical alerts and referral changes by e-mail: off unless MAIL_ENABLED and SMTP_HOST are set.
    MAIL_ENABLED = _env_bool("MAIL_ENABLED")
    SMTP_HOST = os.environ.get("SMTP_HOST")
    SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD")
    SMTP_FROM = os.environ.get("SMTP_FROM", "xinqiao@localhost")
    SMTP_STARTTLS = _env_bool("SMTP_STARTTLS", default=True)
    SMTP_SSL = _env_bool("SMTP_SSL")  # implicit TLS from the first byte (port 465); no STARTTLS then
    SMTP_CA_FILE = os.environ.get("SMTP_CA_FILE")  # PEM CA file trusted instead of the system's CAs
    SMTP_TIMEOUT = int(os.environ.get("SMTP_TIMEOUT", "10"))
    MAIL_MAX_ATTEMPTS = int(os.environ.get("MAIL_MAX_ATTEMPTS", "5"))
    # Links in e-mails point here (mails from the cron sweep have no request to take the host from).
    XINQIAO_BASE_URL = os.environ.get("XINQIAO_BASE_URL", "http://127.0.0.1:5000")
    # Notification channels (README: "Notification channels"). Each is off until its settings are present.
    CHANNEL_TIMEOUT_SECONDS = float(os.environ.get("CHANNEL_TIMEOUT_SECONDS", "5"))
    CHANNEL_MAX_ATTEMPTS = int(os.environ.get("CHANNEL_MAX_ATTEMPTS", "8"))   # 30 s, 1, 2, 4 … min apart: ~1 hour
    CHANNEL_RETRY_SECONDS = int(os.environ.get("CHANNEL_RETRY_SECONDS", "30"))
    CHANNEL_PARALLEL_SENDS = int(os.environ.get("CHANNEL_PARALLEL_SENDS", "8"))
    ACK_LINK_MINUTES = int(os.environ.get("ACK_LINK_MINUTES", "60"))          # one-tap acknowledgement links
    SMS_PROVIDER = os.environ.get("SMS_PROVIDER", "")                         # aliyun or tencent
    ALIYUN_SMS_ACCESS_KEY_ID = os.environ.get("ALIYUN_SMS_ACCESS_KEY_ID")
    ALIYUN_SMS_ACCESS_KEY_SECRET = os.environ.get("ALIYUN_SMS_ACCESS_KEY_SECRET")
    ALIYUN_SMS_SIGN_NAME = os.environ.get("ALIYUN_SMS_SIGN_NAME")
    ALIYUN_SMS_TEMPLATE_ALERT = os.environ.get("ALIYUN_SMS_TEMPLATE_ALERT")
    ALIYUN_SMS_TEMPLATE_CODE = os.environ.get("ALIYUN_SMS_TEMPLATE_CODE")
    ALIYUN_SMS_ENDPOINT = os.environ.get("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com")
    ALIYUN_SMS_PROTOCOL = os.environ.get("ALIYUN_SMS_PROTOCOL", "https")
    TENCENT_SMS_SECRET_ID = os.environ.get("TENCENT_SMS_SECRET_ID")
    TENCENT_SMS_SECRET_KEY = os.environ.get("TENCENT_SMS_SECRET_KEY")
    TENCENT_SMS_SDK_APP_ID = os.environ.get("TENCENT_SMS_SDK_APP_ID")
    TENCENT_SMS_SIGN_NAME = os.environ.get("TENCENT_SMS_SIGN_NAME")
    TENCENT_SMS_TEMPLATE_ALERT = os.environ.get("TENCENT_SMS_TEMPLATE_ALERT")
    TENCENT_SMS_TEMPLATE_CODE = os.environ.get("TENCENT_SMS_TEMPLATE_CODE")
    TENCENT_SMS_REGION = os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou")
    TENCENT_SMS_ENDPOINT = os.environ.get("TENCENT_SMS_ENDPOINT", "sms.tencentcloudapi.com")
    TENCENT_SMS_SCHEME = os.environ.get("TENCENT_SMS_SCHEME", "https")
    WECOM_CORP_ID = os.environ.get("WECOM_CORP_ID")
    WECOM_AGENT_ID = os.environ.get("WECOM_AGENT_ID")
    WECOM_APP_SECRET = os.environ.get("WECOM_APP_SECRET")
    WECOM_API_BASE = os.environ.get("WECOM_API_BASE", "https://qyapi.weixin.qq.com")
    STUDENT_TOKEN_MAX_AGE = int(os.environ.get("STUDENT_TOKEN_MAX_AGE", str(4 * 3600)))
    # How long a submission waits for the writer's commit before the page is told to retry (same key).
    SUBMISSION_WAIT_SECONDS = float(os.environ.get("SUBMISSION_WAIT_SECONDS", "20"))
    EXTRA_SCALE_DIRS = [str(INSTANCE_DIR / "scales")]

    # The city's own crisis lines, shown to a student in danger before the national ones and 120:
    # "number=name;number=name" (app/screening/crisis.py).
    LOCAL_CRISIS_LINES = os.environ.get("LOCAL_CRISIS_LINES", "")

    # --- running for years (deploy/, README "Going live") ---
    # Reverse proxies in front of gunicorn that set X-Forwarded-For and X-Forwarded-Proto (1 behind the nginx of
    # deploy/). 0 trusts no such header: the address a rate limit counts is the connection's.
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Who may read /metrics: addresses or networks, comma-separated. A request that came through a proxy never may.
    METRICS_ALLOWED_IPS = os.environ.get("METRICS_ALLOWED_IPS", "127.0.0.1,::1")
    # /healthz says "degraded" when the scheduled alert sweep has not run for this long.
    SWEEP_STALE_MINUTES = int(os.environ.get("SWEEP_STALE_MINUTES", "5"))
    # Where `flask backup create` writes; keep it on another disk than the database, and never beside the keys.
    BACKUP_DIR = os.environ.get("BACKUP_DIR", str(BASE_DIR / "backups"))

    # --- FHIR (app/interop/fhir, README "FHIR for the partner hospital") ---
    # The base of XinQiao's own identifier and code systems (学籍号, case numbers, bands, risk levels): a URL the
    # centre controls, the same for as long as the data is exchanged.
    FHIR_SYSTEM_BASE = os.environ.get("FHIR_SYSTEM_BASE", "https://xinqiao.example.org/fhir")
    # Where bulk exports write their NDJSON files, and how long the files are kept after the export finished.
    FHIR_EXPORT_DIR = os.environ.get("FHIR_EXPORT_DIR", str(INSTANCE_DIR / "fhir-exports"))
    FHIR_EXPORT_KEEP_HOURS = int(os.environ.get("FHIR_EXPORT_KEEP_HOURS", "24"))
    # Run an export in a thread of the worker that received it; 0 leaves it to `flask fhir run-exports` (cron).
    FHIR_EXPORT_THREADS = os.environ.get("FHIR_EXPORT_THREADS", "1") == "1"
    # --- exports (app/exports, README "Exports") ---
    # Files of export jobs (the district's XLSX of every response, research exports), removed after EXPORT_KEEP_HOURS.
    EXPORT_DIR = os.environ.get("EXPORT_DIR", str(INSTANCE_DIR / "exports"))
    EXPORT_KEEP_HOURS = int(os.environ.get("EXPORT_KEEP_HOURS", "24"))
    # An XLSX export of more rows than this runs as a job (a ZIP's directory comes last: nothing can be sent before
    # the whole file is built); CSV always streams.
    EXPORT_XLSX_DIRECT_ROWS = int(os.environ.get("EXPORT_XLSX_DIRECT_ROWS", "20000"))
    # The research export's pseudonyms: HMAC-SHA256 under this key, which is never in the database (production
    # refuses research exports without it; development generates one into instance/).
    RESEARCH_PSEUDONYM_KEY = os.environ.get("RESEARCH_PSEUDONYM_KEY")
    # Rows whose quasi-identifiers are shared by fewer students than this are generalised or suppressed.
    RESEARCH_MIN_GROUP = int(os.environ.get("RESEARCH_MIN_GROUP", "5"))


class DevelopmentConfig(Config):
    DEBUG = False  # the demo serves like production would; set FLASK_DEBUG=1 to debug


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or "sqlite://"
    CLINICAL_DATA_KEYS = "bmOFb3_4Txc1ZTyuBDqJjoxy4O8V5dhhCQOyFbVUZ5M="
    AUDIT_KEYS = "test-audit-key-not-for-production-0123456789"
    AUDIT_CHECKPOINT_DIR = None  # every test empties the tables; the checkpoint tests set their own directory
    RATELIMIT_ENABLED = False
    PASSWORD_HASH_FAST = True  # argon2 at test strength keeps the suite quick
    MAIL_ENABLED = False  # tests that send mail turn it on against their own local SMTP server


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")

    @classmethod
    def validate(cls):
        missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "CLINICAL_DATA_KEYS", "AUDIT_KEYS")
                   if not os.environ.get(name)]
        if missing:
            raise RuntimeError("Production needs these environment variables: " + ", ".join(missing))


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
