"""`make soak`: a whole school's morning against the real server, with faults on a schedule (issue 20).

2,000 students behind one address (127.0.0.1) open the page over the morning, join the session (retrying on
429 and 503 with backoff and jitter, as the student page does), answer 3 to 6 questionnaires with think time
between them, and submit each one, retrying with the same idempotency key until it is acknowledged. Some
phones drop the connection after sending (and send again), some students tap "submit" twice at once.
Meanwhile, on a schedule: a worker is killed, the writer process is killed, the writer process is stopped
for 30 s, and 200 slow clients dribble request heads for a minute.

The server is `make run`'s: gunicorn with gunicorn.conf.py, production settings, on SQLite and on PostgreSQL
(when reachable). Written to bench/results/soak.json per engine: acknowledged vs stored, lost, doubled,
unscored, critical results without their alert, the audit chain, join wait p50/p99, submission p50/p99 (from
the first attempt to the acknowledgement), and the longest stretch with no acknowledged submission (overall
and around each fault). `--minutes` scales the morning (think times and the schedule); 20 is a real morning.
"""
import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from bench.loadgen import _read_response, build_request, percentile
from bench.run import ROOT, Server, drop_postgres, engine_env, machine, prepare_postgres

RESULTS = Path(os.environ.get("SOAK_RESULTS", ROOT / "bench" / "results" / "soak.json"))
PG_DB = "xinqiao_soak"
SCALES = ["PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "K6", "WHO-5"]
REQUEST_TIMEOUT_S = 30
DROP_RATE = 0.03       # the phone loses its connection after sending a submission, before the answer
DOUBLE_TAP_RATE = 0.05  # the student taps "submit" twice: the same submission twice at once


# --- the school ------------------------------------------------------------------------------------------

def seed(database_url, students, checkpoints):
    """A school of `students` in classes of 50, their consent, one open session with six questionnaires."""
    from flask_migrate import upgrade

    from app import create_app
    from app.accounts import services as accounts
    from app.accounts.models import Role
    from app.core import clock
    from app.extensions import db
    from app.orgs.models import ClassGroup, School, SchoolLevel
    from app.screening import services as screening
    from app.students.models import Consent, ConsentKind, Enrollment, EnrollmentReason, Sex, Student

    app = create_app("production", SQLALCHEMY_DATABASE_URI=database_url, AUDIT_CHECKPOINT_DIR=checkpoints)
    with app.app_context():
        upgrade()
        today = clock.today()
        school = School(name="Soak Middle School", level=SchoolLevel.MIDDLE, district="S")
        db.session.add(school)
        db.session.flush()
        teacher = accounts.create_user("soak.teacher", "Soak Teacher", "Soak-password-2026", Role.TEACHER,
                                       school=school)
        classes, people = [], []
        for c in range((students + 49) // 50):
            cls = ClassGroup(school_id=school.id, academic_year="2026-2027", grade=7 + c % 3, name=f"Soak {c}")
            db.session.add(cls)
            classes.append(cls)
        db.session.flush()
        for i in range(students):
            st = Student(student_number=f"S{i:05d}", name=f"学生{i}", sex=Sex.FEMALE if i % 2 else Sex.MALE,
                         birth_date=date(2012, 1 + i % 12, 1 + i % 28))
            db.session.add(st)
            db.session.flush()
            db.session.add(Enrollment(student_id=st.id, school_id=school.id, class_group_id=classes[i // 50].id,
                                      start_date=today - timedelta(days=30), reason=EnrollmentReason.ADMISSION))
            db.session.add(Consent(student_id=st.id, kind=ConsentKind.SCREENING, granted=True,
                                   recorded_by_id=teacher.id, recorded_at=clock.now(), note="soak"))
            people.append((st.student_number, st.birth_date.isoformat()))
        campaign = screening.launch_campaign(school, classes, SCALES, "Soak", clock.now() + timedelta(days=1),
                                             by=teacher)
        db.session.commit()
        registry = screening.registry()
        scales = {code: (registry.get(code).version,
                         [[o.value for o in item.options] for item in registry.get(code).items]) for code in SCALES}
        return {"session_code": campaign.session_code, "students": people, "scales": scales}


def _answers(rng, options):
    return [opts[0] if rng.random() < 0.6 else rng.choice(opts) for opts in options]


# --- the phones --------------------------------------------------------------------------------------------

class Morning:
    def __init__(self, port, school, minutes, rng_seed=0):
        self.port, self.school, self.minutes = port, school, minutes
        self.rng = random.Random(rng_seed)
        self.t0 = None
        self.join_waits, self.submit_waits, self.ack_times = [], [], []
        self.acked = {}            # idempotency key -> response id
        self.never_joined = 0
        self.given_up = 0          # submissions not acknowledged by the end
        self.statuses = {}
        self.dropped = self.double_taps = 0

    async def _request(self, raw, drop=False):
        """(status, json) of one request on its own connection; (None, None) on a failure or timeout."""
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
            writer.write(raw)
            await writer.drain()
            if drop:
                self.dropped += 1
                return None, None
            status, body, _ = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            try:
                return status, json.loads(body) if body else None
            except ValueError:
                return status, None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            self.statuses["no answer"] = self.statuses.get("no answer", 0) + 1
            return None, None
        finally:
            if writer is not None:
                writer.close()

    async def _backoff(self, attempt, retry_after=None):
        base = float(retry_after) if retry_after else min(30.0, 1.0 * 2 ** attempt)
        await asyncio.sleep(base * (0.5 + self.rng.random()))  # jitter: a class does not come back at once

    async def student(self, number, birth_date, offset):
        await asyncio.sleep(max(0.0, self.t0 + offset - time.monotonic()))
        started = time.monotonic()
        body = json.dumps({"session_code": self.school["session_code"], "student_number": number,
                           "birth_date": birth_date}).encode()
        token = None
        for attempt in range(40):
            status, payload = await self._request(build_request("POST", "/api/v1/student-sessions", body,
                                                                keep_alive=False))
            if status in (200, 201) and payload and payload.get("token"):
                token = payload["token"]
                break
            if status not in (None, 429, 503):
                break  # a refusal the page shows the student
            await self._backoff(attempt)
        if token is None:
            self.never_joined += 1
            return
        self.join_waits.append(time.monotonic() - started)
        scales = self.rng.sample(SCALES, self.rng.randint(3, 6))
        for code in scales:
            # reading and answering: a minute or two at a real morning's pace
            await asyncio.sleep(self.rng.uniform(30, 120) * self.minutes / 20)
            await self.submit(token, code)

    async def submit(self, token, code):
        version, options = self.school["scales"][code]
        answers = _answers(self.rng, options)
        if code == "PHQ-9" and self.rng.random() < 0.05:
            answers[8] = 1  # a critical result: its alert must be there
        key = str(uuid.uuid4())
        body = json.dumps({"scale": code, "version": version, "answers": answers, "idempotency_key": key,
                           "started_at": "2026-11-22T01:00:00Z"}).encode()
        raw = build_request("POST", "/api/v1/responses", body, {"Authorization": "Bearer " + token}, keep_alive=False)
        started = time.monotonic()
        for attempt in range(60):
            if attempt == 0 and self.rng.random() < DOUBLE_TAP_RATE:
                self.double_taps += 1
                results = await asyncio.gather(self._request(raw), self._request(raw))
            else:
                results = [await self._request(raw, drop=attempt == 0 and self.rng.random() < DROP_RATE)]
            for status, payload in results:
                if status in (200, 201) and payload:
                    self.acked[key] = payload.get("response_id")
                    self.ack_times.append(time.monotonic() - self.t0)
                    self.submit_waits.append(time.monotonic() - started)
                    return
                if status == 409:  # already stored under this key or this questionnaire: acknowledged before
                    self.acked.setdefault(key, None)
                    return
                if status is not None and status >= 400 and status not in (429, 503):
                    self.given_up += 1  # refused: the page shows the student why
                    return
            await self._backoff(min(attempt, 3))
        self.given_up += 1

    async def run(self, faults):
        self.t0 = time.monotonic()
        window = self.minutes * 60 * 0.4  # students open the page during the first 40 % of the morning
        students = [self.student(n, b, self.rng.uniform(0, window)) for n, b in self.school["students"]]
        await asyncio.gather(faults(self.t0), *students)


# --- the faults ----------------------------------------------------------------------------------------------

def _children(pid):
    found = []
    for child in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[1]) != pid:
                continue
            found.append((int(child), open(f"/proc/{child}/cmdline", "rb").read()))
        except OSError:
            continue
    return found


def _writer(master):
    return next((pid for pid, cmd in _children(master) if b"app.screening.writer_process" in cmd), None)


def _worker(master):
    return next((pid for pid, cmd in _children(master) if b"app.screening.writer_process" not in cmd), None)


def fault_schedule(server, minutes, log):
    from tests.reliability.slow_clients import SlowClients

    length = minutes * 60

    async def at(fraction, t0):
        await asyncio.sleep(max(0.0, t0 + fraction * length - time.monotonic()))
        return time.monotonic() - t0

    async def run(t0):
        when = await at(0.15, t0)
        pid = _worker(server.proc.pid)
        os.kill(pid, signal.SIGKILL)
        log.append({"at_s": round(when, 1), "fault": "worker killed (SIGKILL)", "pid": pid, "lasts_s": 0})
        when = await at(0.30, t0)
        pid = _writer(server.proc.pid)
        os.kill(pid, signal.SIGKILL)
        log.append({"at_s": round(when, 1), "fault": "writer process killed (SIGKILL)", "pid": pid, "lasts_s": 0})
        when = await at(0.45, t0)
        pid = _writer(server.proc.pid)
        os.kill(pid, signal.SIGSTOP)
        log.append({"at_s": round(when, 1), "fault": "writer process stopped (SIGSTOP) for 30 s", "pid": pid,
                    "lasts_s": 30})
        await asyncio.sleep(30)
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            log[-1]["note"] = "the master had killed it and started another"
        when = await at(0.60, t0)
        slow = SlowClients(server.port, 200, every=(3, 8))
        log.append({"at_s": round(when, 1), "fault": "200 slow clients (a header line every 3-8 s) for 60 s",
                    "lasts_s": 60})
        await asyncio.to_thread(slow.__enter__)
        await asyncio.sleep(60 - 8.5)
        await asyncio.to_thread(slow.__exit__, None, None, None)
        log[-1]["closed_by_server"] = slow.closed_by_server

    return run


# --- the checks ---------------------------------------------------------------------------------------------

def check(database_url, acked, checkpoints):
    from sqlalchemy import func, select

    from app import create_app
    from app.audit import services as audit
    from app.extensions import db
    from app.risk.models import Alert
    from app.screening.models import Response, Score

    app = create_app("production", SQLALCHEMY_DATABASE_URI=database_url, AUDIT_CHECKPOINT_DIR=checkpoints)
    with app.app_context():
        stored_keys = {}
        for key, count in db.session.execute(select(Response.idempotency_key, func.count(Response.id))
                                             .group_by(Response.idempotency_key)):
            stored_keys[key] = count
        per_questionnaire = db.session.scalar(select(func.count()).select_from(
            select(Response.campaign_id, Response.student_id, Response.scale_code)
            .group_by(Response.campaign_id, Response.student_id, Response.scale_code)
            .having(func.count(Response.id) > 1).subquery()))
        unscored = db.session.scalar(select(func.count(Response.id)).outerjoin(Score).where(Score.id.is_(None)))
        critical = set(db.session.scalars(select(Response.student_id).join(Score).where(Score.risk == "critical")))
        alerted = set(db.session.scalars(select(Alert.student_id).where(Alert.level == "critical")))
        problems = audit.verify()
        return {"acknowledged": len(acked), "stored": sum(stored_keys.values()),
                "lost": sum(1 for key in acked if key not in stored_keys),
                "doubled": sum(1 for count in stored_keys.values() if count > 1) + per_questionnaire,
                "unscored": unscored, "critical_without_alert": len(critical - alerted),
                "audit_chain_problems": len(problems), "audit_chain_first_problems": [str(p) for p in problems[:3]]}


def _stretches(times, faults):
    times = sorted(times)
    gaps = [(b - a, a) for a, b in zip(times, times[1:])]
    longest = max(gaps, default=(0, 0))
    around = []
    for fault in faults:
        start, end = fault["at_s"], fault["at_s"] + fault.get("lasts_s", 0) + 10
        near = [gap for gap, a in gaps if a + gap >= start and a <= end]
        around.append({"fault": fault["fault"], "longest_stretch_s": round(max(near, default=0), 2)})
    return round(longest[0], 2), round(longest[1], 1), around


def _ms(values, q):
    value = percentile(sorted(values), q)
    return round(value * 1000) if value is not None else None


def run_engine(name, database_url, work, students, minutes):
    print(f"[soak] {name}: seeding {students} students", flush=True)
    checkpoints = str(work / f"checkpoints-{name}")  # each engine's chain has its own checkpoints
    school = seed(database_url, students, checkpoints)
    env = engine_env(work, database_url, os.environ["SECRET_KEY"], os.environ["CLINICAL_DATA_KEYS"])
    env["AUDIT_CHECKPOINT_DIR"] = checkpoints
    env["BENCH_GUNICORN_CONF"] = str(ROOT / "gunicorn.conf.py")  # `make run`'s server, its writer process
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    server = Server("wsgi:app", env)
    faults = []
    morning = Morning(server.port, school, minutes)
    print(f"[soak] {name}: a {minutes}-minute morning on port {server.port}", flush=True)
    try:
        asyncio.run(morning.run(fault_schedule(server, minutes, faults)))
    finally:
        server.stop()
    longest, longest_at, around = _stretches(morning.ack_times, faults)
    stored = check(database_url, morning.acked, checkpoints)
    out = {
        "engine": name, "students": students, "minutes": minutes,
        "load_average_at_start": load_at_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "joined": len(morning.join_waits), "never_joined": morning.never_joined,
        "join_wait_p50_ms": _ms(morning.join_waits, 50), "join_wait_p99_ms": _ms(morning.join_waits, 99),
        "join_wait_max_ms": _ms(morning.join_waits, 100),
        "submissions_acknowledged": len(morning.acked), "submissions_given_up": morning.given_up,
        "submission_p50_ms": _ms(morning.submit_waits, 50), "submission_p99_ms": _ms(morning.submit_waits, 99),
        "submission_max_ms": _ms(morning.submit_waits, 100),
        "dropped_connections": morning.dropped, "double_taps": morning.double_taps,
        "longest_stretch_without_ack_s": longest, "longest_stretch_starts_at_s": longest_at,
        "faults": faults, "stretch_around_each_fault": around,
        "statuses": {str(k): v for k, v in sorted(morning.statuses.items(), key=lambda kv: str(kv[0]))},
        **stored,
    }
    out["goals_met"] = {
        "nothing_lost_or_doubled": stored["lost"] == 0 and stored["doubled"] == 0,
        "no_stretch_over_5_s": longest <= 5,
        "everyone_joined_within_60_s": morning.never_joined == 0 and (out["join_wait_max_ms"] or 0) <= 60000,
    }
    print(json.dumps(out), flush=True)
    return out


def main():
    from cryptography.fernet import Fernet

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20, help="length of the morning (20: a real one)")
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xinqiao-soak-"))
    os.environ.update(XINQIAO_INSTANCE_DIR=str(work), SECRET_KEY=os.urandom(24).hex(),
                      CLINICAL_DATA_KEYS=Fernet.generate_key().decode(), AUDIT_KEYS=os.urandom(32).hex())
    results = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
               "command": f"make soak SOAK_ARGS='--minutes {args.minutes:g} --students {args.students}'",
               "engines": {}}
    try:
        for engine in args.engines.split(","):
            if engine == "sqlite":
                url = f"sqlite:///{work / 'soak.sqlite'}"
                os.environ["DATABASE_URL"] = url
                results["engines"]["sqlite"] = run_engine("sqlite", url, work, args.students, args.minutes)
            elif engine == "postgresql":
                url, problem = prepare_postgres(PG_DB)
                if url is None:
                    results["engines"]["postgresql"] = {"skipped": f"PostgreSQL not reachable: {problem}"}
                    continue
                os.environ["DATABASE_URL"] = url
                try:
                    results["engines"]["postgresql"] = run_engine("postgresql", url, work, args.students, args.minutes)
                finally:
                    drop_postgres(PG_DB)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
