"""Time a 20,000-row roster import (parse → preview → apply, then the idempotent re-import).

Runs on a fresh SQLite database under a temporary directory (or on BENCH_DATABASE_URL, e.g. a throwaway
PostgreSQL database, which is wiped). Writes bench/results/roster.json.
"""
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from datetime import date, timedelta

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_ROWS = 20_000


def _csv(schools):
    lines = ["school,class,grade,student_number,name,sex,birth_date,guardian_name,guardian_phone"]
    for i in range(N_ROWS):
        school = schools[i % len(schools)]
        grade = 7 + (i // 50) % 3
        born = date(2012, 1, 1) + timedelta(days=i % 900)
        lines.append(f"{school},{grade}年级{(i // 50) % 20 + 1}班,{grade},B{i:010d},学生{i},{'男' if i % 2 else '女'},"
                     f"{born.isoformat()},家长{i},139{i:08d}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def main():
    tmp = tempfile.mkdtemp(prefix="xq-bench-roster-")
    os.environ.setdefault("XINQIAO_INSTANCE_DIR", tmp)
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from app import create_app
    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.extensions import db
    from app.orgs.models import School, SchoolLevel
    from app.students import roster
    from app.students.models import Enrollment, Student

    app = create_app("testing", SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        names = [f"星城第{i}中学" for i in range(1, 11)]
        db.session.add_all([School(name=n, level=SchoolLevel.MIDDLE) for n in names])
        admin = accounts.create_user("bench-admin", "Bench", "bench-password-123", Role.ADMIN)
        db.session.commit()
        data = _csv(names)
        timings = {}
        t0 = time.perf_counter()
        upload = roster.store_upload(data, "bench.csv", by=admin)
        db.session.commit()
        timings["parse_and_store_seconds"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        plan = roster.plan_import(upload.rows, admin)
        timings["preview_seconds"] = time.perf_counter() - t0
        assert plan.counts()["new"] == N_ROWS, plan.counts()
        t0 = time.perf_counter()
        roster.apply_import(upload, by=admin)
        db.session.commit()
        timings["apply_seconds"] = time.perf_counter() - t0
        assert db.session.scalar(select(func.count(Student.id))) == N_ROWS
        assert db.session.scalar(select(func.count(Enrollment.id))) == N_ROWS
        t0 = time.perf_counter()
        again = roster.store_upload(data, "bench.csv", by=admin)
        db.session.commit()
        replan = roster.plan_import(again.rows, admin)
        timings["reimport_preview_seconds"] = time.perf_counter() - t0
        assert replan.counts()["unchanged"] == N_ROWS
        engine = db.engine.dialect.name
    total = timings["parse_and_store_seconds"] + timings["preview_seconds"] + timings["apply_seconds"]
    result = {"rows": N_ROWS, "bytes": len(data), "engine": engine,
              **{k: round(v, 3) for k, v in timings.items()}, "total_import_seconds": round(total, 3),
              "python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    out = ROOT / "bench" / "results" / "roster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
