"""`make soak`: a whole school's morning against the real server, with faults on a schedule (issue 20).

2,000 students behind one address (127.0.0.1) open the page over the morning and do what the student page
(app/static/js/student.js) does: join with a device id of their own (on 429/503 waiting Retry-After or 2^n s,
whichever is longer, plus a random part; after a failed connection tapping "join" again a few seconds later),
answer 3 to 6 questionnaires with think time between them, and submit each one, sending it again with the same
idempotency key 3 s after a failure until it is acknowledged. Some phones drop the connection after sending,
some students tap "submit" twice at once. Meanwhile, on a schedule: a worker is killed, the writer process is
killed, the writer process is stopped for 30 s, and 200 slow clients dribble request heads for a minute.

The server is `make run`'s: gunicorn with gunicorn.conf.py, production settings, on SQLite and on PostgreSQL
(when reachable). Written to bench/results/soak.json per engine: acknowledged vs stored, lost, doubled,
unscored, critical results without their alert, the audit chain, join wait p50/p99/max (and how much of it was
spent in requests), submission p50/p99 (from the first attempt to the acknowledgement), and the longest stretch
during which a submission waited and none was acknowledged (overall and around each fault; the longest gap
between two acknowledgements, waiting or not, beside it). The harness runs on the same cores as the server: how
late its own event loop woke up is recorded (`harness`), and the load average every 10 s. `--trace DIR` keeps
every join and submission attempt with its times. `--minutes` scales the morning (think times and the schedule);
20 is a real morning.
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

from bench.loadgen import build_request, percentile
from bench.run import ROOT, Server, drop_postgres, engine_env, machine, prepare_postgres

RESULTS = Path(os.environ.get("SOAK_RESULTS", ROOT / "bench" / "results" / "soak.json"))
PG_DB = "xinqiao_soak"
SCALES = ["PHQ-9", "GAD-7", "PHQ-2", "GAD-2", "K6", "WHO-5"]
REQUEST_TIMEOUT_S = 30
DROP_RATE = 0.03       # the phone loses its connection after sending a submission, before the answer
DOUBLE_TAP_RATE = 0.05  # the student taps "submit" twice: the same submission twice at once
SEND_AGAIN_S = 3.0      # the page sends an unacknowledged submission again after 3 s (app/static/js/student.js)
LAG_TICK_S = 0.1        # the harness's own event loop is sampled this often: its lateness is the harness's, not the server's


async def _read_response(reader):
    """(status, body, Retry-After seconds or None) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, retry_after = int(head[9:12]), 0, None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"retry-after":
            try:
                retry_after = float(value)
            except ValueError:
                pass
    body = await reader.readexactly(length) if length else b""
    return status, body, retry_after


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
    """The students' phones, each doing what the student page (app/static/js/student.js) does, on one event loop.

    Every join attempt and every submission is traced with its times (`joins`, `subs`), and the loop's own
    lateness is sampled (`lag`): when the harness itself is short of CPU, its clock runs late for everyone, and
    that is the harness's delay, not the server's."""

    def __init__(self, port, school, minutes, rng_seed=0):
        self.port, self.school, self.minutes = port, school, minutes
        self.rng = random.Random(rng_seed)
        self.t0 = None
        self.joins = []            # per student: opened, joined (or None), tries [(start, end, status)]
        self.subs = []             # per submission: sent, acked (or None), gave_up, tries [(start, end, status)]
        self.lag = []              # (at, seconds late) of the harness's loop, when later than 50 ms
        self.load = []             # (at, 1-minute load average) every 10 s
        self.acked = {}            # idempotency key -> response id
        self.statuses = {}
        self.dropped = self.double_taps = 0
        self.finished = False

    def _now(self):
        return time.monotonic() - self.t0

    async def _request(self, raw, tries, drop=False):
        """(status, json, Retry-After) of one request on its own connection; (None, None, None) on a failure or
        timeout. Appends (start, end, status) to `tries`."""
        writer, started, status = None, self._now(), None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 10)
            writer.write(raw)
            await writer.drain()
            if drop:
                self.dropped += 1
                status = "dropped"
                return None, None, None
            status, body, retry_after = await asyncio.wait_for(_read_response(reader), REQUEST_TIMEOUT_S)
            self.statuses[status] = self.statuses.get(status, 0) + 1
            try:
                return status, json.loads(body) if body else None, retry_after
            except ValueError:
                return status, None, retry_after
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            status = "timeout" if isinstance(exc, asyncio.TimeoutError) else "no answer"
            self.statuses["no answer"] = self.statuses.get("no answer", 0) + 1
            return None, None, None
        finally:
            tries.append((round(started, 3), round(self._now(), 3), status))
            if writer is not None:
                writer.close()

    async def student(self, number, birth_date, offset):
        await asyncio.sleep(max(0.0, self.t0 + offset - time.monotonic()))
        record = {"opened": round(self._now(), 3), "joined": None, "tries": []}
        self.joins.append(record)
        # the page keeps a device id of its own in the browser and sends it with the join (join_guard.py)
        body = json.dumps({"session_code": self.school["session_code"], "student_number": number,
                           "birth_date": birth_date, "device": str(uuid.UUID(int=self.rng.getrandbits(128)))}).encode()
        raw = build_request("POST", "/api/v1/student-sessions", body, keep_alive=False)
        token, backoffs = None, 0
        for _ in range(40):
            status, payload, retry_after = await self._request(raw, record["tries"])
            if status in (200, 201) and payload and payload.get("token"):
                token = payload["token"]
                break
            if status in (429, 503):
                # the page: Retry-After or 2^n s, whichever is longer, plus a random part as long as 2^n
                base = min(30.0, 2.0 ** backoffs)
                await asyncio.sleep(max(retry_after or 0.0, base) + self.rng.random() * base)
                backoffs += 1
                continue
            if status is None:
                # the page says the network failed; the student taps "join" again a few seconds later
                backoffs = 0
                await asyncio.sleep(self.rng.uniform(2, 5))
                continue
            break  # a refusal the page shows the student
        if token is None:
            return
        record["joined"] = round(self._now(), 3)
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
        record = {"sent": round(self._now(), 3), "acked": None, "gave_up": None, "tries": []}
        self.subs.append(record)
        for attempt in range(100):
            if attempt == 0 and self.rng.random() < DOUBLE_TAP_RATE:
                self.double_taps += 1
                results = await asyncio.gather(self._request(raw, record["tries"]), self._request(raw, record["tries"]))
            else:
                drop = attempt == 0 and self.rng.random() < DROP_RATE
                results = [await self._request(raw, record["tries"], drop=drop)]
            for status, payload, _ in results:
                if status in (200, 201) and payload:
                    self.acked[key] = payload.get("response_id")
                    record["acked"] = round(self._now(), 3)
                    return
                if status == 409:  # already stored under this key or this questionnaire: acknowledged before
                    self.acked.setdefault(key, None)
                    record["acked"] = round(self._now(), 3)
                    return
                if status is not None and status >= 400 and status not in (429, 503):
                    record["gave_up"] = round(self._now(), 3)  # refused: the page shows the student why
                    return
            # offline, or the server answered 5xx: the page keeps the answers and sends them again after 3 s
            await asyncio.sleep(SEND_AGAIN_S)
        record["gave_up"] = round(self._now(), 3)

    async def watch(self):
        """The harness's own loop: how late a 100 ms sleep wakes up; and the machine's load every 10 s."""
        next_load = 0.0
        while not self.finished:
            before = time.monotonic()
            if before - self.t0 >= next_load:
                self.load.append((round(before - self.t0), round(os.getloadavg()[0], 2)))
                next_load += 10
            await asyncio.sleep(LAG_TICK_S)
            late = time.monotonic() - before - LAG_TICK_S
            if late > 0.05:
                self.lag.append((round(before - self.t0, 2), round(late, 3)))

    async def run(self, faults):
        self.t0 = time.monotonic()
        window = self.minutes * 60 * 0.4  # students open the page during the first 40 % of the morning
        students = [self.student(n, b, self.rng.uniform(0, window)) for n, b in self.school["students"]]
        watcher = asyncio.ensure_future(self.watch())
        try:
            await asyncio.gather(faults(self.t0), *students)
        finally:
            self.finished = True
            await watcher


