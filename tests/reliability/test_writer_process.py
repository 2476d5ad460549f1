"""The server's submission writer process (app/screening/writer_process.py): the workers hand it their
submissions; killed, it loses nothing, the workers store themselves and the master starts it again; it never
outlives its server."""
import contextlib
import os
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.screening import intake, writer_process
from app.screening.models import Response
from tests.reliability.conftest import PHQ9_LOW, submission
from tests.reliability.server import LiveGunicorn, request
from tests.reliability.test_crash import _check_database, _run_class, _wait_until


def _server(app, tmp_path, **env):
    return LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / "gunicorn.log",
                        env=env)


@contextlib.contextmanager
def _serving(app, tmp_path, **env):
    """The real server, and the pid of its writer process; stopped at the end."""
    server = _server(app, tmp_path, **env).start()
    try:
        writer = server.writer_process()
        assert writer is not None, server.log()[-2000:]
        yield server, writer
    finally:
        server.stop()


def _rows(app, key=None):
    with app.app_context():
        query = select(func.count(Response.id))
        if key is not None:
            query = query.where(Response.idempotency_key == key)
        count = db.session.scalar(query)
        db.session.remove()
    return count


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has exited: it only waits for its parent to read its status
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_a_stopped_writer_process_is_passed_by_and_its_held_copy_is_not_stored_twice(app, whole_class, tmp_path):
    # The master would kill the stopped process after 3 s (the next test); here it waits, so that the process
    # resumes holding a submission the worker has meanwhile stored itself.
    with _serving(app, tmp_path, XINQIAO_WRITER_HANG_SECONDS="600") as (server, writer):
        body = submission(whole_class, "PHQ-9", PHQ9_LOW)
        os.kill(writer, signal.SIGSTOP)  # a connect still succeeds; the process holds the submission, silent
        try:
            status, payload = request(server.port, "POST", "/api/v1/responses", body, token=whole_class.tokens[0])
            # the answer's deadline passed: the worker stored it itself and said so
            assert status == 201, payload
            assert _rows(app, body["idempotency_key"]) == 1
            assert "did not answer within" in server.log()
        finally:
            os.kill(writer, signal.SIGCONT)
        # the process stores what it held: the key is taken, the same submission is not stored again
        time.sleep(writer_process.AWAY_SECONDS + 1)  # the workers use the process again after their time away
        status, payload = request(server.port, "POST", "/api/v1/responses", body, token=whole_class.tokens[0])
        assert status == 200 and payload["response_id"]
        second = submission(whole_class, "GAD-7", [0] * 7)
        assert request(server.port, "POST", "/api/v1/responses", second, token=whole_class.tokens[0])[0] == 201
        assert _rows(app) == 2 and server.writer_process() == writer  # never restarted


@pytest.mark.slow
def test_a_stopped_writer_process_is_killed_and_replaced_while_the_class_submits(app, whole_class, tmp_path):
    def disturb(progress):
        _wait_until(lambda: progress() >= 0.2)
        os.kill(writer, signal.SIGSTOP)  # perhaps mid-batch, holding the database's write lock

    with _serving(app, tmp_path) as (server, writer):
        bodies, acked = _run_class(server, whole_class, disturb)
        _check_database(app, whole_class, bodies, acked)  # every student acknowledged, nothing lost or doubled
        assert "did not answer within" in server.log()
        # the master saw the silent process, killed it and started another, which the workers use again
        _wait_until(lambda: server.writer_process() not in (None, writer), timeout=30)
        assert not _alive(writer)
        assert f"submission writer process {writer} did not answer" in server.log()
        restarted = server.writer_process()
        _wait_until(lambda: f"submission writer process {restarted} ready" in server.log(), timeout=30)


@pytest.mark.slow
def test_killing_the_writer_process_under_load_loses_and_doubles_nothing(app, whole_class, tmp_path):
    def disturb(progress):
        _wait_until(lambda: progress() >= 0.3)
        os.kill(writer, signal.SIGKILL)  # mid-batch, with answers owed to both workers

    with _serving(app, tmp_path) as (server, writer):
        bodies, acked = _run_class(server, whole_class, disturb)
        _check_database(app, whole_class, bodies, acked)
        # after the kill the workers stored with their own writer threads: the rest of the class got through
        assert not _alive(writer)
        assert "storing in this worker" in server.log()
        # and the master started a new writer process, which the workers use again
        _wait_until(lambda: server.writer_process() not in (None, writer), timeout=20)
        restarted = server.writer_process()
        assert "starting it again" in server.log()
        assert "ended (exit 0)" not in server.log()  # a SIGKILL is not a clean exit, whoever read the status
        _wait_until(lambda: f"submission writer process {restarted} ready" in server.log(), timeout=30)
        time.sleep(writer_process.AWAY_SECONDS + 1)  # the workers try the process again after their time away
        before = server.log().count("did not answer within")
        os.kill(restarted, signal.SIGSTOP)
        try:
            status, _ = request(server.port, "POST", "/api/v1/responses", submission(whole_class, "PHQ-9", PHQ9_LOW),
                                token=whole_class.tokens[0])
        finally:
            os.kill(restarted, signal.SIGCONT)
        # a worker storing by itself would have answered at once (409: already stored) and not waited for the process
        assert status == 409 and server.log().count("did not answer within") == before + 1


