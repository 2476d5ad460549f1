"""Health check, migrations, languages, security headers."""
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

from app import create_app
from tests.conftest import login_as
from tests.helpers import flask_command

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_ok_when_the_database_answers(app, client):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["alerts", "sweep"]).exit_code == 0  # "degraded" without it (tests/integration/test_monitoring.py)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_does_not(tmp_path):
    broken = create_app("testing", SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_migrations_upgrade_an_empty_database_to_a_single_head(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL_MIGRATIONS") or f"sqlite:///{tmp_path / 'empty.sqlite'}"
    env = dict(os.environ, DATABASE_URL=url, XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"))
    heads = flask_command("db", "heads", env=env)
    assert heads.returncode == 0, heads.stderr
    assert len([line for line in heads.stdout.splitlines() if "(head)" in line]) == 1, heads.stdout
    result = flask_command("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"students", "responses", "scores", "alerts", "referrals", "assessments", "return_decisions",
            "audit_events", "alembic_version"} <= tables
    # The models and the migrations describe the same schema: a model change without its migration fails here.
    check = flask_command("db", "check", env=env)
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr, \
        check.stdout[-2000:] + check.stderr[-2000:]


def test_the_interface_speaks_chinese_by_default_and_english_on_request(world, client_factory):
    chinese = client_factory()
    chinese.http.environ_base["HTTP_ACCEPT_LANGUAGE"] = ""
    page = chinese.get("/login").get_data(as_text=True)
    assert "登录" in page and 'lang="zh-CN"' in page
    chinese.get("/lang/en")
    assert "Staff sign in" in chinese.get("/login").get_data(as_text=True)
    english = client_factory()
    assert "Staff sign in" in english.get("/login").get_data(as_text=True)


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path):
    """Extract every message from the code as `make extract-messages` does; each needs Chinese."""
    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run([str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with open(pot, "rb") as f:
        wanted = {m.id for m in read_po(f) if m.id}
    with open(ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb") as f:
        translated = {m.id for m in read_po(f) if m.id and m.string}
    assert sorted(map(str, wanted - translated)) == [], "run `make extract-messages` and translate the new entries"


def test_security_headers_and_no_store_on_every_page(world, client_factory):
    teacher = login_as(client_factory, "teacher")
    for url in ("/teacher", "/no-such-page", "/login", "/api/v1/openapi.json"):
        response = teacher.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Cache-Control"] == "no-store"


def test_upgrading_a_sqlite_database_that_holds_data_keeps_it(tmp_path):
    """Later migrations rebuild tables that other rows point at (SQLite batch mode): an installation that ran
    `make run` on an earlier version must upgrade without losing or breaking anything."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    env = dict(os.environ, DATABASE_URL=url, XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"))
    first = flask_command("db", "upgrade", "833ad9107613", env=env)
    assert first.returncode == 0, first.stderr
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schools (id, name, level, district) VALUES (1, 'S', 'middle', 'D')")
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, password_hash, role, school_id, active, session_version,"
            " failed_logins, created_at) VALUES (1, 't', 'T', 'x', 'teacher', 1, 1, 1, 0, '2026-11-01 00:00:00')")
        conn.exec_driver_sql("INSERT INTO students (id, student_number, name, sex, birth_date, guardian_name,"
                             " guardian_phone, created_at) VALUES (1, 'N1', 'Kid', 'F', '2012-01-01', '', '', '2026-11-01')")
        conn.exec_driver_sql("INSERT INTO audit_events (id, at, actor_id, actor_role, action, object_type, student_id,"
                             " outcome, detail, prev_hash, hash) VALUES (1, '2026-11-01', 1, 'teacher', 'login', 'user', 1,"
                             " 'ok', '{}', 'p', 'h')")
    result = flask_command("db", "upgrade", env=env)
    assert result.returncode == 0, result.stderr
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT username, school_id FROM users").fetchall() == [("t", 1)]
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
