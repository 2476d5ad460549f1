"""District / mental-health-centre figures per school and per month, as the seed centres report them monthly.

Definitions (stated here, on the page's help text and in the monthly report):
- coverage = students screened in the month / students enrolled on the month's last day (or today);
- positive rate (per scale) = responses whose Score.risk is moderate or above / responses of that scale;
- alerts by level = alerts opened in the month;
- time to acknowledgement / to hospital assessment = hours from a critical alert (opened the moment the critical
  answer was submitted) to its acknowledgement / to the student's first hospital assessment after it; median and
  90th percentile (numpy, linear interpolation);
- referral completion = referrals sent in the month that reached a hospital assessment (assessed or closed) /
  referrals sent in the month;
- follow-up rate 随访率 = follow-ups due in the month done on or before their due date / follow-ups due in the month;
- management rate 管理率 = students with a positive screen or an alert in the month who have a documented action
  since the month began (alert acknowledged, or resolved with an outcome; a referral; a follow-up done) / all such
  students. The Hunan seed centres report their registers monthly with 管理率 and 随访率 in the same way: numerator
  and denominator counted per period, per unit.
Raw counts are kept (MonthlyFigures); suppression (app.dashboards.suppress) happens when they are shown.
"""
from datetime import date, datetime, time, timedelta, timezone

import logging

import numpy as np
from sqlalchemy import case, delete, distinct, exists, func, or_, select, union
from sqlalchemy.exc import IntegrityError

from app.care.models import Assessment, FollowUp, Referral, ReferralStatus
from app.core import clock
from app.dashboards.models import MonthlyFigures
from app.dashboards.teacher import POSITIVE_RISKS
from app.extensions import db
from app.orgs.models import School
from app.risk.models import Alert
from app.screening.models import Response, Score
from app.students.models import Enrollment

logger = logging.getLogger(__name__)
SETTLE_DAYS = 45  # acknowledgements, assessments and follow-ups of a month settle within this many days
CURRENT_MAX_AGE = timedelta(minutes=10)  # the current month is recounted at most this often (or by the refresh job)
DISTRICT = None   # school_id of the district-wide row


def month_start(d: date) -> date:
    return d.replace(day=1)


def next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_months(last: date, count: int) -> list[date]:
    months = [month_start(last)]
    while len(months) < count:
        months.insert(0, month_start(months[0] - timedelta(days=1)))
    return months


def _bounds(month: date):
    start, end = month_start(month), next_month(month)
    return (datetime.combine(start, time(0), tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc),
            datetime.combine(end, time(0), tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc))


def _empty():
    return {"enrolled": 0, "screened": 0, "scales": {}, "alerts": {}, "ack": [0, None, None], "assess": [0, None, None],
            "referrals": [0, 0], "follow_ups": [0, 0], "managed": [0, 0]}


