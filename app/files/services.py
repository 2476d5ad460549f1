"""Assemble the student's file as one timeline across every school attended."""
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from app.audit import services as audit
from app.core import clock
from app.files.models import BreakGlassAccess

from app.care.models import Assessment, FollowUp, Referral, ReturnDecision
from app.extensions import db
from app.orgs.models import School
from app.register.models import Interview, SupportPlan, WarningChange, WarningReview
from app.risk.models import Alert
from app.screening.models import Response


@dataclass
class TimelineEntry:
    at: datetime
    kind: str          # screening / alert / referral / assessment / decision / follow_up /
                       # interview / warning / review / plan (app/register)
    school_name: str
    obj: object
    school_id: int | None = None    # the school where it happened (for care entries: the referring school)
    hospital_id: int | None = None  # care entries: the hospital the referral went to
    change: dict | None = None      # screenings: reliable change against the previous visible total


def _at_date(d):
    return datetime.combine(d, time(12, 0), tzinfo=timezone.utc)


def unfiltered_timeline(student):
    """Every event of the student's file, newest first, each naming the school where it happened.

    Unfiltered: show it to nobody directly. Views ask handover.file_for, which keeps what the viewer may see.
    """
    schools = {s.id: s.name for s in db.session.scalars(select(School))}
    entries = []
    for response in db.session.scalars(select(Response).where(Response.student_id == student.id)):
        entries.append(TimelineEntry(response.submitted_at, "screening", schools.get(response.school_id, ""), response,
                                     response.school_id))
    for alert in db.session.scalars(select(Alert).where(Alert.student_id == student.id)):
        entries.append(TimelineEntry(alert.opened_at, "alert", schools.get(alert.school_id, ""), alert, alert.school_id))
    referrals = list(db.session.scalars(select(Referral).where(Referral.student_id == student.id)))
    by_referral = {r.id: r for r in referrals}
    for referral in referrals:
        entries.append(TimelineEntry(referral.created_at, "referral", schools.get(referral.school_id, ""), referral,
                                     referral.school_id, referral.hospital_id))

    def care_entry(at, kind, obj):
        referral = by_referral.get(obj.referral_id)
        school_id = referral.school_id if referral else None
        entries.append(TimelineEntry(at, kind, schools.get(school_id, ""), obj, school_id,
                                     referral.hospital_id if referral else None))

    for assessment in db.session.scalars(select(Assessment).where(Assessment.student_id == student.id)):
        care_entry(assessment.created_at, "assessment", assessment)
    for decision in db.session.scalars(select(ReturnDecision).where(ReturnDecision.student_id == student.id)):
        care_entry(decision.created_at, "decision", decision)
    for follow_up in db.session.scalars(select(FollowUp).where(FollowUp.student_id == student.id)):
        entries.append(TimelineEntry(follow_up.done_at or _at_date(follow_up.due_on), "follow_up",
                                     schools.get(follow_up.school_id, ""), follow_up, follow_up.school_id))
    _register_entries(student, schools, entries)
    entries.sort(key=lambda e: (e.at, e.kind), reverse=True)
    return entries


def _register_entries(student, schools, entries):
    """Interviews, warning level changes, reviews and plan versions (app/register): each made at a school, so
    the hand-over rules treat them as every other school entry."""
    for kind, model, at in (("interview", Interview, "created_at"), ("warning", WarningChange, "changed_at"),
                            ("review", WarningReview, "created_at"), ("plan", SupportPlan, "created_at")):
        for obj in db.session.scalars(select(model).where(model.student_id == student.id)):
            entries.append(TimelineEntry(getattr(obj, at), kind, schools.get(obj.school_id, ""), obj, obj.school_id))


def open_break_glass(user, student, reason):
    """An admin's emergency access to one student's clinical text: audited, time-limited, shown to the school."""
    now = clock.now()
    access = BreakGlassAccess(user_id=user.id, student_id=student.id, reason=reason.strip(), opened_at=now,
                              expires_at=now + timedelta(minutes=current_app.config["BREAK_GLASS_MINUTES"]))
    db.session.add(access)
    db.session.flush()
    # The reason is clinical text: it stays encrypted in its own row, which the audit event names. The school
    # reads who, when and why from that row (the file page); the audit trail carries no free text.
    audit.record(user, "break_glass", "student", student.id, student.id,
                 detail={"break_glass_id": access.id, "expires_at": access.expires_at.isoformat()})
    return access

