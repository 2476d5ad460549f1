"""The OpenAPI document and the code agree (issue 20 item 8): schemathesis sends generated requests, valid and
invalid by the document, to every operation through the real WSGI stack, with a real student token, and checks
that no answer is a 5xx, that every status, content type and body is one the document declares, and that a body
the document calls valid is never refused as malformed. Bounded: a fixed number of examples per operation."""
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, negative_data_rejection,
                                               positive_data_acceptance, response_schema_conformance,
                                               status_code_conformance)

from tests.conftest import login_as
from tests.helpers import join, launch_campaign

EXAMPLES = 40  # per operation and mode: about 250 requests, well under a minute
# /responses: a body can fit the document and still not fit the session (a scale it does not ask, answers that
# do not fit the scale, a started_at outside the years 1-9999 in UTC): 422 with one of these codes, documented.
SESSION_REFUSALS = {"scale_not_in_campaign", "scale_version_mismatch", "invalid_answers", "invalid_request",
                    "already_submitted", "idempotency_key_reused"}


@pytest.fixture
def api(app, world, client_factory):
    code = launch_campaign(login_as(client_factory, "teacher"), world.class_id)[1]
    token = join(app.test_client(), code, world.students[5]).get_json()["token"]
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), token


def _run(operation, mode, token):
    bearer = {"Authorization": f"Bearer {token}"} if operation.path != "/student-sessions" else {}
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    elif operation.path != "/responses":
        checks.append(positive_data_acceptance)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers=bearer)
        case.validate_response(response, checks=checks)
        if mode is GenerationMode.POSITIVE and operation.path == "/responses" and response.status_code == 422:
            assert response.json()["error"]["code"] in SESSION_REFUSALS, response.text
        if mode is GenerationMode.POSITIVE:
            assert response.status_code not in (400, 413), (case.body, response.text)

    run()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_operation_answers_as_its_document_says(api, mode):
    schema, token = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/student-sessions", "/student-session", "/responses",
                                              "/student-session/talk", "/student-session/crisis-seen"}
    for operation in operations:
        _run(operation, mode, token)


@pytest.mark.parametrize("method, path, allow", [
    ("GET", "/api/v1/student-sessions", "OPTIONS, POST"),
    ("DELETE", "/api/v1/responses", "OPTIONS, POST"),
    ("POST", "/api/v1/student-session", "GET, HEAD, OPTIONS"),
    ("PUT", "/api/v1/openapi.json", "GET, HEAD, OPTIONS"),
])
def test_a_method_the_document_does_not_declare_is_405_with_allow(app, method, path, allow):
    response = app.test_client().open(path, method=method)
    assert response.status_code == 405 and response.headers["Allow"] == allow
    assert response.get_json()["error"]["code"] == "405"


def test_the_document_declares_what_responses_answers_before_its_view():
    from app.api.openapi import OPENAPI

    answers = OPENAPI["paths"]["/responses"]["post"]["responses"]
    assert {"400", "413", "431", "503"} <= set(answers)
    body = OPENAPI["paths"]["/responses"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["scale"]["minLength"] == 1 and "\\u0000" in body["properties"]["scale"]["pattern"]
