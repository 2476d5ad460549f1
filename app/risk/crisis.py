"""The crisis checklist of a critical alert (the ASQ pathway) and the record of contacts with the guardian.

The NIMH ASQ pathway after an acute positive: the student is not left alone, the guardian is informed, a brief
safety assessment is done, and the student is referred for a full evaluation, or the reason not to is written
down. Each step is recorded once with who and when; the referral step is done by a referral linked to the alert.
"""
from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit import services as audit
from app.care.models import Referral, ReferralStatus
from app.core import clock
from app.extensions import db
from app.risk.models import AlertStatus, CrisisStep, GuardianContact

CRISIS_STEPS = {
    "not_alone": _l("The student is not left alone"),
    "guardian_informed": _l("Guardian informed"),
    "safety_assessment": _l("Brief safety assessment done"),
    "referral": _l("Referred to hospital, or the reason not to refer written down"),
}
STEP_HINTS = {
    "not_alone": _l("A member of staff stays with the student until the guardian or a clinician takes over."),
    "guardian_informed": _l("Done when a call that reached the guardian is recorded below."),
    "safety_assessment": _l("Ask about a plan, the means and past attempts; write what you found."),
    "referral": _l("Done by a referral linked to this alert; otherwise write why not."),
}
# Steps the teacher ticks with a button; the two others are done by a record (a call, a referral) or need a note.
STEPS_NEEDING_NOTE = {"safety_assessment", "referral"}
STEPS_BY_RECORD = {"guardian_informed"}

CONTACT_DIRECTIONS = {"outgoing": _l("We called the guardian"), "incoming": _l("The guardian called us")}
CONTACT_OUTCOMES = {
    "reached": _l("Reached and informed"),
    "no_answer": _l("No answer"),
    "wrong_number": _l("Wrong or unavailable number"),
    "refused": _l("Reached, would not engage"),
}
INFORMED_OUTCOMES = {"reached", "refused"}  # the guardian was told, whatever they said


class CrisisError(ValueError):
    """A checklist rule was broken; `code` names it (the view shows it on the field)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def needs_checklist(alert) -> bool:
    return alert.level == "critical"


def _linked_referrals(alert_id):
    return select(Referral).where(Referral.alert_id == alert_id, Referral.status != ReferralStatus.DECLINED)


def checklist(alert):
    """The steps in the pathway's order, each with done (bool), at, by and note."""
    rows = {s.step: s for s in db.session.scalars(select(CrisisStep).where(CrisisStep.alert_id == alert.id))}
    referral = db.session.scalars(_linked_referrals(alert.id).order_by(Referral.id)).first()
    steps = []
    for key, label in CRISIS_STEPS.items():
        row = rows.get(key)
        step = SimpleNamespace(key=key, label=label, hint=STEP_HINTS[key], done=row is not None,
                               at=row.done_at if row else None, by=row.done_by if row else None,
                               note=row.note if row else None, referral=None)
        if key == "referral" and row is None and referral is not None:
            step.done, step.at, step.by, step.referral = True, referral.created_at, referral.created_by, referral
        steps.append(step)
    return steps


def is_complete(alert) -> bool:
    return not needs_checklist(alert) or all(step.done for step in checklist(alert))


def progress(alerts) -> dict:
    """{alert id: steps done} for the critical alerts among `alerts`, in two queries (the risk list)."""
    ids = [a.id for a in alerts if needs_checklist(a)]
    if not ids:
        return {}
    done = {i: 0 for i in ids}
    for alert_id, count in db.session.execute(select(CrisisStep.alert_id, func.count(CrisisStep.id))
                                              .where(CrisisStep.alert_id.in_(ids), CrisisStep.step != "referral")
                                              .group_by(CrisisStep.alert_id)):
        done[alert_id] += count
    referred = set(db.session.scalars(select(Referral.alert_id).where(
        Referral.alert_id.in_(ids), Referral.status != ReferralStatus.DECLINED)))
    referred |= set(db.session.scalars(select(CrisisStep.alert_id).where(
        CrisisStep.alert_id.in_(ids), CrisisStep.step == "referral")))
    for alert_id in referred:
        done[alert_id] += 1
    return done


def _require_open(alert):
    if alert.status == AlertStatus.RESOLVED:
        raise CrisisError("resolved")


def _mark(alert, step, note, by, at=None):
    db.session.add(CrisisStep(alert_id=alert.id, step=step, note=note, done_by_id=by.id, done_at=at or clock.now()))
    db.session.flush()
    audit.record(by, "crisis_step_recorded", "alert", alert.id, alert.student_id, detail={"step": step})


def record_step(alert, step, note, by):
    """Tick one step of the checklist; the safety assessment and "no referral" need what was found or why."""
    _require_open(alert)
    if not needs_checklist(alert) or step not in CRISIS_STEPS or step in STEPS_BY_RECORD:
        raise CrisisError("unknown_step")
    if any(s.key == step and s.done for s in checklist(alert)):
        raise CrisisError("step_done")
    note = (note or "").strip() or None
    if step in STEPS_NEEDING_NOTE and not note:
        raise CrisisError("note_required")
    _mark(alert, step, note, by)


def record_guardian_contact(alert, data, by):
    """A call with the guardian; one that reached them ticks "guardian informed" at the call's time."""
    _require_open(alert)
    if data["direction"] not in CONTACT_DIRECTIONS:
        raise CrisisError("bad_direction")
    if data["outcome"] not in CONTACT_OUTCOMES:
        raise CrisisError("bad_outcome")
    contacted_at = data["contacted_at"]
    if contacted_at > clock.now():
        raise CrisisError("contact_in_future")
    if contacted_at < alert.opened_at.replace(second=0, microsecond=0):
        raise CrisisError("contact_before_alert")
    contact = GuardianContact(alert_id=alert.id, student_id=alert.student_id, recorded_by_id=by.id,
                              direction=data["direction"], person=data["person"].strip(), contacted_at=contacted_at,
                              outcome=data["outcome"], note=(data.get("note") or "").strip() or None,
                              created_at=clock.now())
    db.session.add(contact)
    db.session.flush()
    audit.record(by, "guardian_contact_recorded", "alert", alert.id, alert.student_id,
                 detail={"outcome": contact.outcome, "direction": contact.direction})
    if needs_checklist(alert) and contact.outcome in INFORMED_OUTCOMES and db.session.scalar(
            select(CrisisStep.id).where(CrisisStep.alert_id == alert.id, CrisisStep.step == "guardian_informed")) is None:
        _mark(alert, "guardian_informed", None, by, at=contacted_at)
    return contact


def guardian_contacts(alert):
    return db.session.scalars(select(GuardianContact).where(GuardianContact.alert_id == alert.id)
                              .order_by(GuardianContact.contacted_at, GuardianContact.id)).all()
