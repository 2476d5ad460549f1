"""The real server (gunicorn from the venv) as a subprocess on a free loopback port, and a tiny HTTP client."""
import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveGunicorn:
    """gunicorn serving create_app('testing') on the tests' database, in its own process group, with the
    settings and hooks of gunicorn.conf.py (read from the repository's directory): its submission writer process."""

    def __init__(self, database_url, instance_dir, log_path, workers=2, threads=4, target="app:create_app('testing')",
                 env=None, graceful_timeout=2, port=None):
        self.target, self.extra_env = target, dict(env or {})
        self.database_url, self.instance_dir, self.log_path = database_url, str(instance_dir), Path(log_path)
        self.workers, self.threads, self.graceful_timeout = workers, threads, graceful_timeout
        self.port = port or free_port()
        self.proc = None

    def start(self, timeout=60):
        env = dict(os.environ, TEST_DATABASE_URL=self.database_url, XINQIAO_INSTANCE_DIR=self.instance_dir,
                   PYTHONPATH=str(ROOT), **self.extra_env)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(GUNICORN), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--graceful-timeout", str(self.graceful_timeout), self.target],
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gunicorn exited at start: " + self.log_path.read_text()[-2000:])
            try:
                status, _ = request(self.port, "GET", "/api/v1/openapi.json", timeout=2)
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer in time")

    def kill(self):
        """SIGKILL the master and every worker at once: a crash, not a shutdown."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()

    def writer_process(self):
        """The pid of the master's submission writer process (gunicorn.conf.py starts it), or None."""
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
                cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            except OSError:
                continue
            if ppid == self.proc.pid and b"app.screening.writer_process" in cmdline:
                return int(pid)
        return None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def request(port, method, path, body=None, token=None, timeout=15):
    """One request on a fresh connection, as a phone on school Wi-Fi would make it. Returns (status, json)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Accept": "application/json", "Accept-Language": "en"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response.status, payload
    finally:
        conn.close()
