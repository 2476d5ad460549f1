"""Profile the submission path in-process: N sequential POST /api/v1/responses through the test client.

    .venv/bin/python -m bench.profile_submit [N]     (prints per-request wall/CPU and the top of cProfile)
"""
import cProfile
import os
import pstats
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(n=1000):
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="xinqiao-prof-"))
    url = f"sqlite:///{tmp / 'prof.db'}"
    os.environ.update(XINQIAO_CONFIG="production", XINQIAO_INSTANCE_DIR=str(tmp), DATABASE_URL=url,
                      SECRET_KEY=secrets.token_hex(32), AUDIT_KEYS=secrets.token_hex(32),
                      CLINICAL_DATA_KEYS=__import__("cryptography.fernet").fernet.Fernet.generate_key().decode())
    from bench import loadgen, seed

    plan = seed.seed_database(url, students=250, campaigns=6)
    requests = [loadgen.parse_request(r) for r in seed.submission_requests(url, plan)[:n + 200]]
    app = seed._app(url)
    client = app.test_client()

    def send(req):
        method, path, headers, body = req
        resp = client.open(path, method=method, headers=headers, data=body)
        assert resp.status_code in (200, 201), resp.get_data(as_text=True)

    for req in requests[:200]:  # warm-up
        send(req)
    profiler = cProfile.Profile()
    wall, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for req in requests[200:]:
        send(req)
    profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{n} submissions: {wall / n * 1000:.2f} ms wall, {cpu / n * 1000:.2f} ms CPU each (with profiler)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
