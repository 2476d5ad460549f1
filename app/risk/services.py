"""Raising, acknowledging and resolving alerts."""
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, select, update
from sqlalchemy.exc import IntegrityError

from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.notifications import services as notifications
from app.risk import crisis
from app.risk.models import Alert, AlertJoin, AlertStatus

ALERT_LEVELS = ("moderate", "high", "critical")
LEVEL_ORDER = case({"critical": 0, "high": 1, "moderate": 2}, value=Alert.level, else_=3)

# Screening alerts are grouped by reason so that a second critical answer joins the open alert.
SCREENING_REASON = {"critical": "suicide_risk", "high": "high_score", "moderate": "moderate_score"}

# A concern raised by staff without any screening (a "whistle"): its category is the alert's reason.
CONCERN_CATEGORIES = {
    "classmate_worry": _l("A classmate is worried"),
    "self_harm_sign": _l("Sign of self-harm"),
    "parent_call": _l("Call from a parent"),
    "other": _l("Other concern"),
}
# Alerts close only with an outcome; a false positive needs a reason.
OUTCOMES = {
    "contacted_guardian": _l("Guardian contacted"),
    "referred": _l("Referred to hospital"),
    "monitored_at_school": _l("Monitored at school"),
    "false_positive": _l("False positive"),
}
OUTCOMES_NEEDING_NOTE = {"false_positive"}


class AlertError(ValueError):
    """An alert rule was broken; the message is safe to show."""


def due_at_for(level: str, opened_at):
    minutes = current_app.config["ALERT_TARGET_MINUTES"][level]
    return opened_at + timedelta(minutes=minutes)


def find_open_alert(student_id, level, reason):
    return db.session.scalar(
        select(Alert).where(
            Alert.student_id == student_id,
            Alert.level == level,
            Alert.reason == reason,
            Alert.status != AlertStatus.RESOLVED,
        )
    )


def _join(alert, student_id, *, response_id=None, by=None, note=None):
    """Record that a later response or concern joined the open alert (shown on the alert's page)."""
    if response_id is not None and db.session.scalar(select(AlertJoin.id).where(
            AlertJoin.alert_id == alert.id, AlertJoin.response_id == response_id)) is not None:
        return alert
    if response_id is not None and alert.response_id == response_id:
        return alert
    db.session.add(AlertJoin(alert_id=alert.id, response_id=response_id,
                             raised_by_id=getattr(by, "id", None), note=note, joined_at=clock.now()))
    db.session.flush()
    audit.record(by or "system", "alert_joined", "alert", alert.id, student_id, detail={"response_id": response_id})
    return alert