@pytest.mark.slow
def test_a_writer_process_stopped_before_its_first_ping_is_replaced_within_seconds(app, whole_class, tmp_path):
    """Once it listens, a process must answer the master's pings: it used to be given a minute until its first
    answer, and one stopped that early (a fast class, a machine swapping at start) stayed in place that long."""
    with _serving(app, tmp_path) as (server, writer):
        os.kill(writer, signal.SIGSTOP)
        status, _ = request(server.port, "POST", "/api/v1/responses", submission(whole_class, "PHQ-9", PHQ9_LOW),
                            token=whole_class.tokens[0])
        assert status == 201  # stored by the worker itself after the process did not answer
        _wait_until(lambda: server.writer_process() not in (None, writer), timeout=20)
        assert f"submission writer process {writer} did not answer" in server.log()
        restarted = server.writer_process()
        _wait_until(lambda: f"submission writer process {restarted} ready" in server.log(), timeout=30)


@pytest.mark.slow
def test_the_writer_process_ends_with_its_server(app, whole_class, tmp_path):
    server = _server(app, tmp_path).start()
    writer = server.writer_process()
    assert writer is not None
    os.kill(server.proc.pid, signal.SIGKILL)  # the master alone: no on_exit hook runs
    server.proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while _alive(writer):
        assert time.monotonic() < deadline, "the writer process outlived its server"
        time.sleep(0.1)
    server.stop()

    with _serving(app, tmp_path) as (_graceful, writer):
        pass  # leaving stops it with SIGTERM: the master stops its workers, then the writer process
    assert not _alive(writer)


def test_a_worker_without_a_writer_process_stores_itself(app, whole_class, tmp_path, monkeypatch):
    # The master said where the process listens, but nothing answers there.
    monkeypatch.setenv(writer_process.SOCKET_ENV, str(tmp_path / "nobody-listens"))
    worker_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    assert isinstance(worker_app.extensions["submission_writer"], writer_process.RemoteWriter)
    body = submission(whole_class, "PHQ-9", PHQ9_LOW)
    response = worker_app.test_client().post("/api/v1/responses", json=body,
                                             headers={"Authorization": f"Bearer {whole_class.tokens[0]}"})
    assert response.status_code == 201, response.get_json()
    assert _rows(app, body["idempotency_key"]) == 1


def test_the_wire_format_round_trips_every_outcome():
    received_at = intake.clock.now()
    stored = intake.Submission(1, 2, "PHQ-9", "1", [0] * 9, str(uuid.uuid4()), None, received_at)
    stored.outcome, stored.mail_pending = intake.Receipt(7, received_at, True, True), True
    refused = intake.Submission(1, 2, "PHQ-9", "1", [9], str(uuid.uuid4()), None, received_at)
    refused.outcome = intake.ScreeningError("invalid_answers", item=1)
    failed = intake.Submission(1, 2, "PHQ-9", "1", [], str(uuid.uuid4()), None, received_at)
    failed.outcome = RuntimeError("database away")

    outcomes = {}
    for sub in (stored, refused, failed):
        key, kind, *rest = writer_process.marshal.loads(writer_process._answer(sub))
        assert key == sub.idempotency_key  # the worker checks that the answer is for its own submission
        copy = intake.Submission(1, 2, "PHQ-9", "1", [], key, None, received_at)
        outcomes[key] = (writer_process._outcome(copy, kind, rest), copy.mail_pending)
    assert outcomes[stored.idempotency_key] == (stored.outcome, True)
    refusal, _ = outcomes[refused.idempotency_key]
    assert isinstance(refusal, intake.ScreeningError) and (refusal.code, refusal.item) == ("invalid_answers", 1)
    # the client is told to try again with its key
    assert isinstance(outcomes[failed.idempotency_key][0], intake.NotStored)


def test_the_wire_format_carries_the_student_tokens_session_generation(app):
    # The writer process refuses a submission whose token a teacher ended (intake._decide): it must get the
    # generation the worker read from the token.
    sub = intake.Submission(1, 2, "PHQ-9", "1", [0] * 9, str(uuid.uuid4()), None, intake.clock.now(), 3)
    process = writer_process._Intake.__new__(writer_process._Intake)
    process.registry = app.extensions["scales"]
    received = process._submission(writer_process._submission_message(sub))
    assert (received.campaign_id, received.student_id, received.session_generation) == (1, 2, 3)


def test_socket_directories_of_killed_servers_are_removed_at_the_next_start(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_process.tempfile, "gettempdir", lambda: str(tmp_path))
    stale = tmp_path / (writer_process.SOCKET_DIR_PREFIX + "killed")
    stale.mkdir()
    (stale / "socket").touch()  # nobody listens on it
    live = tmp_path / (writer_process.SOCKET_DIR_PREFIX + "live")
    live.mkdir()
    listener = writer_process._socket()
    listener.bind(str(live / "socket"))
    listener.listen(1)
    starting = tmp_path / (writer_process.SOCKET_DIR_PREFIX + "starting")
    starting.mkdir()  # a server starting this moment has not bound its socket yet
    old = time.time() - 3600
    for directory in (stale, live):
        os.utime(directory, (old, old))
    try:
        writer_process._remove_stale_socket_dirs()
    finally:
        listener.close()
    assert not stale.exists() and live.exists() and starting.exists()
