"""Backups: create a consistent copy while the server runs, verify it by restoring it, restore it, prune old ones.

A backup is a directory `xinqiao-<UTC time>` holding the database copy and `manifest.json` (when, schema revision,
rows per table, audit head, checksum). It holds no key: clinical free text stays encrypted with CLINICAL_DATA_KEYS,
which are kept apart (README, "Going live"), and nothing is read from instance/.
"""
import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from app.backups.engines import BackupError, connect, describe, engine_for, has_data
from app.core import clock

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PREFIX = "xinqiao-"
PARTIAL = ".partial-"      # a backup being written (renamed when whole)
VERIFYING = ".verify-"     # a scratch copy being checked (removed after)
FORMAT = 1


@dataclass
class Report:
    """What a verification or restore found: every check made, and the problems (none when it passed)."""

    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(backup: Path) -> dict:
    try:
        manifest = json.loads((backup / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{backup}: no readable {MANIFEST}: not a finished XinQiao backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup}: manifest format {manifest.get('format')!r} is not {FORMAT}")
    return manifest


# --- create ---------------------------------------------------------------------------------------------------

def create_backup(directory: str | Path, database_url: str | None = None) -> Path:
    """Copy the database into a new backup under `directory`; the finished directory appears whole or not at all."""
    url = database_url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    engine = engine_for(url)
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=PARTIAL, dir=directory))  # 0700: minors' data
    try:
        data_file = work / engine.file_name
        moment, facts = engine.dump(data_file)
        os.chmod(data_file, 0o600)
        manifest = {"format": FORMAT, "created_at": moment.isoformat(), "finished_at": clock.now().isoformat(),
                    "engine": engine.name, "file": engine.file_name, "size_bytes": data_file.stat().st_size,
                    "sha256": _sha256(data_file), **facts,
                    "keys": "not in this backup: clinical free text is encrypted with CLINICAL_DATA_KEYS"}
        manifest_path = work / MANIFEST
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.chmod(manifest_path, 0o600)
        _fsync_dir(work)
        final = _free_name(directory, PREFIX + moment.strftime("%Y%m%dT%H%M%SZ"))
        os.rename(work, final)
        _fsync_dir(directory)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    logger.info("backup written to %s", final)
    return final


def _free_name(directory: Path, name: str) -> Path:
    candidate, n = directory / name, 1
    while candidate.exists():
        n += 1
        candidate = directory / f"{name}-{n}"
    return candidate


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- list and prune -------------------------------------------------------------------------------------------

