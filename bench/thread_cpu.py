"""Where the server's CPU goes per submission: per-thread CPU of the gunicorn workers under load (bench/README.md).

    .venv/bin/python -m bench.thread_cpu [N]                  the product, SQLite, 50 clients, N submissions
    .venv/bin/python -m bench.thread_cpu [N] --instant-writer the same with the writer answering at once
                                                              (the request path alone: not a product mode)
    .venv/bin/python -m bench.thread_cpu [N] --postgresql     on PostgreSQL (BENCH_PG_ADMIN_URL); its server's
                                                              processes are counted too

CPU time per thread comes from /proc/<pid>/task/<tid>/stat; threads are named with `py-spy dump`
(request threads, the submission writer, gunicorn's main thread). Also printed: each process's share of
a core, the load generator's, and the machine's idle cores over the run (/proc/stat). Linux only.
"""
import collections
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import loadgen, run, seed

WARMUP = 500
# A gunicorn config that loads bench/gunicorn_conf.py and, in each worker, replaces the writer's submit().
INSTANT_WRITER_CONF = '''
exec(open({conf!r}).read())

def post_worker_init(worker):
    from app.core import clock
    from app.core.serving import freeze_loaded_objects
    from app.screening import intake

    intake.Writer.submit = lambda self, sub, timeout: intake.Receipt(1, clock.now(), True, False)
    freeze_loaded_objects()
'''


def _cpu_seconds(stat: str) -> float:
    """User + system CPU time of a /proc/<pid>[/task/<tid>]/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(pgid):
    """{(pid, tid): CPU seconds} of every thread of the processes in process group `pgid`."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                out[(pid, tid)] = _cpu_seconds(open(f"/proc/{pid}/task/{tid}/stat").read())
        except OSError:
            continue
    return out


def postgres_cpu():
    """{pid: CPU seconds} of every PostgreSQL server process on this machine (backends, WAL writer, checkpointer)."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            if stat[stat.index("(") + 1:stat.rindex(")")] == "postgres":
                out[pid] = _cpu_seconds(stat)
        except (OSError, ValueError):
            continue
    return out


def thread_names(pids):
    """{(pid, tid): kind} from py-spy's dump: request threads, the submission writer, gunicorn's main thread."""
    names = {}
    for pid in pids:
        dump = subprocess.run([str(Path(sys.executable).parent / "py-spy"), "dump", "--pid", pid, "--nonblocking"],
                              capture_output=True, text=True)
        if dump.returncode:
            print(f"py-spy dump {pid}: {dump.stderr.strip()}", file=sys.stderr)
        for line in dump.stdout.splitlines():
            if line.startswith("Thread ") and '"' in line:
                name = line.split('"')[1]
                names[(pid, line.split()[1])] = "request threads" if name.startswith("ThreadPoolExecutor") else name
    return names


def main(n, instant_writer, postgresql=False):
    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="xinqiao-threads-"))
    url = run.postgres_or_exit() if postgresql else f"sqlite:///{work / 'bench.sqlite'}"
    secret, clinical = os.urandom(24).hex(), Fernet.generate_key().decode()
    os.environ.update(XINQIAO_INSTANCE_DIR=str(work), SECRET_KEY=secret, CLINICAL_DATA_KEYS=clinical, DATABASE_URL=url,
                      AUDIT_KEYS=os.urandom(32).hex())
    plan = seed.seed_database(url, students=250, campaigns=6)
    requests = seed.submission_requests(url, plan)[:WARMUP + n]
    env = run.engine_env(work, url, secret, clinical)
    if instant_writer:
        conf = work / "instant_writer_conf.py"
        conf.write_text(INSTANT_WRITER_CONF.format(conf=str(run.ROOT / "bench" / "gunicorn_conf.py")))
        env["BENCH_GUNICORN_CONF"] = str(conf)
    server = run.Server("wsgi:app", env, run.PRODUCT_CONF)
    try:
        loadgen.closed_loop(server.port, requests[:WARMUP], run.CONCURRENCY)
        before, machine_before, client_before = thread_cpu(server.proc.pid), machine_cpu(), time.process_time()
        pg_before = postgres_cpu()
        started = time.monotonic()
        result = {}
        load = threading.Thread(target=lambda: result.update(
            loadgen.closed_loop(server.port, requests[WARMUP:], run.CONCURRENCY)))
        load.start()
        time.sleep(1.0)
        names = thread_names(sorted({pid for pid, _tid in before}))
        load.join()
        after, machine_after, client_after = thread_cpu(server.proc.pid), machine_cpu(), time.process_time()
        # per process: a backend that ended meanwhile (a connection closed) must not take its earlier CPU with it
        pg_cpu = sum(cpu - pg_before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())
        seconds = time.monotonic() - started
    finally:
        server.stop()
        if postgresql:
            run.drop_postgres()
    by_kind, by_process = collections.Counter(), collections.Counter()
    for key, cpu in after.items():
        by_kind[names.get(key, "other")] += cpu - before.get(key, 0.0)
        by_process[key[0]] += cpu - before.get(key, 0.0)
    print(f"{result['requests']} submissions, {result['rps']}/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    for kind, cpu in by_kind.most_common():
        print(f"  {kind:28s} {cpu * 1000 / n:6.3f} ms CPU per submission")
    print(f"  {'total':28s} {sum(by_kind.values()) * 1000 / n:6.3f} ms CPU per submission")
    if postgresql:
        print(f"  {'PostgreSQL server':28s} {pg_cpu * 1000 / n:6.3f} ms CPU per submission "
              f"({pg_cpu / seconds:.2f} cores)")
    total, idle = (a - b for a, b in zip(machine_after, machine_before))
    print("cores used: " + ", ".join(f"process {pid} {cpu / seconds:.2f}" for pid, cpu in by_process.most_common())
          + f"; load generator {(client_after - client_before) / seconds:.2f}; idle {idle / total * os.cpu_count():.2f}")


def machine_cpu():
    """(all, idle) jiffies of the whole machine since boot."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 3000, "--instant-writer" in sys.argv, "--postgresql" in sys.argv)
