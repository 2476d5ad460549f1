"""The psychology teacher's dashboard for the own school: live progress, band distributions, trend, worklist.

A response is *positive* when its Score.risk is moderate or above (the scale file's band → risk mapping), not
"any band but the lowest": PHQ-9 'mild' is not a finding anyone acts on, while every moderate-or-above result
opens an alert, so positive rate and alert routing agree.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased, joinedload

import screening_scales

from app.auth import policy
from app.care.models import DecisionOutcome, FollowUp, Referral, ReturnDecision
from app.core import clock
from app.core.args import id_arg, int_arg
from app.dashboards import charts, stats
from app.dashboards.campaigns import POSITIVE_RISKS, campaign_figures, many_figures, progress_rows
from app.dashboards.suppress import rate, suppress, suppress_row
from app.dashboards.tables import Table
from app.extensions import db
from app.orgs.models import ClassGroup
from app.risk import services as risk
from app.risk.models import Alert, AlertStatus
from app.screening.models import Campaign, Response, Score
from app.students.models import Student
from app.web import BAND_LABELS, label

ACTIVE_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
DETERIORATION_WINDOW_DAYS = 120  # last screenings of about a term; older ones were on the worklist back then


@dataclass
class Panel:
    """One chart with the table that holds its numbers."""
    table: Table
    chart: object = None
    caption: str = ""
    series: list = None   # [(name, values)] behind a line chart, for the PDF to draw the same picture
    unit: str = "%"


@dataclass
class TeacherDashboard:
    campaigns: list
    selected: object
    progress: list = field(default_factory=list)       # [(campaign, Panel)]
    bands: list = field(default_factory=list)          # [Panel] one per scale
    trend: list = field(default_factory=list)          # [Panel] one per scale
    worklist: dict = field(default_factory=dict)
    grades: list = field(default_factory=list)
    grade: object = None

    def tables(self):
        panels = [p for _c, p in self.progress] + self.bands + self.trend
        return {p.table.key: p.table for p in panels}


def school_campaigns(user):
    return db.session.scalars(policy.scoped(user, Campaign).order_by(Campaign.opens_at.desc(), Campaign.id.desc())).all()


def progress_panel(campaign):
    rows = progress_rows(campaign)
    table = Table(f"progress-{campaign.id}", _("Progress of %(title)s", title=campaign.title),
                  [_("Class"), _("Invited"), _("Started"), _("Submitted")])
    for r in rows:
        table.add([r["class_name"], suppress(r["invited"]), suppress(r["started"]), suppress(r["submitted"])])
    chart = charts.stacked(table.title, [r["class_name"] for r in rows], [_("Submitted"), _("Started, not finished"), _("Not started")],
                           [[suppress(r["submitted"]), suppress(max(r["started"] - r["submitted"], 0)),
                             suppress(max(r["invited"] - r["started"], 0))] for r in rows],
                           [suppress(r["invited"]) for r in rows], colours=("#067647", "#f0b429", "#cbd2d9"))
    return Panel(table, chart)


CLASSES_SHOWN = 12  # above this many classes, a grade is chosen to see its classes (the grades are always shown)


def band_panels(campaign, figures=None, grade=None):
    """Per scale: band counts per grade, per class (of the chosen grade in a large school) and in all (suppressed)."""
    if campaign is None:
        return []
    figures = figures or campaign_figures(campaign)
    classes = {c.id: c for c in campaign.classes}
    registry = current_app.extensions["scales"]
    show_all = len(classes) <= CLASSES_SHOWN
    panels = []
    for code in campaign.scale_codes:
        bands = [b.code for b in registry.get(code).bands]
        by_class = {}
        for class_id, scale_code, band, _risk, n in figures.counts:
            if scale_code == code:
                by_class.setdefault(class_id, dict.fromkeys(bands + [None], 0))[band if band in bands else None] += n
        if not by_class:
            continue
        columns = bands + ([None] if any(row[None] for row in by_class.values()) else [])
        title = _("%(scale)s bands in %(title)s", scale=code, title=campaign.title)
        if grade is not None:
            title += " · " + _("Grade %(grade)s", grade=grade)
        table = Table(f"bands-{campaign.id}-{code}" + (f"-g{grade}" if grade is not None else ""), title,
                      [_("Class")] + [label(BAND_LABELS, b) if b else _("No band") for b in columns] + [_("Screened")])
        labels, rows, totals = [], [], []

        def add(name, row, link):
            cells = suppress_row([row[b] for b in columns])
            total = suppress(sum(row[b] for b in columns))
            table.add([name] + cells + [total],
                      {i + 1: dict(link, band=b or "") for i, b in enumerate(columns)} | {len(columns) + 1: link})
            labels.append(name)
            rows.append(cells)
            totals.append(total)

        def key(cid):
            return (classes[cid].grade, classes[cid].name) if cid in classes else (0, "")

        grades, everyone = {}, dict.fromkeys(bands + [None], 0)
        for cid in sorted(by_class, key=key):
            g = classes[cid].grade if cid in classes else None
            if show_all or (grade is not None and g == grade):
                add(classes[cid].name if cid in classes else _("Unknown class"), by_class[cid],
                    {"campaign": campaign.id, "scale": code, "class": cid})
            for acc in (grades.setdefault(g, dict.fromkeys(bands + [None], 0)), everyone):
                for b in acc:
                    acc[b] += by_class[cid][b]
        if len(grades) > 1 or not show_all:
            for g, row in sorted(grades.items(), key=lambda kv: kv[0] or 0):
                add(_("Grade %(grade)s", grade=g), row, {"campaign": campaign.id, "scale": code, "grade": g})
        if len(by_class) > 1:
            add(_("All classes"), everyone, {"campaign": campaign.id, "scale": code})
        chart = charts.stacked(table.title, labels, table.columns[1:len(columns) + 1], rows, totals)
        panels.append(Panel(table, chart))
    return panels


def trend_panels(user, campaigns, figures=None):
    """Per scale: positive rate per campaign (each campaign a point) with a least-squares trend line."""
    if not campaigns:
        return []
    figures = figures if figures is not None else many_figures(campaigns)
    rows = [(campaign_id, code, n, pos) for campaign_id, f in figures.items() for code, (n, pos) in f.totals.items()]
    chronological = list(reversed(campaigns))
    order = {c.id: i for i, c in enumerate(chronological)}
    by_scale = {}
    for campaign_id, code, n, positives in rows:
        if campaign_id in order:
            by_scale.setdefault(code, {})[campaign_id] = (n, int(positives or 0))
    panels = []
    for code in sorted(by_scale):
        points = [c for c in chronological if c.id in by_scale[code]]
        if not points:
            continue
        table = Table(f"trend-{code}", _("%(scale)s: positive rate per campaign", scale=code),
                      [_("Campaign"), _("Date"), _("Screened"), _("Positive"), _("Positive rate (%)")])
        values = []
        for c in points:
            n, pos = by_scale[code][c.id]
            value = rate(pos, n)
            values.append(value)
            table.add([c.title, c.opens_at.astimezone(clock.LOCAL_TZ).date().isoformat(), suppress(n), suppress(pos), value],
                      {3: {"campaign": c.id, "scale": code, "positive": 1}, 2: {"campaign": c.id, "scale": code}})
        xs = [i for i, v in enumerate(values) if isinstance(v, float)]
        fit = stats.trend(xs, [values[i] for i in xs])
        word = stats.trend_word(fit[0] if fit else None)
        caption = {"rising": _("Trend: rising"), "falling": _("Trend: falling"), "stable": _("Trend: stable")}.get(word, "")
        chart = charts.line(table.title, [c.opens_at.astimezone(clock.LOCAL_TZ).strftime("%Y-%m") for c in points],
                            [(code, values)], trend=fit)
        table.note = caption
        panels.append(Panel(table, chart, caption))
    return panels


def reliable_deterioration(user, campaigns=None, limit=100, figures=None):
    """Students in scope whose last screening on a scale (in the school's campaigns of the last
    DETERIORATION_WINDOW_DAYS days) is a reliable deterioration over the screening before it."""
    since = clock.now() - timedelta(days=DETERIORATION_WINDOW_DAYS)
    recent = [c for c in (campaigns if campaigns is not None else school_campaigns(user)) if c.opens_at >= since]
    found = {}
    figures = figures if figures is not None else many_figures(recent)
    for f in (figures[c.id] for c in recent):
        for student_id, code, before, after, at in f.deteriorations:
            key = (student_id, code)
            if key not in found or found[key]["at"] < at:
                found[key] = {"student_id": student_id, "scale": code, "before": before, "after": after, "at": at}
    # Newest first (a stable sort, so ties keep their order), checked a batch at a time until `limit` are kept:
    # only the students that can be listed are loaded, not every student with a deterioration this term.
    candidates = sorted(found.values(), key=lambda f: f["at"], reverse=True)
    registry = current_app.extensions["scales"]
    out = []
    for start in range(0, len(candidates), DETERIORATION_BATCH):
        batch = candidates[start:start + DETERIORATION_BATCH]
        student_ids = list({f["student_id"] for f in batch})
        # The student's latest response on the scale: no lower bound on the date is needed, the candidate itself
        # lies in the window; without it the planner walks ix_responses_student_scale_submitted per student.
        latest = {(sid, code): at for sid, code, at in db.session.execute(
            select(Response.student_id, Response.scale_code, func.max(Response.submitted_at))
            .where(Response.student_id.in_(student_ids), Response.scale_code.in_({f["scale"] for f in batch}))
            .group_by(Response.student_id, Response.scale_code))}
        batch = [f for f in batch if (last := latest.get((f["student_id"], f["scale"]))) is not None
                 and last.isoformat() == f["at"]]
        if not batch:
            continue
        students = {s.id: s for s in db.session.scalars(
            policy.scoped(user, Student).where(Student.id.in_({f["student_id"] for f in batch})))}
        for f in batch:
            if f["student_id"] in students:
                probe = screening_scales.reliable_change(registry.get(f["scale"]), 0, 0)
                out.append(dict(f, student=students[f["student_id"]], at=latest[(f["student_id"], f["scale"])],
                                threshold=round(probe["threshold_points"], 1) if probe else None))
        if len(out) >= limit:
            break
    return out[:limit]


DETERIORATION_BATCH = 200


WORKLIST_ROWS = 20


def worklist(user, campaigns=None, figures=None):
    """Open alerts (counted by level, the most urgent listed), overdue follow-ups, reliable deteriorations and
    return-to-school conditions under review — only of students in `user`'s scope."""
    today = clock.today()
    active = policy.scoped(user, Alert).where(Alert.status.in_(ACTIVE_ALERTS))
    alerts = db.session.scalars(active.options(joinedload(Alert.student))
                                .order_by(*risk.risk_list_order()).limit(WORKLIST_ROWS)).all()
    alert_counts = dict(db.session.execute(active.with_only_columns(Alert.level, func.count()).group_by(Alert.level)).all())
    overdue_q = policy.scoped(user, FollowUp).where(FollowUp.done_at.is_(None), FollowUp.due_on < today)
    overdue = db.session.scalars(overdue_q.order_by(FollowUp.due_on).limit(WORKLIST_ROWS)).all()
    overdue_count = db.session.scalar(select(func.count()).select_from(overdue_q.subquery()))
    later = aliased(ReturnDecision)  # the student's latest decision only: none newer for the same student
    under_review = db.session.scalars(
        policy.scoped(user, ReturnDecision)
        .where(~exists().where(later.student_id == ReturnDecision.student_id, later.id > ReturnDecision.id),
               ReturnDecision.outcome.in_((DecisionOutcome.CLEARED_WITH_CONDITIONS, DecisionOutcome.NOT_CLEARED)))
        .options(joinedload(ReturnDecision.referral).joinedload(Referral.student))
        .order_by(ReturnDecision.review_on.is_(None), ReturnDecision.review_on).limit(WORKLIST_ROWS)).all()
    ids = [f.student_id for f in overdue]
    names = dict(db.session.execute(select(Student.id, Student.name).where(Student.id.in_(ids), policy.scope(user, Student)))
                 .all()) if ids else {}
    return {"alerts": alerts, "alert_counts": alert_counts, "overdue_follow_ups": overdue, "overdue_count": overdue_count,
            "names": names, "deterioration": reliable_deterioration(user, campaigns, figures=figures),
            "under_review": under_review, "today": today}


