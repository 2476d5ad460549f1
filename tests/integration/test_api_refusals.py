"""The student API when it must say no (issue 20 items 4–7): a value that can never be stored is a 422 naming the
field; a database that takes no writes is a 503 with Retry-After for joins too, and /healthz says so; every refused
or failed submission is logged with its cause and counted; each endpoint reads no more body than it needs."""
import io
import logging
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select

from app import create_app
from app.extensions import db
from app.screening.models import Response
from tests.conftest import login_as
from tests.helpers import PHQ9_LOW, join, launch_campaign, submit


@pytest.fixture
def code(world, client_factory):
    return launch_campaign(login_as(client_factory, "teacher"), world.class_id)[1]


@pytest.fixture
def read_only(app):
    """A second app on the same database that can read but not write, as on a read-only file system or a
    PostgreSQL in read-only mode (a full disk and "too many clients" raise the same kind of database error)."""
    ro_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with ro_app.app_context():
        engine = db.engine
        engine.dispose()
        sqlite = engine.dialect.name == "sqlite"

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only = ON" if sqlite else "SET default_transaction_read_only = on")
            cursor.close()
            if not sqlite:
                dbapi_connection.commit()
    yield ro_app
    with ro_app.app_context():
        db.engine.dispose()


def _metric(app, name, **labels):
    text = app.test_client().get("/metrics").get_data(as_text=True)
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


# --- item 4: a started_at that can never be stored -------------------------------------------------------------

@pytest.mark.parametrize("started_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "yesterday", 12])
def test_a_started_at_that_can_never_be_stored_is_a_422_naming_the_field(app, world, code, started_at):
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    session = join(http, code, world.students[0]).get_json()
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    response = http.post("/api/v1/responses", headers={"Authorization": f"Bearer {session['token']}"}, json={
        "scale": phq9["scale"], "version": phq9["version"], "answers": PHQ9_LOW,
        "idempotency_key": str(uuid.uuid4()), "started_at": started_at})
    assert response.status_code == 422, response.get_json()
    assert "started_at" in response.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Response.id))) == 0


# --- item 6: joins on a database that takes no writes ----------------------------------------------------------

def test_a_join_on_a_database_that_takes_no_writes_is_503_with_retry_after(read_only, world, code):
    student = world.students[0]
    response = join(read_only.test_client(), code, student)  # right details: the join writes its participation
    assert response.status_code == 503, response.status_code
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"] == "try_again_join"


def test_healthz_reports_a_database_that_takes_no_writes(app, read_only, world):
    assert app.test_client().get("/healthz").get_json()["database"] == "ok"
    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unwritable"}


# --- item 5: every refused or failed submission is logged and counted ------------------------------------------

def test_every_refused_submission_is_logged_with_its_cause_and_counted(app, world, code, caplog):
    http = app.test_client()
    before = _metric(app, "xinqiao_submissions_refused_total", reason="bad_token")
    with caplog.at_level(logging.WARNING, logger="app.api.views"):
        assert http.post("/api/v1/responses", json={}, headers={"Authorization": "Bearer nonsense"}).status_code == 401
        session = join(http, code, world.students[2]).get_json()
        bearer = {"Authorization": f"Bearer {session['token']}"}
        assert http.post("/api/v1/responses", json=[1], headers=bearer).status_code == 400
        assert http.post("/api/v1/responses", json={"idempotency_key": "x"}, headers=bearer).status_code == 422
    causes = [record.getMessage() for record in caplog.records if record.name == "app.api.views"]
    assert causes == ["submission refused (401): bad_token", "submission refused (400): malformed_body",
                      "submission refused (422): invalid_idempotency_key"]
    assert world.students[2]["number"] not in caplog.text
    assert _metric(app, "xinqiao_submissions_refused_total", reason="bad_token") == before + 1
    assert _metric(app, "xinqiao_submissions_refused_total", reason="invalid_idempotency_key") >= 1


def test_a_submission_the_database_cannot_store_is_logged_and_counted(app, read_only, world, code, caplog):
    http = app.test_client()
    session = join(http, code, world.students[3]).get_json()  # joined while the database still took writes
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    before = _metric(read_only, "xinqiao_submissions_not_stored_total")
    with caplog.at_level(logging.WARNING, logger="app.api.views"):
        response = submit(read_only.test_client(), session["token"], phq9, PHQ9_LOW)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert any(r.getMessage().startswith("submission not stored (503): ") for r in caplog.records)
    assert _metric(read_only, "xinqiao_submissions_not_stored_total") == before + 1


# --- item 7: each endpoint reads no more body than it needs ----------------------------------------------------

def test_a_join_larger_than_a_join_is_refused_before_it_is_read(app, world, code):
    padding = "x" * 100_000
    body = {"session_code": code, "student_number": world.students[0]["number"],
            "birth_date": world.students[0]["birth_date"], "padding": padding}
    response = app.test_client().post("/api/v1/student-sessions", json=body)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "413"


def test_a_chunked_join_is_cut_at_the_limit(app, world, code):
    # No Content-Length: the body is read only up to the join's limit.
    body = b'{"session_code": "' + b"x" * 100_000 + b'"}'
    response = app.test_client().post("/api/v1/student-sessions", input_stream=io.BytesIO(body),
                                      headers={"Content-Type": "application/json"},
                                      environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_a_submission_has_its_own_limit_and_a_normal_one_passes(app, world, code):
    http = app.test_client()
    session = join(http, code, world.students[4]).get_json()
    phq9 = next(q for q in session["questionnaires"] if q["scale"] == "PHQ-9")
    bearer = {"Authorization": f"Bearer {session['token']}"}
    big = {"scale": "PHQ-9", "version": phq9["version"], "answers": [0] * 9, "idempotency_key": str(uuid.uuid4()),
           "note": "x" * 200_000}
    assert http.post("/api/v1/responses", json=big, headers=bearer).status_code == 413
    assert submit(http, session["token"], phq9, PHQ9_LOW).status_code == 201


def test_a_join_that_finds_no_free_connection_in_time_is_503(app, world, code):
    # As with PostgreSQL's "too many clients": every connection busy, the join waits pool_timeout and gives up.
    busy = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                      SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2})
    with busy.app_context():
        held = db.engine.connect()
        try:
            response = join(busy.test_client(), code, world.students[1])
        finally:
            held.close()
            db.engine.dispose()
    assert response.status_code == 503 and response.headers["Retry-After"]
