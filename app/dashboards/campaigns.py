"""Per-campaign figures (counts per class, scale, band, risk; reliable deteriorations), cached once a campaign closes."""
import numpy as np
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

import screening_scales
from app.core import clock
from app.dashboards.models import CampaignFigures
from app.extensions import db

POSITIVE_RISKS = ("moderate", "high", "critical")  # the same definition as app.dashboards.teacher
from app.screening.models import CampaignParticipant, CampaignStatus, Response, Score
from app.students.models import Enrollment


def is_closed(campaign, now=None) -> bool:
    now = now or clock.now()
    return campaign.status == CampaignStatus.CLOSED or campaign.closes_at <= now


def _counts(campaign):
    return [list(row) for row in db.session.execute(
        select(Response.class_group_id, Response.scale_code, Score.band, Score.risk, func.count())
        .join(Score, Score.response_id == Response.id).where(Response.campaign_id == campaign.id)
        .group_by(Response.class_group_id, Response.scale_code, Score.band, Score.risk)).all()]


def deteriorations(campaign, after_id=0) -> tuple[list, int]:
    """[student_id, scale, before, after, submitted_at ISO] for each response of the campaign (with id > after_id)
    that is a reliable deterioration (Jacobson–Truax, screening_scales.reliable_change) over the student's
    previous response; and the highest response id looked at. A response never changes, so neither does this."""
    r2, s2 = aliased(Response), aliased(Score)
    previous = (select(s2.total).join(r2, r2.id == s2.response_id)
                .where(r2.student_id == Response.student_id, r2.scale_code == Response.scale_code,
                       r2.submitted_at < Response.submitted_at, s2.total.is_not(None))
                .order_by(r2.submitted_at.desc()).limit(1).scalar_subquery())
    rows = db.session.execute(
        select(Response.student_id, Response.scale_code, Score.total, previous, Response.submitted_at, Response.id)
        .join(Score, Score.response_id == Response.id)
        .where(Response.campaign_id == campaign.id, Response.id > after_id, Score.total.is_not(None))).all()
    through = max((r[5] for r in rows), default=after_id)
    registry = current_app.extensions["scales"]
    found = []
    for code in {r[1] for r in rows}:
        if code not in registry.codes():
            continue
        scale = registry.get(code)
        probe = screening_scales.reliable_change(scale, 0, 0)
        if probe is None:
            continue
        mine = [r for r in rows if r[1] == code and r[3] is not None]
        if not mine:
            continue
        diff = np.array([r[2] - r[3] for r in mine], dtype=float)
        worse = -diff if scale.higher_is_better else diff
        for i in np.flatnonzero(worse > probe["threshold_points"] * 0.999):  # confirm each near the edge exactly
            student_id, _code, after, before, at, _id = mine[i]
            change = screening_scales.reliable_change(scale, before, after)
            if change["judgement"] == "reliable_deterioration":
                found.append([student_id, code, before, after, at.isoformat()])
    return found, through


def _totals(counts):
    totals = {}
    for _class_id, code, _band, risk, n in counts:
        acc = totals.setdefault(code, [0, 0])
        acc[0] += n
        acc[1] += n if risk in POSITIVE_RISKS else 0
    return totals


def campaign_figures(campaign, now=None, row=None) -> CampaignFigures:
    """The campaign's figures, recounted only when a response arrived since they were stored (the caller commits)."""
    closed = is_closed(campaign, now)
    if row is None:
        row = db.session.scalar(select(CampaignFigures).where(CampaignFigures.campaign_id == campaign.id))
    if row is not None and row.closed:
        return row
    latest = db.session.scalar(select(func.max(Response.id)).where(Response.campaign_id == campaign.id)) or 0
    if row is not None and row.through_response_id == latest and not closed:
        return row
    if row is None:
        row = CampaignFigures(campaign_id=campaign.id, through_response_id=0, deteriorations=[])
        fresh = True
    else:
        fresh = False
    found, _through = deteriorations(campaign, after_id=row.through_response_id)
    counts = _counts(campaign)
    try:
        with db.session.begin_nested():
            row.deteriorations = list(row.deteriorations or []) + found
            row.counts, row.totals = counts, _totals(counts)
            row.through_response_id, row.closed, row.computed_at = latest, closed, clock.now()
            if fresh:
                db.session.add(row)
        db.session.info["campaign_figures_written"] = True
    except IntegrityError:  # a concurrent request stored them first: theirs are the same
        row = db.session.scalar(select(CampaignFigures).where(CampaignFigures.campaign_id == campaign.id))
    return row


def many_figures(campaigns, now=None) -> dict:
    """{campaign_id: CampaignFigures}, reading every stored row in one query."""
    now = now or clock.now()
    ids = [c.id for c in campaigns]
    stored = {row.campaign_id: row for row in db.session.scalars(
        select(CampaignFigures).where(CampaignFigures.campaign_id.in_(ids)))} if ids else {}
    return {c.id: campaign_figures(c, now, stored.get(c.id)) for c in campaigns}


def progress_rows(campaign):
    """Per class: invited (enrolled today), started (joined), submitted (every questionnaire) — three grouped queries."""
    today = clock.today()
    classes = campaign.classes
    class_ids = [c.id for c in classes]
    invited = dict(db.session.execute(
        select(Enrollment.class_group_id, func.count()).where(
            Enrollment.class_group_id.in_(class_ids), Enrollment.start_date <= today,
            (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today)).group_by(Enrollment.class_group_id)).all())
    started = dict(db.session.execute(
        select(CampaignParticipant.class_group_id, func.count()).where(CampaignParticipant.campaign_id == campaign.id)
        .group_by(CampaignParticipant.class_group_id)).all())
    per_student = (select(Response.class_group_id.label("class_id"), Response.student_id)
                   .where(Response.campaign_id == campaign.id)
                   .group_by(Response.class_group_id, Response.student_id)
                   .having(func.count(Response.id) >= len(campaign.scale_codes))).subquery()
    submitted = dict(db.session.execute(select(per_student.c.class_id, func.count()).group_by(per_student.c.class_id)).all())
    return [{"class_id": c.id, "class_name": c.name, "grade": c.grade, "invited": invited.get(c.id, 0),
             "started": started.get(c.id, 0), "submitted": submitted.get(c.id, 0)} for c in classes]
