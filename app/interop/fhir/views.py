"""The read-only FHIR R4 API for a partner hospital's system: /fhir/R4/…

Bearer token of a hospital API client (clients.py) on every request but /metadata; no cookies, so no CSRF. A
client reads what its hospital's doctors may read (record.py); anything else answers 404 like a missing id. Every
read is audited, naming the client and its hospital.
"""
import json
import logging
from io import BytesIO

from flask import Blueprint, Response, abort, current_app, g, request, send_file, url_for
from sqlalchemy import false, select

from app.audit import services as audit
from app.auth import policy
from app.care.models import Referral, ReturnDecision
from app.core import clock
from app.extensions import csrf, db
from app.interop.fhir import clients, record, resources
from app.interop.fhir.capability import capability_statement as statement
from app.reports.pdf.certificate import certificate_pdf
from app.screening.models import Response as ScreeningResponse, Score
from app.students.models import Student

logger = logging.getLogger(__name__)
bp = Blueprint(policy.FHIR_API_BLUEPRINT, __name__, url_prefix="/fhir/R4")
csrf.exempt(bp)  # bearer tokens, no cookies: CSRF does not apply
FHIR_JSON = "application/fhir+json"
ACTOR = "fhir_client"


def fhir_json(body, status=200, headers=None):
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status,
                    mimetype=FHIR_JSON, headers=headers)


def outcome(status, code, text):
    return fhir_json({"resourceType": "OperationOutcome",
                      "issue": [{"severity": "error", "code": code, "diagnostics": text}]}, status)


@bp.errorhandler(404)
def _not_found(_exc):
    return outcome(404, "not-found", "Resource not found")


@bp.errorhandler(400)
def _bad_request(_exc):
    return outcome(400, "invalid", "The request could not be understood")


@bp.before_request
def authenticate():
    if request.endpoint == f"{bp.name}.capability_statement":
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else None
    client = clients.authenticate(token)
    if client is None:
        response = outcome(401, "login", "A hospital API client's bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="xinqiao-fhir", error="invalid_token"'
        return response
    client.last_used_at = clock.now()
    g.fhir_client, g.principal = client, clients.principal(client)
    return None


def _audit(action, object_type, object_id=None, student_id=None, **detail):
    audit.record(ACTOR, action, object_type, object_id, student_id,
                 detail={"client_id": g.fhir_client.id, "hospital_id": g.fhir_client.hospital_id, **detail})


def _strict_args(*allowed):
    unknown = set(request.args) - set(allowed) - {"_format"}
    if unknown:
        abort(400)


def _binary_url(decision):
    return url_for("fhir.read_certificate", resource_id=decision.id, _external=True)


def _bundle(resource_list, kind="searchset"):
    base = request.url_root.rstrip("/") + bp.url_prefix
    return {"resourceType": "Bundle", "type": kind, "total": len(resource_list),
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                      for r in resource_list]}


def _student_record_or_404(student_id):
    student = record.visible_student(g.principal, student_id)
    if student is None:
        abort(404)
    return record.record_for(g.principal, student)


def _read(resource, object_type, object_id, student_id):
    _audit("fhir_read", object_type, object_id, student_id)
    db.session.commit()
    return fhir_json(resource)


@bp.get("/metadata")
@policy.public
def capability_statement():
    return fhir_json(statement(request.url_root.rstrip("/") + bp.url_prefix))


@bp.get("/Patient")
@policy.public
def search_patients():
    _strict_args("identifier")
    query = policy.scoped(g.principal, Student).order_by(Student.id)
    identifier = request.args.get("identifier")
    if identifier is not None:
        system, _bar, value = identifier.rpartition("|")
        if system and system != resources.system("sid/cn-student-number"):
            query = query.where(false())  # another system's identifier names none of ours
        query = query.where(Student.student_number == value.strip())
    students = db.session.scalars(query).all()  # a hospital's referred students: no paging needed at its scale
    for student in students:
        _audit("fhir_search", "Patient", student.id, student.id)
    if not students:
        _audit("fhir_search", "Patient", found=0)
    db.session.commit()
    return fhir_json(_bundle([resources.patient(s) for s in students]))