def compute_month(month: date, school_ids=None) -> dict:
    """Raw figures of one month: {school_id: figures, None: district figures}, from the database."""
    start, end = _bounds(month)
    first_day, next_first = month_start(month), next_month(month)
    as_of = min(next_first - timedelta(days=1), clock.today())
    in_schools = (lambda col: col.in_(school_ids)) if school_ids is not None else (lambda col: True)
    out = {}

    def fig(school_id):
        return out.setdefault(school_id, _empty())

    for school_id, n in db.session.execute(
            select(Enrollment.school_id, func.count()).where(
                in_schools(Enrollment.school_id), Enrollment.start_date <= as_of,
                or_(Enrollment.end_date.is_(None), Enrollment.end_date > as_of)).group_by(Enrollment.school_id)):
        fig(school_id)["enrolled"] = n
    in_month = (Response.submitted_at >= start, Response.submitted_at < end, in_schools(Response.school_id))
    for school_id, n in db.session.execute(
            select(Response.school_id, func.count(distinct(Response.student_id))).where(*in_month).group_by(Response.school_id)):
        fig(school_id)["screened"] = n
    positive = case((Score.risk.in_(POSITIVE_RISKS), 1), else_=0)
    for school_id, code, n, pos in db.session.execute(
            select(Response.school_id, Response.scale_code, func.count(), func.sum(positive))
            .join(Score, Score.response_id == Response.id).where(*in_month)
            .group_by(Response.school_id, Response.scale_code)):
        fig(school_id)["scales"][code] = [n, int(pos or 0)]
    alert_in_month = (Alert.opened_at >= start, Alert.opened_at < end, in_schools(Alert.school_id))
    for school_id, level, n in db.session.execute(
            select(Alert.school_id, Alert.level, func.count()).where(*alert_in_month).group_by(Alert.school_id, Alert.level)):
        fig(school_id)["alerts"][level] = n

    first_assessment = (select(func.min(Assessment.created_at))
                        .where(Assessment.student_id == Alert.student_id, Assessment.created_at >= Alert.opened_at)
                        .scalar_subquery())
    critical = db.session.execute(select(Alert.school_id, Alert.opened_at, Alert.acknowledged_at, first_assessment)
                                  .where(*alert_in_month, Alert.level == "critical")).all()
    _times(out, critical)

    for school_id, n, done in db.session.execute(
            select(Referral.school_id, func.count(),
                   func.sum(case((Referral.status.in_((ReferralStatus.ASSESSED, ReferralStatus.CLOSED)), 1), else_=0)))
            .where(Referral.created_at >= start, Referral.created_at < end, in_schools(Referral.school_id))
            .group_by(Referral.school_id)):
        fig(school_id)["referrals"] = [n, int(done or 0)]
    for school_id, due_on, done_at in db.session.execute(
            select(FollowUp.school_id, FollowUp.due_on, FollowUp.done_at)
            .where(FollowUp.due_on >= first_day, FollowUp.due_on < next_first, in_schools(FollowUp.school_id))):
        f = fig(school_id)["follow_ups"]
        f[0] += 1
        if done_at is not None and done_at.astimezone(clock.LOCAL_TZ).date() <= due_on:
            f[1] += 1

    cases = union(
        select(Response.school_id.label("school_id"), Response.student_id.label("student_id"))
        .join(Score, Score.response_id == Response.id).where(*in_month, Score.risk.in_(POSITIVE_RISKS)),
        select(Alert.school_id, Alert.student_id).where(*alert_in_month),
    ).subquery()
    action = or_(
        exists().where(Alert.student_id == cases.c.student_id,
                       or_(Alert.acknowledged_at >= start, (Alert.resolved_at >= start) & Alert.outcome.is_not(None))),
        exists().where(Referral.student_id == cases.c.student_id, Referral.created_at >= start),
        exists().where(FollowUp.student_id == cases.c.student_id, FollowUp.done_at >= start),
    )
    for school_id, n, managed in db.session.execute(
            select(cases.c.school_id, func.count(), func.sum(case((action, 1), else_=0))).group_by(cases.c.school_id)):
        fig(school_id)["managed"] = [n, int(managed or 0)]

    district = _empty()
    district["ack"], district["assess"] = out.pop("_district_times", ([0, None, None], [0, None, None]))
    for school_id, f in out.items():
        if school_id is None:
            continue
        for key in ("enrolled", "screened"):
            district[key] += f[key]
        for code, (n, pos) in f["scales"].items():
            acc = district["scales"].setdefault(code, [0, 0])
            acc[0] += n
            acc[1] += pos
        for level, n in f["alerts"].items():
            district["alerts"][level] = district["alerts"].get(level, 0) + n
        for key in ("referrals", "follow_ups", "managed"):
            district[key] = [district[key][0] + f[key][0], district[key][1] + f[key][1]]
    district["computed_at"] = clock.now().isoformat()
    out[DISTRICT] = district
    return out


