"""A whole school joins from one NAT address: 2,000 students open the page within a few seconds (issue 20 item 3).

`make run`'s set-up (gunicorn.conf.py: two workers, the writer process, the default rate-limit storage) on a fresh
SQLite database (or PostgreSQL with BENCH_JOIN_DATABASE_URL), every request from 127.0.0.1. Each student behaves as
the student page does (app/static/js/student.js): a device id of its own, a join, and on 429 or 503 a wait of
Retry-After or 2^n seconds (whichever is longer) plus up to as much again at random. A share of the students
mistypes the birth date first and types it right a few seconds later. Measured: per student, seconds from opening
the page to the 201; statuses; retries. Goal: every student joined within 60 s.

    .venv/bin/python -m bench.join_storm            # writes bench/results/join_storm.json
Settings: BENCH_JOIN_STUDENTS (2000), BENCH_JOIN_ARRIVAL_S (20: pages opened uniformly over this many seconds),
BENCH_JOIN_TYPO_SHARE (0.05), BENCH_JOIN_CONNECTIONS (400 open at once at most).
"""
import asyncio
import json
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.loadgen import build_request, percentile
from bench.run import ROOT, Server, engine_env, machine

RESULTS = ROOT / "bench" / "results" / "join_storm.json"
STUDENTS = int(os.environ.get("BENCH_JOIN_STUDENTS", "2000"))
ARRIVAL_S = float(os.environ.get("BENCH_JOIN_ARRIVAL_S", "20"))
TYPO_SHARE = float(os.environ.get("BENCH_JOIN_TYPO_SHARE", "0.05"))
CONNECTIONS = int(os.environ.get("BENCH_JOIN_CONNECTIONS", "400"))
GOAL_S = 60


def seed(database_url):
    """A school with STUDENTS students in one open campaign; returns its code and the students' details."""
    from bench.seed import seed_database, _app
    from app.extensions import db
    from app.screening.models import Campaign
    from app.students.models import Student

    plan = seed_database(database_url, students=STUDENTS, campaigns=1)
    with _app(database_url).app_context():
        code = db.session.get(Campaign, plan["campaign_ids"][0]).session_code
        students = [(s.student_number, s.birth_date.isoformat()) for s in db.session.query(Student).all()]
    return code, students


async def _post(port, body):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(build_request("POST", "/api/v1/student-sessions", json.dumps(body).encode(), keep_alive=False))
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:] if ":" in line}
    return status, headers


async def student(port, code, number, birth_date, opens_at, typo, gate, rng, out):
    await asyncio.sleep(max(0.0, opens_at - time.monotonic()))
    opened, device, tries, statuses = time.monotonic(), str(uuid.uuid4()), 0, []
    body = {"session_code": code, "student_number": number, "birth_date": "2000-01-01" if typo else birth_date,
            "device": device}
    while True:
        async with gate:
            try:
                status, headers = await _post(port, body)
            except OSError:
                status, headers = 0, {}
        statuses.append(status)
        if status == 201:
            break
        if status == 401 and body["birth_date"] != birth_date:
            await asyncio.sleep(3 + rng.random() * 3)  # the student reads the message and types it again
            body["birth_date"], tries = birth_date, 0
            continue
        if status in (0, 429, 503):
            base = min(30, 2 ** tries)
            asked = float(headers.get("retry-after", 0) or 0)
            tries += 1
            await asyncio.sleep(max(asked, base) + rng.random() * base)
            continue
        break  # anything else: the student would ask the teacher
    out.append({"wait_s": time.monotonic() - opened, "joined": statuses[-1] == 201, "statuses": statuses})


async def storm(port, code, students):
    rng = random.Random(20)
    gate = asyncio.Semaphore(CONNECTIONS)
    start = time.monotonic() + 0.5
    out = []
    await asyncio.gather(*(student(port, code, number, birth_date, start + rng.random() * ARRIVAL_S,
                                   rng.random() < TYPO_SHARE, gate, random.Random(i), out)
                           for i, (number, birth_date) in enumerate(students)))
    return out, time.monotonic() - start


def summarise(out, elapsed):
    waits = sorted(r["wait_s"] for r in out if r["joined"]) or [float("nan")]
    statuses = {}
    for r in out:
        for s in r["statuses"]:
            statuses[str(s)] = statuses.get(str(s), 0) + 1
    return {
        "students": len(out), "joined": len(waits), "not_joined": len(out) - len(waits),
        "joined_within_goal": sum(1 for w in waits if w <= GOAL_S),
        "join_wait_s": {"p50": round(percentile(waits, 50), 3), "p90": round(percentile(waits, 90), 3),
                        "p99": round(percentile(waits, 99), 3), "max": round(waits[-1], 3) if waits else None},
        "statuses": statuses, "students_retried": sum(1 for r in out if len(r["statuses"]) > 1),
        "elapsed_s": round(elapsed, 1),
    }


def main():
    with tempfile.TemporaryDirectory(prefix="xq-join-storm-") as tmp:
        database_url = os.environ.get("BENCH_JOIN_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3"
        env = engine_env(Path(tmp) / "instance", database_url, secrets.token_hex(32),
                         "bmOFb3_4Txc1ZTyuBDqJjoxy4O8V5dhhCQOyFbVUZ5M=")
        env.update(AUDIT_KEYS=secrets.token_hex(32), BENCH_GUNICORN_CONF=str(ROOT / "gunicorn.conf.py"))
        env.pop("RATELIMIT_STORAGE_URI", None)  # the default: a file every worker shares
        os.environ.update({k: env[k] for k in ("XINQIAO_CONFIG", "XINQIAO_INSTANCE_DIR", "DATABASE_URL", "SECRET_KEY",
                                               "CLINICAL_DATA_KEYS", "AUDIT_KEYS")})
        code, students = seed(database_url)
        server = Server("wsgi:app", env)
        load_before = os.getloadavg()
        try:
            out, elapsed = asyncio.run(storm(server.port, code, students))
        finally:
            server.stop()
        load_after = os.getloadavg()
    result = {"what": "a whole school joins from one address (bench/join_storm.py)", "goal_s": GOAL_S,
              "arrival_s": ARRIVAL_S, "typo_share": TYPO_SHARE, "engine": database_url.split(":", 1)[0],
              "server": "gunicorn.conf.py (make run)", "machine": machine(),
              # The machine's 1-minute load average before and after: on a shared machine it says how much of the
              # two cores the server had.
              "load_average": {"before": round(load_before[0], 1), "after": round(load_after[0], 1)},
              **summarise(out, elapsed)}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0 if result["joined_within_goal"] == result["students"] else 1


if __name__ == "__main__":
    sys.exit(main())