def raise_alert(student, school_id, level, reason, *, response=None, by=None, note=None):
    """Open an alert, or join the open one with the same student, level and reason.

    A unique index over unresolved (student, level, reason) backs the check, so two submissions at
    the same moment still end in one alert: the loser of the race joins the winner's alert.
    """
    student_id, response_id = student.id, response.id if response else None
    if level not in ALERT_LEVELS:
        raise AlertError(f"no alert for level {level}")
    existing = find_open_alert(student_id, level, reason)
    if existing is not None:
        return _join(existing, student_id, response_id=response_id, by=by, note=note)
    opened_at = clock.now()
    alert = Alert(
        student_id=student_id,
        school_id=school_id,
        response_id=response_id,
        level=level,
        reason=reason,
        note=note,
        opened_at=opened_at,
        due_at=due_at_for(level, opened_at),
        raised_by_id=getattr(by, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(alert)
    except IntegrityError:
        existing = find_open_alert(student_id, level, reason)
        if existing is None:
            raise
        return _join(existing, student_id, response_id=response_id, by=by, note=note)
    audit.record(by or "system", "alert_opened", "alert", alert.id, student_id, detail={"level": level, "reason": reason})
    notifications.notify_alert_opened(alert, by=by)
    return alert


def raise_concern(student, level, category, note, *, by):
    """A teacher's concern without any screening becomes an alert like any other."""
    if category not in CONCERN_CATEGORIES:
        raise AlertError("unknown concern category")
    return raise_alert(student, by.school_id, level, category, by=by, note=note or None)


_OPEN_ALERTS = select(Alert.id, Alert.student_id, Alert.level, Alert.reason).where(
    Alert.student_id.in_(bindparam("student_ids", expanding=True)), Alert.status != AlertStatus.RESOLVED)
# RETURNING the open alert's key rather than asking for the rows' order (sort_by_parameter_order), which makes
# SQLAlchemy insert one row per statement on SQLite.
_INSERT_ALERTS = Alert.__table__.insert().returning(
    Alert.__table__.c.id, Alert.__table__.c.student_id, Alert.__table__.c.level, Alert.__table__.c.reason)
_INSERT_JOINS = AlertJoin.__table__.insert()


def raise_alerts_for_responses(results) -> list[dict]:
    """Open or join the alerts of a batch of screening results [(student_id, school_id, response_id, risk)].

    The batch form of raise_alert for the submission writer: one query for the open alerts, one insert
    for the new ones, one for the joins. It runs under the writer's transaction; when another process opened
    the same alert at the same moment the unique index fails the insert and the writer decides each
    submission again alone, which then joins that alert. Returns the audit events (record_many's form) for
    the caller to append with its own, in one go.
    """
    hits = [(sid, school_id, rid, level, SCREENING_REASON[level])
            for sid, school_id, rid, level in results if level in ALERT_LEVELS]
    if not hits:
        return []
    connection = db.session.connection()
    open_alerts = {(sid, level, reason): alert_id for alert_id, sid, level, reason in connection.execute(
        _OPEN_ALERTS, {"student_ids": list({h[0] for h in hits})})}
    opened, joins, now = [], [], clock.now()
    for sid, school_id, rid, level, reason in hits:
        if (sid, level, reason) in open_alerts:
            joins.append((sid, rid, (sid, level, reason)))
        else:
            open_alerts[(sid, level, reason)] = None  # opened below; later hits in the batch join it
            opened.append(dict(student_id=sid, school_id=school_id, response_id=rid, level=level, reason=reason,
                               status=AlertStatus.OPEN, opened_at=now, due_at=due_at_for(level, now)))
    if opened:
        for alert_id, sid, level, reason in connection.execute(_INSERT_ALERTS, opened):
            open_alerts[(sid, level, reason)] = alert_id
        for row in opened:
            row["id"] = open_alerts[(row["student_id"], row["level"], row["reason"])]
    if joins:
        connection.execute(_INSERT_JOINS, [dict(alert_id=open_alerts[key], response_id=rid, joined_at=now)
                                           for _sid, rid, key in joins])
    notifications.notify_alerts_opened([(row["id"], row["school_id"], row["level"]) for row in opened])
    return ([dict(actor="system", action="alert_opened", object_type="alert", object_id=row["id"],
                  student_id=row["student_id"], detail={"level": row["level"], "reason": row["reason"]})
             for row in opened]
            + [dict(actor="system", action="alert_joined", object_type="alert", object_id=open_alerts[key],
                    student_id=sid, detail={"response_id": rid}) for sid, rid, key in joins])


def acknowledge_alert(alert, by, via=None):
    """Acknowledge an open alert; `via` names a path other than the alert's page (the one-tap message link)."""
    if alert.status != AlertStatus.OPEN:
        raise AlertError("already acknowledged")
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = clock.now()
    alert.acknowledged_by_id = by.id
    audit.record(by, "alert_acknowledged", "alert", alert.id, alert.student_id, detail={"via": via} if via else None)


def resolve_alert(alert, outcome, note, by):
    """Close an alert with its outcome; an open alert counts as acknowledged at the same moment."""
    if alert.status == AlertStatus.RESOLVED:
        raise AlertError("already resolved")
    if outcome not in OUTCOMES:
        raise AlertError("unknown outcome")
    note = (note or "").strip() or None
    if outcome in OUTCOMES_NEEDING_NOTE and not note:
        raise AlertError("a false positive needs a reason")
    if not note and not crisis.is_complete(alert):
        raise AlertError("checklist_open")  # a critical alert closes with its checklist done, or with why not
    now = clock.now()
    if alert.status == AlertStatus.OPEN:
        alert.acknowledged_at, alert.acknowledged_by_id = now, by.id
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at, alert.resolved_by_id = now, by.id
    alert.outcome, alert.outcome_note = outcome, note
    db.session.flush()
    audit.record(by, "alert_resolved", "alert", alert.id, alert.student_id, detail={"outcome": outcome})


def escalate_overdue_alerts(limit=500):
    """Escalate every open alert past its due time, once: returns the alerts escalated by this call.

    Each alert is claimed with a conditional UPDATE (escalated_at IS NULL), so concurrent sweeps
    (cron, a timer and dashboard loads at the same minute) never notify twice.
    """
    now = clock.now()
    candidates = db.session.scalars(select(Alert.id).where(
        Alert.status == AlertStatus.OPEN, Alert.escalated_at.is_(None), Alert.due_at < now)
        .order_by(Alert.due_at).limit(limit)).all()
    return [alert for alert in (escalate_alert(alert_id, now) for alert_id in candidates) if alert is not None]


def escalate_alert(alert_id, now):
    """Claim one overdue alert and notify; None when another sweep got there first (or it was acknowledged)."""
    claimed = db.session.execute(
        update(Alert).where(Alert.id == alert_id, Alert.status == AlertStatus.OPEN, Alert.escalated_at.is_(None))
        .values(escalated_at=now).execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    alert = db.session.get(Alert, alert_id)
    db.session.refresh(alert)
    notifications.notify_alert_escalated(alert)
    audit.record("system", "alert_escalated", "alert", alert.id, alert.student_id,
                 detail={"level": alert.level, "due_at": alert.due_at.isoformat()})
    return alert


def risk_list_order():
    """Critical first, then the earliest due."""
    return (LEVEL_ORDER, Alert.due_at, Alert.id)


@dataclass
class AlertEvent:
    at: object
    kind: str            # opened / joined / acknowledged / escalated / resolved / step / contact / referral_*
    by: object = None    # the staff user, when a person did it
    response: object = None
    note: str | None = None
    outcome: str | None = None
    referral: object = None
    decision: object = None
    step: object = None
    contact: object = None


def alert_timeline(alert, referrals=(), steps=(), contacts=()):
    """What happened to the alert, oldest first: opened, responses and concerns that joined, acknowledged,
    escalated, the crisis checklist's steps, calls with the guardian, the linked referrals' states (sent, accepted or
    declined, assessed, decided; `referrals` as the viewer may see them), resolved."""
    events = _care_events(referrals) + [
        AlertEvent(s.at, "step", by=s.by, step=s, note=s.note) for s in steps if s.done and s.referral is None] + [
        AlertEvent(c.contacted_at, "contact", by=c.recorded_by, contact=c, note=c.note) for c in contacts] + [
        AlertEvent(alert.opened_at, "opened", by=alert.raised_by, response=alert.response, note=alert.note)]
    for join in alert.joins:
        events.append(AlertEvent(join.joined_at, "joined", by=join.raised_by, response=join.response, note=join.note))
    if alert.acknowledged_at:
        events.append(AlertEvent(alert.acknowledged_at, "acknowledged", by=alert.acknowledged_by))
    if alert.escalated_at:
        events.append(AlertEvent(alert.escalated_at, "escalated"))
    if alert.resolved_at:
        events.append(AlertEvent(alert.resolved_at, "resolved", by=alert.resolved_by, note=alert.outcome_note,
                                 outcome=alert.outcome))
    order = {"opened": 0, "joined": 1, "acknowledged": 2, "escalated": 3, "resolved": 9}
    events.sort(key=lambda e: (e.at, order.get(e.kind, 5)))
    return events


def _care_events(referrals):
    events = []
    for r in referrals:
        events.append(AlertEvent(r.created_at, "referral_sent", by=r.created_by, referral=r))
        if r.accepted_at:
            events.append(AlertEvent(r.accepted_at, "referral_accepted", by=r.accepted_by, referral=r))
        if r.declined_at:
            events.append(AlertEvent(r.declined_at, "referral_declined", by=r.declined_by, referral=r))
        if r.current_assessments:
            first = min(r.current_assessments, key=lambda a: a.created_at)
            events.append(AlertEvent(first.created_at, "referral_assessed", by=first.clinician, referral=r))
        for d in r.decisions:
            events.append(AlertEvent(d.created_at, "referral_decided", by=d.decided_by, referral=r, decision=d))
    return events


def hospital_proposal(referrals):
    """The latest return decision on a referral linked to the alert: it proposes closing the alert with the outcome
    "referred" (None when no hospital has decided yet)."""
    decisions = [d for r in referrals for d in r.decisions]
    return max(decisions, key=lambda d: (d.created_at, d.id)) if decisions else None