def _times(out, critical_rows):
    """Median and 90th percentile of hours to acknowledgement and to assessment, per school and district-wide."""
    if not critical_rows:
        return
    school_ids = np.array([r[0] for r in critical_rows])
    opened = np.array([r[1].timestamp() for r in critical_rows])
    acked = np.array([r[2].timestamp() if r[2] else np.nan for r in critical_rows])
    assessed = np.array([r[3].timestamp() if r[3] else np.nan for r in critical_rows])
    ack_h, assess_h = (acked - opened) / 3600.0, (assessed - opened) / 3600.0

    def summary(values):
        values = values[~np.isnan(values)]
        if values.size == 0:
            return [0, None, None]
        median, p90 = np.percentile(values, [50, 90])
        return [int(values.size), round(float(median), 2), round(float(p90), 2)]

    for school_id in np.unique(school_ids):
        mask = school_ids == school_id
        f = out.setdefault(int(school_id), _empty())
        f["ack"], f["assess"] = summary(ack_h[mask]), summary(assess_h[mask])
    out["_district_times"] = (summary(ack_h), summary(assess_h))


def _is_fresh(row: MonthlyFigures, month: date, now: datetime) -> bool:
    """Settled months are final; a recent month is recounted daily, the current month every CURRENT_MAX_AGE."""
    end = _bounds(month)[1]
    if end > now:
        return now - row.computed_at < CURRENT_MAX_AGE
    return row.computed_at >= end + timedelta(days=SETTLE_DAYS) or now - row.computed_at < timedelta(hours=24)


def figures_for(months: list[date], every_school=None, unit=DISTRICT) -> dict:
    """{month: {school_id|None: figures}} for every school, from MonthlyFigures while fresh (see _is_fresh),
    otherwise counted from the database and stored. `flask dashboards refresh` keeps them fresh from cron.

    `every_school`: the months whose stored rows are all read (default: every month); of the others only the
    district's row and `unit`'s (a school's trend). A province's year is 12 × 250 rows of JSON, of which the
    dashboard shows one month's per-school table and one unit's trend."""
    now = clock.now()
    stored = {}
    query = select(MonthlyFigures.month, MonthlyFigures.school_id, MonthlyFigures.figures,
                   MonthlyFigures.computed_at).where(MonthlyFigures.month.in_(months))
    if every_school is not None:
        wanted = [MonthlyFigures.school_id.is_(None)] + ([MonthlyFigures.school_id == unit] if unit is not None else [])
        if every_school:
            wanted.append(MonthlyFigures.month.in_(list(every_school)))
        query = query.where(or_(*wanted))
    for row in db.session.execute(query):
        stored.setdefault(row.month, {})[row.school_id] = row
    result = {}
    for month in months:
        rows = stored.get(month)
        if rows and DISTRICT in rows and _is_fresh(rows[DISTRICT], month, now):
            result[month] = {sid: row.figures for sid, row in rows.items()}
            continue
        result[month] = compute_month(month)
        if _bounds(month)[0] <= now:  # never store a month that has not begun
            store_month(month, result[month])
    return result


def store_month(month: date, figures: dict):
    """Replace the month's stored figures; when a concurrent request stored them first, keep theirs."""
    now = clock.now()
    try:
        with db.session.begin_nested():
            db.session.execute(delete(MonthlyFigures).where(MonthlyFigures.month == month))
            db.session.add_all([MonthlyFigures(month=month, school_id=sid, figures=f, computed_at=now)
                                for sid, f in figures.items()])
    except IntegrityError:
        logger.info("monthly figures for %s were stored by a concurrent request", month)


def refresh_months(count: int = 3) -> list[date]:
    """Recount the current month and the `count` - 1 months before it (the job run from cron)."""
    months = previous_months(month_start(clock.today()), count)
    for month in months:
        store_month(month, compute_month(month))
    return months


def school_names():
    return dict(db.session.execute(select(School.id, School.name).order_by(School.name)).all())


def overall_positive(figures) -> tuple[int, int]:
    n = sum(v[0] for v in figures["scales"].values())
    return n, sum(v[1] for v in figures["scales"].values())
