"""Launching campaigns, joining a session as a student, submitting responses."""
import logging
import secrets
from datetime import date, datetime

from flask import current_app
from sqlalchemy import func, select

import screening_scales
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.scales import services as scale_settings
from app.screening.intake import ScreeningError, prepare, store
from app.screening.models import Campaign, CampaignParticipant, CampaignStatus, Response, Score, campaign_classes
from app.students.models import Enrollment, Student

logger = logging.getLogger(__name__)
# No 0/O, 1/I/L: a code read aloud or copied from the board must not be mistyped.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


def registry():
    return current_app.extensions["scales"]


def asks_crisis_questions(scale_code) -> bool:
    """Whether the scale has critical items (PHQ-9 item 9, PHQ-A 9/12/13, ASQ): an answer there opens a critical
    alert and shows the student crisis resources. A battery without any cannot detect suicide risk."""
    return bool(registry().get(scale_code).critical_items)


def generate_session_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Campaign.id).where(Campaign.session_code == code)) is None:
            return code


def normalise_code(code: str) -> str:
    return "".join((code or "").split()).upper()


TEXT_SEPARATOR = "@"


def scale_choice(scale) -> str:
    """How a form names one text of a scale: the code for a shipped text, "code@text id" for a centre's text."""
    return f"{scale.code}{TEXT_SEPARATOR}{scale.text_id}" if scale.from_centre else scale.code


def chosen_texts(choices):
    """The scales (with their texts) that `choices` name, as scale_choice() writes them; one text per scale."""
    chosen = []
    for choice in choices:
        code, _sep, text_id = str(choice).partition(TEXT_SEPARATOR)
        try:
            scale = registry().get_text(code, text_id or None)
        except screening_scales.UnknownScale:
            raise ScreeningError("unknown_scale") from None
        if any(s.code == scale.code for s in chosen):
            raise ScreeningError("one_text_per_scale")
        chosen.append(scale)
    return chosen


def launch_campaign(school, class_groups, scale_codes, title, closes_at: datetime, by):
    """Open a session for `class_groups`. `scale_codes` name the questionnaires (scale_choice(): a centre's text
    as "code@text id"); a centre's text is used only once a doctor approved it. The texts and the cut-off profiles
    in force for the school's level are fixed now, for the whole session."""
    if school.closed_on is not None:
        raise ScreeningError("school_closed")  # a closed school keeps its files but screens no more
    if not class_groups or any(c.school_id != school.id for c in class_groups):
        raise ScreeningError("classes_not_in_school")
    if not scale_codes:
        raise ScreeningError("no_scales")
    scales = chosen_texts(dict.fromkeys(scale_codes))
    for scale in scales:
        try:
            scale_settings.check_usable(scale)
        except scale_settings.ScalesError as exc:
            raise ScreeningError(exc.code) from None
    opens_at = clock.now()
    if closes_at <= opens_at:
        raise ScreeningError("closes_in_past")
    codes = [scale.code for scale in scales]
    campaign = Campaign(
        school_id=school.id,
        title=title,
        scale_codes=codes,
        scale_texts={scale.code: scale.text_id for scale in scales if scale.from_centre},
        cutoff_profiles=scale_settings.profiles_for_campaign(codes, school.level.value),
        session_code=generate_session_code(),
        opens_at=opens_at,
        closes_at=closes_at,
        created_by_id=by.id,
    )
    campaign.classes = list(class_groups)
    db.session.add(campaign)
    db.session.flush()
    audit.record(by, "campaign_launched", "campaign", campaign.id,
                 detail={"scales": codes, "texts": campaign.scale_texts, "profiles": campaign.cutoff_profiles})
    return campaign


def campaign_scale(campaign, code):
    """The scale, in the text the campaign gives its students (a campaign from before texts were chosen: the
    default text); raises UnknownScale when a centre's text the campaign chose is no longer loaded."""
    return registry().get_text(code, (campaign.scale_texts or {}).get(code))


def close_campaign(campaign, by):
    campaign.status = CampaignStatus.CLOSED
    campaign.closes_at = min(campaign.closes_at, clock.now())
    audit.record(by, "campaign_closed", "campaign", campaign.id)


def campaign_enrollment(campaign, student_id, on: date | None = None):
    """The student's current enrolment in one of the campaign's classes, or None."""
    on = on or clock.today()
    class_ids = select(campaign_classes.c.class_group_id).where(campaign_classes.c.campaign_id == campaign.id)
    return db.session.scalar(
        select(Enrollment).where(
            Enrollment.student_id == student_id,
            Enrollment.class_group_id.in_(class_ids),
            Enrollment.start_date <= on,
            (Enrollment.end_date.is_(None)) | (Enrollment.end_date > on),
        )
    )


def start_student_session(session_code: str, student_number: str, birth_date: date):
    """Identify a student by session code, student number and birth date. Errors say nothing more specific
    than 'details do not match' so that the form cannot be used to probe who is enrolled."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.session_code == normalise_code(session_code)))
    if campaign is None:
        raise ScreeningError("unknown_code")
    if not campaign.is_open(clock.now()):
        raise ScreeningError("campaign_closed")
    student = db.session.scalar(select(Student).where(Student.student_number == (student_number or "").strip()))
    enrollment = campaign_enrollment(campaign, student.id) if student is not None else None
    if student is None or student.birth_date != birth_date or enrollment is None:
        raise ScreeningError("details_do_not_match")
    require_screening_consent(student)
    return campaign, student, enrollment


def require_screening_consent(student):
    """Refuse screening unless the guardian's screening consent is in force (PIPL: health data of a minor)."""
    from app.students.consent import has_consent
    from app.students.models import ConsentKind

    if not has_consent(student.id, ConsentKind.SCREENING):
        raise ScreeningError("no_screening_consent")


