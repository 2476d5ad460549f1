"""OpenAPI 3 description of the student API, served at /api/v1/openapi.json."""

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "item": {"type": "integer"}}}},
}
_QUESTIONNAIRE = {
    "type": "object",
    "required": ["scale", "version", "title", "items"],
    "properties": {
        "scale": {"type": "string", "example": "PHQ-9"},
        "version": {"type": "string"},
        "title": {"type": "string"},
        "instructions": {"type": "string"},
        "submitted": {"type": "boolean"},
        "items": {"type": "array", "items": {"type": "object", "required": ["id", "text", "options"], "properties": {
            "id": {"type": "string"}, "number": {"type": "integer"}, "text": {"type": "string"},
            "asked_if": {"type": "object", "nullable": True,
                         "description": "Ask this item only when one of the items numbered in any_of has the answer equals",
                         "properties": {"any_of": {"type": "array", "items": {"type": "integer"}},
                                        "equals": {"type": "integer"}}},
            "options": {"type": "array", "items": {"type": "object", "required": ["value", "label"], "properties": {
                "value": {"type": "integer"}, "label": {"type": "string"}}}}}}},
    },
}
_SESSION = {
    "type": "object",
    "required": ["student", "questionnaires"],
    "properties": {
        "token": {"type": "string"},
        "student": {"type": "object", "properties": {"display_name": {"type": "string"}}},
        "campaign": {"type": "object", "properties": {"title": {"type": "string"}, "closes_at": {"type": "string", "format": "date-time"}}},
        "questionnaires": {"type": "array", "items": {"$ref": "#/components/schemas/Questionnaire"}},
        "crisis": {"$ref": "#/components/schemas/Crisis"},
    },
}
_CRISIS = {
    "type": "object",
    "description": "The crisis screen's state, kept on the server: while pending is true the page shows the crisis "
                   "screen (after a reload or a re-join too) until the student chooses to go on (crisis-seen).",
    "properties": {
        "shown": {"type": "boolean", "description": "An answer in this session needed the crisis screen"},
        "pending": {"type": "boolean"},
        "teacher_told": {"type": "boolean", "description": "A high or critical alert is open for a psychology "
                                                          "teacher of the school: only then may the page say so"},
        "talk_requested": {"type": "boolean"},
        "resources": {"type": "array", "items": {"type": "object", "properties": {
            "number": {"type": "string"}, "name": {"type": "string"}, "tel": {"type": "string"}}}},
    },
}
_RECEIPT = {
    "type": "object",
    "required": ["response_id", "received_at", "show_crisis_resources", "resources"],
    "properties": {
        "response_id": {"type": "integer"},
        "received_at": {"type": "string", "format": "date-time"},
        "show_crisis_resources": {"type": "boolean"},
        "resources": {"type": "array", "description": "Crisis lines to show at once, in this order: the city's own "
                      "lines (the deployment's LOCAL_CRISIS_LINES), 12355, 12356, then 120; empty when "
                      "show_crisis_resources is false.",
                      "items": {"type": "object", "properties": {
                          "number": {"type": "string"}, "name": {"type": "string"}}}},
        "teacher_told": {"type": "boolean", "description": "With show_crisis_resources: whether a psychology "
                                                          "teacher was told (an alert is open for one)"},
    },
}


def _json(schema_ref, description):
    return {"description": description, "content": {"application/json": {"schema": {"$ref": schema_ref}}}}


def _error(description, retry_after=False):
    answer = _json("#/components/schemas/Error", description)
    if retry_after:
        answer["headers"] = {"Retry-After": {"description": "Seconds to wait before sending it again",
                                             "schema": {"type": "integer", "minimum": 1}}}
    return answer


