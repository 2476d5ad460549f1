"""Brute force: per-address limits on staff login (per account: tests/security/test_lockout.py), per-address and
per-student limits on the student session entry; with Redis storage several workers share the counts."""
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app import create_app
from app.extensions import limiter

ROOT = Path(__file__).resolve().parents[2]
LIMITS = {"LOGIN_RATE_LIMIT": "3 per minute",
          "STUDENT_SESSION_RATE_LIMIT": "3 per minute", "STUDENT_NUMBER_RATE_LIMIT": "4 per 15 minutes"}


@pytest.fixture
def limited(app, world):
    """A second app on the same database with rate limits on (TestingConfig turns them off)."""
    limited_app = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                             RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WTF_CSRF_ENABLED=False, **LIMITS)
    limiter.reset()
    yield limited_app
    limiter.reset()
    limiter.enabled = False  # the limiter object is shared: leave it off for the other tests


def _client(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client, username="teacher"):
    return client.post("/login", data={"username": username, "password": "wrong-password-123"}).status_code


def test_login_is_limited_per_address(limited):
    client = _client(limited, "10.0.0.1")
    assert [_login(client, f"user{i}") for i in range(3)] == [401, 401, 401]
    blocked = client.post("/login", data={"username": "user9", "password": "x" * 12})
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert _login(_client(limited, "10.0.0.2"), "user9") == 401  # another address still may try


# Per account, staff sign-in is slowed down per client (tests/security/test_lockout.py), not by a limit that any
# stranger could use up for the account's owner.


def _join(client, number, code="NOSUCH"):
    return client.post("/api/v1/student-sessions", json={"session_code": code, "student_number": number,
                                                          "birth_date": "2012-01-01"}).status_code


def test_student_session_entry_is_limited_per_address_and_per_student(limited, world):
    client = _client(limited, "10.0.2.1")
    assert [_join(client, f"N{i}") for i in range(4)] == [401, 401, 401, 429]
    per_student = [_join(_client(limited, f"10.0.3.{i}"), world.students[0]["number"]) for i in range(5)]
    assert per_student == [401, 401, 401, 401, 429]



def test_submissions_skip_the_limiter_and_limited_pages_keep_its_headers(limited, world, monkeypatch):
    # Every limit here is on its view: the hooks skip the limiter's lookups only for api.submit_response.
    joined = _client(limited, "10.0.4.1").post("/api/v1/student-sessions", json={
        "session_code": "NONE", "student_number": "N1", "birth_date": "2012-01-01"})
    assert joined.status_code == 401 and "X-RateLimit-Remaining" in joined.headers
    looked_up, released = [], []
    real_check, real_release = limiter._check_request_limit, limiter._Limiter__release_context
    monkeypatch.setattr(limiter, "_check_request_limit", lambda *a, **k: looked_up.append(1) or real_check(*a, **k))
    monkeypatch.setattr(limiter, "_Limiter__release_context", lambda *a: released.append(1) or real_release(*a))
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=limited.config["SQLALCHEMY_DATABASE_URI"],
                     RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **LIMITS)
    client = _client(app, "10.0.4.2")
    client.post("/api/v1/responses", json={}, headers={"Authorization": "Bearer nonsense"})
    assert looked_up == [] and released == []
    client.post("/api/v1/student-sessions", json={})
    assert looked_up and released  # and every other endpoint goes through the limiter as before


WORKER = """
import json, os, sys
from app import create_app
app = create_app("testing", SQLALCHEMY_DATABASE_URI=os.environ["XQ_DB"], RATELIMIT_ENABLED=True,
                 RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=os.environ["XQ_PREFIX"],
                 LOGIN_RATE_LIMIT="3 per minute", WTF_CSRF_ENABLED=False)
client = app.test_client()
codes = [client.post("/login", data={"username": "nobody", "password": "wrong-password-123"}).status_code
         for _ in range(int(sys.argv[1]))]
print(json.dumps(codes))
"""


def _redis_or_skip():
    import redis

    r = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        r.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    return r


def test_workers_share_counts_through_redis(app, world):
    r = _redis_or_skip()
    prefix = f"xinqiao-test-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, XQ_DB=app.config["SQLALCHEMY_DATABASE_URI"], XQ_PREFIX=prefix)

    def worker(n):
        out = subprocess.run([sys.executable, "-c", WORKER, str(n)], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    try:
        assert worker(2) == [401, 401]       # worker one
        assert worker(2) == [401, 429]       # worker two sees worker one's attempts
    finally:
        for key in r.scan_iter(f"*{prefix}*"):
            r.delete(key)