async def until_answering(port, rounds=3, parallel=20, limit_s=120):
    """Seconds until `parallel` GET /healthz at once are all answered 200, `rounds` times in a row: the morning
    starts when every worker has booted and answers, not while gunicorn is still loading the app (a school's
    server has been up since before the bell; the first joins of a cold server measured its boot)."""
    started, good = time.monotonic(), 0
    raw = build_request("GET", "/healthz", keep_alive=False)

    async def one():
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
            try:
                writer.write(raw)
                await writer.drain()
                return (await asyncio.wait_for(_read_response(reader), 5))[0]
            finally:
                writer.close()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            return None

    while good < rounds and time.monotonic() - started < limit_s:
        statuses = await asyncio.gather(*(one() for _ in range(parallel)))
        good = good + 1 if all(status == 200 for status in statuses) else 0
        if good < rounds:
            await asyncio.sleep(0.2)
    return round(time.monotonic() - started, 1)


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


def _waiting_stretches(subs, end):
    """(start, length) of every stretch during which at least one submission waited (sent, not yet acknowledged
    or given up) and none was acknowledged: the goal's "no stretch without an acknowledged submission". A gap
    between two acknowledgements when nobody was waiting (a quiet minute at the end of the morning) is not one."""
    events = []
    for sub in subs:
        events.append((sub["sent"], 0, "sent"))
        events.append((sub["acked"], 1, "acked") if sub["acked"] is not None
                      else (sub["gave_up"] if sub["gave_up"] is not None else end, 1, "gone"))
    waiting, since, stretches = 0, None, []
    for at, _, what in sorted(events):
        if what == "sent":
            if waiting == 0:
                since = at
            waiting += 1
            continue
        waiting -= 1
        if what == "acked":
            stretches.append((since, at - since))
            since = at if waiting else None
        elif waiting == 0:
            stretches.append((since, at - since))
            since = None
    return stretches