SOON_DAYS = 7  # a follow-up due within a week is on the list of what needs doing now
ALERT_RANKS = {"critical": 0, "high": 1, "moderate": 3, "low": 6}


@dataclass
class Todo:
    """One line of the teacher's "needs doing now" list."""
    kind: str          # alert, follow_up, review
    rank: int          # lower is more urgent
    when: object       # the due moment or day that orders equal ranks
    overdue: bool
    obj: object


def needs_doing_now(wl, follow_ups, today, now):
    """What the teacher's home lists first, in one order of urgency: critical alerts, high alerts, overdue
    follow-ups, moderate alerts, return-to-school reviews past their date, follow-ups due within a week. An
    overdue item comes before the others of its kind. The rest (later follow-ups, reviews not yet due, reliable
    deterioration) is listed below it. Returns (now, later follow-ups)."""
    items = []
    for alert in wl.get("alerts", []):
        overdue = alert.is_overdue(now)
        items.append(Todo("alert", ALERT_RANKS.get(alert.level, 6), (not overdue, alert.due_at), overdue, alert))
    later = []
    for task in follow_ups:
        if task.is_overdue(today):
            items.append(Todo("follow_up", 2, (False, task.due_on), True, task))
        elif (task.due_on - today).days <= SOON_DAYS:
            items.append(Todo("follow_up", 5, (True, task.due_on), False, task))
        else:
            later.append(task)
    for decision in wl.get("under_review", []):
        if decision.review_on is not None and decision.review_on < today:
            items.append(Todo("review", 4, (False, decision.review_on), True, decision))
    items.sort(key=lambda t: (t.rank, t.when))  # one kind per rank: the same type of due moment within a rank
    return items, later


