"""The scale a province brings (issue 21), measured side by side in one run on one PostgreSQL database.

    .venv/bin/python -m bench.bench_province --seed --students 1000000 --responses 5000000 --schools 250
    .venv/bin/python -m bench.bench_province            # measure a database seeded before (DATABASE_URL below)

Seeding (`flask bench seed`, COPY on PostgreSQL) is optional: without --seed the database named by --database-url
is measured as it is (its size is read from it and written into the results). Each measurement runs in a fresh
Python process, the product's whole Flask stack through its test client (no network), logged in through the real
sign-in form:

- district dashboard (/admin) of the district's admin: the first request (cold: closed months counted and stored
  in monthly_figures), then the median of repeats (goal < 1 s);
- teacher dashboard (/teacher) of one school's psychology teacher: median of repeats (goal < 200 ms);
- the district's export of every response as CSV (/admin/exports/responses.csv, streamed): time to the first byte,
  to the last byte, rows, bytes, and the process's peak resident memory (goal < 60 s, < 300 MB);
- the research export (a job, run to completion): time, rows, what the k-anonymity pass did, peak memory;
- the FHIR bulk export of one school year (`app.interop.fhir.bulk`, `_fhir_bulk()`): kick-off, the job in a thread
  of the same process, status polled to the manifest; time, resources and bytes per type, peak memory.

Results: bench/results/province.json. Method and findings: bench/README.md, "A province's data".
"""
import argparse
import json
import os
import pathlib
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1/province_bench"
RESULTS = ROOT / "bench" / "results" / "province.json"
PASSWORD = "bench-password-2026"


def rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _app(url, instance):
    os.environ["DATABASE_URL"], os.environ["XINQIAO_INSTANCE_DIR"] = url, instance
    from app import create_app

    return create_app("development", SQLALCHEMY_DATABASE_URI=url, RATELIMIT_ENABLED=False,
                      EXPORT_DIR=str(pathlib.Path(instance) / "exports"), EXPORT_JOBS_WAIT=True,
                      FHIR_EXPORT_DIR=str(pathlib.Path(instance) / "fhir-exports"), FHIR_EXPORT_THREADS=True,
                      AUDIT_CHECKPOINT_DIR=None)


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _token(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def _login(app, username):
    """The sign-in form; an admin's second factor with a known key (a bench account only)."""
    import pyotp
    from sqlalchemy import select

    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user.role.value == "admin" and user.totp_secret != TOTP_SECRET:
            user.totp_secret = TOTP_SECRET
            db.session.commit()
        last_step = user.totp_last_step
        db.session.remove()
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": _token(client, "/login")})
    assert response.status_code == 302, response.status_code
    if response.headers["Location"].startswith("/login/code"):
        totp = pyotp.TOTP(TOTP_SECRET)
        step = max(totp.timecode(time.time()), (last_step or 0) + 1)
        while step > totp.timecode(time.time()) + 1:
            time.sleep(1)
        response = client.post("/login/code", data={"code": totp.generate_otp(step),
                                                     "csrf_token": _token(client, "/login/code")})
        assert response.status_code == 302, response.status_code
    return client, None


def _timed_gets(client, path, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return times


def phase_dashboards(url, instance, accounts):
    app = _app(url, instance)
    out = {}
    admin, _ = _login(app, accounts["admin"])
    t0 = time.perf_counter()
    assert admin.get("/admin").status_code == 200
    cold = (time.perf_counter() - t0) * 1000
    warm = _timed_gets(admin, "/admin", 5)
    out["district_dashboard"] = {"path": "/admin", "target_ms": 1000, "first_request_ms": round(cold, 1),
                                 "median_ms": round(statistics.median(warm), 1), "max_ms": round(max(warm), 1),
                                 "repeats": len(warm)}
    teacher, _ = _login(app, accounts["teacher"])
    _timed_gets(teacher, "/teacher", 2)
    times = _timed_gets(teacher, "/teacher", 10)
    out["teacher_dashboard"] = {"path": "/teacher", "target_ms": 200, "median_ms": round(statistics.median(times), 1),
                                "max_ms": round(max(times), 1), "repeats": len(times)}
    return out


def phase_export_csv(url, instance, accounts):
    app = _app(url, instance)
    admin, _ = _login(app, accounts["admin"])
    before = rss_mb()
    t0 = time.perf_counter()
    response = admin.get("/admin/exports/responses.csv", buffered=False)
    assert response.status_code == 200
    first = None
    size = lines = 0
    for chunk in response.response:
        if first is None:
            first = time.perf_counter() - t0
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    total = time.perf_counter() - t0
    return {"path": "/admin/exports/responses.csv", "target_seconds": 60, "target_memory_mb": 300,
            "first_byte_ms": round(first * 1000, 1), "seconds": round(total, 1), "rows": lines - 1,
            "megabytes": round(size / 1e6, 1), "rows_per_second": round((lines - 1) / total),
            "process_rss_before_mb": before, "process_peak_rss_mb": rss_mb()}


def phase_research(url, instance, accounts):
    app = _app(url, instance)
    admin, _ = _login(app, accounts["admin"])
    token = _token(admin, "/admin/exports")
    before = rss_mb()
    t0 = time.perf_counter()
    response = admin.post("/admin/exports/research", data={
        "csrf_token": token, "purpose": "Benchmark: the research export at a province's scale",
        "approved_by": "bench", "approval_reference": "BENCH-1", "link_to": "0"})
    seconds = time.perf_counter() - t0
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        from app.exports.models import ExportJob
        from app.extensions import db

        job = db.session.get(ExportJob, int(response.headers["Location"].rstrip("/").split("/")[-1]))
        size = (pathlib.Path(instance) / "exports" / job.file_name).stat().st_size if job.file_name else None
        report = {k: v for k, v in (job.report or {}).items() if k not in ("scales", "purpose")}
        status = job.status.value
    return {"status": status, "seconds": round(seconds, 1), "zip_megabytes": round(size / 1e6, 1) if size else None,
            "process_rss_before_mb": before, "process_peak_rss_mb": rss_mb(), "report": report}


def _fhir_bulk(url, instance, accounts):
    """The FHIR bulk export of one school year (app/interop/fhir/bulk.py) as a Bulk Data client runs it: kick-off
    (POST /admin/fhir/exports, Prefer: respond-async, the school year of today), the job in a thread of the same
    process (FHIR_EXPORT_THREADS, as in service), the status polled until the manifest comes. Time, resources and
    bytes written per type, and the process's peak resident memory (the job's thread included)."""
    app = _app(url, instance)  # first: importing app reads XINQIAO_INSTANCE_DIR (the keys), which _app sets
    from app.orgs.school_year import academic_year

    admin, _ = _login(app, accounts["admin"])
    with app.app_context():
        from app.core import clock

        year = academic_year(clock.today())
    token = _token(admin, "/admin/fhir/exports")
    before = rss_mb()
    t0 = time.perf_counter()
    response = admin.post("/admin/fhir/exports", data={"csrf_token": token, "school_year": year},
                          headers={"Prefer": "respond-async"})
    assert response.status_code == 202, response.get_data(as_text=True)[:500]
    status_path = response.headers["Content-Location"].split("://", 1)[-1].split("/", 1)[-1]
    polls = 0
    while True:
        status = admin.get("/" + status_path)
        polls += 1
        if status.status_code != 202:
            break
        time.sleep(0.5)
    seconds = time.perf_counter() - t0
    assert status.status_code == 200, status.get_data(as_text=True)[:500]
    manifest = status.get_json()
    job_dir = pathlib.Path(app.config["FHIR_EXPORT_DIR"]) / f"job-{status_path.rstrip('/').split('/')[-2]}"
    outputs = {o["type"]: {"resources": o["count"],
                           "megabytes": round((job_dir / f"{o['type']}.ndjson").stat().st_size / 1e6, 1)}
               for o in manifest["output"]}
    resources = sum(o["resources"] for o in outputs.values())
    shutil.rmtree(job_dir, ignore_errors=True)  # ~14 GB at a province's size; the job row stays
    return {"measured": True, "school_year": year, "seconds": round(seconds, 1), "resources": resources,
            "resources_per_second": round(resources / seconds), "lines": resources,
            "megabytes": round(sum(o["megabytes"] for o in outputs.values()), 1), "outputs": outputs,
            "status_polls": polls, "process_rss_before_mb": before, "process_peak_rss_mb": rss_mb()}


PHASES = {"dashboards": phase_dashboards, "export_csv": phase_export_csv, "research": phase_research,
          "fhir_bulk": _fhir_bulk}


def _run_phase(name, url, instance, accounts):
    out = subprocess.run([sys.executable, "-m", "bench.bench_province", "--phase", name, "--database-url", url,
                          "--instance", instance, "--accounts", json.dumps(accounts)],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _size(url):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("students", "schools", "responses", "alerts", "referrals")}
        tag = conn.execute(text("SELECT min(username) FROM users WHERE username LIKE 'bench.admin.%'")).scalar()
    engine.dispose()
    return counts, tag.rsplit(".", 1)[-1]


def _sweep_has_kept_up(url):
    """The seed writes months of alerts at once; in service `flask alerts sweep` (cron, every minute) escalates each
    when it falls due. Without this the first dashboard load would escalate the whole seeded backlog (tens of
    thousands of alerts, notifications included) and the numbers would measure that, not the dashboard."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        marked = conn.execute(text("UPDATE alerts SET escalated_at = due_at WHERE status = 'open' AND "
                                   "escalated_at IS NULL AND due_at < now()")).rowcount
    engine.dispose()
    return marked


def machine():
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "note": "shared machine: other engineers run test suites at the same time"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seed", action="store_true", help="seed first (into an empty, migrated database)")
    parser.add_argument("--students", type=int, default=1_000_000)
    parser.add_argument("--responses", type=int, default=5_000_000)
    parser.add_argument("--schools", type=int, default=250)
    parser.add_argument("--instance-dir", help="the instance directory the database was seeded with (its generated "
                        "keys decrypt the seeded clinical text); a new temporary one by default")
    parser.add_argument("--skip", action="append", default=[], choices=sorted(PHASES))
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--accounts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:  # a child process: one measurement, JSON on the last line
        print(json.dumps(PHASES[args.phase](args.database_url, args.instance, json.loads(args.accounts))))
        return
    results = {"machine_at_start": machine(), "database": args.database_url.rsplit("@", 1)[-1]}
    with tempfile.TemporaryDirectory(prefix="xq-province-") as scratch:
        instance = args.instance_dir or scratch
        env = dict(os.environ, DATABASE_URL=args.database_url, XINQIAO_INSTANCE_DIR=instance)
        flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
        subprocess.run(flask + ["db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        if args.seed:
            t0 = time.perf_counter()
            subprocess.run(flask + ["bench", "seed", "--students", str(args.students), "--responses",
                                    str(args.responses), "--schools", str(args.schools)], cwd=ROOT, env=env, check=True)
            results["seed_seconds"] = round(time.perf_counter() - t0, 1)
        results["sweep_backlog_marked_escalated"] = _sweep_has_kept_up(args.database_url)
        counts, tag = _size(args.database_url)
        results["size"] = counts
        accounts = {"admin": f"bench.admin.{tag}", "teacher": f"bench.teacher.{tag}.0"}
        for name in PHASES:
            if name in args.skip:
                continue
            print(f"{name} …", flush=True)
            results.setdefault("load_average_at_phase_start", {})[name] = [round(x, 2) for x in os.getloadavg()]
            result = _run_phase(name, args.database_url, instance, accounts)
            results.update(result if name == "dashboards" else {name: result})
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results["machine_at_end"] = machine()
            # after every phase: an interrupted run (the FHIR export is long) keeps what it measured
            RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
