"""The submission writer's CPU per batch and per submission, by batch size, in-process (bench/README.md, round 4).

    .venv/bin/python -m bench.batch_cost            batches of 1, 4, 8, 16, 32 and 64 on a seeded SQLite file
    .venv/bin/python -m bench.batch_cost --postgresql   the same on PostgreSQL (BENCH_PG_ADMIN_URL)

A batch has a fixed cost (the rules' queries, the audit chain's end, the open-alert lookup, the commit) and
a cost per submission; this separates the two. Wall time is printed beside CPU time: on PostgreSQL the writer
also waits for the server (round trips, the commit's flush), and one writer's batches follow each other.
"""
import json
import os
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

from bench import loadgen, run, seed

SUBMISSIONS_PER_SIZE = 480


def main(postgresql=False):
    from cryptography.fernet import Fernet

    work = Path(tempfile.mkdtemp(prefix="xinqiao-batch-cost-"))
    url = run.postgres_or_exit() if postgresql else f"sqlite:///{work / 'bench.sqlite'}"
    os.environ.update(XINQIAO_CONFIG="production", XINQIAO_INSTANCE_DIR=str(work), DATABASE_URL=url,
                      SECRET_KEY=secrets.token_hex(32), CLINICAL_DATA_KEYS=Fernet.generate_key().decode(),
                      AUDIT_KEYS=secrets.token_hex(32))
    sizes = (1, 4, 8, 16, 32, 64)
    plan = seed.seed_database(url, students=250, campaigns=6)
    raw = seed.submission_requests(url, plan)[:SUBMISSIONS_PER_SIZE * (len(sizes) + 1)]
    app = seed._app(url)

    from app.api import tokens
    from app.core.serving import freeze_loaded_objects
    from app.screening import intake

    submissions = []
    with app.test_request_context():
        for request in raw:
            _method, _path, headers, body = loadgen.parse_request(request)
            campaign_id, student_id, _generation = tokens.read(headers["Authorization"].removeprefix("Bearer "))
            fields = json.loads(body)
            submissions.append(intake.prepare(app.extensions["scales"], campaign_id, student_id, fields["scale"],
                                              fields["version"], fields["answers"], fields["idempotency_key"], None))
    random.Random(1).shuffle(submissions)  # the same mix of questionnaires (and alerts) for every size
    writer = intake.Writer(app)
    freeze_loaded_objects()  # as the writer process does: no full collection of the app in the middle of a size
    position = 0
    for size in (8,) + sizes:  # the first round warms up
        cpu, wall, batches = time.process_time(), time.perf_counter(), 0
        for _ in range(SUBMISSIONS_PER_SIZE // size):
            batch = submissions[position:position + size]
            position += size
            batches += 1
            with app.app_context():
                writer._write(batch)
            assert all(isinstance(sub.outcome, intake.Receipt) for sub in batch)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(f"batch of {size:2d}: {cpu / batches * 1000:6.3f} ms CPU per batch, "
              f"{cpu / (batches * size) * 1000:6.3f} ms per submission; "
              f"wall {wall / batches * 1000:6.3f} ms per batch, {wall / (batches * size) * 1000:6.3f} ms per submission")
    if postgresql:
        from app.extensions import db

        with app.app_context():
            db.engine.dispose()
        run.drop_postgres()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main("--postgresql" in sys.argv)
