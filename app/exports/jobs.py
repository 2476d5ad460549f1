"""Export jobs: an export too large to wait for is written by a thread of the server to a file in EXPORT_DIR,
and downloaded from its page once done. Files are removed after EXPORT_KEEP_HOURS (at the next visit of the exports
page). A job whose process stopped (a restart) is marked failed at the next visit
once it is older than that."""
import logging
import os
import secrets
import threading
from types import SimpleNamespace
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from app.core import clock
from app.core.spreadsheets import write_xlsx
from app.exports import research, responses
from app.exports.models import ExportJob, ExportKind, ExportStatus
from app.extensions import db

logger = logging.getLogger(__name__)
SUFFIX = {ExportKind.RESEARCH: "zip", ExportKind.RESPONSES_XLSX: "xlsx"}


def export_dir() -> Path:
    path = Path(current_app.config["EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job) -> Path | None:
    return export_dir() / job.file_name if job.file_name else None


def start(job_id: int, locale: str) -> None:
    """Run the job in a thread of this process (the request that made it has committed it)."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=run, args=(app, job_id, locale), name=f"export-job-{job_id}", daemon=True)
    thread.start()
    if app.config.get("EXPORT_JOBS_WAIT"):  # tests and the benchmark: the request returns once the file is there
        thread.join()


def _write_responses_xlsx(job, path):
    n_items = responses.item_count(job.params.get("school_id"))
    written = write_xlsx(str(path), "responses", responses.rows(n_items, job.params.get("school_id")),
                         header=responses.header(n_items))
    return written, {"rows_written": written}


def _write_research(job, path):
    report = research.write_research_zip(job, path)
    return report["rows_written"], report


WRITERS = {ExportKind.RESPONSES_XLSX: _write_responses_xlsx, ExportKind.RESEARCH: _write_research}


def run(app, job_id: int, locale: str) -> None:
    with app.app_context(), app.test_request_context(), force_locale(locale):
        job = db.session.get(ExportJob, job_id)
        if job is None or job.status != ExportStatus.QUEUED:
            return
        job.status, job.started_at = ExportStatus.RUNNING, clock.now()
        # A plain copy: the export reads on a connection of its own, and this session must hold no transaction
        # meanwhile (on SQLite it would hold the writer lock for the whole export).
        job = SimpleNamespace(**{c.key: getattr(job, c.key) for c in ExportJob.__table__.columns})
        db.session.commit()
        db.session.close()
        name = f"{job.id}-{secrets.token_hex(8)}.{SUFFIX[job.kind]}"
        partial = export_dir() / (name + ".part")
        try:
            rows, report = WRITERS[job.kind](job, partial)
            os.replace(partial, export_dir() / name)
        except Exception as exc:  # noqa: BLE001 - the job fails, the server goes on; no row content in the log
            db.session.rollback()
            logger.error("export job %s (%s) failed: %s", job_id, job.kind.value, type(exc).__name__)
            partial.unlink(missing_ok=True)
            job = db.session.get(ExportJob, job_id)
            job.status, job.error, job.finished_at = ExportStatus.FAILED, type(exc).__name__, clock.now()
            db.session.commit()
            return
        job = db.session.get(ExportJob, job_id)
        job.status, job.file_name, job.rows, job.report = ExportStatus.DONE, name, rows, report
        job.finished_at = clock.now()
        job.expires_at = job.finished_at + timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
        db.session.commit()
        logger.info("export job %s (%s) done: %s rows", job_id, job.kind.value, rows)


def purge_expired() -> int:
    """Remove the files of jobs past their time, and mark jobs that never finished as failed. Flushes only."""
    now = clock.now()
    removed = 0
    for job in db.session.scalars(select(ExportJob).where(ExportJob.status == ExportStatus.DONE,
                                                          ExportJob.expires_at < now)):
        path = file_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        job.status, job.file_name = ExportStatus.EXPIRED, None
        removed += 1
    stale = now - timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    for job in db.session.scalars(select(ExportJob).where(ExportJob.status.in_((ExportStatus.QUEUED, ExportStatus.RUNNING)),
                                                          ExportJob.created_at < stale)):
        job.status, job.error, job.finished_at = ExportStatus.FAILED, "interrupted", now
    db.session.flush()
    return removed
