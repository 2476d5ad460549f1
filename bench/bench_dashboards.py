"""Time the dashboards on generated data (`flask bench seed`); write bench/results/dashboards.json.

Scenarios (the issue's targets):
- teacher dashboard, one school with 5,000 students and 100,000 responses: SQLite and PostgreSQL (< 200 ms);
- district dashboard, 200,000 students and 2,000,000 responses on PostgreSQL (< 1 s), cold (the closed months
  are computed and stored in monthly_figures) and warm (stored months read back, the current month live).
PostgreSQL uses a throwaway database xinqiao_bench_issue6 that is dropped at the end.
Usage: .venv/bin/python bench/bench_dashboards.py [--skip-district] [--district-students N --district-responses M]
"""
import argparse
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1/postgres"
PG_DB = "xinqiao_bench_issue6"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1/{PG_DB}"
RESULTS = ROOT / "bench" / "results" / "dashboards.json"


def flask(env, *args):
    started = time.perf_counter()
    out = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True)
    return out.stdout, time.perf_counter() - started


def pg_recreate():
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_DB}")


def pg_drop():
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def prepare(url, instance, students, responses, schools):
    env = dict(os.environ, DATABASE_URL=url, XINQIAO_INSTANCE_DIR=instance)
    flask(env, "db", "upgrade")
    out, seconds = flask(env, "bench", "seed", "--students", str(students), "--responses", str(responses),
                         "--schools", str(schools), "--json")
    return json.loads(out.strip().splitlines()[-1]), seconds


def time_get(url, instance, username, password, path, repeats=10, warmups=2, cold=False):
    """Log in with the real form and time GET `path` through the whole Flask stack (test client, no network)."""
    os.environ["DATABASE_URL"], os.environ["XINQIAO_INSTANCE_DIR"] = url, instance
    import importlib

    import config
    importlib.reload(config)
    from app import create_app

    app = create_app("development", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code == 302
    first = None
    if cold:
        t0 = time.perf_counter()
        assert client.get(path).status_code == 200
        first = time.perf_counter() - t0
    for _ in range(warmups):
        assert client.get(path).status_code == 200
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200
    with app.app_context():
        from app.extensions import db
        db.engine.dispose()
    times_ms = sorted(t * 1000 for t in times)
    result = {"path": path, "repeats": repeats, "median_ms": round(statistics.median(times_ms), 1),
              "p90_ms": round(times_ms[int(0.9 * (len(times_ms) - 1))], 1), "max_ms": round(times_ms[-1], 1)}
    if first is not None:
        result["first_request_ms"] = round(first * 1000, 1)
    return result


def machine():
    load = os.getloadavg()
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in load],
            "note": "shared machine: other engineers run test suites at the same time; numbers include that noise"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-district", action="store_true")
    parser.add_argument("--skip-teacher", action="store_true")
    parser.add_argument("--district-students", type=int, default=200_000)
    parser.add_argument("--district-responses", type=int, default=2_000_000)
    parser.add_argument("--district-schools", type=int, default=50)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine_at_start"] = machine()
    try:
        if not args.skip_teacher:
            with tempfile.TemporaryDirectory(prefix="xq-bench-") as instance:
                url = f"sqlite:///{instance}/bench.sqlite"
                info, seed_s = prepare(url, instance, 5000, 100_000, 1)
                results["teacher_sqlite"] = {"data": info, "seed_seconds": round(seed_s, 1), "target_ms": 200,
                                             **time_get(url, instance, info["teacher"], info["password"], "/teacher",
                                                        repeats=20, cold=True)}
                print("teacher sqlite", results["teacher_sqlite"])
            with tempfile.TemporaryDirectory(prefix="xq-bench-") as instance:
                pg_recreate()
                info, seed_s = prepare(PG_URL, instance, 5000, 100_000, 1)
                results["teacher_postgresql"] = {"data": info, "seed_seconds": round(seed_s, 1), "target_ms": 200,
                                                 **time_get(PG_URL, instance, info["teacher"], info["password"], "/teacher",
                                                            repeats=20, cold=True)}
                print("teacher postgresql", results["teacher_postgresql"])
        if not args.skip_district:
            with tempfile.TemporaryDirectory(prefix="xq-bench-") as instance:
                pg_recreate()
                info, seed_s = prepare(PG_URL, instance, args.district_students, args.district_responses, args.district_schools)
                results["district_postgresql"] = {
                    "data": info, "schools": args.district_schools, "seed_seconds": round(seed_s, 1), "target_ms": 1000,
                    **time_get(PG_URL, instance, info["admin"], info["password"], "/admin", repeats=5, cold=True)}
                print("district postgresql", results["district_postgresql"])
                env = dict(os.environ, DATABASE_URL=PG_URL, XINQIAO_INSTANCE_DIR=instance)
                _out, refresh_s = flask(env, "dashboards", "refresh", "--months", "1")
                results["district_postgresql"]["refresh_current_month_seconds"] = round(refresh_s, 1)
                results["district_postgresql"]["note"] = (
                    "first_request_ms counts the twelve months once and stores them (monthly_figures); later requests "
                    "read them (the current month is recounted when older than 10 minutes, or by `flask dashboards "
                    "refresh` from cron, whose time is refresh_current_month_seconds including the flask start-up)")
                results["district_postgresql_teacher"] = {
                    "note": "a teacher of one of the district's schools (4,000 students) on the same database",
                    **time_get(PG_URL, instance, info["teacher"], info["password"], "/teacher", repeats=5)}
                print("teacher in district", results["district_postgresql_teacher"])
    finally:
        pg_drop()
    results["machine_at_end"] = machine()
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