@bp.get("/Patient/<int:resource_id>")
@policy.public
def read_patient(resource_id):
    student = record.visible_student(g.principal, resource_id)
    if student is None:
        abort(404)
    return _read(resources.patient(student), "Patient", student.id, student.id)


@bp.get("/Patient/<int:resource_id>/$everything")
@policy.public
def patient_everything(resource_id):
    rec = _student_record_or_404(resource_id)
    body = record.everything(g.principal, rec, _binary_url)
    _audit("fhir_everything", "Patient", rec.student.id, rec.student.id, resources=len(body))
    db.session.commit()
    return fhir_json(_bundle(body))


@bp.get("/Questionnaire/<questionnaire_id>")
@policy.public
def read_questionnaire(questionnaire_id):
    """A scale version (no student data): every loaded text of every scale, by its FHIR id."""
    for scale in current_app.extensions["scales"].all_texts():
        if resources.questionnaire_id(scale.code, scale.version) == questionnaire_id:
            _audit("fhir_read", "Questionnaire", questionnaire=questionnaire_id)
            db.session.commit()
            return fhir_json(resources.questionnaire(scale))
    abort(404)


def _response_in_record(response_id):
    response = db.session.get(ScreeningResponse, response_id)
    if response is None:
        abort(404)
    rec = _student_record_or_404(response.student_id)
    if response.id not in {r.id for r in rec.responses}:
        abort(404)
    return response


@bp.get("/QuestionnaireResponse/<int:resource_id>")
@policy.public
def read_questionnaire_response(resource_id):
    response = _response_in_record(resource_id)
    return _read(resources.questionnaire_response(response, record.scale_of(response)), "QuestionnaireResponse",
                 response.id, response.student_id)


@bp.get("/Observation/<int:resource_id>")
@policy.public
def read_observation(resource_id):
    response_id = db.session.scalar(select(Score.response_id).where(Score.id == resource_id))
    if response_id is None:
        abort(404)
    response = _response_in_record(response_id)
    return _read(resources.observation(response.score, response, record.scale_of(response)), "Observation",
                 response.score.id, response.student_id)


@bp.get("/ServiceRequest/<int:resource_id>")
@policy.public
def read_service_request(resource_id):
    referral = db.session.get(Referral, resource_id)
    if referral is None or referral.id not in {r.id for r in _student_record_or_404(referral.student_id).referrals}:
        abort(404)
    return _read(resources.service_request(referral), "ServiceRequest", referral.id, referral.student_id)


def _decision_in_record(decision_id):
    decision = db.session.get(ReturnDecision, decision_id)
    if decision is None or decision.id not in {d.id for d in _student_record_or_404(decision.student_id).decisions}:
        abort(404)
    return decision


@bp.get("/DocumentReference/<int:resource_id>")
@policy.public
def read_document_reference(resource_id):
    decision = _decision_in_record(resource_id)
    body = resources.document_reference(decision, record.certificate_url(g.principal, decision, _binary_url))
    return _read(body, "DocumentReference", decision.id, decision.student_id)


@bp.get("/Binary/certificate-<int:resource_id>")
@policy.public
def read_certificate(resource_id):
    """The return-to-school certificate (PDF), for the clients of the hospital whose doctors may download it."""
    decision = _decision_in_record(resource_id)
    policy.require(g.principal, "download_certificate", decision)
    enrollment = decision.referral.student.current_enrollment()
    pdf = certificate_pdf(decision, enrollment.school.name if enrollment else decision.referral.school.name)
    _audit("export", "return_decision", decision.id, decision.student_id, document="return_certificate",
           diagnosis_shared=decision.share_diagnosis)
    db.session.commit()
    return send_file(BytesIO(pdf), mimetype="application/pdf", download_name=f"certificate-{decision.case_number}.pdf")
