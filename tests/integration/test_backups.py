"""Backups (`flask backup …`): a consistent copy with its manifest, verified by restoring it into a scratch database,
restored only over an empty database unless told, clinical text still encrypted, never a key, pruned by age.
The copy taken while a class submits is in tests/reliability/test_backup_live.py."""
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text

from app import create_app
from app.backups import services as backups
from app.core import clock, crypto
from app.extensions import db
from app.risk.models import Alert
from tests.conftest import login_as
from tests.helpers import (PHQ9_CRITICAL, GAD7_LOW, answer_all, drop_database, empty_database_like, flask_command,
                           launch_campaign)

CANARY = "CANARY-b4c2-心桥-concern-note"


def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    return result.exit_code, result.output


def _some_clinical_data(app, world, client_factory):
    """A screening with a critical answer (alert, audit events) and a concern whose note is the canary."""
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    answer_all(app.test_client(), code, world.students[0], {"PHQ-9": PHQ9_CRITICAL, "GAD-7": GAD7_LOW})
    response = teacher.post("/concerns/new", {"student_number": world.students[2]["number"], "level": "moderate",
                                              "category": "parent_call", "note": CANARY})
    assert response.status_code == 302


def _backup(app, tmp_path):
    code, output = _cli(app, "backup", "create", "--to", str(tmp_path / "backups"))
    assert code == 0, output
    return Path(output.split("backup written: ")[1].splitlines()[0])


def _count(url, table):
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    finally:
        engine.dispose()


@pytest.fixture
def target(app, tmp_path):
    url = empty_database_like(app.config["SQLALCHEMY_DATABASE_URI"], tmp_path, "restored")
    yield url
    drop_database(url)


def test_a_backup_verifies_and_restores_into_an_empty_database_only_unless_told(app, world, client_factory, tmp_path,
                                                                                target):
    _some_clinical_data(app, world, client_factory)
    source = app.config["SQLALCHEMY_DATABASE_URI"]
    backup = _backup(app, tmp_path)

    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["row_counts"]["responses"] == _count(source, "responses") == 2
    assert manifest["row_counts"]["alerts"] == 2 and manifest["audit"]["events"] == _count(source, "audit_events")
    with app.app_context():
        assert manifest["schema_revision"] == db.session.scalar(text("SELECT version_num FROM alembic_version"))
        assert manifest["audit"]["head"] == db.session.scalar(
            text("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1"))
        db.session.remove()
    # Minors' data: only the server's user may read it.
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in backup.iterdir()} == {0o600}

    code, output = _cli(app, "backup", "verify", str(backup))
    assert code == 0, output
    for check in ("checksum matches", "row counts match", "audit chain intact", "the configured keys open every"):
        assert check in output

    # Into an empty database: everything is there, clinical text readable with the same keys.
    restoring = create_app("testing", SQLALCHEMY_DATABASE_URI=target)
    code, output = _cli(restoring, "backup", "restore", str(backup))
    assert code == 0, output
    assert _count(target, "responses") == 2 and _count(target, "audit_events") == manifest["audit"]["events"]
    with restoring.app_context():
        notes = db.session.scalars(select(Alert.note).where(Alert.note.is_not(None))).all()
        db.session.remove()
    assert notes == [CANARY]

    # Over a database that holds data: refused, and nothing changes, until --overwrite.
    with create_engine(target).begin() as connection:
        connection.execute(text("UPDATE schools SET name = 'Changed after the backup' "
                                "WHERE id = (SELECT min(id) FROM schools)"))
    code, output = _cli(restoring, "backup", "restore", str(backup))
    assert code != 0 and "holds data" in output and "--overwrite" in output
    assert _count(target, "schools WHERE name = 'Changed after the backup'") == 1
    code, output = _cli(restoring, "backup", "restore", "--overwrite", str(backup))
    assert code == 0, output
    assert _count(target, "schools WHERE name = 'Changed after the backup'") == 0
    assert _count(target, "responses") == 2
    with restoring.app_context():
        db.engine.dispose()


