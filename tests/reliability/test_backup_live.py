"""A backup taken while a class submits to the real server (gunicorn, its writer process, several workers) holds
every submission acknowledged before the backup's moment, and restores whole: nothing lost, nothing doubled."""
import json
import os
import random
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.helpers import drop_database, empty_database_like
from tests.reliability.conftest import CLASS_SIZE, GAD7_LOW, PHQ9_CRITICAL, PHQ9_LOW, submission
from tests.reliability.server import ROOT, request

CLIENTS = 4


def _flask(*args, database_url, tmp_path):
    env = dict(os.environ, XINQIAO_CONFIG="testing", TEST_DATABASE_URL=database_url,
               XINQIAO_INSTANCE_DIR=str(tmp_path / "cli-instance"), PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _keys(url):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            keys = connection.execute(text("SELECT idempotency_key FROM responses")).scalars().all()
    finally:
        engine.dispose()
    return keys


def test_a_backup_during_a_class_holds_every_submission_acknowledged_before_it(app, whole_class, live_gunicorn,
                                                                                tmp_path):
    server = live_gunicorn.start()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    work = [(i, submission(whole_class, scale, answers)) for i in range(CLASS_SIZE)
            for scale, answers in (("PHQ-9", PHQ9_CRITICAL if i % 5 == 0 else PHQ9_LOW), ("GAD-7", GAD7_LOW))]
    random.Random(16).shuffle(work)
    total = len(work)
    acked, errors, lock = {}, [], threading.Lock()
    backup_done = threading.Event()

    def client():
        while True:
            with lock:
                if not work:
                    return
                i, body = work.pop()
                left = len(work)
            if left < total // 4:
                backup_done.wait(timeout=120)  # the last quarter is acknowledged after the backup, whatever its pace
            for _attempt in range(20):
                status, payload = request(server.port, "POST", "/api/v1/responses", body, token=whole_class.tokens[i])
                if status in (200, 201):
                    acked[body["idempotency_key"]] = datetime.now(timezone.utc)
                    break
                if status < 500:
                    errors.append((status, payload))
                    break
                time.sleep(0.1)
            if not backup_done.is_set():
                time.sleep(0.2)  # a class answers over minutes; the backup runs in the middle of it

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    while len(acked) < total // 10:
        time.sleep(0.01)
    backup = _flask("backup", "create", "--to", str(tmp_path / "backups"), database_url=url, tmp_path=tmp_path)
    out, err = backup.communicate(timeout=180)
    backup_done.set()
    for thread in threads:
        thread.join(timeout=180)
    assert backup.returncode == 0, err[-3000:]
    assert not errors, errors[:3]
    assert len(acked) == total

    path = Path(out.split("backup written: ")[1].splitlines()[0])
    moment = datetime.fromisoformat(json.loads((path / "manifest.json").read_text())["created_at"])
    before = {key for key, at in acked.items() if at < moment}
    assert 0 < len(before) < total, "the backup was not taken during the class"

    target = empty_database_like(url, tmp_path, "restored_live")
    try:
        restore = _flask("backup", "restore", str(path), database_url=target, tmp_path=tmp_path)
        out, err = restore.communicate(timeout=300)
        assert restore.returncode == 0, out[-3000:] + err[-3000:]
        restored = _keys(target)
    finally:
        drop_database(target)
    assert len(restored) == len(set(restored))  # nothing doubled
    assert before <= set(restored), f"{len(before - set(restored))} acknowledged submissions missing"
    assert set(restored) <= set(acked)  # nothing that was never sent
    assert sorted(_keys(url)) == sorted(acked)  # and the live database went on to hold all of them
