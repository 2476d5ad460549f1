"""The OpenAPI document is valid OpenAPI 3, and the API's real answers match the schemas it declares."""
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec

from tests.conftest import login_as, new_key
from tests.helpers import PHQ9_CRITICAL, PHQ9_LOW, join, launch_campaign, submit


@pytest.fixture
def spec(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def check(spec, path, method, status, response):
    """Validate a real answer against the schema the document declares for that path, method and status."""
    declared = spec["paths"][path][method]["responses"]
    assert str(status) in declared, f"{method.upper()} {path} answered {status}, which the document does not declare"
    assert response.status_code == status
    content = declared[str(status)].get("content")
    if content is None:
        return
    schema = dict(content["application/json"]["schema"], components=spec["components"])
    OAS30Validator(schema).validate(response.get_json())


def check_request(spec, path, body):
    schema = dict(spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"],
                  components=spec["components"])
    OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER).validate(body)


def test_the_document_is_valid_openapi_3(spec):
    validate_spec(spec)  # raises on any error
    assert spec["openapi"].startswith("3.")


def test_real_answers_match_the_declared_schemas(app, world, client_factory, spec):
    teacher = login_as(client_factory, "teacher")
    _, code = launch_campaign(teacher, world.class_id)
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    student = world.students[0]
    check_request(spec, "/student-sessions", {"session_code": code, "student_number": student["number"],
                                              "birth_date": student["birth_date"]})

    check(spec, "/student-sessions", "post", 401, join(http, code, dict(student, birth_date="2000-01-01")))
    check(spec, "/student-sessions", "post", 400,
          http.post("/api/v1/student-sessions", data="{", headers={"Content-Type": "application/json"}))
    joined = join(http, code, student)
    check(spec, "/student-sessions", "post", 201, joined)
    data = joined.get_json()
    token, phq9 = data["token"], data["questionnaires"][0]

    auth = {"Authorization": f"Bearer {token}"}
    check(spec, "/student-session", "get", 200, http.get("/api/v1/student-session", headers=auth))
    check(spec, "/student-session", "get", 401, http.get("/api/v1/student-session"))

    key = new_key()
    body = {"scale": phq9["scale"], "version": phq9["version"], "answers": PHQ9_CRITICAL, "idempotency_key": key,
            "started_at": "2026-11-22T01:00:00Z"}
    check_request(spec, "/responses", body)
    check(spec, "/responses", "post", 422, submit(http, token, phq9, [0, 1, 0, 0, 1, 0, 9, 0, 0]))
    first = submit(http, token, phq9, PHQ9_CRITICAL, key=key)
    check(spec, "/responses", "post", 201, first)
    assert first.get_json()["show_crisis_resources"] is True and first.get_json()["resources"]
    check(spec, "/responses", "post", 200, submit(http, token, phq9, PHQ9_CRITICAL, key=key))
    check(spec, "/responses", "post", 409, submit(http, token, phq9, PHQ9_LOW))
    check(spec, "/responses", "post", 401, submit(http, token + "x", phq9, PHQ9_LOW))


def test_the_schemas_reject_a_wrong_answer(spec):
    """The check above can fail: a receipt without its crisis flag does not validate."""
    from jsonschema.exceptions import ValidationError

    schema = dict(spec["components"]["schemas"]["Receipt"], components=spec["components"])
    with pytest.raises(ValidationError):
        OAS30Validator(schema).validate({"response_id": 1, "received_at": "2026-11-22T01:00:00+00:00", "resources": []})
