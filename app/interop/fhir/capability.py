"""The CapabilityStatement: what the API supports, and nothing it does not."""
from app.interop.fhir.resources import FHIR_VERSION

READ_ONLY = [{"code": "read"}]


def capability_statement(base_url: str) -> dict:
    def resource(kind, doc, **extra):
        return {"type": kind, "interaction": READ_ONLY, "documentation": doc, **extra}

    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-12-07", "kind": "instance",
        "name": "XinQiaoFhirApi", "title": "XinQiao (心桥) FHIR API for partner hospitals",
        "publisher": "XinQiao", "fhirVersion": FHIR_VERSION, "format": ["application/fhir+json"],
        "implementation": {"description": "Read-only FHIR R4 API of XinQiao", "url": base_url},
        "rest": [{
            "mode": "server",
            "documentation": "A partner hospital's system reads, with its API client's bearer token, what the "
                             "hospital's doctors may read: students referred to the hospital and their files under "
                             "the guardian's consent rules. Anything else answers 404. Every read is audited.",
            "security": {"cors": False, "description": "OAuth-style bearer token of a hospital API client, made by "
                                                       "the district admin (Authorization: Bearer xqh.<id>.<secret>)"},
            "resource": [
                resource("Patient", "A student; identifier: the national student number (学籍号). No guardian data.",
                         searchParam=[{"name": "identifier", "type": "token",
                                       "documentation": "system|value or value: the 学籍号"}],
                         operation=[{"name": "everything",
                                     "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}],
                         interaction=[{"code": "read"}, {"code": "search-type"}]),
                resource("Questionnaire", "A questionnaire version (its version is the content hash)"),
                resource("QuestionnaireResponse", "One questionnaire answered in a school screening"),
                resource("Observation", "The score of a response: total, band (interpretation), risk level"),
                resource("ServiceRequest", "A school's referral to the hospital (its reason stays out)"),
                resource("DocumentReference", "A return-to-school decision and its certificate"),
                resource("Binary", "The return-to-school certificate (PDF), for the deciding hospital's clients"),
            ],
        }],
    }