def _backup_text(backup: Path) -> bytes:
    """Every byte a reader of the backup gets: the SQLite file as it is, or pg_dump's archive as SQL."""
    manifest = json.loads((backup / "manifest.json").read_text())
    data = (backup / manifest["file"]).read_bytes()
    if manifest["engine"] == "postgresql":
        data += subprocess.run(["pg_restore", "--file=-", str(backup / manifest["file"])], capture_output=True,
                               check=True).stdout
    return data + (backup / "manifest.json").read_bytes()


def test_clinical_text_stays_encrypted_in_the_backup(app, world, client_factory, tmp_path):
    _some_clinical_data(app, world, client_factory)
    data = _backup_text(_backup(app, tmp_path))
    assert b"Student 2" in data  # what is stored in plain text is found: the search works on this format
    for needle in (CANARY.encode(), CANARY.encode("utf-16-le"), b"CANARY-b4c2"):
        assert needle not in data
    assert app.config["CLINICAL_DATA_KEYS"].encode() not in data


def test_verify_finds_a_damaged_file_a_consistent_forgery_and_missing_keys(app, world, client_factory, tmp_path):
    _some_clinical_data(app, world, client_factory)
    backup = _backup(app, tmp_path)
    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    data_file = backup / manifest["file"]

    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    raw = bytearray((damaged / manifest["file"]).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (damaged / manifest["file"]).write_bytes(bytes(raw))
    code, output = _cli(app, "backup", "verify", str(damaged))
    assert code != 0 and "does not match its checksum" in output

    # Keys: a server whose CLINICAL_DATA_KEYS lost the key of this backup is told before it needs the backup.
    stranger = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                          CLINICAL_DATA_KEYS=Fernet.generate_key().decode())
    try:
        code, output = _cli(stranger, "backup", "verify", str(backup))
    finally:
        crypto.configure(app.config["CLINICAL_DATA_KEYS"])  # the key ring is the process's
    assert code != 0 and "cannot be opened with CLINICAL_DATA_KEYS" in output

    if manifest["engine"] != "sqlite":
        return  # the forgery below edits the SQLite file; the checks it reaches are the same on both engines
    forged = tmp_path / "forged"
    shutil.copytree(backup, forged)
    connection = sqlite3.connect(forged / manifest["file"])
    connection.execute("UPDATE audit_events SET actor_role = 'admin' WHERE id = (SELECT min(id) FROM audit_events)")
    connection.commit()
    connection.close()
    manifest["sha256"] = backups._sha256(forged / manifest["file"])  # someone rewrote the manifest too
    (forged / "manifest.json").write_text(json.dumps(manifest))
    code, output = _cli(app, "backup", "verify", str(forged))
    assert code != 0 and "audit trail: event" in output
    assert data_file.exists()


def test_a_backup_of_an_older_schema_verifies_by_upgrading_a_scratch_copy(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'old.sqlite'}",
               XINQIAO_INSTANCE_DIR=str(tmp_path / "instance"), BACKUP_DIR=str(tmp_path / "backups"))
    env.pop("XINQIAO_CONFIG", None)
    assert flask_command("db", "upgrade", "f153c838181d", env=env).returncode == 0  # a revision before this one's
    created = flask_command("backup", "create", env=env)
    assert created.returncode == 0, created.stderr[-2000:]
    verified = flask_command("backup", "verify", env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr[-2000:]
    assert "schema revision f153c838181d upgrades to the code's head" in verified.stdout


def test_a_backup_never_contains_the_keys_kept_in_instance(tmp_path):
    """Development keeps generated keys in instance/ (SECRET_KEY, the clinical-data key): a backup copies none."""
    instance = tmp_path / "instance"
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{instance / 'xinqiao.sqlite'}", XINQIAO_INSTANCE_DIR=str(instance),
               BACKUP_DIR=str(tmp_path / "backups"))
    for name in ("XINQIAO_CONFIG", "SECRET_KEY", "CLINICAL_DATA_KEYS"):
        env.pop(name, None)
    assert flask_command("db", "upgrade", env=env).returncode == 0
    assert flask_command("demo", env=env).returncode == 0  # clinical text encrypted with the generated key
    created = flask_command("backup", "create", env=env)
    assert created.returncode == 0, created.stderr[-2000:]
    keys = [(instance / name).read_text().strip() for name in ("secret_key", "clinical_data.key")]
    assert all(len(key) >= 32 for key in keys)
    [backup] = (tmp_path / "backups").iterdir()
    assert sorted(p.name for p in backup.iterdir()) == ["database.sqlite", "manifest.json"]
    data = _backup_text(backup)
    for key in keys:
        assert key.encode() not in data
    verified = flask_command("backup", "verify", env=env)
    assert verified.returncode == 0 and "the configured keys open every encrypted value (8)" in verified.stdout, \
        verified.stdout + verified.stderr[-2000:]