def _around_faults(stretches, faults):
    """The longest stretch overlapping each fault (from its start to 10 s after its end)."""
    around = []
    for fault in faults:
        start, end = fault["at_s"], fault["at_s"] + fault.get("lasts_s", 0) + 10
        near = [length for at, length in stretches if at + length >= start and at <= end]
        around.append({"fault": fault["fault"], "longest_stretch_s": round(max(near, default=0), 2)})
    return around


def _ms(values, q):
    value = percentile(sorted(values), q)
    return round(value * 1000) if value is not None else None


def _joins(morning):
    """Join waits from opening the page to the token, and where they went: in requests (the server's answer time)
    or between them (the page's waits after a 429/503 or a failed connection)."""
    joined = [j for j in morning.joins if j["joined"] is not None]
    waits = [j["joined"] - j["opened"] for j in joined]
    in_requests = [sum(end - start for start, end, _ in j["tries"]) for j in joined]
    slowest = max(joined, key=lambda j: j["joined"] - j["opened"], default=None)
    return {
        "joined": len(joined), "never_joined": len(morning.joins) - len(joined),
        "join_wait_p50_ms": _ms(waits, 50), "join_wait_p99_ms": _ms(waits, 99), "join_wait_max_ms": _ms(waits, 100),
        "join_in_requests_p99_ms": _ms(in_requests, 99), "join_in_requests_max_ms": _ms(in_requests, 100),
        "join_attempts_max": max((len(j["tries"]) for j in morning.joins), default=0),
        "students_who_tried_again": sum(1 for j in morning.joins if len(j["tries"]) > 1),
        "slowest_join": slowest and {"opened_at_s": slowest["opened"], "tries": slowest["tries"]},
    }


