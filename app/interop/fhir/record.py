"""What a hospital's API client may read: exactly the file its hospital's doctors see.

No rule lives here. The student must be in policy.scope(principal, Student) (referred to the hospital, not declined);
the entries are those of handover.file_for (the referring schools' entries and the hospital's own, other schools'
only under the guardian's handover_hospital consent); the certificate follows policy.can("download_certificate").
"""
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.auth import policy
from app.extensions import db
from app.files import handover
from app.interop.fhir import resources
from app.students.models import Student


@dataclass
class Record:
    student: Student
    responses: list = field(default_factory=list)
    referrals: list = field(default_factory=list)
    decisions: list = field(default_factory=list)


def visible_student(principal, student_id: int) -> Student | None:
    return db.session.scalar(select(Student).where(Student.id == student_id, policy.scope(principal, Student)))


def record_for(principal, student) -> Record:
    view = handover.file_for(principal, student)
    by_kind = {"screening": [], "referral": [], "decision": []}
    for entry in view.entries:
        if entry.kind in by_kind:
            by_kind[entry.kind].append(entry.obj)
    return Record(student, sorted(by_kind["screening"], key=lambda r: r.id), sorted(by_kind["referral"], key=lambda r: r.id),
                  sorted(by_kind["decision"], key=lambda d: d.id))


def scale_of(response):
    return current_app.extensions["scales"].by_version(response.scale_code, response.scale_version)


def response_resources(response) -> list:
    scale = scale_of(response)
    out = [resources.questionnaire_response(response, scale)]
    if response.score is not None:
        out.append(resources.observation(response.score, response, scale))
    return out


def everything(principal, record: Record, binary_url) -> list:
    """Patient, then the questionnaires used, the responses and scores, the referrals and the decisions."""
    out = [resources.patient(record.student)]
    seen = set()
    for response in record.responses:
        scale = scale_of(response)
        if scale is not None and (scale.code, scale.version) not in seen:
            seen.add((scale.code, scale.version))
            out.append(resources.questionnaire(scale))
    for response in record.responses:
        out.extend(response_resources(response))
    out.extend(resources.service_request(r) for r in record.referrals)
    out.extend(resources.document_reference(d, certificate_url(principal, d, binary_url)) for d in record.decisions)
    return out


def certificate_url(principal, decision, binary_url):
    return binary_url(decision) if policy.can(principal, "download_certificate", decision) else None
