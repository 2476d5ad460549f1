"""The district's FHIR Bulk Data export: NDJSON files, one per resource type, written by a job.

Asynchronous as the Bulk Data spec asks (http://hl7.org/fhir/uv/bulkdata/): the kick-off queues a job and answers
202 with the status URL; the status answers 202 while it runs and a manifest once complete; the files are removed
FHIR_EXPORT_KEEP_HOURS after it finished. The job runs in a thread of the worker that received it
(FHIR_EXPORT_THREADS) or from `flask fhir run-exports`; export_ndjson() is the function both call, and the bench.

Memory stays flat whatever the size: rows are read in batches (yield_per) and each resource is written as it is
made. The district admin's export holds identities and scores, never clinical free text (resources.py).
"""
import json
import logging
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.audit import services as audit
from app.care.models import Referral, ReturnDecision
from app.core import clock
from app.extensions import db
from app.interop.fhir import resources
from app.interop.fhir.models import ExportStatus, FhirExportJob
from app.screening.models import Response, Score
from app.students.models import Student

logger = logging.getLogger(__name__)
TYPES = ("Patient", "Questionnaire", "QuestionnaireResponse", "Observation", "ServiceRequest", "DocumentReference")
BATCH = 2000


class ExportError(ValueError):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def parse_types(value: str | None) -> list:
    if not value:
        return list(TYPES)
    types = [t.strip() for t in value.split(",") if t.strip()]
    if not types or any(t not in TYPES for t in types):
        raise ExportError("bad_type")
    return types


def check_school_year(value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) != 9 or value[4] != "-" or not (value[:4].isdigit() and value[5:].isdigit()) \
            or int(value[5:]) != int(value[:4]) + 1:
        raise ExportError("bad_school_year")
    return value


def job_dir(job_id: int) -> Path:
    return Path(current_app.config["FHIR_EXPORT_DIR"]) / f"job-{int(job_id)}"


def kick_off(*, by, types=None, school_year=None, request_url="") -> FhirExportJob:
    job = FhirExportJob(requested_by_id=by.id if by is not None else None, status=ExportStatus.QUEUED,
                        types=list(types or TYPES), school_year=school_year, request_url=request_url[:300],
                        created_at=clock.now(), outputs=[], error="")
    db.session.add(job)
    db.session.flush()
    audit.record(by, "fhir_bulk_export_requested", "fhir_export_job", job.id,
                 detail={"types": job.types, "school_year": school_year})
    return job


def start_in_thread(app, job_id: int) -> threading.Thread:
    """Run the job beside the request (after its commit): the kick-off does not wait for it."""
    def run():
        with app.app_context():
            try:
                run_job(job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=f"fhir-export-{job_id}", daemon=True)
    thread.start()
    return thread


def _claim(job_id: int) -> FhirExportJob | None:
    job = db.session.get(FhirExportJob, job_id, with_for_update=True)
    if job is None or job.status != ExportStatus.QUEUED:
        db.session.rollback()
        return None
    job.status, job.started_at = ExportStatus.RUNNING, clock.now()
    db.session.commit()
    return job


def run_job(job_id: int) -> FhirExportJob | None:
    """Run one queued job to the end (complete or failed); a job another runner claimed is left alone."""
    job = _claim(job_id)
    if job is None:
        return None
    directory = job_dir(job.id)
    try:
        outputs = export_ndjson(directory, types=job.types, school_year=job.school_year, job=job)
    except Exception:  # noqa: BLE001 - the job records the failure; the log names no student
        logger.exception("FHIR export job %s failed", job_id)
        db.session.rollback()
        shutil.rmtree(directory, ignore_errors=True)
        job = db.session.get(FhirExportJob, job_id)
        job.status, job.finished_at, job.error = ExportStatus.FAILED, clock.now(), "export_failed"
        job.expires_at = job.finished_at
        db.session.commit()
        return job
    job.outputs, job.status, job.finished_at = outputs, ExportStatus.COMPLETE, clock.now()
    job.expires_at = job.finished_at + timedelta(hours=current_app.config["FHIR_EXPORT_KEEP_HOURS"])
    audit.record(None, "fhir_bulk_export_written", "fhir_export_job", job.id,
                 detail={"counts": {o["type"]: o["count"] for o in outputs}})
    db.session.commit()
    return job


def run_pending() -> int:
    """Every queued job, oldest first (`flask fhir run-exports`). Returns how many ran."""
    ran = 0
    for job_id in db.session.scalars(select(FhirExportJob.id).where(FhirExportJob.status == ExportStatus.QUEUED)
                                     .order_by(FhirExportJob.id)).all():
        ran += run_job(job_id) is not None
    return ran


def purge_expired(now: datetime | None = None) -> int:
    """Remove the files of exports past their time; the job row stays (who exported what, when) with no files."""
    now = now or clock.now()
    jobs = db.session.scalars(select(FhirExportJob).where(FhirExportJob.expires_at <= now,
                                                          FhirExportJob.removed_at.is_(None))).all()
    for job in jobs:
        shutil.rmtree(job_dir(job.id), ignore_errors=True)
        job.removed_at = now
    if jobs:
        db.session.flush()
    return len(jobs)