def _harness(morning):
    """How late the harness's own loop ran: on a machine short of CPU its clock is late for every phone."""
    lags = [late for _, late in morning.lag]
    worst = max(morning.lag, key=lambda x: x[1], default=(None, 0))
    return {"loop_late_over_50ms": len(lags), "loop_late_over_1s": sum(1 for x in lags if x > 1),
            "loop_late_max_s": round(worst[1], 2), "loop_late_max_at_s": worst[0],
            "loop_late_total_s": round(sum(lags), 1)}


def run_engine(name, database_url, work, students, minutes, trace=None):
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
        ready_after = asyncio.run(until_answering(server.port))
        asyncio.run(morning.run(fault_schedule(server, minutes, faults)))
    finally:
        server.stop()
    end = time.monotonic() - morning.t0
    stretches = _waiting_stretches(morning.subs, end)
    longest_at, longest = max(stretches, key=lambda x: x[1], default=(0, 0))
    acks = sorted(sub["acked"] for sub in morning.subs if sub["acked"] is not None)
    gap_at, gap = max(((a, b - a) for a, b in zip(acks, acks[1:])), key=lambda x: x[1], default=(0, 0))
    waits = [sub["acked"] - sub["sent"] for sub in morning.subs if sub["acked"] is not None]
    stored = check(database_url, morning.acked, checkpoints)
    joins = _joins(morning)
    out = {
        "engine": name, "students": students, "minutes": minutes, "morning_ended_at_s": round(end, 1),
        "server_answering_after_s": ready_after,
        "load_average_at_start": load_at_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "load_average_every_10_s": [load for _, load in morning.load],
        **joins,
        "submissions_acknowledged": len(morning.acked),
        "submissions_given_up": sum(1 for sub in morning.subs if sub["acked"] is None),
        "submission_p50_ms": _ms(waits, 50), "submission_p99_ms": _ms(waits, 99), "submission_max_ms": _ms(waits, 100),
        "dropped_connections": morning.dropped, "double_taps": morning.double_taps,
        "longest_stretch_without_ack_s": round(longest, 2), "longest_stretch_starts_at_s": round(longest_at, 1),
        "longest_gap_between_acks_s": round(gap, 2), "longest_gap_starts_at_s": round(gap_at, 1),
        "faults": faults, "stretch_around_each_fault": _around_faults(stretches, faults),
        "harness": _harness(morning),
        "statuses": {str(k): v for k, v in sorted(morning.statuses.items(), key=lambda kv: str(kv[0]))},
        **stored,
    }
    out["goals_met"] = {
        "nothing_lost_or_doubled": stored["lost"] == 0 and stored["doubled"] == 0,
        "no_stretch_over_5_s": longest <= 5,
        "everyone_joined_within_60_s": joins["never_joined"] == 0 and (joins["join_wait_max_ms"] or 0) <= 60000,
    }
    if trace:
        Path(trace).mkdir(parents=True, exist_ok=True)
        Path(trace, f"soak-trace-{name}.json").write_text(json.dumps(
            {"joins": morning.joins, "subs": morning.subs, "lag": morning.lag, "load": morning.load,
             "faults": faults}))
    print(json.dumps(out), flush=True)
    return out


def main():
    from cryptography.fernet import Fernet

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=20, help="length of the morning (20: a real one)")
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--pg-database", default=PG_DB, help="the throw-away PostgreSQL database (created, dropped)")
    parser.add_argument("--trace", help="a directory for every join and submission with its times, per engine")
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
                results["engines"]["sqlite"] = run_engine("sqlite", url, work, args.students, args.minutes, args.trace)
            elif engine == "postgresql":
                url, problem = prepare_postgres(args.pg_database)
                if url is None:
                    results["engines"]["postgresql"] = {"skipped": f"PostgreSQL not reachable: {problem}"}
                    continue
                os.environ["DATABASE_URL"] = url
                try:
                    results["engines"]["postgresql"] = run_engine("postgresql", url, work, args.students, args.minutes,
                                                                   args.trace)
                finally:
                    drop_postgres(args.pg_database)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
