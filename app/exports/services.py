"""Requesting exports: each request is audited with what it is for, in the same transaction as the job."""
from sqlalchemy import select

from app.audit import services as audit
from app.exports import research
from app.exports.models import ExportJob, ExportKind, ExportStatus
from app.extensions import db


def research_exports():
    return db.session.scalars(select(ExportJob).where(ExportJob.kind == ExportKind.RESEARCH)
                              .order_by(ExportJob.id.desc())).all()


def request_research_export(by, purpose, approved_by, approval_reference, link_to=None):
    """Queue a research export. `link_to`: an earlier research export whose pseudonyms this one keeps."""
    research.pseudonym_key()  # refuse before queueing when no key is configured
    linked = db.session.get(ExportJob, link_to) if link_to else None
    if linked is not None and linked.kind != ExportKind.RESEARCH:
        linked = None
    job = ExportJob(kind=ExportKind.RESEARCH, created_by_id=by.id, purpose=purpose.strip(),
                    approved_by=approved_by.strip(), approval_reference=approval_reference.strip(),
                    pseudonym_salt=linked.pseudonym_salt if linked else research.new_salt(),
                    linked_export_id=linked.id if linked else None, params={}, report={})
    db.session.add(job)
    db.session.flush()
    audit.record(by, "export", "research_export", job.id, detail={
        "purpose": job.purpose, "approved_by": job.approved_by, "approval_reference": job.approval_reference,
        "linked_to": job.linked_export_id})
    return job


def request_responses_xlsx(by, school_id=None, rows=None):
    job = ExportJob(kind=ExportKind.RESPONSES_XLSX, created_by_id=by.id, params={"school_id": school_id}, report={})
    db.session.add(job)
    db.session.flush()
    audit.record(by, "export", "responses", job.id, detail={"format": "xlsx", "school_id": school_id, "rows": rows,
                                                            "job": job.id})
    return job


def record_download(by, job):
    audit.record(by, "export_downloaded", f"{job.kind.value}_export", job.id, detail={"rows": job.rows})


def is_ready(job):
    return job.status == ExportStatus.DONE and job.file_name
