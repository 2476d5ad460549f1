"""Staying up (issue 20): a server started again at once after its master was killed gets its port; a body cut
short is refused and stores nothing; slow clients do not take every request thread."""
import json
import os
import signal
import socket
import threading
import time

import pytest

from tests.reliability.conftest import PHQ9_LOW, submission
from tests.reliability.server import LiveGunicorn, request
from tests.reliability.slow_clients import SlowClients


def _children(pid):
    found = []
    for child in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(child))
        except OSError:
            continue
    return found


def _alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _server(app, tmp_path, name, **options):
    return LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / "instance", tmp_path / f"{name}.log",
                        **options)


@pytest.mark.slow
def test_a_server_started_again_at_once_after_its_master_was_killed_gets_its_port(app, whole_class, tmp_path):
    # gunicorn.conf.py's grace for requests in flight: an orphaned worker would keep the port that long
    first = _server(app, tmp_path, "first", graceful_timeout=10).start()
    second = None
    held = socket.create_connection(("127.0.0.1", first.port))
    try:
        # a request in flight: the headers are in, the body is still coming (a phone on a weak network)
        held.sendall(b"POST /api/v1/responses HTTP/1.1\r\nHost: school\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + whole_class.tokens[0].encode() +
                     b"\r\nContent-Length: 200\r\n\r\n{")
        time.sleep(0.5)  # a worker thread has taken it
        workers = _children(first.proc.pid)
        assert len(workers) >= 2  # the workers and the writer process
        os.kill(first.proc.pid, signal.SIGKILL)  # the master alone, as the OOM killer or an operator would
        first.proc.wait(timeout=30)
        # started again at once, on the same address: its workers died with their master and hold nothing
        second = _server(app, tmp_path, "second", port=first.port).start()
        # nobody of the first server answered for it: an orphaned worker on the port would take a share of the
        # connections, and its writer process is gone
        assert not [pid for pid in workers if _alive(pid)]
        body = submission(whole_class, "PHQ-9", PHQ9_LOW)
        assert request(second.port, "POST", "/api/v1/responses", body, token=whole_class.tokens[1])[0] == 201
        assert second.proc.poll() is None and "Booting worker" in second.log()
    finally:
        held.close()
        if second is not None:
            second.stop()
        first.stop()  # the process group: anything of the first server still there


def _rows(app, key):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.screening.models import Response

    with app.app_context():
        count = db.session.scalar(select(func.count(Response.id)).where(Response.idempotency_key == key))
        db.session.remove()
    return count


@pytest.mark.slow
def test_a_body_shorter_than_its_content_length_is_refused_and_stores_nothing(app, whole_class, live_gunicorn):
    live_gunicorn.start()
    body = submission(whole_class, "PHQ-9", PHQ9_LOW)
    raw = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", live_gunicorn.port), timeout=30) as sock:
        # the JSON is whole; the 40 bytes of the declared length that never come would be whitespace
        sock.sendall(b"POST /api/v1/responses HTTP/1.1\r\nHost: school\r\nContent-Type: application/json\r\n"
                     b"Accept: application/json\r\nAuthorization: Bearer " + whole_class.tokens[0].encode() +
                     b"\r\nContent-Length: %d\r\n\r\n" % (len(raw) + 40) + raw)
        sock.shutdown(socket.SHUT_WR)  # the phone's connection half-closes
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert _rows(app, body["idempotency_key"]) == 0
    # the whole body, sent again, is stored
    assert request(live_gunicorn.port, "POST", "/api/v1/responses", body, token=whole_class.tokens[0])[0] == 201


@pytest.mark.slow
def test_seventy_slow_clients_do_not_stop_a_class_from_submitting(app, whole_class, live_gunicorn):
    live_gunicorn.start()  # 2 workers of 4 request threads each: 70 slow clients are far more than its threads
    with SlowClients(live_gunicorn.port, 70) as slow:
        answers = []

        def student(i):
            body = submission(whole_class, "PHQ-9", PHQ9_LOW)
            try:
                answers.append(request(live_gunicorn.port, "POST", "/api/v1/responses", body,
                                       token=whole_class.tokens[i], timeout=30)[0])
            except OSError as exc:
                answers.append(repr(exc))

        students = [threading.Thread(target=student, args=(i,)) for i in range(20)]
        for thread in students:
            thread.start()
        for thread in students:
            thread.join()
        # and the server cuts off a head that has not arrived in its time (gunicorn's own worker never does)
        stop_at = time.monotonic() + 90
        while slow.closed_by_server < 70:
            assert time.monotonic() < stop_at, f"only {slow.closed_by_server} slow clients cut off"
            time.sleep(0.5)
    assert answers == [201] * 20
    assert "Worker exiting" not in live_gunicorn.log()
