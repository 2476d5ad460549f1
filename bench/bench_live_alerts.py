"""Live alerts under a whole school's open pages (issue 17): GET /live/alerts.json served by gunicorn with the
product's settings (bench/gunicorn_product_conf.py), on SQLite and PostgreSQL; writes bench/results/live_alerts.json.

Every open staff page of a psychology teacher or doctor polls the endpoint every 5 s while visible (30 s while
hidden). The seeded school is pessimistic for one school: 100 psychology-teacher accounts signed in (a real school
has one to three; the figure stands for a district's teachers on one server), 2,000 students in 40 classes,
3,000 resolved alerts, 30 open critical/high ones (the banner's rows) and 200 open moderate ones, 30 inbox rows per
teacher. Each teacher's session cookie is real (the sign-in form, in-process, against the same database and key).

Scenarios, each 100 keep-alive clients in a closed loop (a request per teacher in turn, as fast as answered):
- unchanged: If-None-Match with the teacher's current ETag, answered 304 (the steady state of an open page);
- changed: no ETag, a 200 with the JSON body (the first poll of a page, or after a new alert);
- healthz: GET /healthz on the same server, the framework-plus-one-query baseline;
- healthz_signed_in: the same with the teachers' session cookies (what being signed in costs every request).
Results are merged into bench/results/live_alerts.json per engine (a run of one engine keeps the other's).
"teachers_at_5s" is how many open pages polling every 5 s that throughput holds (rps × 5).
The load generator shares the machine's 2 cores with the server, as in bench/run.py.

Usage: .venv/bin/python -m bench.bench_live_alerts [--engines sqlite,postgresql] [--requests 20000]
"""
import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
import http.client
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "results" / "live_alerts.json"
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DB = "xq_classroom_bench"
TEACHERS, STUDENTS, CLASSES = 100, 2000, 40
PASSWORD = "Bench-password-2026"
# Sessions are "strong" (Flask-Login: bound to the address and the User-Agent): every request sends this one.
AGENT = "xq-live-bench"


def _app(url):
    from app import create_app

    return create_app("production", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False, PASSWORD_HASH_FAST=True)


def seed(url):
    """Migrate and fill the database; returns the teachers' usernames."""
    from flask_migrate import upgrade

    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.core import clock
    from app.extensions import db
    from app.notifications.models import Notification
    from app.orgs.models import ClassGroup, School, SchoolLevel
    from app.risk.models import Alert, AlertStatus
    from app.students.models import Enrollment, EnrollmentReason, Sex, Student

    app = _app(url)
    with app.app_context():
        upgrade()
        now, today = clock.now(), clock.today()
        school = School(name="Live Bench School", level=SchoolLevel.MIDDLE, district="B")
        db.session.add(school)
        db.session.flush()
        classes = [ClassGroup(school_id=school.id, academic_year="2026-2027", grade=7 + i % 3, name=f"Class {i}")
                   for i in range(CLASSES)]
        db.session.add_all(classes)
        db.session.flush()
        teachers = [accounts.create_user(f"live.teacher{i:03d}", f"Teacher {i}", PASSWORD, Role.TEACHER, school=school)
                    for i in range(TEACHERS)]
        students = [Student(student_number=f"L{i:05d}", name=f"学生{i}", sex=Sex.FEMALE if i % 2 else Sex.MALE,
                            birth_date=date(2012, 1 + i % 12, 1 + i % 28)) for i in range(STUDENTS)]
        db.session.add_all(students)
        db.session.flush()
        db.session.add_all([Enrollment(student_id=s.id, school_id=school.id, class_group_id=classes[i % CLASSES].id,
                                       start_date=today - timedelta(days=30), reason=EnrollmentReason.ADMISSION)
                            for i, s in enumerate(students)])
        alerts = []
        for i in range(3000):  # history: resolved
            alerts.append(Alert(student_id=students[i % STUDENTS].id, school_id=school.id, level="moderate",
                                reason="moderate_score", status=AlertStatus.RESOLVED, opened_at=now, due_at=now,
                                resolved_at=now, outcome="monitored_at_school"))
        for i in range(230):  # open: 10 critical, 20 high, 200 moderate (one per student, level and reason)
            level = "critical" if i < 10 else "high" if i < 30 else "moderate"
            alerts.append(Alert(student_id=students[i].id, school_id=school.id, level=level,
                                reason={"critical": "suicide_risk", "high": "high_score"}.get(level, "moderate_score"),
                                status=AlertStatus.OPEN, opened_at=now, due_at=now + timedelta(hours=1)))
        db.session.add_all(alerts)
        db.session.flush()
        db.session.add_all([Notification(user_id=t.id, kind="alert_high_opened", case_number=f"A{j:06d}",
                                         link=f"/alerts/{j}", created_at=now, read_at=now if j % 3 else None)
                            for t in teachers for j in range(1, 31)])
        db.session.commit()
        return [t.username for t in teachers]


