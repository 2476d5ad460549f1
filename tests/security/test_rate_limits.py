"""Brute force: per-address limits on staff login (per account: tests/security/test_lockout.py; the student join:
tests/security/test_join_guard.py); every worker shares the counts, in a file by default and in Redis."""
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
LIMITS = {"LOGIN_RATE_LIMIT": "3 per minute"}


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
    assert "尝试次数过多" in blocked.get_data(as_text=True)  # in the interface's first language
    assert _login(_client(limited, "10.0.0.2"), "user9") == 401  # another address still may try


# Per account, staff sign-in is slowed down per client (tests/security/test_lockout.py), not by a limit that any
# stranger could use up for the account's owner.


def test_submissions_skip_the_limiter_and_limited_pages_keep_its_headers(limited, world, monkeypatch):
    # Every limit here is on its view: the hooks skip the limiter's lookups only for api.submit_response.
    signed_in = _client(limited, "10.0.4.1").post("/login", data={"username": "x", "password": "wrong-password-123"})
    assert signed_in.status_code == 401 and "X-RateLimit-Remaining" in signed_in.headers
    looked_up, released = [], []
    real_check, real_release = limiter._check_request_limit, limiter._Limiter__release_context
    monkeypatch.setattr(limiter, "_check_request_limit", lambda *a, **k: looked_up.append(1) or real_check(*a, **k))
    monkeypatch.setattr(limiter, "_Limiter__release_context", lambda *a: released.append(1) or real_release(*a))
    app = create_app("testing", SQLALCHEMY_DATABASE_URI=limited.config["SQLALCHEMY_DATABASE_URI"],
                     RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", WTF_CSRF_ENABLED=False, **LIMITS)
    client = _client(app, "10.0.4.2")
    client.post("/api/v1/responses", json={}, headers={"Authorization": "Bearer nonsense"})
    assert looked_up == [] and released == []
    client.post("/login", data={"username": "x", "password": "wrong-password-123"})
    assert looked_up and released  # and every other endpoint goes through the limiter as before


WORKER = """
import json, os, sys
from app import create_app
app = create_app("testing", SQLALCHEMY_DATABASE_URI=os.environ["XQ_DB"], RATELIMIT_ENABLED=True,
                 RATELIMIT_KEY_PREFIX=os.environ["XQ_PREFIX"],
                 **({"RATELIMIT_STORAGE_URI": os.environ["XQ_STORAGE"]} if os.environ.get("XQ_STORAGE") else {}),
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
    env = dict(os.environ, XQ_DB=app.config["SQLALCHEMY_DATABASE_URI"], XQ_PREFIX=prefix,
               XQ_STORAGE="redis://127.0.0.1:6379/0")

    try:
        assert _worker(env, 2) == [401, 401]       # worker one
        assert _worker(env, 2) == [401, 429]       # worker two sees worker one's attempts
    finally:
        for key in r.scan_iter(f"*{prefix}*"):
            r.delete(key)


def _worker(env, n):
    out = subprocess.run([sys.executable, "-c", WORKER, str(n)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_default_storage_is_shared_by_processes_without_redis(app, world, tmp_path):
    # The default (no RATELIMIT_STORAGE_URI): a file in the instance directory that every worker counts in; with
    # memory:// each process counted apart, so two workers doubled every limit (issue 15).
    env = dict(os.environ, XQ_DB=app.config["SQLALCHEMY_DATABASE_URI"], XQ_PREFIX="xinqiao",
               XINQIAO_INSTANCE_DIR=str(tmp_path))
    env.pop("RATELIMIT_STORAGE_URI", None)
    assert _worker(env, 2) == [401, 401]
    assert _worker(env, 2) == [401, 429]  # the second process sees the first one's attempts
    assert (tmp_path / "ratelimits.sqlite3").exists()
