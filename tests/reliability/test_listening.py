"""How the real server listens (app/core/serving.py): a socket per worker on TCP, one shared socket otherwise."""
import http.client
import os
import socket
import subprocess
import time

from app.core.serving import separate_sockets_possible
from tests.reliability.server import GUNICORN, ROOT, free_port


def listening_tcp_sockets(port) -> int:
    """How many sockets listen on `port` (the kernel's tables: every process's, every worker's)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in open(table).read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                count += 1
    return count


def listening_unix_sockets(path) -> int:
    # /proc/net/unix: ... Flags (00010000: listening) ... Path
    return sum(1 for line in open("/proc/net/unix").read().splitlines()[1:]
               if line.split()[-1] == str(path) and line.split()[3] == "00010000")


def test_tcp_addresses_that_are_free_get_a_socket_per_worker():
    port = free_port()
    assert separate_sockets_possible([("127.0.0.1", port)])
    assert not separate_sockets_possible(["/tmp/xinqiao.sock"])
    assert not separate_sockets_possible([("127.0.0.1", port), "/tmp/xinqiao.sock"])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert not separate_sockets_possible([("127.0.0.1", port)])


def test_sockets_handed_over_by_systemd_are_kept(monkeypatch):
    monkeypatch.setenv("LISTEN_FDS", "1")
    assert not separate_sockets_possible([("127.0.0.1", free_port())])


def test_each_worker_of_the_real_server_listens_on_its_own_socket(live_gunicorn):
    live_gunicorn.start()
    assert listening_tcp_sockets(live_gunicorn.port) == live_gunicorn.workers == 2
    assert "each worker listens on its own socket" in live_gunicorn.log()


def _start(bind, tmp_path, app):
    env = dict(os.environ, TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "gunicorn.log", "ab")
    try:
        return subprocess.Popen([str(GUNICORN), "--bind", bind, "--workers", "2", "--threads", "2",
                                 "--graceful-timeout", "2", "app:create_app('testing')"],
                                cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    finally:
        log.close()


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def test_a_unix_socket_is_one_socket_shared_by_the_workers(app, tmp_path):
    # A socket per worker on one path would leave a single worker reachable: each removes the file of the last.
    path = tmp_path / "xinqiao.sock"
    proc = _start(f"unix:{path}", tmp_path, app)
    try:
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != 200 and proc.poll() is None:
            try:
                connection = _UnixConnection(str(path))
                connection.request("GET", "/api/v1/openapi.json")
                status = connection.getresponse().status
                connection.close()
            except OSError:
                time.sleep(0.1)
        assert status == 200
        while time.monotonic() < deadline and (tmp_path / "gunicorn.log").read_text().count("Booting worker") < 2:
            time.sleep(0.1)
        time.sleep(0.5)  # the second worker has bound whatever it binds
        assert listening_unix_sockets(path) == 1
    finally:
        _stop(proc)


def test_a_port_in_use_stops_the_server_with_gunicorns_message(app, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proc = _start(f"127.0.0.1:{taken.getsockname()[1]}", tmp_path, app)
        try:
            exit_code = proc.wait(timeout=30)  # gunicorn tries five times, a second apart, then gives up
        except subprocess.TimeoutExpired:
            exit_code = None  # still trying: workers failing to bind, started again and again
        finally:
            _stop(proc)
    log = (tmp_path / "gunicorn.log").read_text()
    assert exit_code not in (None, 0), log[-2000:]
    assert "Connection in use" in log
