"""The interview list, interviews, the warning register's levels, duties and reviews, and plans (一生一策).

Services take the acting user, flush and never commit (the request commits once)."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from app.audit import services as audit
from app.care.models import Referral, ReferralStatus
from app.core import clock
from app.extensions import db
from app.register.factors import (
    DISPOSITIONS, PAST_BEHAVIOUR, PROTECTIVE_FACTORS, RISK_FACTORS, SUICIDAL_THOUGHTS, SUICIDE_PLAN, SYMPTOMS,
)
from app.register.models import (
    DEFAULT_SETTINGS, LEVEL_RANK, ChangeKind, Interview, PlanTask, RegisterSettings, SupportPlan,
    TaskOwner, WarningChange, WarningEntry, WarningLevel, WarningReview,
)
from app.screening.models import Response, Score
from app.students.models import Enrollment

# A stored score whose band maps (in its scale's data file, under the cut-off profile it was banded with) to one of
# these risk levels is a positive first-stage screen: the same levels that open an alert (app/risk/services.py).
POSITIVE_RISKS = ("moderate", "high", "critical")
# The warning level a questionnaire's band suggests; the interview decides the level actually set.
SUGGESTED_LEVEL = {"critical": WarningLevel.RED, "high": WarningLevel.ORANGE, "moderate": WarningLevel.YELLOW}
RISK_RANK = {"moderate": 1, "high": 2, "critical": 3}


class RegisterError(ValueError):
    """A rule of the register was broken; `code` names it (the view shows its message)."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


# --- settings ------------------------------------------------------------------------------------------------

def settings_for(school_id) -> RegisterSettings:
    """The school's settings row, or an unsaved one holding the defaults."""
    row = db.session.get(RegisterSettings, school_id)
    return row if row is not None else RegisterSettings(school_id=school_id, **DEFAULT_SETTINGS)


def save_settings(school_id, data, by):
    for key, value in data.items():
        if key not in DEFAULT_SETTINGS or not isinstance(value, int) or not 1 <= value <= 365:
            raise RegisterError("bad_days")
    row = db.session.get(RegisterSettings, school_id)
    if row is None:
        row = RegisterSettings(school_id=school_id, **DEFAULT_SETTINGS)
        db.session.add(row)
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_by_id, row.updated_at = by.id, clock.now()
    db.session.flush()
    audit.record(by, "register_settings_changed", "school", school_id, detail=dict(data))
    return row


# --- the interview list ---------------------------------------------------------------------------------------

def _enrolled_at(school_id):
    today = clock.today()
    return select(Enrollment.student_id).where(
        Enrollment.school_id == school_id, Enrollment.start_date <= today,
        (Enrollment.end_date.is_(None)) | (Enrollment.end_date > today))


def interview_list(school_id):
    """Students of the school with a positive screen at the school and no interview since: one row per student
    (their positive results, the suggested level, the due date from the school's setting), soonest due first."""
    days = settings_for(school_id).interview_days
    last_interview = (select(Interview.student_id, func.max(Interview.created_at).label("at"))
                      .where(Interview.school_id == school_id).group_by(Interview.student_id).subquery())
    rows = db.session.execute(
        select(Response, Score).join(Score, Score.response_id == Response.id)
        .outerjoin(last_interview, last_interview.c.student_id == Response.student_id)
        .where(Response.school_id == school_id, Score.risk.in_(POSITIVE_RISKS),
               Response.student_id.in_(_enrolled_at(school_id)),
               (last_interview.c.at.is_(None)) | (Response.submitted_at > last_interview.c.at))
        .order_by(Response.submitted_at, Response.id)).all()
    by_student = {}
    for response, score in rows:
        item = by_student.setdefault(response.student_id, {
            "student": response.student, "results": [], "first_at": response.submitted_at,
            "due_on": (response.submitted_at + timedelta(days=days)).date(), "response": response})
        item["results"].append((response, score))
        if RISK_RANK[score.risk] > RISK_RANK[item["response"].score.risk]:
            item["response"] = response
    for item in by_student.values():
        item["suggested"] = SUGGESTED_LEVEL[item["response"].score.risk]
    return sorted(by_student.values(), key=lambda i: (i["due_on"], i["student"].name))


def pending_response(student_id, school_id):
    """The strongest positive screen waiting for this student's interview at this school, if any."""
    for item in interview_list(school_id):
        if item["student"].id == student_id:
            return item
    return None


# --- levels ---------------------------------------------------------------------------------------------------

def _kind(from_level, to_level):
    if to_level == WarningLevel.NONE:
        return ChangeKind.LIFTED if from_level != WarningLevel.NONE else ChangeKind.CONFIRMED
    if from_level == WarningLevel.NONE:
        return ChangeKind.SET  # a first level, or a level again after it was lifted
    if LEVEL_RANK[to_level] > LEVEL_RANK[from_level]:
        return ChangeKind.RAISED
    if LEVEL_RANK[to_level] < LEVEL_RANK[from_level]:
        return ChangeKind.LOWERED
    return ChangeKind.CONFIRMED


