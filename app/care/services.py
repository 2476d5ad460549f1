"""Referral to a partner hospital, assessment, return-to-school decision, follow-up at the school."""
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, select

from app.audit import services as audit
from app.care.icd10 import F_CODE_SET
from app.care.models import (
    Assessment, AssessmentSetting, CarePlan, DecisionOutcome, FollowUp, Referral, ReferralStatus, ReturnDecision,
)
from app.core import clock
from app.extensions import db
from app.orgs.models import Hospital, Partnership

URGENCY_ORDER = case({"critical": 0, "high": 1, "moderate": 2}, value=Referral.urgency, else_=3)
URGENCIES = ("critical", "high", "moderate", "low")
RISK_LEVELS = ("low", "moderate", "high", "critical")
OPEN_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACCEPTED, ReferralStatus.ASSESSED)
WAITING_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)


class CareError(ValueError):
    """A rule of the clinical loop was broken; `code` names it."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def _notify(referral, by):
    """Tell the other side of the loop; the notifications domain may not be installed (yet)."""
    try:
        from app.notifications.services import notify_referral_change
    except ImportError:
        return
    notify_referral_change(referral, by)


def partner_hospitals(school_id, exclude_ids=()):
    """Hospitals whose agreement with the school is active today (minus `exclude_ids`)."""
    today = clock.today()
    query = (select(Hospital).join(Partnership, Partnership.hospital_id == Hospital.id)
             .where(Partnership.school_id == school_id, Partnership.in_force(today)))
    if exclude_ids:
        query = query.where(Hospital.id.not_in(list(exclude_ids)))
    return list(db.session.scalars(query.order_by(Hospital.name).distinct()))


def declined_hospital_ids(student_id, school_id):
    """Hospitals whose latest referral of this student by this school was declined: the school refers elsewhere.

    An earlier school's declines do not count: they belong to its file, and a new school may try again.
    """
    latest = {}
    for referral in db.session.scalars(select(Referral).where(
            Referral.student_id == student_id, Referral.school_id == school_id).order_by(Referral.id)):
        latest[referral.hospital_id] = referral
    return {hospital_id for hospital_id, r in latest.items() if r.status == ReferralStatus.DECLINED}


def refer_student(student, school_id, hospital_id, urgency, reason, *, alert=None, by):
    if urgency not in URGENCIES:
        raise CareError("bad_urgency")
    if hospital_id not in {h.id for h in partner_hospitals(school_id)}:
        raise CareError("not_a_partner")
    open_one = db.session.scalar(select(Referral.id).where(
        Referral.student_id == student.id, Referral.hospital_id == hospital_id,
        Referral.status.in_(OPEN_REFERRAL_STATUSES)))
    if open_one is not None:
        raise CareError("already_referred")
    referral = Referral(
        student_id=student.id, school_id=school_id, hospital_id=hospital_id, alert_id=alert.id if alert else None,
        urgency=urgency, reason=reason or None, created_by_id=by.id, created_at=clock.now(),
    )
    db.session.add(referral)
    db.session.flush()
    audit.record(by, "referral_sent", "referral", referral.id, student.id, detail={"urgency": urgency})
    _notify(referral, by)
    return referral


def accept_referral(referral, by):
    if referral.status != ReferralStatus.SENT:
        raise CareError("not_waiting")
    referral.status = ReferralStatus.ACCEPTED
    referral.accepted_at = clock.now()
    referral.accepted_by_id = by.id
    audit.record(by, "referral_accepted", "referral", referral.id, referral.student_id)
    _notify(referral, by)


def decline_referral(referral, reason, by):
    """The hospital cannot take the student; the school sees the reason and may refer elsewhere."""
    if referral.status != ReferralStatus.SENT:
        raise CareError("not_waiting")
    reason = (reason or "").strip()
    if not reason:
        raise CareError("decline_reason_required")
    referral.status = ReferralStatus.DECLINED
    referral.decline_reason = reason
    referral.declined_at = clock.now()
    referral.declined_by_id = by.id
    db.session.flush()
    audit.record(by, "referral_declined", "referral", referral.id, referral.student_id)
    _notify(referral, by)


def record_assessment(referral, data, by, *, corrects=None):
    """A new assessment (version 1), or, with `corrects`, a correction: a new row with version+1 that
    supersedes the given version. Nothing is ever edited in place."""
    if referral.status not in (ReferralStatus.ACCEPTED, ReferralStatus.ASSESSED):
        raise CareError("not_accepted")
    if data["risk_level"] not in RISK_LEVELS:
        raise CareError("bad_risk_level")
    code = (data.get("icd10_code") or "").strip() or None
    if code is not None and code not in F_CODE_SET:
        raise CareError("bad_icd_code")
    if data["assessed_on"] > clock.today():
        raise CareError("assessed_in_future")
    if data.get("next_review_on") and data["next_review_on"] < data["assessed_on"]:
        raise CareError("review_before_assessment")
    if corrects is not None:
        if corrects.referral_id != referral.id:
            raise CareError("not_this_referral")
        if corrects not in referral.current_assessments:
            raise CareError("already_corrected")
    assessment = Assessment(
        referral=referral,
        student_id=referral.student_id,
        clinician_id=by.id,
        assessed_on=data["assessed_on"],
        setting=AssessmentSetting(data["setting"]),
        findings=data["findings"].strip(),
        icd10_code=code,
        risk_level=data["risk_level"],
        plan=CarePlan(data["plan"]),
        next_review_on=data.get("next_review_on"),
        version=corrects.version + 1 if corrects is not None else 1,
        supersedes_id=corrects.id if corrects is not None else None,
        created_at=clock.now(),
    )
    db.session.add(assessment)
    referral.status = ReferralStatus.ASSESSED
    db.session.flush()
    audit.record(by, "assessment_corrected" if corrects is not None else "assessment_recorded", "assessment",
                 assessment.id, referral.student_id,
                 detail={"referral_id": referral.id, "version": assessment.version, "supersedes_id": assessment.supersedes_id})
    _notify(referral, by)
    return assessment


def decide_return(referral, data, by):
    """Cleared or cleared with conditions closes the referral; not cleared keeps it open until review.

    Cleared with conditions opens one follow-up task per condition line at the student's current school.
    """
    if referral.status != ReferralStatus.ASSESSED:
        raise CareError("not_assessed")
    outcome = DecisionOutcome(data["outcome"])
    conditions = (data.get("conditions") or "").strip() or None
    review_on = data.get("review_on")
    if outcome == DecisionOutcome.CLEARED_WITH_CONDITIONS and not conditions:
        raise CareError("conditions_required")
    if outcome == DecisionOutcome.NOT_CLEARED and not review_on:
        raise CareError("review_date_required")
    if review_on and review_on <= clock.today():
        raise CareError("review_date_past")
    if outcome == DecisionOutcome.CLEARED:
        conditions = None  # no conditions on a plain clearance: nothing for the school to follow
    latest = referral.latest_assessment
    decision = ReturnDecision(
        referral=referral, student_id=referral.student_id, decided_by_id=by.id, outcome=outcome,
        assessment_id=latest.id if latest else None,
        conditions=conditions, review_on=review_on, share_diagnosis=bool(data.get("share_diagnosis")),
        created_at=clock.now(),
    )
    db.session.add(decision)
    if outcome != DecisionOutcome.NOT_CLEARED:
        referral.status = ReferralStatus.CLOSED
        referral.closed_at = clock.now()
    db.session.flush()
    audit.record(by, "return_decided", "return_decision", decision.id, referral.student_id,
                 detail={"outcome": outcome.value})
    if outcome == DecisionOutcome.CLEARED_WITH_CONDITIONS:
        open_follow_ups(decision, referral)
    _notify(referral, by)
    return decision


def _follow_up_school_id(student, fallback_school_id):
    enrollment = student.current_enrollment()
    return enrollment.school_id if enrollment else fallback_school_id


def _first_due(decision):
    due = clock.today() + timedelta(days=current_app.config["FOLLOW_UP_INTERVAL_DAYS"])
    return min(due, decision.review_on) if decision.review_on else due


def open_follow_ups(decision, referral):
    """One task per condition line, first due after the configured interval (never after the review)."""
    school_id = _follow_up_school_id(referral.student, referral.school_id)
    tasks = []
    for line in decision.condition_lines:
        task = FollowUp(student_id=decision.student_id, school_id=school_id, decision_id=decision.id,
                        condition=line, due_on=_first_due(decision), created_at=clock.now())
        db.session.add(task)
        tasks.append(task)
    db.session.flush()
    return tasks


def record_follow_up(follow_up, note, next_due_on, by):
    """The teacher's contact: closes the task and, with a next due date, opens the next one."""
    if follow_up.done_at is not None:
        raise CareError("follow_up_done")
    note = (note or "").strip()
    if not note:
        raise CareError("note_required")
    if next_due_on is not None and next_due_on <= clock.today():
        raise CareError("next_due_past")
    follow_up.done_at = clock.now()
    follow_up.done_by_id = by.id
    follow_up.note = note
    following = None
    if next_due_on is not None:
        # The next contact belongs to the school that made this one: after a transfer, the new school.
        following = FollowUp(student_id=follow_up.student_id, school_id=by.school_id or follow_up.school_id,
                             decision_id=follow_up.decision_id, alert_id=follow_up.alert_id,
                             condition=follow_up.condition, due_on=next_due_on, created_at=clock.now())
        db.session.add(following)
    db.session.flush()
    audit.record(by, "follow_up_recorded", "follow_up", follow_up.id, follow_up.student_id,
                 detail={"next_id": following.id if following else None})
    return following


def open_follow_up_query():
    return select(FollowUp).where(FollowUp.done_at.is_(None)).order_by(FollowUp.due_on, FollowUp.id)


def referral_queue_order():
    """Most urgent first, then the longest waiting."""
    return (URGENCY_ORDER, Referral.created_at, Referral.id)


def target_hours(urgency):
    return current_app.config["REFERRAL_TARGET_HOURS"].get(urgency)


def waiting_hours(referral, now=None):
    """Hours since the referral was sent (until its first assessment, when it stops waiting)."""
    end = now or clock.now()
    if referral.assessments:
        end = min(a.created_at for a in referral.assessments)
    return max(0, int((end - referral.created_at).total_seconds() // 3600))


def is_over_target(referral, now=None):
    target = target_hours(referral.urgency)
    return (referral.status in WAITING_STATUSES and target is not None
            and (now or clock.now()) - referral.created_at > timedelta(hours=target))


def latest_decision(student_id):
    return db.session.scalar(
        select(ReturnDecision).where(ReturnDecision.student_id == student_id).order_by(ReturnDecision.id.desc()).limit(1))