# --- retention ------------------------------------------------------------------------------------------------

def test_the_rotation_keeps_the_newest_of_each_day_week_and_month():
    start = datetime(2026, 1, 1, 18, 0, tzinfo=timezone.utc)  # 02:00 the next morning in Shanghai
    created = [start + timedelta(days=n) for n in range(120)] + [start + timedelta(days=119, hours=3)]
    keep = backups.backups_to_keep(created, keep_daily=7, keep_weekly=4, keep_monthly=3)
    kept = sorted(created[i] for i in keep)
    local_days = [d.astimezone(clock.LOCAL_TZ).date() for d in kept]
    assert len(set(local_days)) == len(local_days)  # one per day at most: the newest of that day
    assert created[-1] in kept and created[-2] not in kept  # same day: only the later one
    newest_day = created[-1].astimezone(clock.LOCAL_TZ).date()
    assert [d for d in local_days if (newest_day - d).days < 7] == [newest_day - timedelta(days=n) for n in range(6, -1, -1)]
    assert len({d.isocalendar()[:2] for d in local_days}) >= 4
    assert len({(d.year, d.month) for d in local_days}) == 3  # months: the newest of each of the last three
    assert len(keep) <= 7 + 4 + 3
    assert backups.backups_to_keep([], 7, 4, 3) == set()
    assert backups.backups_to_keep(created, 0, 0, 0) == {len(created) - 1}  # never none


def test_prune_deletes_what_the_rotation_does_not_keep(app, tmp_path):
    directory = tmp_path / "backups"
    start = datetime(2026, 3, 1, 18, 0, tzinfo=timezone.utc)
    for n in range(30):
        moment = start + timedelta(days=n)
        path = directory / f"xinqiao-{moment:%Y%m%dT%H%M%SZ}"
        path.mkdir(parents=True)
        (path / "manifest.json").write_text(json.dumps({"format": 1, "created_at": moment.isoformat()}))
    (directory / "unrelated-folder").mkdir()
    options = ["--in", str(directory), "--keep-daily", "3", "--keep-weekly", "3", "--keep-monthly", "1"]
    code, output = _cli(app, "backup", "prune", *options, "--dry-run")
    assert code == 0 and "dry run" in output and len(list(directory.iterdir())) == 31
    code, output = _cli(app, "backup", "prune", *options)
    assert code == 0, output
    # Local dates 2 to 31 March: the last three days (Sun 29, Mon 30, Tue 31), and of the three newest weeks the
    # newest backup of the one not yet kept (Sun 22 March); March's newest is already kept.
    expected = {f"xinqiao-{start + timedelta(days=n):%Y%m%dT%H%M%SZ}" for n in (20, 27, 28, 29)}
    assert {p.name for p in directory.iterdir()} == expected | {"unrelated-folder"}  # only backups are deleted


def test_on_postgresql_the_dump_and_the_manifest_see_the_same_moment(app, world, monkeypatch, tmp_path):
    """pg_dump runs on the snapshot of the transaction that counted the rows: a commit that lands in between is
    in neither, so the manifest describes exactly the dump."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): SQLite's copy is one step of the backup API")
    from app.backups import engines

    counted = engines.describe

    def describe_then_someone_commits(connection):
        facts = counted(connection)
        with create_engine(url).begin() as other:  # another session commits after the counting
            other.execute(text("INSERT INTO hospitals (name) VALUES ('Committed meanwhile')"))
        return facts

    monkeypatch.setattr(engines, "describe", describe_then_someone_commits)
    backup = _backup(app, tmp_path)
    monkeypatch.setattr(engines, "describe", counted)
    code, output = _cli(app, "backup", "verify", str(backup))
    assert code == 0, output
    assert b"Committed meanwhile" not in _backup_text(backup)