# A NUL character is refused in any request (PostgreSQL text cannot hold it): the schema says so.
_TEXT = {"type": "string", "pattern": "^[^\\u0000]*$"}
# What every operation may answer besides its own (the server's limits, before the view).
_ALWAYS = {
    "413": _error("The body is larger than this operation takes (a join: JOIN_MAX_BYTES, a submission: "
                  "SUBMISSION_MAX_BYTES); nothing was read"),
    "431": {"description": "Request header fields too large (answered by the HTTP server, no body)"},
}

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "XinQiao student API", "version": "1.0.0",
             "description": "Students join a screening session with the code shown in class and submit questionnaires. "
                            "Send Accept-Language: zh-CN or en for texts and messages. The API neither reads nor "
                            "sets cookies: the bearer token is the only credential. A method an operation does not "
                            "declare answers 405 with Allow."},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"studentToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _ERROR, "Questionnaire": _QUESTIONNAIRE, "Session": _SESSION, "Receipt": _RECEIPT,
                    "Crisis": _CRISIS},
    },
    "paths": {
        "/student-sessions": {"post": {
            "summary": "Join a screening session",
            "description": "Wrong details slow down the client that sends them (the same device and student "
                           "number, the same address and student number, the same device and session code), "
                           "never the student elsewhere: past a few, 429 with Retry-After.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["session_code", "student_number", "birth_date"],
                "additionalProperties": False,
                "properties": {"session_code": dict(_TEXT, maxLength=32),
                               "student_number": dict(_TEXT, maxLength=32),
                               "birth_date": {"type": "string", "format": "date"},
                               "device": dict(_TEXT, maxLength=64, description=
                                              "A random id the page keeps for this browser (not student data): "
                                              "guesses made elsewhere never slow this device down")}}}}},
            "responses": {"201": _json("#/components/schemas/Session", "Joined; the token authorizes submissions"),
                          "400": _error("Malformed request (not a JSON object, a field this document does not "
                                        "name, a NUL character)"),
                          "401": _error("Details do not match an open session"),
                          "403": _error("No guardian consent to screening on file"),
                          "429": _error("Too many wrong details from this client: send it again after "
                                        "Retry-After seconds", retry_after=True),
                          "503": _error("The database could not take the join just now: send it again after "
                                        "Retry-After seconds", retry_after=True),
                          **_ALWAYS},
        }},
        "/student-session": {"get": {
            "summary": "The current session again (resume after a reload)",
            "security": [{"studentToken": []}],
            "responses": {"200": _json("#/components/schemas/Session", "The session"),
                          "401": _error("Token missing, bad or expired; the campaign closed (campaign_closed); a "
                                        "teacher ended the session (session_ended)"),
                          "431": _ALWAYS["431"]},
        }},
        "/responses": {"post": {
            "summary": "Submit one questionnaire (idempotent by idempotency_key)",
            "security": [{"studentToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["scale", "version", "answers", "idempotency_key"],
                "additionalProperties": False,
                "properties": {"scale": dict(_TEXT, minLength=1, maxLength=64),
                               "version": dict(_TEXT, minLength=1, maxLength=64),
                               "answers": {"type": "array", "maxItems": 200,
                                           "items": {"type": "integer", "nullable": True}},
                               "idempotency_key": {"type": "string", "format": "uuid"},
                               "started_at": {"type": "string", "format": "date-time", "nullable": True,
                                              "description": "When the questionnaire was opened; between the "
                                                             "years 1 and 9999 once in UTC"}}}}}},
            "responses": {"201": _json("#/components/schemas/Receipt", "Stored and scored"),
                          "200": _json("#/components/schemas/Receipt", "Already stored under this key"),
                          "400": _error("Malformed request (not a JSON object, a field this document does not "
                                        "name, a NUL character)"),
                          "401": _error("Token missing, bad or expired; a teacher ended the session (session_ended)"),
                          "403": _error("Guardian consent to screening withdrawn"),
                          "409": _error("This questionnaire was already submitted"),
                          "422": _error("The body fits this schema but not the session: a scale or version the "
                                        "session does not ask, answers that do not fit the scale (the item is "
                                        "named), or a started_at that cannot be stored; nothing was stored"),
                          "503": _error("Not stored in time: send the same body again (same idempotency_key) "
                                        "after Retry-After seconds", retry_after=True),
                          **_ALWAYS},
        }},
        "/student-session/crisis-seen": {"post": {
            "summary": "The student saw the crisis screen and chose to go on",
            "security": [{"studentToken": []}],
            "responses": {"200": _json("#/components/schemas/Crisis", "Recorded"),
                          "401": _json("#/components/schemas/Error", "Token missing, bad or expired")},
        }},
        "/student-session/talk": {"post": {
            "summary": "I want to talk to someone now: a concern for the school's psychology teachers (idempotent)",
            "security": [{"studentToken": []}],
            "responses": {"200": {"description": "Recorded (once per session); teacher_told says whether a "
                                                 "psychology teacher was told"},
                          "401": _json("#/components/schemas/Error", "Token missing, bad or expired")},
        }},
    },
}
