"""The doctor's dashboard for the own hospital: referral queue against waiting-time targets, reviews due,
students cleared with conditions and how their follow-ups went, and partner schools' (suppressed) aggregates."""
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.auth import policy
from app.care import services as care
from app.care.models import Assessment, DecisionOutcome, FollowUp, Referral, ReferralStatus, ReturnDecision
from app.core import clock
from app.dashboards import charts
from app.dashboards.stats import median_p90
from app.dashboards.suppress import rate, suppress
from app.dashboards.tables import Table
from app.dashboards.teacher import Panel
from app.extensions import db
from app.orgs.models import School
from app.risk.models import Alert, AlertStatus
from app.web import RISK_LABELS, label

# Hours from referral to the hospital's first assessment; override with REFERRAL_TARGET_HOURS in the config.
DEFAULT_TARGET_HOURS = {"critical": 24, "high": 72, "moderate": 14 * 24, "low": 30 * 24}
WAITING = (ReferralStatus.SENT, ReferralStatus.ACCEPTED)
LOOKBACK_DAYS = 90
REVIEW_HORIZON_DAYS = 14


def target_hours():
    return {**DEFAULT_TARGET_HOURS, **current_app.config.get("REFERRAL_TARGET_HOURS", {})}


@dataclass
class DoctorDashboard:
    queue: list
    waits: Panel
    reviews: list
    conditional: list
    partners: Panel
    targets: dict = field(default_factory=dict)

    def tables(self):
        return {p.table.key: p.table for p in (self.waits, self.partners)}


def _hours(later, earlier):
    return (later - earlier).total_seconds() / 3600.0


def doctor_dashboard(user):
    now = clock.now()
    targets = target_hours()
    queue = db.session.scalars(policy.scoped(user, Referral)
                               .where(Referral.status.in_(care.OPEN_REFERRAL_STATUSES))
                               .order_by(*care.referral_queue_order())).all()
    rows = []
    for r in queue:
        waited = _hours(now, r.created_at)
        rows.append({"referral": r, "waited_h": round(waited, 1), "target_h": targets.get(r.urgency),
                     "over": r.status in WAITING and waited > targets.get(r.urgency, float("inf"))})

    since = now - timedelta(days=LOOKBACK_DAYS)
    first = (select(Assessment.referral_id, func.min(Assessment.created_at).label("at"))
             .group_by(Assessment.referral_id).subquery())
    done = db.session.execute(select(Referral.urgency, Referral.created_at, first.c.at)
                              .join(first, first.c.referral_id == Referral.id)
                              .where(policy.scope(user, Referral), Referral.created_at >= since)).all()
    waits = Table("waits", _("Waiting times against targets"),
                  [_("Urgency"), _("Target (hours)"), _("Waiting now"), _("Waiting now over target"),
                   _("Assessed, last 90 days"), _("Hours to assessment, median"), _("Hours to assessment, P90"),
                   _("Within target (%)")])
    medians = []
    for urgency in ("critical", "high", "moderate", "low"):
        waiting = [x for x in rows if x["referral"].urgency == urgency and x["referral"].status in WAITING]
        hours = np.array([_hours(at, created) for u, created, at in done if u == urgency])
        median, p90 = median_p90(hours)
        within = int((hours <= targets[urgency]).sum()) if hours.size else 0
        waits.add([str(label(RISK_LABELS, urgency)), targets[urgency], suppress(len(waiting)),
                   suppress(sum(1 for x in waiting if x["over"])), suppress(int(hours.size)), median, p90,
                   rate(within, int(hours.size))])
        medians.append(median)
    waits_chart = charts.hbar(_("Median hours to assessment, last 90 days"), [r[0] for r in waits.rows], medians, unit=" h")

    horizon = clock.today() + timedelta(days=REVIEW_HORIZON_DAYS)
    latest = (select(func.max(Assessment.id).label("id")).group_by(Assessment.referral_id).subquery())
    reviews = db.session.scalars(
        policy.scoped(user, Assessment).join(latest, latest.c.id == Assessment.id)
        .where(Assessment.referral_id.in_(select(Referral.id).where(Referral.hospital_id == user.hospital_id,
                                                                   Referral.status != ReferralStatus.CLOSED)),
               Assessment.next_review_on.is_not(None), Assessment.next_review_on <= horizon)
        .order_by(Assessment.next_review_on)).all()
    decisions = db.session.scalars(
        select(ReturnDecision).join(Referral, Referral.id == ReturnDecision.referral_id)
        .where(Referral.hospital_id == user.hospital_id,
               ReturnDecision.outcome == DecisionOutcome.CLEARED_WITH_CONDITIONS)
        .order_by(ReturnDecision.created_at.desc()).limit(50)).all()
    follow = {}
    if decisions:
        for decision_id, due_on, done_at in db.session.execute(
                select(FollowUp.decision_id, FollowUp.due_on, FollowUp.done_at)
                .where(FollowUp.decision_id.in_([d.id for d in decisions]))):
            f = follow.setdefault(decision_id, {"due": 0, "on_time": 0, "late": 0, "overdue": 0, "upcoming": 0})
            today = clock.today()
            if done_at is not None:
                f["due"] += 1
                f["on_time" if done_at.astimezone(clock.LOCAL_TZ).date() <= due_on else "late"] += 1
            elif due_on < today:
                f["due"] += 1
                f["overdue"] += 1
            else:
                f["upcoming"] += 1
    conditional = [{"decision": d, "follow": follow.get(d.id, {"due": 0, "on_time": 0, "late": 0, "overdue": 0, "upcoming": 0})}
                   for d in decisions]

    partners = Table("partners", _("Partner schools: open high and critical alerts"),
                     [_("School"), _("Critical"), _("High")])
    counts = {}
    for school_id, level, n in db.session.execute(
            select(Alert.school_id, Alert.level, func.count())
            .where(Alert.school_id.in_(policy.partner_school_ids(user.hospital_id)),
                   Alert.level.in_(policy.DOCTOR_ALERT_LEVELS), Alert.status != AlertStatus.RESOLVED)
            .group_by(Alert.school_id, Alert.level)):
        counts.setdefault(school_id, {})[level] = n
    for school in db.session.scalars(select(School).where(School.id.in_(policy.partner_school_ids(user.hospital_id)))
                                     .order_by(School.name)):
        c = counts.get(school.id, {})
        partners.add([school.name, suppress(c.get("critical", 0)), suppress(c.get("high", 0))])
    partners_chart = charts.hbar(partners.title, [r[0] for r in partners.rows], [r[1] for r in partners.rows], colour="#b42318")
    return DoctorDashboard(queue=rows, waits=Panel(waits, waits_chart), reviews=reviews, conditional=conditional,
                           partners=Panel(partners, partners_chart), targets=targets)
