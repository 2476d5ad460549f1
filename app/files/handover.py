"""Which entries of a student's file a viewer sees, the hand-over summary, and reliable change.

Rules (consent details in app/students/consent.py):
- admin: every entry (clinical free text stays hidden by the page);
- psychology teacher: entries made at the teacher's own school; entries of the student's earlier schools only
  while the guardian's hand-over consent (handover_school) is in force;
- doctor: the own hospital's care entries and the entries of the schools that referred the student to it;
  entries of other schools only while handover_hospital consent is in force.
What is withheld is never shown, but the page says that an earlier file exists and how to obtain consent.

Reliable change is computed when the timeline is built, not stored on Score: the SD and reliability come
from the scale file (content-versioned), the comparison depends on which earlier screenings the viewer may
see, and computing it here needs no schema change in the screening domain. The values used are shown beside
the mark.
"""
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

import screening_scales
from app.accounts.models import Role
from app.care.models import DecisionOutcome, Referral, ReferralStatus
from app.core import clock
from app.extensions import db
from app.files.services import unfiltered_timeline
from app.risk.models import AlertStatus
from app.students import consent as consents
from app.students.models import ConsentKind


@dataclass
class FileView:
    entries: list
    hidden_count: int = 0
    hidden_schools: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    consent_kind: str | None = None  # the consent that would show the hidden entries


def _referring_schools(student_id, hospital_id):
    return set(db.session.scalars(select(Referral.school_id).where(
        Referral.student_id == student_id, Referral.hospital_id == hospital_id,
        Referral.status != ReferralStatus.DECLINED)))


def _visible_to(user, student, entries) -> FileView:
    """Filter the timeline for `user`; count what is withheld for want of consent."""
    if user.role == Role.ADMIN:
        return FileView(entries=list(entries))
    if user.role == Role.TEACHER:
        kind, own = ConsentKind.HANDOVER_SCHOOL, {user.school_id}
        shown = lambda e: e.school_id in own  # noqa: E731
    elif user.role == Role.DOCTOR:
        kind, own = ConsentKind.HANDOVER_HOSPITAL, _referring_schools(student.id, user.hospital_id)
        shown = lambda e: e.school_id in own or (e.hospital_id is not None and e.hospital_id == user.hospital_id)  # noqa: E731
    else:
        return FileView(entries=[])
    if consents.has_consent(student.id, kind):
        return FileView(entries=list(entries))
    visible = [e for e in entries if e.school_id is None or shown(e)]
    hidden = [e for e in entries if not (e.school_id is None or shown(e))]
    return FileView(entries=visible, hidden_count=len(hidden),
                    hidden_schools=sorted({e.school_name for e in hidden}), consent_kind=kind.value)


def add_reliable_change(entries):
    """Mark each screening with reliable change against the previous visible total of the same scale."""
    previous = {}
    for entry in sorted((e for e in entries if e.kind == "screening"), key=lambda e: e.at):
        response = entry.obj
        total = response.score.total if response.score else None
        if total is None:
            continue
        before = previous.get(response.scale_code)
        if before is not None:
            try:
                entry.change = screening_scales.reliable_change(response.scale_code, before, total,
                                                                registry=current_app.extensions["scales"])
            except (KeyError, LookupError, ValueError):
                entry.change = None
        previous[response.scale_code] = total
    return entries


def summary(entries) -> dict:
    """The hand-over summary: open alerts, active return conditions, last screening per scale, open follow-ups."""
    today = clock.today()
    last_screening = {}
    for entry in entries:  # newest first
        if entry.kind == "screening" and entry.obj.scale_code not in last_screening:
            last_screening[entry.obj.scale_code] = entry
    decisions = [e for e in entries if e.kind == "decision"]
    latest = decisions[0] if decisions else None
    active_decision = None
    if latest is not None and (latest.obj.outcome != DecisionOutcome.CLEARED
                               or (latest.obj.review_on is not None and latest.obj.review_on >= today)):
        active_decision = latest
    return {
        "open_alerts": [e for e in entries if e.kind == "alert" and e.obj.status != AlertStatus.RESOLVED],
        "decision": active_decision,
        "last_screenings": sorted(last_screening.values(), key=lambda e: e.obj.scale_code),
        "open_follow_ups": [e for e in entries if e.kind == "follow_up" and e.obj.done_at is None],
    }


def file_for(user, student) -> FileView:
    """The student's file as `user` may see it: the only way a view gets the timeline."""
    view = _visible_to(user, student, unfiltered_timeline(student))
    add_reliable_change(view.entries)
    view.summary = summary(view.entries)
    return view