def sessions(url, usernames):
    """Sign each teacher in through the real form (in-process, same database and key): their session cookies."""
    app = _app(url)
    cookies = []
    for username in usernames:
        client = app.test_client()
        client.environ_base["HTTP_USER_AGENT"] = AGENT
        page = client.get("/login", base_url="https://localhost").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        answer = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                             data={"username": username, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 302 and "/login" not in answer.headers["Location"], (answer.status_code, answer.get_data(as_text=True)[:800])
        cookies.append(client.get_cookie("session", domain="localhost").value)
    return cookies


def current_etags(port, cookies):
    etags = []
    for cookie in cookies:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/live/alerts.json", headers={"Cookie": f"session={cookie}", "User-Agent": AGENT})
        answer = connection.getresponse()
        raw = answer.read()
        assert answer.status == 200, (answer.status, answer.getheader("Location"), raw[:300])
        body = json.loads(raw)
        assert len(body["alerts"]) == 5 and body["open_urgent"] == 30, body
        etags.append(answer.getheader("ETag"))
        connection.close()
    return etags


async def _closed_loop(port, requests, concurrency):
    from bench.loadgen import TIMEOUT_S, _read_response

    queue = list(reversed(requests))
    latencies, statuses = [], []

    async def client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while queue:
            request = queue.pop()
            start = time.perf_counter()
            writer.write(request)
            status, _, close = await _read_response(reader)
            latencies.append(time.perf_counter() - start)
            statuses.append(status)
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(client() for _ in range(concurrency))), TIMEOUT_S * 10)
    return latencies, statuses, time.perf_counter() - start


def measure(port, requests, expect_status, concurrency=TEACHERS):
    from bench.loadgen import percentile

    latencies, statuses, elapsed = asyncio.run(_closed_loop(port, requests, concurrency))
    lat = sorted(latencies)
    rps = len(statuses) / elapsed
    return {"requests": len(statuses), "expected_status": expect_status,
            "unexpected": sum(1 for s in statuses if s != expect_status), "rps": round(rps, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 2), "p90_ms": round(percentile(lat, 90) * 1000, 2),
            "p99_ms": round(percentile(lat, 99) * 1000, 2), "max_ms": round(lat[-1] * 1000, 2),
            "teachers_at_5s": int(rps * 5)}


def run_engine(name, url, env, count):
    from bench import loadgen
    from bench.run import PRODUCT_CONF, Server

    os.environ["DATABASE_URL"] = url
    usernames = seed(url)
    cookies = sessions(url, usernames)
    out = {"engine": name, "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    server = Server("wsgi:app", env, PRODUCT_CONF)
    try:
        etags = current_etags(server.port, cookies)
        unchanged = [loadgen.build_request("GET", "/live/alerts.json", headers={
            "Cookie": f"session={cookie}", "User-Agent": AGENT, "If-None-Match": etag}) for cookie, etag in zip(cookies, etags)]
        changed = [loadgen.build_request("GET", "/live/alerts.json", headers={"Cookie": f"session={cookie}", "User-Agent": AGENT})
                   for cookie in cookies]
        health = [loadgen.build_request("GET", "/healthz")]
        health_signed_in = [loadgen.build_request("GET", "/healthz", headers={
            "Cookie": f"session={cookie}", "User-Agent": AGENT}) for cookie in cookies]
        measure(server.port, (unchanged * 20)[:2000], 304)  # warm-up
        out["unchanged_304"] = measure(server.port, (unchanged * (count // TEACHERS + 1))[:count], 304)
        out["changed_200"] = measure(server.port, (changed * (count // TEACHERS + 1))[:count], 200)
        out["healthz"] = measure(server.port, health * count, 200)
        out["healthz_signed_in"] = measure(server.port, (health_signed_in * (count // TEACHERS + 1))[:count], 200)
    finally:
        server.stop()
    out["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main():
    from cryptography.fernet import Fernet

    from bench.run import engine_env, machine

    parser = argparse.ArgumentParser()
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xq-live-bench-"))
    secret, clinical = os.urandom(24).hex(), Fernet.generate_key().decode()
    os.environ.update(XINQIAO_INSTANCE_DIR=str(work), SECRET_KEY=secret, CLINICAL_DATA_KEYS=clinical,
                      AUDIT_KEYS=os.urandom(32).hex())
    results = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
               "teachers": TEACHERS, "students": STUDENTS, "open_urgent_alerts": 30, "engines": {}}
    try:
        for name in args.engines.split(","):
            if name == "sqlite":
                url = f"sqlite:///{work / 'live.sqlite'}"
            else:
                import psycopg

                with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
                    conn.execute(f'CREATE DATABASE "{PG_DB}"')
                url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
            try:
                results["engines"][name] = run_engine(name, url, engine_env(work, url, secret, clinical), args.requests)
            finally:
                if name != "sqlite":
                    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)')
            print(json.dumps(results["engines"][name]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if RESULTS.exists():  # keep the engines this run did not measure
        previous = json.loads(RESULTS.read_text(encoding="utf-8"))
        results["engines"] = {**previous.get("engines", {}), **results["engines"]}
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
