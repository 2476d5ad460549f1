"""Student API: join a session, fetch questionnaires, submit responses (idempotent)."""
import logging
import re
from datetime import date, datetime, timezone

from flask import Blueprint, current_app, jsonify, request
from flask_babel import get_locale, gettext as _
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout

import screening_scales
from app.api import tokens
from app.api.messages import message_for
from app.api.openapi import OPENAPI
from app.auth import policy
from app.core import clock, sqlite_writer
from app.extensions import csrf, db
from app.monitoring import metrics
from app.notifications import services as notifications
from app.screening import crisis, intake, join_guard, services as screening, student_care
from app.screening.student_texts import for_students, student_title
from app.screening.models import Campaign
from app.students.models import Student

logger = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens, no cookies: CSRF does not apply


def error(status, code, item=None, message=None):
    body = {"error": {"code": code, "message": message or message_for(code)}}
    if item is not None:
        body["error"]["item"] = item
    return jsonify(body), status


def questionnaire_payload(scale, submitted: bool):
    locale = str(get_locale() or "zh_CN")
    return dict(_questionnaire_texts(scale, locale), submitted=submitted)


# A scale's version is its content hash: its texts in a locale never change, and a whole school joining asks for
# the same few (bench/join_storm.py). Bounded by the scales loaded times the locales.
_TEXTS: dict = {}


def _questionnaire_texts(scale, locale):
    key = (scale.code, scale.version, locale)
    texts = _TEXTS.get(key)
    if texts is None:
        texts = _TEXTS[key] = _build_questionnaire_texts(scale, locale)
    return texts


def _build_questionnaire_texts(scale, locale):
    return {
        "scale": scale.code,
        "version": scale.version,
        "title": student_title(scale, locale),  # the official title stays on staff pages
        "instructions": for_students(scale.instructions(locale)),
        "items": [
            {"id": item.id, "number": item.number, "text": for_students(item.text(locale)), "asked_if": item.asked_if,
             "options": [{"value": o.value, "label": for_students(o.label(locale))} for o in item.options]}
            for item in scale.items
        ],
    }


def campaign_scales(campaign):
    """The campaign's questionnaires in the texts it chose. A centre's text removed from its directory since the
    launch is left out (and logged) rather than replaced by another text nobody chose for these students."""
    scales = []
    for code in campaign.scale_codes:
        try:
            scales.append(screening.campaign_scale(campaign, code))
        except screening_scales.UnknownScale:
            logger.warning("campaign %s: the text it chose for %s is no longer loaded", campaign.id, code)
    return scales


def session_payload(campaign, student, token=None):
    done = screening.submitted_scales(campaign.id, student.id)
    payload = {
        "student": {"display_name": student.name},
        "campaign": {"title": campaign.title, "closes_at": campaign.closes_at.isoformat()},
        "questionnaires": [questionnaire_payload(scale, scale.code in done) for scale in campaign_scales(campaign)],
        "crisis": crisis_payload(campaign, student),
    }
    if token:
        payload["token"] = token
    return payload