def output_path(job: FhirExportJob, file_name: str) -> Path | None:
    """The file of a complete, not yet removed job, if `file_name` is one of its outputs."""
    if job.status != ExportStatus.COMPLETE or job.removed_at is not None:
        return None
    if file_name not in {o["file"] for o in job.outputs}:
        return None
    path = job_dir(job.id) / file_name
    return path if path.is_file() else None


# --- writing --------------------------------------------------------------------------------------------------

def _year_range(school_year):
    if not school_year:
        return None
    first, after = resources.school_year_bounds(school_year)
    start = datetime(first.year, first.month, first.day, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
    end = datetime(after.year, after.month, after.day, tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
    return start, end


class _Writer:
    def __init__(self, directory: Path, job=None):
        self.directory, self.job, self.files, self.counts, self.written = directory, job, {}, {}, 0

    def write(self, resource: dict):
        kind = resource["resourceType"]
        handle = self.files.get(kind)
        if handle is None:
            handle = self.files[kind] = open(self.directory / f"{kind}.ndjson", "w", encoding="utf-8")
            self.counts[kind] = 0
        handle.write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
        handle.write("\n")
        self.counts[kind] += 1
        self.written += 1

    def close(self):
        for handle in self.files.values():
            handle.close()


def export_ndjson(directory, *, types=None, school_year=None, job=None) -> list:
    """Write the district's records as NDJSON files in `directory`, one per type; return the manifest's outputs.

    `school_year` ('2026-2027') keeps the responses and scores submitted in that school year, the referrals and
    decisions made in it, and the students they concern. Callable without a request (the bench calls it)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    types = list(types or TYPES)
    span = _year_range(school_year)
    registry = current_app.extensions["scales"]
    writer = _Writer(directory, job)
    try:
        if "Questionnaire" in types:
            for scale in registry.all_texts():
                writer.write(resources.questionnaire(scale))
        if "Patient" in types:
            # columns, not Student objects: a province's school year is a million of them (no guardian data read)
            query = select(Student.id, Student.student_number, Student.name, Student.sex, Student.birth_date) \
                .order_by(Student.id)
            if span:
                in_year = select(Response.student_id).where(Response.submitted_at >= span[0],
                                                            Response.submitted_at < span[1])
                referred = select(Referral.student_id).where(Referral.created_at >= span[0], Referral.created_at < span[1])
                query = query.where(Student.id.in_(in_year.union(referred)))
            for student in db.session.execute(query.execution_options(yield_per=BATCH)):
                writer.write(resources.patient(student))
        if "QuestionnaireResponse" in types or "Observation" in types:
            _write_responses(writer, types, span, registry)
        if "ServiceRequest" in types:
            query = select(Referral).options(selectinload(Referral.school), selectinload(Referral.hospital)) \
                .order_by(Referral.id)
            if span:
                query = query.where(Referral.created_at >= span[0], Referral.created_at < span[1])
            for referral in db.session.scalars(query.execution_options(yield_per=BATCH)):
                writer.write(resources.service_request(referral))
        if "DocumentReference" in types:
            query = select(ReturnDecision).order_by(ReturnDecision.id)
            if span:
                query = query.where(ReturnDecision.created_at >= span[0], ReturnDecision.created_at < span[1])
            for decision in db.session.scalars(query.execution_options(yield_per=BATCH)):
                writer.write(resources.document_reference(decision, None))
    finally:
        writer.close()
    return [{"type": kind, "file": f"{kind}.ndjson", "count": writer.counts[kind]} for kind in types
            if kind in writer.counts]


class _Score(NamedTuple):
    id: int
    total: int | None
    band: str | None
    risk: str
    subscales: dict
    scored_at: datetime


def _write_responses(writer, types, span, registry):
    """QuestionnaireResponses and their Observations from one pass over responses joined to their scores, read as
    columns (no ORM objects, no second query per batch): millions of rows in a province's school year."""
    query = select(Response.id, Response.student_id, Response.scale_code, Response.scale_version, Response.answers,
                   Response.submitted_at, Score.id.label("score_id"), Score.total, Score.band, Score.risk,
                   Score.subscales, Score.scored_at) \
        .outerjoin(Score, Score.response_id == Response.id).order_by(Response.id)
    if span:
        query = query.where(Response.submitted_at >= span[0], Response.submitted_at < span[1])
    scales = {}
    for row in db.session.execute(query.execution_options(yield_per=BATCH)):
        key = (row.scale_code, row.scale_version)
        if key not in scales:
            scales[key] = registry.by_version(*key)
        scale = scales[key]
        if "QuestionnaireResponse" in types:
            writer.write(resources.questionnaire_response(row, scale))
        if "Observation" in types and row.score_id is not None:
            score = _Score(row.score_id, row.total, row.band, row.risk, row.subscales, row.scored_at)
            writer.write(resources.observation(score, row, scale))


def manifest(job: FhirExportJob, file_url) -> dict:
    """The Bulk Data completion manifest."""
    return {"transactionTime": resources.instant(job.started_at or job.created_at), "request": job.request_url,
            "requiresAccessToken": True, "error": [],
            "output": [{"type": o["type"], "url": file_url(o["file"]), "count": o["count"]} for o in job.outputs]}
