"""The FHIR R4 API for a partner hospital's system: a client reads a referred student's record and nothing else.

Every resource the API answers is validated by fhir.resources (its R4B models: R4B's Patient, Questionnaire,
QuestionnaireResponse, Observation, ServiceRequest and DocumentReference are R4's, plus fixes), a peer's validator.
"""
import re
import uuid
from datetime import timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.care import services as care
from app.core import clock
from app.extensions import db
from app.orgs.models import School
from app.screening import services as screening
from app.screening.models import Response, Score
from app.students import consent as consents
from app.students.models import ConsentKind, Student
from tests.conftest import login_as
from tests.helpers import GAD7_LOW, PHQ9_LOW, answer_all, launch_campaign

FHIR = "/fhir/R4"


def validate(resource: dict):
    """fhir.resources parses the resource with the model of its type: unknown or malformed elements fail."""
    model = get_fhir_model_class(resource["resourceType"])
    return model.model_validate(resource)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def new_client(admin, hospital_id, name="HIS"):
    page = admin.post("/admin/fhir/clients", {"hospital_id": hospital_id, "name": name})
    assert page.status_code == 200, page.get_data(as_text=True)[:500]
    return re.search(r'data-testid="fhir-token">([^<]+)<', page.get_data(as_text=True)).group(1)


@pytest.fixture
def record(app, world, client_factory):
    """Student 0 answered PHQ-9 and GAD-7, was referred to the partner hospital, assessed and cleared with
    conditions; student 1 answered and was not referred; student 0 also has a response made at the high school
    (an earlier school that did not refer them)."""
    teacher = login_as(client_factory, "teacher")
    _campaign_id, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    for student in world.students[:2]:
        answer_all(http, code, student, {"PHQ-9": PHQ9_LOW, "GAD-7": GAD7_LOW})
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        student = db.session.get(Student, world.student_ids[0])
        referral = care.refer_student(student, world.school_id, world.hospital_id, "high", "referral reason secret",
                                      by=users["teacher"])
        care.accept_referral(referral, by=users["doctor"])
        care.record_assessment(referral, {"assessed_on": clock.today(), "setting": "clinic", "findings": "findings secret",
                                          "risk_level": "moderate", "plan": "outpatient"}, by=users["doctor"])
        decision = care.decide_return(referral, {"outcome": "cleared_with_conditions", "conditions": "weekly talk secret",
                                                 "review_on": clock.today() + timedelta(days=30)}, by=users["doctor"])
        other_school = db.session.get(School, world.other_school_id)
        from app.orgs.models import ClassGroup

        other_class = db.session.get(ClassGroup, world.other_class_id)
        other_campaign = screening.launch_campaign(other_school, [other_class], ["PHQ-9"], "Earlier",
                                                   clock.now() + timedelta(hours=1), by=users["other_teacher"])
        phq = next(r for r in db.session.scalars(select(Response).where(Response.student_id == student.id)))
        earlier = Response(campaign_id=other_campaign.id, student_id=student.id, school_id=other_school.id,
                           scale_code="PHQ-9", scale_version=phq.scale_version, answers=PHQ9_LOW, quality_flags=[],
                           submitted_at=clock.now() - timedelta(days=200), idempotency_key=str(uuid.uuid4()))
        db.session.add(earlier)
        db.session.flush()
        db.session.add(Score(response_id=earlier.id, total=2, band="minimal", risk="low", flags=[], subscales={},
                             scored_at=earlier.submitted_at))
        db.session.commit()
        ids = {
            "student": student.id, "unreferred": world.student_ids[1], "referral": referral.id, "decision": decision.id,
            "earlier_response": earlier.id,
            "responses": sorted(r.id for r in db.session.scalars(select(Response).where(
                Response.student_id == student.id, Response.school_id == world.school_id))),
            "unreferred_responses": sorted(db.session.scalars(select(Response.id).where(
                Response.student_id == world.student_ids[1]))),
            "scores": sorted(db.session.scalars(select(Score.id).join(Response).where(
                Response.student_id == student.id, Response.school_id == world.school_id))),
        }
    admin = login_as(client_factory, "admin")
    ids["token"] = new_client(admin, world.hospital_id, "Partner HIS")
    ids["other_token"] = new_client(admin, world.other_hospital_id, "Other HIS")
    ids["admin"] = admin
    return ids


