"""Fixtures: a migrated database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), factories, logins."""
import os
import time
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import Role
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, Partnership, School, SchoolLevel
from app.students.models import Enrollment, EnrollmentReason, Sex, Student
from app.orgs.school_year import academic_year

PASSWORD = "correct-horse-battery-9"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the world's admin has set up a second factor with this key


def totp_code(app, username, secret=TOTP_SECRET):
    """A code the server has not seen yet for this user (codes are accepted once per 30-second step)."""
    import pyotp
    from sqlalchemy import select

    from app.accounts.models import User

    with app.app_context():
        last = db.session.scalar(select(User.totp_last_step).where(User.username == username))
        db.session.remove()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(clock.now())
    if last is not None and last >= step - 1:
        step = last + 1
    # The server accepts one step either side of now: a third sign-in within one step must wait for the next.
    while step > totp.timecode(clock.now()) + 1:
        assert clock._frozen is None, "move the frozen clock on: every code of this step was used"
        time.sleep(1)
    return totp.generate_otp(step)


def _database_url(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        worker = os.environ.get("PYTEST_XDIST_WORKER")
        return _worker_database(url, worker) if worker else url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


def _worker_database(url, worker):
    """Under pytest-xdist each worker gets its own PostgreSQL database beside the given one."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _reset_postgres(url):
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        _reset_postgres(url)
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()  # the schema comes from the migrations, as in production
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request):
    """Every test that used the database leaves it empty, and the clock real."""
    yield
    clock.freeze(None)
    if "app" not in request.fixturenames:
        return  # pure tests (e.g. the scale library) never touched the database
    app = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            # DELETE in dependency order: on tables this small it is faster than TRUNCATE on PostgreSQL.
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield
        db.session.remove()


class Client:
    """A logged-in (or anonymous) browser-like client that carries the CSRF token like a form would."""

    def __init__(self, flask_client, language="en"):
        self.http = flask_client
        self._token = None
        # Tests read English; the Chinese default is proven in test_i18n.
        self.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = language

    def token(self):
        if self._token is None:
            page = self.http.get("/login").get_data(as_text=True)
            self._token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return self._token

    def get(self, url, **kw):
        return self.http.get(url, **kw)

    def post(self, url, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token())
        return self.http.post(url, data=data, **kw)

    def login(self, username, password=PASSWORD, totp_secret=TOTP_SECRET):
        response = self.post("/login", {"username": username, "password": password})
        self._token = None  # a new session at login: fetch a fresh token
        if response.status_code == 302 and response.headers["Location"].startswith("/login/code") and totp_secret:
            code = totp_code(self.http.application, username, totp_secret)
            page = self.http.get("/login/code").get_data(as_text=True)
            self._token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            response = self.post("/login/code", {"code": code})
            self._token = None
        return response


@pytest.fixture
def client_factory(app):
    def make():
        return Client(app.test_client())

    return make


@pytest.fixture
def client(client_factory):
    return client_factory()


def login_as(client_factory, username):
    c = client_factory()
    response = c.login(username)
    assert response.status_code == 302, f"login failed for {username}"
    return c


@pytest.fixture
def autumn_2026():
    """For tests whose dates are written out (hand-computed figures, the end of a school year): the world is built
    on 9 October 2026 whatever the real date, so those dates fall in its school year. Request it before `world`."""
    clock.freeze(datetime(2026, 10, 9, 10, 0, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc))


@pytest.fixture
def world(app):
    """Two schools (middle, high) in partnership with one hospital, one other hospital, a class each,
    students, and one account per role."""
    with app.app_context():
        today = clock.today()
        year = academic_year(today)
        hospital = Hospital(name="Partner Hospital")
        other_hospital = Hospital(name="Other Hospital")
        school = School(name="Middle School A", level=SchoolLevel.MIDDLE, district="D1")
        other_school = School(name="High School B", level=SchoolLevel.HIGH, district="D1")
        db.session.add_all([hospital, other_hospital, school, other_school])
        db.session.flush()
        for s in (school, other_school):
            db.session.add(Partnership(school_id=s.id, hospital_id=hospital.id,
                                       signed_on=today - timedelta(days=100), expires_on=today + timedelta(days=300)))
        cls = ClassGroup(school_id=school.id, academic_year=year, grade=8, name="Class 8-1")
        other_cls = ClassGroup(school_id=other_school.id, academic_year=year, grade=10, name="Class 10-1")
        db.session.add_all([cls, other_cls])
        db.session.flush()
        students = []
        for i in range(6):
            st = Student(student_number=f"S{i:04d}", name=f"Student {i}", sex=Sex.FEMALE if i % 2 else Sex.MALE,
                         birth_date=date(2012, 1, i + 1), guardian_name="Guardian", guardian_phone="13900000000")
            db.session.add(st)
            db.session.flush()
            db.session.add(Enrollment(student_id=st.id, school_id=school.id, class_group_id=cls.id,
                                      start_date=today - timedelta(days=60), reason=EnrollmentReason.ADMISSION))
            students.append(st)
        other_student = Student(student_number="T0001", name="Other Student", sex=Sex.MALE, birth_date=date(2010, 5, 5))
        db.session.add(other_student)
        db.session.flush()
        db.session.add(Enrollment(student_id=other_student.id, school_id=other_school.id, class_group_id=other_cls.id,
                                  start_date=today - timedelta(days=60), reason=EnrollmentReason.ADMISSION))
        accounts.create_user("teacher", "Teacher A", PASSWORD, Role.TEACHER, school=school)
        accounts.create_user("teacher2", "Teacher A2", PASSWORD, Role.TEACHER, school=school)
        accounts.create_user("other_teacher", "Teacher B", PASSWORD, Role.TEACHER, school=other_school)
        accounts.create_user("homeroom", "Homeroom A", PASSWORD, Role.HOMEROOM, school=school, class_group=cls)
        accounts.create_user("doctor", "Doctor P", PASSWORD, Role.DOCTOR, hospital=hospital)
        accounts.create_user("other_doctor", "Doctor O", PASSWORD, Role.DOCTOR, hospital=other_hospital)
        accounts.create_user("admin", "Admin", PASSWORD, Role.ADMIN).totp_secret = TOTP_SECRET
        # Guardians consented to screening (recorded by each school's psychology teacher).
        from app.accounts.models import User
        from app.students.models import Consent, ConsentKind

        recorders = {u.username: u.id for u in db.session.scalars(select(User))}
        for st, recorder in [(s, "teacher") for s in students] + [(other_student, "other_teacher")]:
            db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                   recorded_by_id=recorders[recorder], recorded_at=clock.now(), note="world"))
        db.session.commit()
        ns = SimpleNamespace(
            hospital_id=hospital.id, other_hospital_id=other_hospital.id, school_id=school.id,
            other_school_id=other_school.id, class_id=cls.id, other_class_id=other_cls.id, academic_year=year,
            student_ids=[s.id for s in students], other_student_id=other_student.id,
            students=[{"id": s.id, "number": s.student_number, "birth_date": s.birth_date.isoformat()} for s in students],
        )
        db.session.remove()
    return ns


def new_key():
    return str(uuid.uuid4())


# --- browser tests: skipped with one clear line where Chromium is missing ---------------------
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _chromium_missing():
    if not os.path.exists(CHROMIUM_PATH):
        return f"Chromium not found at {CHROMIUM_PATH}: browser tests skipped (apt-get install -y chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed: browser tests skipped"
    return None


def pytest_report_header(config):
    reason = _chromium_missing()
    return reason or f"browser tests: Chromium at {CHROMIUM_PATH}"


def pytest_collection_modifyitems(config, items):
    reason = _chromium_missing()
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
