"""deploy/ on this machine: Debian's nginx with deploy/nginx/xinqiao.conf (a self-signed certificate made here) in
front of gunicorn started as deploy/systemd/xinqiao.service starts it, with deploy/xinqiao.env.example's settings.
HTTPS answers with HSTS and the app's headers, plain HTTP is sent to HTTPS, the client's own address reaches the
rate limits (ProxyFix, TRUSTED_PROXIES=1) and a forged X-Forwarded-For does not, and /metrics is not served."""
import http.client
import os
import re
import shlex
import shutil
import signal
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from tests.deploy.certificates import self_signed_certificate
from tests.reliability.conftest import whole_class  # noqa: F401  (a fixture: a class in an open session)
from tests.reliability.server import ROOT, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed: deploy tests skipped "
                                                      "(apt-get install -y nginx-light)")
DEPLOY = ROOT / "deploy"
DEPLOY_SECRET_KEY = "deploy-test-" + "x" * 40
REDIS = shutil.which("redis-server")  # without it the rate limits are counted in memory by one worker


def _substitute(text, replacements):
    for old, new in replacements:
        assert old in text, f"deploy file changed: {old!r} is no longer in it (update this test)"
        text = text.replace(old, new)
    return text


def unit_command(unit: str) -> tuple[list[str], dict]:
    """ExecStart= and Environment= of a systemd unit in deploy/systemd/."""
    text = (DEPLOY / "systemd" / unit).read_text().replace("\\\n", " ")
    command = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))
    env = dict(value.split("=", 1) for value in re.findall(r"^Environment=(.+)$", text, re.M))
    return command, env