def test_the_partner_hospitals_client_reads_the_referred_students_record_all_valid(app, world, record):
    http = app.test_client()
    headers = bearer(record["token"])
    everything = http.get(f"{FHIR}/Patient/{record['student']}/$everything", headers=headers)
    assert everything.status_code == 200
    assert everything.mimetype == "application/fhir+json"
    bundle = everything.get_json()
    validate(bundle)
    kinds = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        validate(resource)
        kinds.setdefault(resource["resourceType"], []).append(resource)
    assert {r["id"] for r in kinds["QuestionnaireResponse"]} == {str(i) for i in record["responses"]}
    assert {r["id"] for r in kinds["Observation"]} == {str(i) for i in record["scores"]}
    assert [r["id"] for r in kinds["ServiceRequest"]] == [str(record["referral"])]
    assert [r["id"] for r in kinds["DocumentReference"]] == [str(record["decision"])]
    assert len(kinds["Patient"]) == 1 and {q["url"].rsplit("/", 1)[1] for q in kinds["Questionnaire"]} == {"phq-9", "gad-7"}

    patient = kinds["Patient"][0]
    assert patient["identifier"][0] == {"use": "official", "system": app.config["FHIR_SYSTEM_BASE"] + "/sid/cn-student-number",
                                        "value": "S0000", "type": {"text": "学籍号 (national student number)"}}
    assert "contact" not in patient and "Guardian" not in everything.get_data(as_text=True)
    assert "13900000000" not in everything.get_data(as_text=True)
    for secret in ("referral reason secret", "findings secret", "weekly talk secret"):
        assert secret not in everything.get_data(as_text=True)

    phq_obs = next(o for o in kinds["Observation"] if o["code"]["text"].startswith("PHQ-9"))
    assert phq_obs["code"]["coding"][0] == {"system": "http://loinc.org", "code": "44261-6"}
    assert phq_obs["valueInteger"] == sum(PHQ9_LOW)
    assert phq_obs["interpretation"][0]["coding"][0]["code"] == "minimal"
    assert phq_obs["component"][0]["valueCodeableConcept"]["coding"][0]["code"] == "low"
    assert phq_obs["derivedFrom"][0]["reference"].startswith("QuestionnaireResponse/")
    phq_q = next(q for q in kinds["Questionnaire"] if q["url"].endswith("/phq-9"))
    assert phq_q["code"] == [{"system": "http://loinc.org", "code": "44249-1"}]
    assert [i["code"][0]["code"] for i in phq_q["item"]][:2] == ["44250-9", "44255-8"]  # checked: resources.VERIFIED_ITEM_CODES
    document = kinds["DocumentReference"][0]
    assert document["content"][0]["attachment"]["url"].endswith(f"/Binary/certificate-{record['decision']}")

    # Each resource alone, and the certificate it points to.
    for kind, items in kinds.items():
        for resource in items:
            single = http.get(f"{FHIR}/{kind}/{resource['id']}", headers=headers)
            assert single.status_code == 200, (kind, resource["id"])
            assert single.get_json() == resource
    pdf = http.get(f"{FHIR}/Binary/certificate-{record['decision']}", headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")

    # Search by identifier, with and without the system.
    for identifier in ("S0000", app.config["FHIR_SYSTEM_BASE"] + "/sid/cn-student-number|S0000"):
        found = http.get(f"{FHIR}/Patient", query_string={"identifier": identifier}, headers=headers).get_json()
        validate(found)
        assert [e["resource"]["id"] for e in found["entry"]] == [str(record["student"])]
    assert http.get(f"{FHIR}/Patient", query_string={"identifier": "S0001"}, headers=headers).get_json()["total"] == 0
    assert http.get(f"{FHIR}/Patient", query_string={"identifier": "other|S0000"}, headers=headers).get_json()["total"] == 0


def test_every_read_is_audited_naming_the_client(app, record):
    http = app.test_client()
    with app.app_context():
        before = db.session.scalar(select(func.max(AuditEvent.id)))
    http.get(f"{FHIR}/Patient/{record['student']}", headers=bearer(record["token"]))
    http.get(f"{FHIR}/QuestionnaireResponse/{record['responses'][0]}", headers=bearer(record["token"]))
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)).all()
        assert [(e.actor_role, e.action, e.object_type, e.student_id) for e in events] == [
            ("fhir_client", "fhir_read", "Patient", record["student"]),
            ("fhir_client", "fhir_read", "QuestionnaireResponse", record["student"])]
        assert events[0].detail["hospital_id"] and events[0].detail["client_id"]


def _every_url(record):
    return ([f"{FHIR}/Patient/{record['student']}", f"{FHIR}/Patient/{record['student']}/$everything",
             f"{FHIR}/ServiceRequest/{record['referral']}", f"{FHIR}/DocumentReference/{record['decision']}",
             f"{FHIR}/Binary/certificate-{record['decision']}"]
            + [f"{FHIR}/QuestionnaireResponse/{i}" for i in record["responses"]]
            + [f"{FHIR}/Observation/{i}" for i in record["scores"]])


def test_another_hospitals_client_reads_nothing(app, record):
    http = app.test_client()
    for url in _every_url(record):
        response = http.get(url, headers=bearer(record["other_token"]))
        assert response.status_code == 404, url
        assert validate(response.get_json()).issue[0].code == "not-found"
        assert "Student 0" not in response.get_data(as_text=True)
    assert http.get(f"{FHIR}/Patient", headers=bearer(record["other_token"])).get_json()["total"] == 0