def _parse_date(value):
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def _json_body(fields):
    """The body as a dict, or None when it is not a JSON object or names a field the OpenAPI document does not."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # absurdly deep nesting: a bad request, not a server error
        return None
    return body if isinstance(body, dict) and body.keys() <= fields else None


JOIN_FIELDS = frozenset({"session_code", "student_number", "birth_date", "device"})
SUBMISSION_FIELDS = frozenset({"scale", "version", "answers", "idempotency_key", "started_at"})


def load_student_session():
    """(campaign, student, None) of the bearer token, (None, None, why) when the token can no longer be
    used (the campaign closed, a teacher ended the session), or None when there is no valid token."""
    ids = _token_ids()
    if ids is None:
        return None
    campaign, student = db.session.get(Campaign, ids.campaign_id), db.session.get(Student, ids.student_id)
    if campaign is None or student is None:
        return None
    ended = screening.session_usable(campaign, student.id, ids.generation)
    return (None, None, ended) if ended else (campaign, student, None)


def try_again_later(cause):
    """503 with Retry-After: the database could not take the request just now (full disk, read-only, too many
    connections); the page sends it again by itself."""
    db.session.rollback()
    logger.warning("join not answered: %s", cause)
    metrics.count_join("unavailable")
    response, status = error(503, "try_again_join")
    response.headers["Retry-After"] = str(current_app.config["JOIN_RETRY_AFTER_SECONDS"])
    return response, status


@bp.post("/student-sessions")
@policy.public
def create_student_session():
    body = _json_body(JOIN_FIELDS)
    if body is None:
        return error(400, "invalid_request")
    birth_date = _parse_date(body.get("birth_date"))
    code, number = body.get("session_code"), body.get("student_number")
    if not isinstance(code, str) or not isinstance(number, str) or birth_date is None or len(code) > 32 or len(number) > 32:
        metrics.count_join("details_do_not_match")
        return error(401, "details_do_not_match")
    try:
        return _join(code, number, birth_date, join_guard.device_id(body.get("device")))
    except (DBAPIError, PoolTimeout) as exc:  # also no connection free in time: as busy as "too many clients"
        return try_again_later(type(getattr(exc, "orig", None) or exc).__name__)


def _join(code, number, birth_date, device):
    """Guessing is slowed per client (app/screening/join_guard.py), never per address or per student alone."""
    attempt = join_guard.begin(request.remote_addr, device, code, number)
    if attempt.wait_seconds:
        db.session.rollback()
        metrics.count_join("too_early")
        response, status = error(429, "too_many_attempts")
        response.headers["Retry-After"] = str(attempt.wait_seconds)
        return response, status
    try:
        campaign, student, enrollment = screening.start_student_session(code, number, birth_date)
    except screening.ScreeningError as exc:
        if exc.code in join_guard.WRONG_ANSWERS:
            join_guard.failed(attempt)
            db.session.commit()
        else:
            db.session.rollback()  # the details were right (no consent on file) or the session closed
        metrics.count_join(exc.code)
        return error(403 if exc.code == "no_screening_consent" else 401, exc.code)
    join_guard.succeeded(attempt)
    participant = screening.record_participation(campaign, student, enrollment.class_group_id)
    # Built before the commit, which expires every loaded row (reading them again would cost a query each).
    payload = session_payload(campaign, student, tokens.issue(campaign.id, student.id, participant.session_generation))
    db.session.commit()
    metrics.count_join("joined")
    return jsonify(payload), 201


@bp.get("/student-session")
@policy.public
def current_student_session():
    loaded = load_student_session()
    if loaded is None:
        return error(401, "bad_token")
    campaign, student, ended = loaded
    if ended:
        return error(401, ended)
    return jsonify(session_payload(campaign, student))


_UNSTORABLE = object()


def _parse_started_at(value):
    """The moment in UTC, None when absent, or _UNSTORABLE for a value that can never be stored: not an ISO
    date-time, or one outside the years 1–9999 once in UTC (9999-12-31T23:59:59-01:00)."""
    if value is None:
        return None
    if not isinstance(value, str):
        return _UNSTORABLE
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        return _UNSTORABLE


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _valid_key(value):
    """A UUID in its usual form (36 characters, hyphens), any case; stored in lower case."""
    return isinstance(value, str) and _UUID.fullmatch(value) is not None


def receipt_payload(receipt):
    return {
        "response_id": receipt.response_id,
        "received_at": receipt.received_at.isoformat(),
        "show_crisis_resources": receipt.show_crisis_resources,
        "resources": [{"number": line["number"], "name": line["name"]} for line in crisis.lines()]
        if receipt.show_crisis_resources else [],
    }


def _token_ids():
    """(campaign_id, student_id) of the bearer token, or None. No database: the writer checks the rest."""
    header = request.headers.get("Authorization", "")
    return tokens.read(header[7:].strip()) if header.startswith("Bearer ") else None


def refused(status, code, cause, item=None, message=None):
    """Every refused submission: a log line with its cause (never student data) and a count in /metrics."""
    logger.warning("submission refused (%s): %s", status, cause)
    metrics.count_submission_refused(cause)
    return error(status, code, item=item, message=message)


def _not_stored_cause(exc) -> str:
    """A short, fixed cause for the log and the metric's label: the database error's class, the writer's timeout,
    or the failure the writer process reported (its exception's class name)."""
    if isinstance(exc, DBAPIError):
        return type(exc.orig or exc).__name__
    if type(exc) is not intake.NotStored:
        return type(exc).__name__  # SubmissionTimeout
    reason = str(exc)
    return reason if reason.isidentifier() else "writer_" + "_".join(reason.split()[-2:])


@bp.post("/responses")
@policy.public
def submit_response():
    ids = _token_ids()
    if ids is None:
        return refused(401, "bad_token", "bad_token")
    body = _json_body(SUBMISSION_FIELDS)
    if body is None:
        return refused(400, "invalid_request", "malformed_body")
    answers, key = body.get("answers"), body.get("idempotency_key")
    if not _valid_key(key):
        return refused(422, "invalid_request", "invalid_idempotency_key", message=_("idempotency_key must be a UUID."))
    scale, version = body.get("scale"), body.get("version")
    if not isinstance(answers, list) or len(answers) > 200 or not isinstance(scale, str) \
            or not isinstance(version, str) or not 0 < len(scale) <= 64 or not 0 < len(version) <= 64:
        return refused(422, "invalid_answers", "malformed_answers")
    started_at = _parse_started_at(body.get("started_at"))
    if started_at is _UNSTORABLE:
        return refused(422, "invalid_request", "invalid_started_at",
                       message=_("started_at must be a date and time between the years 1 and 9999."))
    # Scored by whichever writer stores it (the writer process scores it there, off this worker's time).
    submission = intake.Submission(ids.campaign_id, ids.student_id, body["scale"], body["version"], list(answers),
                                   key.lower(), started_at, clock.now(), ids.generation)
    try:
        receipt = current_app.extensions["submission_writer"].submit(
            submission, timeout=current_app.config["SUBMISSION_WAIT_SECONDS"])
    except screening.ScreeningError as exc:
        status = 409 if exc.code in ("already_submitted", "idempotency_key_reused") else 422
        if exc.code == "session_ended":
            status = 401  # the page asks the student to enter the code again
        if exc.code == "no_screening_consent":
            status = 403
        message = None
        if exc.item is not None:
            message = _("Question %(number)s is missing or has an answer that is not allowed.", number=exc.item)
        return refused(status, exc.code, exc.code, item=exc.item, message=message)
    except (intake.NotStored, DBAPIError) as exc:
        # Not stored, or stored without the answer reaching us: the page retries with the same key, which
        # stores it once or answers with the stored row.
        cause = _not_stored_cause(exc)
        logger.warning("submission not stored (503): %s", cause)
        metrics.count_submission_not_stored(cause)
        response, status = error(503, "try_again")
        response.headers["Retry-After"] = "2"
        return response, status
    metrics.count_submission_stored(receipt.created)
    if submission.mail_pending:
        notifications.mail_after_response()
    payload = receipt_payload(receipt)
    if receipt.show_crisis_resources:
        payload["teacher_told"] = _teacher_told(ids)
    return jsonify(payload), 201 if receipt.created else 200


def _teacher_told(ids):
    """Whether the crisis screen may say "your teacher has been told": only when it is true.

    Only reads. On SQLite a transaction of the session otherwise takes the writer lock: every crisis receipt then
    waited for the writer process's batch in progress and held up its next one, and the slowest 3 % of all
    submissions took 100-300 ms (bench/README.md, round 7)."""
    sqlite_writer.only_reading(db.session)
    campaign = db.session.get(Campaign, ids.campaign_id)
    return campaign is not None and student_care.teacher_told(campaign.school_id, ids.student_id)


def crisis_payload(campaign, student):
    """The crisis screen's state on the server: a reload, a dropped connection or a re-join shows it again until
    the student chose to go on."""
    state = student_care.crisis_state(campaign, student)
    state["resources"] = _resources() if state["shown"] else []
    return state


def _resources():
    return [{"number": line["number"], "name": line["name"], "tel": line["tel"]} for line in crisis.lines()]


def _usable_session():
    """(campaign, student) of a usable bearer token, or an error response."""
    loaded = load_student_session()
    if loaded is None:
        return None, error(401, "bad_token")
    campaign, student, ended = loaded
    if ended:
        return None, error(401, ended)
    return (campaign, student), None


@bp.post("/student-session/crisis-seen")
@policy.public
def crisis_seen():
    """The student saw the crisis screen and chose to go on."""
    session, failed = _usable_session()
    if failed:
        return failed
    student_care.mark_crisis_seen(*session)
    db.session.commit()
    return jsonify(crisis_payload(*session))


@bp.post("/student-session/talk")
@policy.public
def talk_now():
    """"I want to talk to someone now": a concern for the school's psychology teachers; a second tap raises
    nothing more."""
    session, failed = _usable_session()
    if failed:
        return failed
    told = student_care.request_talk(*session)
    db.session.commit()
    return jsonify({"talk_requested": True, "teacher_told": told})


@bp.get("/openapi.json")
@policy.public
def openapi():
    return jsonify(OPENAPI)
