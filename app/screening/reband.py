"""Re-banding stored results with another cut-off profile (`flask scales reband`): explicit, recorded, never silent.

Each result is scored again from its stored answers with the scale version the student answered, then banded with
the profile. A version no longer loaded (every result stored before a release changed the scale's file, e.g. the
one that added the profiles) is scored with the scale's current definition instead, and counted: the profile needs
only the total and the bands, and a result whose total would then differ from the stored one, or whose answers the
current definition refuses, is left alone and counted. The score row takes the new band, risk, flags and profile;
a ScoreReband row keeps what it was, who re-banded it and why; every change is an audit event.

Alerts are neither opened nor closed: an alert belongs to the moment a student answered, and a months-old result
that a new threshold now calls positive says nothing certain about the student today. The command reports how many
results became positive without an alert (for the psychology teachers to look at, e.g. by raising a concern) and
how many went down while an alert they opened or joined is still unresolved (it stays open: a person closes it).
"""
from dataclasses import dataclass, field

from sqlalchemy import or_, select

import screening_scales
from app.audit import services as audit
from app.extensions import db
from app.orgs.models import School
from app.risk.models import Alert, AlertJoin, AlertStatus
from app.screening.models import Response, Score, ScoreReband


class RebandError(ValueError):
    pass


@dataclass
class Change:
    score: Score
    response: Response
    after: screening_scales.ScoreResult
    has_alert: bool = False        # an alert this response opened or joined
    alert_unresolved: bool = False

    @property
    def risk_delta(self) -> int:
        return screening_scales.risk_rank(self.after.risk) - screening_scales.risk_rank(self.score.risk)


@dataclass
class Plan:
    scale_code: str
    profile: str
    changes: list = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # reason -> count
    scored_with_current_version: int = 0

    def skip(self, reason):
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    @property
    def raised_without_alert(self):
        return [c for c in self.changes if c.risk_delta > 0 and c.after.risk != "low" and not c.has_alert]

    @property
    def lowered_with_open_alert(self):
        return [c for c in self.changes if c.risk_delta < 0 and c.alert_unresolved]

    def summary(self) -> dict:
        return {"scale": self.scale_code, "profile": self.profile, "rebanded": len(self.changes),
                "band_changed": sum(1 for c in self.changes if c.after.band != c.score.band),
                "risk_raised": sum(1 for c in self.changes if c.risk_delta > 0),
                "risk_lowered": sum(1 for c in self.changes if c.risk_delta < 0),
                "raised_without_alert": len(self.raised_without_alert),
                "lowered_with_open_alert": len(self.lowered_with_open_alert), "skipped": dict(self.skipped),
                "scored_with_current_version": self.scored_with_current_version}


def plan_reband(registry, scale_code, profile_code, *, school_level=None, campaign_id=None) -> Plan:
    """What a re-band would change (nothing is written). A profile whose study names school levels re-bands only
    results from schools of those levels."""
    try:
        profile = registry.get(scale_code).profile(profile_code)
    except (screening_scales.UnknownScale, screening_scales.UnknownProfile) as exc:
        raise RebandError(str(exc)) from None
    if school_level is not None and not profile.allows_level(school_level):
        raise RebandError(f"{profile.code} is for {', '.join(profile.school_levels)} only")
    levels = [school_level] if school_level else list(profile.school_levels)
    query = (select(Score, Response, School.level).join(Response, Response.id == Score.response_id)
             .join(School, School.id == Response.school_id)
             .where(Response.scale_code == scale_code, Score.cutoff_profile != profile.code).order_by(Score.id))
    if levels:
        query = query.where(School.level.in_(levels))
    if campaign_id is not None:
        query = query.where(Response.campaign_id == campaign_id)
    plan = Plan(scale_code, profile.code)
    for score, response, _level in db.session.execute(query).all():
        scale = registry.by_version(scale_code, response.scale_version)
        if scale is None:
            scale = registry.get(scale_code)
            plan.scored_with_current_version += 1
        try:
            international = screening_scales.score(scale, response.answers)
        except screening_scales.AnswerError:
            plan.skip("answers_not_scorable")
            continue
        if international.total != score.total:
            plan.skip("total_differs")
            continue
        plan.changes.append(Change(score, response, screening_scales.apply_profile(scale, international, profile)))
    _mark_alerts(plan.changes)
    return plan


def _mark_alerts(changes):
    ids = [c.response.id for c in changes]
    if not ids:
        return
    rows = db.session.execute(
        select(Alert.response_id, AlertJoin.response_id, Alert.status)
        .outerjoin(AlertJoin, AlertJoin.alert_id == Alert.id)
        .where(or_(Alert.response_id.in_(ids), AlertJoin.response_id.in_(ids)))).all()
    by_response = {}
    for opened_by, joined_by, status in rows:
        for response_id in {opened_by, joined_by} & set(ids):
            by_response.setdefault(response_id, set()).add(status)
    for change in changes:
        statuses = by_response.get(change.response.id, set())
        change.has_alert = bool(statuses)
        change.alert_unresolved = bool(statuses - {AlertStatus.RESOLVED})


def apply_reband(plan: Plan, reason: str, *, by) -> None:
    """Write the plan: new banding on each score, the old one kept in ScoreReband, one audit event each and one
    for the run. Alerts are not touched (see the module's docstring)."""
    reason = (reason or "").strip()
    if not reason:
        raise RebandError("a reason is required")
    events = []
    for change in plan.changes:
        score, after = change.score, change.after
        db.session.add(ScoreReband(
            score_id=score.id, from_profile=score.cutoff_profile, from_band=score.band, from_risk=score.risk,
            from_flags=list(score.flags or []), to_profile=after.profile, to_band=after.band, to_risk=after.risk,
            to_flags=list(after.flags), reason=reason, rebanded_by_id=by.id))
        events.append(dict(actor=by, action="score_rebanded", object_type="score", object_id=score.id,
                           student_id=change.response.student_id,
                           detail={"scale": plan.scale_code, "from": score.cutoff_profile, "to": after.profile,
                                   "band": [score.band, after.band], "risk": [score.risk, after.risk]}))
        score.band, score.risk, score.flags = after.band, after.risk, list(after.flags)
        score.cutoff_profile = after.profile
    db.session.flush()
    audit.record_many(events)
    audit.record(by, "scores_rebanded", "scale", detail=dict(plan.summary(), reason=reason))