def test_a_student_not_referred_answers_404_like_a_missing_one(app, record):
    http = app.test_client()
    headers = bearer(record["token"])
    for url in [f"{FHIR}/Patient/{record['unreferred']}", f"{FHIR}/Patient/{record['unreferred']}/$everything",
                f"{FHIR}/Patient/999999"] + [f"{FHIR}/QuestionnaireResponse/{i}" for i in record["unreferred_responses"]]:
        assert http.get(url, headers=headers).status_code == 404, url
    listed = http.get(f"{FHIR}/Patient", headers=headers).get_json()
    assert [e["resource"]["id"] for e in listed["entry"]] == [str(record["student"])]


def test_an_earlier_schools_entries_follow_the_hospital_hand_over_consent(app, world, record):
    """The high school did not refer the student: its response shows only while handover_hospital is in force."""
    http = app.test_client()
    headers = bearer(record["token"])
    url = f"{FHIR}/QuestionnaireResponse/{record['earlier_response']}"
    assert http.get(url, headers=headers).status_code == 404
    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        student = db.session.get(Student, record["student"])
        consents.record_consent(student, ConsentKind.HANDOVER_HOSPITAL, True, "signed", by=teacher)
        db.session.commit()
    assert http.get(url, headers=headers).status_code == 200
    everything = http.get(f"{FHIR}/Patient/{record['student']}/$everything", headers=headers).get_json()
    assert str(record["earlier_response"]) in {e["resource"]["id"] for e in everything["entry"]
                                               if e["resource"]["resourceType"] == "QuestionnaireResponse"}
    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        consents.record_consent(db.session.get(Student, record["student"]), ConsentKind.HANDOVER_HOSPITAL, False,
                                "withdrawn", by=teacher)
        db.session.commit()
    assert http.get(url, headers=headers).status_code == 404


def test_a_revoked_or_wrong_token_reads_nothing(app, record):
    http = app.test_client()
    url = f"{FHIR}/Patient/{record['student']}"
    assert http.get(url, headers=bearer(record["token"])).status_code == 200
    with app.app_context():
        from app.interop.fhir.models import FhirClient

        client_id = db.session.scalar(select(FhirClient.id).where(FhirClient.name == "Partner HIS"))
    assert record["admin"].post(f"/admin/fhir/clients/{client_id}/revoke").status_code == 302
    for headers in (bearer(record["token"]), bearer(record["token"][:-2] + "xx"), bearer("xqh.1.nothing"), {}):
        response = http.get(url, headers=headers)
        assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Student 0" not in response.get_data(as_text=True)
        validate(response.get_json())


def test_a_staff_session_or_a_student_token_is_no_way_in(app, world, record, client_factory):
    doctor = login_as(client_factory, "doctor")
    assert doctor.get(f"{FHIR}/Patient/{record['student']}").status_code == 401
    assert record["admin"].get(f"{FHIR}/Patient/{record['student']}").status_code == 401


def test_the_secret_is_shown_once_and_kept_only_as_a_hash(app, record):
    with app.app_context():
        from app.interop.fhir.models import FhirClient

        stored = [c.secret_hash for c in db.session.scalars(select(FhirClient))]
    secret = record["token"].split(".")[2]
    assert all(secret not in h for h in stored) and all(len(h) == 64 for h in stored)
    page = record["admin"].get("/admin/fhir/clients").get_data(as_text=True)
    assert "Partner HIS" in page and secret not in page


def test_the_capability_statement_says_what_is_supported(app):
    response = app.test_client().get(f"{FHIR}/metadata")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    statement = validate(response.get_json())
    assert statement.fhirVersion == "4.0.1"
    kinds = {r.type: r for r in statement.rest[0].resource}
    assert set(kinds) == {"Patient", "Questionnaire", "QuestionnaireResponse", "Observation", "ServiceRequest",
                          "DocumentReference", "Binary"}
    assert [p.name for p in kinds["Patient"].searchParam] == ["identifier"]
    assert [o.name for o in kinds["Patient"].operation] == ["everything"]
    assert all({i.code for i in r.interaction} <= {"read", "search-type"} for r in kinds.values())


def test_every_shipped_questionnaire_is_valid_and_unchecked_codes_stay_out(app):
    from app.interop.fhir import resources

    from dataclasses import replace

    with app.test_request_context():
        for scale in app.extensions["scales"].all_texts():
            validate(resources.questionnaire(scale))
        gad7 = app.extensions["scales"].get("GAD-7")
        assert [i["code"][0]["code"] for i in resources.questionnaire(gad7)["item"]][0] == "69725-0"
        # PHQ-9's item codes are marked "verify" in its data file: used only because a published source was checked.
        phq9 = app.extensions["scales"].get("PHQ-9")
        assert "verify" in phq9.loinc["note"] and "PHQ-9" in resources.VERIFIED_ITEM_CODES
        unchecked = replace(phq9, code="PHQ-9-unchecked")
        resource = resources.questionnaire(unchecked)
        validate(resource)
        assert all("code" not in item for item in resource["item"])
        assert resource["code"] == [{"system": "http://loinc.org", "code": "44249-1"}]
