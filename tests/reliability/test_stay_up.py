"""Staying up (issue 20): a server started again at once after its master was killed gets its port; a body cut
short is refused and stores nothing; slow clients do not take every request thread."""
import os
import signal
import socket
import time

import pytest

from tests.reliability.conftest import PHQ9_LOW, submission
from tests.reliability.server import LiveGunicorn, request


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