def own_entry(student_id, school_id):
    return db.session.scalar(select(WarningEntry).where(WarningEntry.student_id == student_id,
                                                        WarningEntry.school_id == school_id))


def _next_review(school_id, level, from_day):
    days = settings_for(school_id).review_days(level)
    return None if days is None else from_day + timedelta(days=days)


def set_level(student_id, school_id, level, reason, by, *, interview=None, review=None):
    """Record a level on the school's register line (creating it for a first level), with its history row.
    A student without a line whose level is 'none' gets no line: nothing to follow."""
    level = WarningLevel(level)
    reason = (reason or "").strip()
    if not reason:
        raise RegisterError("reason_required")
    entry = own_entry(student_id, school_id)
    if entry is None and level == WarningLevel.NONE:
        return None, None
    now = clock.now()
    if entry is None:
        entry = WarningEntry(student_id=student_id, school_id=school_id, level=WarningLevel.NONE, level_since=now,
                             created_at=now)
        db.session.add(entry)
        db.session.flush()
    from_level = entry.level
    kind = _kind(from_level, level)
    change = WarningChange(entry_id=entry.id, student_id=student_id, school_id=school_id, from_level=from_level,
                           to_level=level, kind=kind, reason=reason, interview_id=interview.id if interview else None,
                           review_id=review.id if review else None, changed_by_id=by.id, changed_at=now)
    db.session.add(change)
    if level != from_level:
        entry.level, entry.level_since = level, now
    entry.next_review_on = _next_review(school_id, level, clock.today())
    db.session.flush()
    audit.record(by, f"warning_{kind.value}", "warning_entry", entry.id, student_id,
                 detail={"from": from_level.value, "to": level.value, "interview_id": change.interview_id,
                         "review_id": change.review_id})
    return entry, change


def _codes(values, allowed):
    values = list(dict.fromkeys(values or []))
    if any(v not in allowed for v in values):
        raise RegisterError("bad_choice")
    return values


def record_interview(student, school_id, data, by):
    """The second-stage interview: structured headings, encrypted text, and the warning level it sets."""
    if data["interviewed_on"] > clock.today():
        raise RegisterError("interviewed_in_future")
    if data["suicidal_thoughts"] not in SUICIDAL_THOUGHTS or data["suicide_plan"] not in SUICIDE_PLAN \
            or data["disposition"] not in DISPOSITIONS or data["level"] not in {lv.value for lv in WarningLevel}:
        raise RegisterError("bad_choice")
    judgement = (data.get("judgement") or "").strip()
    if not judgement:
        raise RegisterError("judgement_required")
    if not (data.get("level_reason") or "").strip():
        raise RegisterError("reason_required")
    pending = pending_response(student.id, school_id)
    interview = Interview(
        student_id=student.id, school_id=school_id, response_id=pending["response"].id if pending else None,
        interviewer_id=by.id, interviewed_on=data["interviewed_on"],
        risk_factors=_codes(data.get("risk_factors"), RISK_FACTORS),
        protective_factors=_codes(data.get("protective_factors"), PROTECTIVE_FACTORS),
        suicidal_thoughts=data["suicidal_thoughts"], suicide_plan=data["suicide_plan"],
        past_behaviour=_codes(data.get("past_behaviour"), PAST_BEHAVIOUR), symptoms=_codes(data.get("symptoms"), SYMPTOMS),
        guardian_interviewed=bool(data.get("guardian_interviewed")), safety_plan_made=bool(data.get("safety_plan_made")),
        disposition=data["disposition"], judgement=judgement, notes=(data.get("notes") or "").strip() or None,
        questionnaire_level=pending["suggested"] if pending else None, level=WarningLevel(data["level"]),
        level_reason=data["level_reason"].strip(), created_at=clock.now(),
    )
    db.session.add(interview)
    db.session.flush()
    audit.record(by, "interview_recorded", "interview", interview.id, student.id,
                 detail={"level": interview.level.value, "response_id": interview.response_id,
                         "questionnaire_level": interview.questionnaire_level.value if interview.questionnaire_level else None})
    set_level(student.id, school_id, interview.level, interview.level_reason, by, interview=interview)
    return interview


def record_review(entry, data, by):
    """A periodic review: a note, and the level kept or changed (a change needs its reason)."""
    if not entry.is_active:
        raise RegisterError("not_on_register")
    note = (data.get("note") or "").strip()
    if not note:
        raise RegisterError("note_required")
    if data["reviewed_on"] > clock.today():
        raise RegisterError("reviewed_in_future")
    level = WarningLevel(data.get("level") or entry.level.value)
    review = WarningReview(entry_id=entry.id, student_id=entry.student_id, school_id=entry.school_id,
                           reviewed_on=data["reviewed_on"], note=note, reviewed_by_id=by.id, created_at=clock.now())
    db.session.add(review)
    db.session.flush()
    audit.record(by, "warning_reviewed", "warning_entry", entry.id, entry.student_id, detail={"review_id": review.id})
    if level != entry.level:
        set_level(entry.student_id, entry.school_id, level, data.get("reason"), by, review=review)
    else:
        entry.next_review_on = _next_review(entry.school_id, entry.level, data["reviewed_on"])
        db.session.flush()
    return review


