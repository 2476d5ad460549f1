"""What a student in a screening is told and can ask for: the crisis screen that survives a reload or a re-join,
"your teacher has been told" (only when true), and "I want to talk to someone now" (issue 17, items 3 and 4)."""
from sqlalchemy import select

import screening_scales
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.notifications.services import school_psychology_teachers
from app.risk import services as risk
from app.risk.models import Alert, AlertStatus
from app.screening.models import Response, Score
from app.screening.services import participant_of

# The reason of the concern a student's own request raises (an alert like a teacher's concern, level high: it
# reaches the school's psychology teachers at once, on their open pages too).
TALK_REASON = "student_request"
TALK_LEVEL = "high"
# Alerts that mean a teacher was told about this student.
TOLD_LEVELS = ("critical", "high")


def _crisis_moments(campaign_id, student_id):
    """When each of the student's responses in the campaign that needed the crisis screen was submitted."""
    rows = db.session.execute(select(Response.submitted_at, Score.risk, Score.flags).join(
        Score, Score.response_id == Response.id).where(
        Response.campaign_id == campaign_id, Response.student_id == student_id)).all()
    return [at for at, level, flags in rows if screening_scales.needs_crisis_resources(level, flags)]


def teacher_told(school_id, student_id) -> bool:
    """True only when an unresolved high or critical alert of the student is open at the school and the school has
    an active psychology teacher who was notified of it (the alert's recipients)."""
    alert = db.session.scalar(select(Alert.id).where(
        Alert.student_id == student_id, Alert.school_id == school_id, Alert.level.in_(TOLD_LEVELS),
        Alert.status != AlertStatus.RESOLVED).limit(1))
    return alert is not None and bool(school_psychology_teachers(school_id))


def crisis_state(campaign, student) -> dict:
    """{"shown": any answer needed the crisis screen, "pending": one did since the student last chose to go on,
    "teacher_told": ..., "talk_requested": ...} for the session payload."""
    moments = _crisis_moments(campaign.id, student.id)
    participant = participant_of(campaign.id, student.id)
    seen = participant.crisis_seen_at if participant is not None else None
    pending = any(seen is None or at > seen for at in moments)
    return {"shown": bool(moments), "pending": pending,
            "teacher_told": teacher_told(campaign.school_id, student.id) if moments else False,
            "talk_requested": bool(participant is not None and participant.talk_requested_at is not None)}


def mark_crisis_seen(campaign, student) -> None:
    """The student saw the crisis screen and chose to go on: a reload now shows the next questionnaire."""
    participant = participant_of(campaign.id, student.id)
    if participant is not None:
        participant.crisis_seen_at = clock.now()


def request_talk(campaign, student) -> bool:
    """"I want to talk to someone now": raise a concern for the school's psychology teachers, once per session
    (a double tap or a retry raises nothing more). Returns whether a teacher was told."""
    participant = participant_of(campaign.id, student.id)
    if participant is None:
        return False
    if participant.talk_requested_at is None:
        participant.talk_requested_at = clock.now()
        alert = risk.raise_alert(student, campaign.school_id, TALK_LEVEL, TALK_REASON)
        audit.record("student", "student_asked_to_talk", "alert", alert.id, student.id,
                     detail={"campaign_id": campaign.id})
    return teacher_told(campaign.school_id, student.id)
