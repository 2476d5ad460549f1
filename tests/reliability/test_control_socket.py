"""Gunicorn's control socket (`gunicornc`): each XinQiao server has its own (app/core/serving.py).

Gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): a second server
removed the first one's at its start, and its own at its exit, so nobody could reach the first one any more.
"""
import re
import time

from gunicorn.ctl.client import ControlClient

from tests.reliability.server import LiveGunicorn


def _control_socket(server, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"Control socket listening at (\S+)", server.log())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError("no control socket: " + server.log()[-2000:])


def _master_pid(path):
    with ControlClient(path, timeout=10) as client:
        return client.send_command("show all")["arbiter"]["pid"]


def test_two_servers_of_one_user_keep_their_own_control_sockets(app, tmp_path):
    runtime = tmp_path / "run"  # gunicorn's default directory for the control socket, the same for both
    runtime.mkdir()
    env = {"XDG_RUNTIME_DIR": str(runtime)}
    servers = [LiveGunicorn(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path / f"instance{i}", tmp_path / f"g{i}.log",
                            workers=1, threads=2, env=env) for i in (1, 2)]
    try:
        first = _control_socket(servers[0].start())
        second = _control_socket(servers[1].start())
        assert first != second
        assert first.startswith(str(runtime)) and second.startswith(str(runtime))
        time.sleep(0.5)
        # Each answers for its own master, the first one too after the second started.
        assert _master_pid(first) == servers[0].proc.pid
        assert _master_pid(second) == servers[1].proc.pid
        servers[1].stop()  # the second's exit removes its own socket only
        assert _master_pid(first) == servers[0].proc.pid
    finally:
        for server in servers:
            server.stop()