def teacher_dashboard(user, campaign_id=None, with_worklist=True, grade=None):
    """Everything the teacher home shows, computed for `user`'s school only."""
    now = clock.now()
    campaigns = school_campaigns(user)
    selected = next((c for c in campaigns if c.id == campaign_id), None) if campaign_id else None
    if selected is None and campaigns:
        with_data = db.session.scalar(select(Response.campaign_id).where(Response.school_id == user.school_id)
                                      .order_by(Response.submitted_at.desc()).limit(1))
        selected = next((c for c in campaigns if c.id == with_data), campaigns[0])
    live = [c for c in campaigns if c.is_open(now)][:5] or campaigns[:1]
    figures = many_figures(campaigns, now)
    return TeacherDashboard(
        campaigns=campaigns, selected=selected,
        progress=[(c, progress_panel(c)) for c in live],
        bands=band_panels(selected, figures.get(selected.id) if selected else None, grade),
        grades=sorted({c.grade for c in selected.classes}) if selected else [], grade=grade,
        trend=trend_panels(user, campaigns, figures),
        worklist=worklist(user, campaigns, figures) if with_worklist else {},
    )


# --- drill-down: the students behind a number -------------------------------------------------

def drilldown(user, args):
    """Students in `user`'s scope behind a dashboard figure; `args` are the figure's link arguments."""
    campaign_id = id_arg(args, "campaign")
    if campaign_id is None:
        return None
    campaign = db.session.scalar(policy.scoped(user, Campaign).where(Campaign.id == campaign_id))
    if campaign is None:
        return None
    query = (select(Student, Response, Score, ClassGroup)
             .join(Response, Response.student_id == Student.id)
             .join(Score, Score.response_id == Response.id)
             .outerjoin(ClassGroup, ClassGroup.id == Response.class_group_id)
             .where(Response.campaign_id == campaign.id, policy.scope(user, Student)))
    if args.get("scale"):
        query = query.where(Response.scale_code == args["scale"])
    if args.get("band"):
        query = query.where(Score.band == args["band"])
    if (class_id := id_arg(args, "class")) is not None:
        query = query.where(Response.class_group_id == class_id)
    if (grade := int_arg(args, "grade", high=16)) is not None:
        query = query.where(ClassGroup.grade == grade)
    if args.get("positive"):
        query = query.where(Score.risk.in_(POSITIVE_RISKS))
    rows = db.session.execute(query.order_by(ClassGroup.grade, ClassGroup.name, Student.student_number).limit(2000)).all()
    return campaign, rows