def list_backups(directory: str | Path) -> list[tuple[Path, dict]]:
    """Finished backups under `directory`, oldest first, with their manifests."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        if path.is_dir() and path.name.startswith(PREFIX) and (path / MANIFEST).exists():
            try:
                found.append((path, read_manifest(path)))
            except BackupError:
                continue
    return sorted(found, key=lambda item: item[1]["created_at"])


def latest_backup(directory: str | Path) -> Path:
    backups = list_backups(directory)
    if not backups:
        raise BackupError(f"no backup in {directory}")
    return backups[-1][0]


def backups_to_keep(created: list[datetime], keep_daily: int, keep_weekly: int, keep_monthly: int) -> set[int]:
    """Indexes of the backups a grandfather-father-son rotation keeps: the newest of each of the last `keep_daily`
    days, `keep_weekly` ISO weeks and `keep_monthly` months that have one (local dates), and always the newest."""
    order = sorted(range(len(created)), key=lambda i: created[i], reverse=True)
    keep = {order[0]} if order else set()
    periods = ((keep_daily, lambda d: d.date()), (keep_weekly, lambda d: d.isocalendar()[:2]),
               (keep_monthly, lambda d: (d.year, d.month)))
    for count, period_of in periods:
        seen = []
        for i in order:
            period = period_of(created[i].astimezone(clock.LOCAL_TZ))
            if period in seen:
                continue
            if len(seen) >= count:
                break
            seen.append(period)
            keep.add(i)
    return keep


def prune_backups(directory: str | Path, keep_daily: int, keep_weekly: int, keep_monthly: int,
                  dry_run: bool = False) -> tuple[list[Path], list[Path]]:
    """Delete the backups the rotation does not keep, and leftovers of interrupted runs older than a day.
    Returns (kept, deleted)."""
    backups = list_backups(directory)
    created = [datetime.fromisoformat(manifest["created_at"]) for _path, manifest in backups]
    keep = backups_to_keep(created, keep_daily, keep_weekly, keep_monthly)
    kept = [path for i, (path, _m) in enumerate(backups) if i in keep]
    deleted = [path for i, (path, _m) in enumerate(backups) if i not in keep]
    cutoff = clock.now().timestamp() - timedelta(days=1).total_seconds()
    directory = Path(directory)
    if directory.is_dir():
        deleted += [p for p in directory.iterdir()
                    if p.name.startswith((PARTIAL, VERIFYING)) and p.stat().st_mtime < cutoff]
    if not dry_run:
        for path in deleted:
            shutil.rmtree(path)
    return kept, deleted


# --- verify ---------------------------------------------------------------------------------------------------

def verify_backup(backup: str | Path, database_url: str | None = None) -> Report:
    """Restore the backup into a scratch database and check it: checksum, integrity, schema revision, rows, the
    audit chain, and that the configured keys open every encrypted value. The backup itself is never changed."""
    backup, report = Path(backup), Report()
    manifest = read_manifest(backup)
    engine = engine_for(database_url or current_app.config["SQLALCHEMY_DATABASE_URI"])
    if manifest["engine"] != engine.name:
        raise BackupError(f"a {manifest['engine']} backup cannot be checked against a {engine.name} database")
    data_file = backup / manifest["file"]
    if not data_file.exists() or _sha256(data_file) != manifest["sha256"]:
        report.problems.append(f"{manifest['file']} is missing or does not match its checksum (changed or damaged)")
        return report
    report.checks.append("checksum matches the manifest")
    work = Path(tempfile.mkdtemp(prefix=VERIFYING, dir=backup.parent))  # beside the backups, not in /tmp
    scratch = None
    try:
        if engine.name == "sqlite":  # never open the backup itself: opening may write to it
            shutil.copyfile(data_file, work / "copy.sqlite")
            data_file = work / "copy.sqlite"
        scratch = engine.scratch(work)
        try:
            engine.load(data_file, scratch, overwrite=False)
        except BackupError as exc:
            report.problems.append(f"the restore into a scratch database failed: {exc}")
            return report
        report.checks.append("restored into a scratch database")
        check_restored(scratch, manifest, report, engine=engine)
    finally:
        if scratch is not None:
            engine.drop_scratch(scratch)
        shutil.rmtree(work, ignore_errors=True)
    return report


def check_restored(url: str, manifest: dict, report: Report, engine=None, application=True) -> None:
    """The checks of a restored database against its manifest: a scratch copy (with the application's checks,
    which may upgrade it), or the restored database itself (without: it is left at the backup's revision)."""
    if engine is not None:
        problems = engine.integrity(url)
        report.problems.extend(problems)
        if not problems:
            report.checks.append(engine.integrity_checked)
    with connect(url) as connection:
        found = describe(connection)
    if found["schema_revision"] != manifest["schema_revision"]:
        report.problems.append(f"schema revision {found['schema_revision']} is not the manifest's "
                               f"{manifest['schema_revision']}")
    differing = sorted(t for t in set(found["row_counts"]) | set(manifest["row_counts"])
                       if found["row_counts"].get(t) != manifest["row_counts"].get(t))
    if differing:
        report.problems.append("row counts differ from the manifest in: " + ", ".join(differing))
    else:
        report.checks.append(f"row counts match the manifest ({sum(found['row_counts'].values())} rows in "
                             f"{len(found['row_counts'])} tables)")
    if found["audit"] != manifest["audit"]:
        report.problems.append("the audit trail's head is not the manifest's")
    else:
        report.checks.append(f"audit head matches the manifest ({manifest['audit']['events']} events)")
    if report.problems or not application:
        return
    from app.backups import scratch_checks  # the application against the restored database

    scratch_checks.check_with_application(url, manifest, report)


# --- restore --------------------------------------------------------------------------------------------------

def restore_backup(backup: str | Path, database_url: str | None = None, overwrite: bool = False) -> Report:
    """Verify the backup, then write it into the configured database (stop the server first).

    A database that holds data is overwritten only with `overwrite`; the write is one transaction either way.
    """
    backup = Path(backup)
    url = database_url or current_app.config["SQLALCHEMY_DATABASE_URI"]
    engine = engine_for(url)
    if has_data_or_missing(url) and not overwrite:
        raise BackupError("the database holds data: restoring would overwrite it. Stop the server, make a backup "
                          "of it, and run again with --overwrite if that is what you want")
    report = verify_backup(backup, url)
    if not report.ok:
        return report
    manifest = read_manifest(backup)
    engine.load(backup / manifest["file"], url, overwrite=overwrite)
    report.checks.append("written into the configured database")
    check_restored(url, manifest, report, application=False)
    return report


def has_data_or_missing(url: str) -> bool:
    """Whether the target holds data. A missing SQLite file is empty (the restore creates it)."""
    engine = engine_for(url)
    if engine.name == "sqlite" and not os.path.exists(engine.path):
        return False
    return has_data(url)
