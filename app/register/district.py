"""The register seen across rounds and schools: the level in force at a moment, the change since a school's latest
screening round opened, "flagged but no intervention", and the district's figures (raw counts: every page or
report that prints them suppresses them, app/dashboards/suppress.py)."""
from datetime import timedelta

from sqlalchemy import func, select

from app.care.models import FollowUp, Referral
from app.core import clock
from app.extensions import db
from app.orgs.models import School
from app.register.models import ACTIVE_LEVELS, LEVEL_RANK, Interview, SupportPlan, WarningEntry, WarningLevel, \
    WarningReview
from app.register.services import start_of_day, settings_for
from app.screening.models import Campaign
from app.students.models import Enrollment


def level_at(entry, moment):
    """The level in force on a register line just before `moment` (from its history)."""
    level = WarningLevel.NONE
    for change in entry.changes:
        if change.changed_at < moment:
            level = change.to_level
    return level


def round_start(school_id):
    """The opening of the school's latest screening round (its newest campaign), or None."""
    return db.session.scalar(select(func.max(Campaign.opens_at)).where(Campaign.school_id == school_id))


def round_change(entry, start):
    """rose / fell / lifted / new / same: the line's level now against the level in force when the round opened."""
    before, now = level_at(entry, start), entry.level
    if before == now:
        return "same"
    if now == WarningLevel.NONE:
        return "lifted"
    if before == WarningLevel.NONE:
        return "new"
    return "rose" if LEVEL_RANK[now] > LEVEL_RANK[before] else "fell"


def had_intervention(entry, today=None) -> bool:
    """Was there an interview, a plan version, a referral, a review or a follow-up contact for this student at this
    school within the level's review period (counted back from today)?"""
    today = today or clock.today()
    days = settings_for(entry.school_id).review_days(entry.level) or 0
    since = start_of_day(today - timedelta(days=days))
    sid, school = entry.student_id, entry.school_id
    checks = (
        select(Interview.id).where(Interview.student_id == sid, Interview.school_id == school, Interview.created_at >= since),
        select(SupportPlan.id).where(SupportPlan.entry_id == entry.id, SupportPlan.created_at >= since),
        select(Referral.id).where(Referral.student_id == sid, Referral.school_id == school, Referral.created_at >= since),
        select(WarningReview.id).where(WarningReview.entry_id == entry.id, WarningReview.created_at >= since),
        select(FollowUp.id).where(FollowUp.student_id == sid, FollowUp.school_id == school, FollowUp.done_at >= since),
    )
    return any(db.session.scalar(q.limit(1)) is not None for q in checks)


def current_entries(school_id=None):
    """Register lines of students enrolled today at the line's school (a student who left is the new school's)."""
    today = clock.today()
    query = select(WarningEntry).join(Enrollment, (Enrollment.student_id == WarningEntry.student_id)
                                      & (Enrollment.school_id == WarningEntry.school_id)).where(
        Enrollment.start_date <= today, (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today))
    if school_id is not None:
        query = query.where(WarningEntry.school_id == school_id)
    return list(db.session.scalars(query.distinct().order_by(WarningEntry.id)))


def district_figures():
    """Per school: students per level, the change since the school's latest round opened, and the number flagged
    with no intervention within the level's period. Raw counts: the view suppresses them (app/dashboards/suppress)."""
    today = clock.today()
    figures = []
    by_school = {}
    for entry in current_entries():
        by_school.setdefault(entry.school_id, []).append(entry)
    for school in db.session.scalars(select(School).order_by(School.name)):
        entries = by_school.get(school.id, [])
        start = round_start(school.id)
        row = {"school": school, "round_start": start,
               "levels": {lv.value: sum(1 for e in entries if e.level == lv) for lv in ACTIVE_LEVELS},
               "change": {k: 0 for k in ("rose", "fell", "lifted", "new")},
               "no_intervention": 0, "overdue": 0}
        for entry in entries:
            if start is not None:
                change = round_change(entry, start)
                if change in row["change"]:
                    row["change"][change] += 1
            if entry.is_active and not had_intervention(entry, today):
                row["no_intervention"] += 1
            if entry.is_overdue(today):
                row["overdue"] += 1
        figures.append(row)
    return figures