def record_duties(entry, data, by):
    """The red level's duties: the guardian informed (date), the documented reason not to refer."""
    if data.get("guardian_informed_on"):
        if data["guardian_informed_on"] > clock.today():
            raise RegisterError("informed_in_future")
        entry.guardian_informed_on, entry.guardian_informed_by_id = data["guardian_informed_on"], by.id
    reason = (data.get("no_referral_reason") or "").strip()
    if reason:
        entry.no_referral_reason = reason
    if not data.get("guardian_informed_on") and not reason:
        raise RegisterError("nothing_recorded")
    db.session.flush()
    audit.record(by, "warning_duties_recorded", "warning_entry", entry.id, entry.student_id,
                 detail={"guardian_informed": bool(data.get("guardian_informed_on")), "no_referral_reason": bool(reason)})


def has_referral_since(entry) -> bool:
    return db.session.scalar(select(Referral.id).where(
        Referral.student_id == entry.student_id, Referral.school_id == entry.school_id,
        Referral.status != ReferralStatus.DECLINED, Referral.created_at >= start_of_day(entry.created_at.date()))
        .limit(1)) is not None


def duties(entry, today=None):
    """The level's duties and whether each is met: [(code, met)]."""
    today = today or clock.today()
    if not entry.is_active:
        return []
    out = [("review", not entry.is_overdue(today))]
    if entry.level == WarningLevel.RED:
        out.append(("referral", has_referral_since(entry) or bool(entry.no_referral_reason)))
        out.append(("guardian", entry.guardian_informed_on is not None))
    return out


# --- plans (一生一策) --------------------------------------------------------------------------------------------

def current_plan(entry):
    return db.session.scalar(select(SupportPlan).where(SupportPlan.entry_id == entry.id)
                             .order_by(SupportPlan.version.desc()).limit(1))


def plan_review_dates(plan, entry, today):
    """Each review date of a plan with what became of it: ``(date, "done", reviewed_on)`` when a review of the line
    was recorded on or after it (each review meets one date, the earliest it can), ``(date, "overdue", None)`` when
    the date has passed without one, ``(date, "due", None)`` otherwise. A plan's dates had no mark of their own:
    a review missed by weeks looked the same as one to come."""
    reviews = sorted(r.reviewed_on for r in (entry.reviews if entry else []))
    out = []
    for due in sorted(date.fromisoformat(d) for d in plan.review_dates):
        met = next((r for r in reviews if r >= due), None)
        if met is not None:
            reviews.remove(met)
            out.append((due, "done", met))
        else:
            out.append((due, "overdue" if due < today else "due", None))
    return out


def save_plan(entry, goals, review_dates, tasks, by):
    """A new version of the plan: goals, review dates, who does what. The previous version stays in the file."""
    if not entry.is_active:
        raise RegisterError("not_on_register")
    goals = (goals or "").strip()
    if not goals:
        raise RegisterError("goals_required")
    dates = sorted({d for d in review_dates if d})
    if not dates:
        raise RegisterError("review_date_required")
    if dates[0] < clock.today():
        raise RegisterError("review_date_past")
    tasks = [t for t in tasks if (t.get("action") or "").strip()]
    if not tasks:
        raise RegisterError("task_required")
    if any(t.get("owner") not in {o.value for o in TaskOwner} for t in tasks):
        raise RegisterError("bad_choice")
    previous = current_plan(entry)
    plan = SupportPlan(student_id=entry.student_id, school_id=entry.school_id, entry_id=entry.id,
                       version=previous.version + 1 if previous else 1, supersedes_id=previous.id if previous else None,
                       goals=goals, review_dates=[d.isoformat() for d in dates], created_by_id=by.id,
                       created_at=clock.now())
    db.session.add(plan)
    db.session.flush()
    for task in tasks:
        db.session.add(PlanTask(plan_id=plan.id, student_id=entry.student_id, school_id=entry.school_id,
                                owner=TaskOwner(task["owner"]), action=task["action"].strip(), due_on=task.get("due_on")))
    db.session.flush()
    audit.record(by, "plan_saved", "support_plan", plan.id, entry.student_id,
                 detail={"version": plan.version, "supersedes_id": plan.supersedes_id, "tasks": len(tasks)})
    return plan


def complete_task(task, by):
    if task.done_at is not None:
        raise RegisterError("task_done")
    task.done_at, task.done_by_id = clock.now(), by.id
    db.session.flush()
    audit.record(by, "plan_task_done", "plan_task", task.id, task.student_id, detail={"owner": task.owner.value})


# --- the school's register page ---------------------------------------------------------------------------------

def register_rows(entries, today=None):
    """Each active line with its duties, its overdue mark and its current plan."""
    today = today or clock.today()
    rows = [{"entry": e, "duties": duties(e, today), "overdue": e.is_overdue(today), "plan": current_plan(e)}
            for e in entries]
    for row in rows:
        row["all_met"] = all(met for _code, met in row["duties"])
    return rows
