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


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "XinQiao student API", "version": "1.0.0",
             "description": "Students join a screening session with the code shown in class and submit questionnaires. "
                            "Send Accept-Language: zh-CN or en for texts and messages. The API neither reads nor "
                            "sets cookies: the bearer token is the only credential."},
    "servers": [{"url": "/api/v1"}],
    "components": {
        "securitySchemes": {"studentToken": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _ERROR, "Questionnaire": _QUESTIONNAIRE, "Session": _SESSION, "Receipt": _RECEIPT,
                    "Crisis": _CRISIS},
    },
    "paths": {
        "/student-sessions": {"post": {
            "summary": "Join a screening session",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["session_code", "student_number", "birth_date"],
                "properties": {"session_code": {"type": "string", "maxLength": 32},
                               "student_number": {"type": "string", "maxLength": 32},
                               "birth_date": {"type": "string", "format": "date"}}}}}},
            "responses": {"201": _json("#/components/schemas/Session", "Joined; the token authorizes submissions"),
                          "400": _json("#/components/schemas/Error", "Malformed request"),
                          "401": _json("#/components/schemas/Error", "Details do not match an open session"),
                          "403": _json("#/components/schemas/Error", "No guardian consent to screening on file"),
                          "429": {"description": "Too many attempts"}},
        }},
        "/student-session": {"get": {
            "summary": "The current session again (resume after a reload)",
            "security": [{"studentToken": []}],
            "responses": {"200": _json("#/components/schemas/Session", "The session"),
                          "401": _json("#/components/schemas/Error", "Token missing, bad or expired; the campaign "
                                       "closed (campaign_closed); a teacher ended the session (session_ended)")},
        }},
        "/responses": {"post": {
            "summary": "Submit one questionnaire (idempotent by idempotency_key)",
            "security": [{"studentToken": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["scale", "version", "answers", "idempotency_key"],
                "properties": {"scale": {"type": "string"}, "version": {"type": "string"},
                               "answers": {"type": "array", "items": {"type": "integer", "nullable": True}},
                               "idempotency_key": {"type": "string", "format": "uuid"},
                               "started_at": {"type": "string", "format": "date-time"}}}}}},
            "responses": {"201": _json("#/components/schemas/Receipt", "Stored and scored"),
                          "200": _json("#/components/schemas/Receipt", "Already stored under this key"),
                          "401": _json("#/components/schemas/Error", "Token missing, bad or expired; a teacher "
                                       "ended the session (session_ended)"),
                          "403": _json("#/components/schemas/Error", "Guardian consent to screening withdrawn"),
                          "409": _json("#/components/schemas/Error", "This questionnaire was already submitted"),
                          "422": _json("#/components/schemas/Error", "Answers invalid for the scale; the item is named"),
                          "503": _json("#/components/schemas/Error",
                                       "Not stored in time: send the same body again (same idempotency_key) after "
                                       "Retry-After seconds")},
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