def env_file() -> dict:
    values = {}
    for line in (DEPLOY / "xinqiao.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value
    return values


class Deployment:
    """gunicorn as the unit starts it and nginx with the site file, each on free loopback ports of its own."""

    def __init__(self, app, tmp_path, **settings):
        self.tmp = tmp_path
        self.app_port, self.https_port, self.http_port = free_port(), free_port(), free_port()
        self.run = tmp_path / "run"  # the unit's RuntimeDirectory
        self.run.mkdir(mode=0o700)
        self.cert, self.key = self_signed_certificate(tmp_path)
        self.settings = settings
        self.gunicorn = self.nginx = self.redis = None
        self.database_url = app.config["SQLALCHEMY_DATABASE_URI"]
        self.keys = app.config["CLINICAL_DATA_KEYS"]

    def start(self):
        self._start_gunicorn()
        self._start_nginx()
        return self

    def _start_gunicorn(self):
        command, unit_env = unit_command("xinqiao.service")
        command = [part.replace("/srv/xinqiao", str(ROOT)).replace("127.0.0.1:8000", f"127.0.0.1:{self.app_port}")
                   .replace("/run/xinqiao", str(self.run)) for part in command]
        env = dict(os.environ, **env_file(), **{k: v.replace("/run/xinqiao", str(self.run)) for k, v in unit_env.items()})
        if REDIS:  # the unit's workers share their rate-limit counts through a Redis set up as deploy/redis says
            env["RATELIMIT_STORAGE_URI"] = _substitute(env["RATELIMIT_STORAGE_URI"], [(":6379/", f":{self._redis()}/")])
        else:
            env["RATELIMIT_STORAGE_URI"] = "memory://"
            command += ["--workers", "1"]  # counts in memory: one worker must count them all
        env.update(DATABASE_URL=self.database_url, SECRET_KEY=DEPLOY_SECRET_KEY, CLINICAL_DATA_KEYS=self.keys,
                   AUDIT_KEYS="deploy-test-audit-key-" + "y" * 40, AUDIT_CHECKPOINT_DIR=str(self.tmp / "checkpoints"),
                   XINQIAO_INSTANCE_DIR=str(self.tmp / "instance"), BACKUP_DIR=str(self.tmp / "backups"),
                   PYTHONPATH=str(ROOT), **self.settings)
        log = open(self.tmp / "gunicorn.log", "ab")
        self.gunicorn = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        log.close()
        _wait(lambda: _plain_status(self.app_port, "/healthz") == 200, self.gunicorn, self.tmp / "gunicorn.log")

    def _redis(self) -> int:
        port = free_port()
        self.redis = subprocess.Popen([REDIS, str(DEPLOY / "redis" / "xinqiao.conf"), "--port", str(port), "--dir",
                                       str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      start_new_session=True)
        _wait(lambda: _redis_answers(port), self.redis, os.devnull)
        self.redis_port = port
        return port

    def _start_nginx(self):
        site = _substitute((DEPLOY / "nginx" / "xinqiao.conf").read_text(), [
            ("server 127.0.0.1:8000;", f"server 127.0.0.1:{self.app_port};"),
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            ("/etc/ssl/xinqiao/fullchain.pem", str(self.cert)),
            ("/etc/ssl/xinqiao/privkey.pem", str(self.key)),
        ])
        site = "\n".join(line for line in site.splitlines() if "[::]" not in line)  # no IPv6 needed here
        (self.tmp / "site.conf").write_text(site)
        temp = self.tmp / "nginx-temp"
        temp.mkdir()
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the temporary directory
        # the main file's settings the site file asks for
        connections = re.search(r"events \{ worker_connections (\d+); \}", site).group(1)
        (self.tmp / "nginx.conf").write_text(f"""{user}worker_processes 1;
error_log {self.tmp}/nginx-error.log info;
pid {self.tmp}/nginx.pid;
worker_rlimit_nofile 16384;
events {{ worker_connections {connections}; }}
http {{
    access_log {self.tmp}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.tmp}/site.conf;
}}
""")
        base = [NGINX, "-p", str(self.tmp), "-e", str(self.tmp / "nginx-error.log"), "-c", str(self.tmp / "nginx.conf")]
        checked = subprocess.run(base + ["-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        log = open(self.tmp / "nginx.log", "ab")
        self.nginx = subprocess.Popen(base + ["-g", "daemon off;"], stdout=log, stderr=log, start_new_session=True)
        log.close()
        _wait(lambda: _plain_status(self.http_port, "/") is not None, self.nginx, self.tmp / "nginx-error.log")

    def stop(self):
        for proc in (self.nginx, self.gunicorn, self.redis):
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, 15)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, 9)
                    proc.wait()

    def https(self, method, path, source="127.0.0.1", headers=None, body=None):
        """(status, headers, body) of one request over TLS, verifying the certificate, from a loopback address."""
        context = ssl.create_default_context(cafile=str(self.cert))
        conn = http.client.HTTPSConnection("127.0.0.1", self.https_port, context=context, timeout=15,
                                           source_address=(source, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()


def _redis_answers(port):
    import redis

    try:
        return redis.Redis(port=port, socket_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


def _plain_status(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def _wait(ready, proc, log, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited at start: {Path(log).read_text(errors='replace')[-3000:]}")
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError(f"did not answer in time: {Path(log).read_text(errors='replace')[-3000:]}")


@pytest.fixture
def deployment(app, world, tmp_path):
    deployed = Deployment(app, tmp_path)
    try:
        yield deployed.start()
    finally:
        deployed.stop()


def _join(deployed, source, number, forged=None):
    headers = {"Content-Type": "application/json", "Accept-Language": "en"}
    if forged:
        headers["X-Forwarded-For"] = forged
    body = f'{{"session_code": "NOSUCH", "student_number": "{number}", "birth_date": "2012-01-01"}}'
    return deployed.https("POST", "/api/v1/student-sessions", source=source, headers=headers, body=body)[0]


def test_https_with_hsts_and_the_apps_headers_and_plain_http_goes_to_https(deployment):
    status, headers, body = deployment.https("GET", "/login")
    assert status == 200 and "心桥" in body.decode()
    assert headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]  # the app's own headers pass through
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "nginx"  # no version
    assert "Secure" in headers["Set-Cookie"] and "HttpOnly" in headers["Set-Cookie"]  # production settings

    conn = http.client.HTTPConnection("127.0.0.1", deployment.http_port, timeout=5)
    conn.request("GET", "/login")
    response = conn.getresponse()
    assert response.status == 301 and response.headers["Location"].startswith("https://")
    conn.close()


def test_the_clients_own_address_reaches_the_rate_limits_and_a_forged_one_does_not(deployment):
    # Guesses at one student number are counted per client (address and device, app/screening/join_guard.py):
    # five free, then a wait. nginx connects to gunicorn from 127.0.0.1 every time.
    assert [_join(deployment, "127.0.0.2", "A0") for _ in range(6)] == [401] * 5 + [429]
    assert _join(deployment, "127.0.0.3", "A0") == 401  # another address: counted apart
    # A client that forges the header is still counted at its own address (nginx overwrites it).
    assert _join(deployment, "127.0.0.2", "A0", forged="10.1.2.3") == 429
    for n in range(4):
        _join(deployment, "127.0.0.3", "A0", forged=f"10.1.2.{n}")
    assert _join(deployment, "127.0.0.3", "A0", forged="10.9.9.9") == 429


def test_metrics_are_not_served_through_the_proxy_but_to_the_local_scraper(deployment):
    for path in ("/metrics", "/metrics?format=text", "//metrics", "/%6Detrics"):
        status, _headers, body = deployment.https("GET", path)
        assert status == 404 and b"xinqiao_" not in body, path
    assert _plain_status(deployment.app_port, "/metrics") == 200  # Prometheus on the machine itself

    # Without nginx's own rule, the app still refuses a request that came through the proxy.
    site = deployment.tmp / "site.conf"
    without_rule = re.sub(r"location = /metrics \{[^}]*\}", "", site.read_text())
    assert without_rule != site.read_text()
    site.write_text(without_rule)
    os.kill(int((deployment.tmp / "nginx.pid").read_text()), signal.SIGHUP)
    time.sleep(1.0)  # the new workers take over
    status, _headers, body = deployment.https("GET", "/metrics")
    assert status == 404 and b"xinqiao_" not in body


def test_the_control_socket_and_metrics_directory_are_where_the_unit_puts_them(deployment):
    assert (deployment.run / "gunicorn.ctl").is_socket()
    assert list((deployment.run / "metrics").glob("*.db"))


@pytest.mark.slow
def test_two_hundred_slow_clients_do_not_stop_a_class_submitting_through_nginx(app, whole_class, tmp_path):
    import json
    import threading
    import uuid

    from tests.reliability.conftest import PHQ9_LOW
    from tests.reliability.slow_clients import SlowClients, tls

    from app.api import tokens

    school = whole_class
    with app.test_request_context():  # the tokens the deployed app signs, for the same students
        app.config["SECRET_KEY"], test_key = DEPLOY_SECRET_KEY, app.config["SECRET_KEY"]
        try:
            school.tokens = [tokens.issue(school.campaign_id, student) for student in school.student_ids]
        finally:
            app.config["SECRET_KEY"] = test_key
    deployed = Deployment(app, tmp_path).start()
    try:
        with SlowClients(tls(deployed.https_port, deployed.cert), 200):
            answers = []

            def student(i):
                body = json.dumps({"scale": "PHQ-9", "version": school.versions["PHQ-9"], "answers": PHQ9_LOW,
                                   "idempotency_key": str(uuid.uuid4()), "started_at": "2026-11-22T01:00:00Z"})
                try:
                    answers.append(deployed.https("POST", "/api/v1/responses", body=body, headers={
                        "Content-Type": "application/json", "Authorization": f"Bearer {school.tokens[i]}"})[0])
                except OSError as exc:
                    answers.append(repr(exc))

            students = [threading.Thread(target=student, args=(i,)) for i in range(len(school.tokens))]
            for thread in students:
                thread.start()
            for thread in students:
                thread.join()
        assert answers == [201] * len(school.tokens)
    finally:
        deployed.stop()