def students_without_screening_consent(class_group_ids) -> int:
    """How many students currently in these classes cannot join for want of the guardian's screening consent."""
    from app.students.consent import students_with_consent
    from app.students.models import ConsentKind

    ids = [student.id for student, _ in class_roster(class_group_ids)]
    return len(set(ids) - students_with_consent(ids, ConsentKind.SCREENING))


def submitted_scales(campaign_id, student_id) -> set[str]:
    return set(db.session.scalars(
        select(Response.scale_code).where(Response.campaign_id == campaign_id, Response.student_id == student_id)
    ))


def submit_response(campaign, student, scale_code, scale_version, answers, idempotency_key, started_at=None):
    """Store, score and route one questionnaire in the caller's transaction (the demo, commands).

    Returns its intake.Receipt; raises ScreeningError when a rule refuses it. The student API goes through
    a writer instead (the server's writer process or a Writer thread); both apply the rules of `intake.store`.
    """
    sub = prepare(registry(), campaign.id, student.id, scale_code, scale_version, answers, idempotency_key,
                  started_at)
    store([sub])
    if isinstance(sub.outcome, ScreeningError):
        raise sub.outcome
    return sub.outcome


def record_participation(campaign, student, class_group_id) -> CampaignParticipant:
    """Mark the student as started (once); the participant's session generation goes into the token."""
    participant = participant_of(campaign.id, student.id)
    if participant is None:
        participant = CampaignParticipant(campaign_id=campaign.id, student_id=student.id,
                                          class_group_id=class_group_id, session_generation=0)
        db.session.add(participant)
        db.session.flush()
    return participant


def campaign_participants(campaign) -> dict:
    """student id → CampaignParticipant: who joined the campaign's session, and whose session was ended."""
    return {p.student_id: p for p in db.session.scalars(
        select(CampaignParticipant).where(CampaignParticipant.campaign_id == campaign.id))}


def participant_of(campaign_id, student_id) -> CampaignParticipant | None:
    return db.session.scalar(select(CampaignParticipant).where(
        CampaignParticipant.campaign_id == campaign_id, CampaignParticipant.student_id == student_id))


def session_usable(campaign, student_id, generation: int) -> str | None:
    """Why a student token of this campaign can no longer read or submit ('campaign_closed',
    'session_ended'), or None while it can."""
    if not campaign.is_open(clock.now()):
        return "campaign_closed"
    participant = participant_of(campaign.id, student_id)
    if generation != (participant.session_generation if participant is not None else 0):
        return "session_ended"
    return None


def end_student_session(campaign, student, *, by):
    """A teacher ends a student's session (someone joined as a classmate): every token issued so far stops
    working at its next request; the student can join again with the code. Audited."""
    participant = participant_of(campaign.id, student.id)
    if participant is None:
        raise ScreeningError("not_joined")
    participant.session_generation += 1
    participant.session_ended_at = clock.now()
    audit.record(by, "student_session_ended", "campaign", campaign.id, student.id,
                 detail={"generation": participant.session_generation})


def campaign_progress(campaign):
    """Per class: enrolled (invited), started, submitted every questionnaire."""
    today = clock.today()
    needed = len(campaign.scale_codes)
    rows = []
    for class_group in campaign.classes:
        invited = db.session.scalar(select(func.count(Enrollment.id)).where(
            Enrollment.class_group_id == class_group.id, Enrollment.start_date <= today,
            (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today)))
        started = db.session.scalar(select(func.count(CampaignParticipant.id)).where(
            CampaignParticipant.campaign_id == campaign.id, CampaignParticipant.class_group_id == class_group.id))
        per_student = (select(Response.student_id)
                       .where(Response.campaign_id == campaign.id, Response.class_group_id == class_group.id)
                       .group_by(Response.student_id).having(func.count(Response.id) >= needed)).subquery()
        submitted = db.session.scalar(select(func.count()).select_from(per_student))
        rows.append({"class_id": class_group.id, "class_name": class_group.name, "grade": class_group.grade,
                     "invited": invited, "started": started, "submitted": submitted})
    return rows


def campaign_results(campaign):
    """Every response of the campaign with its score, by student: {student_id: {scale_code: Score}}."""
    results = {}
    rows = db.session.execute(
        select(Response, Score).join(Score, Score.response_id == Response.id).where(Response.campaign_id == campaign.id)
    )
    for response, score in rows:
        results.setdefault(response.student_id, {})[response.scale_code] = score
    return results


def class_roster(class_group_ids):
    """Students currently enrolled in the given classes, ordered by class then number."""
    today = clock.today()
    return db.session.execute(
        select(Student, Enrollment.class_group_id)
        .join(Enrollment, Enrollment.student_id == Student.id)
        .where(Enrollment.class_group_id.in_(class_group_ids), Enrollment.start_date <= today,
               (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today))
        .order_by(Enrollment.class_group_id, Student.student_number)
    ).all()
