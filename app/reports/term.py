"""Term figures for the school's summary (一校一总结) and the district's analysis (一县一分析), from the database.

Definitions (printed on both documents, DEFINITIONS below):
- term: the first term runs from 1 September to 31 January, the second from 1 February to 31 August;
- enrolled = students enrolled at the school on the term's last day (today while the term runs), by their class's grade;
- coverage = students with at least one questionnaire submitted at the school in the term / enrolled;
- positive rate (per scale and grade) = responses whose risk is moderate or above / responses of that scale in the
  term, the grade being the class the student answered in (the same definition as the dashboards and alerts);
- alerts = alerts opened in the term, by level; concerns raised by staff and by class committee members included;
- referrals = referrals the school sent in the term; assessed = of those, reached a hospital assessment;
- returns = return-to-school decisions made in the term on the school's referrals, by outcome;
- follow-up rate (随访率) = follow-ups due in the term done on or before their due date / follow-ups due in the term;
- committee: reports class committee members sent in the term (concerns, "nothing to report");
- interviews = second-stage interviews the school recorded in the term; warning levels = the school's register
  lines by the level in force at the term's end (today while the term runs), from each line's history.
Counts are raw here; every figure is suppressed (app.dashboards.suppress) when it is put on a document.
"""
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, distinct, func, or_, select

from app.care.models import FollowUp, Referral, ReferralStatus, ReturnDecision
from app.committee.models import CommitteeMember, CommitteeReport
from app.core import clock
from app.dashboards.campaigns import POSITIVE_RISKS
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.orgs.school_year import term_bounds, term_of
from app.register.models import ACTIVE_LEVELS, Interview, WarningChange
from app.risk.models import Alert
from app.screening.models import Response, Score
from app.students.models import Enrollment

DEFINITIONS = (
    (_l("Term"), _l("The first term runs from 1 September to 31 January, the second from 1 February to 31 August.")),
    (_l("Enrolled"), _l("Students enrolled at the school on the term's last day (today while the term runs), by the grade of their class.")),
    (_l("Coverage"), _l("Students with at least one questionnaire submitted at the school in the term / students enrolled.")),
    (_l("Positive rate"), _l("Responses whose risk is moderate or above by the scale's cut-offs / all responses of that scale in the term; the grade is that of the class the student answered in.")),
    (_l("Alerts"), _l("Alerts opened in the term, by level: screening results and concerns raised by staff or by class committee members.")),
    (_l("Referrals"), _l("Referrals the school sent to a partner hospital in the term; assessed: of those, the ones that reached a hospital assessment; declined: the hospital declined them.")),
    (_l("Returns"), _l("Return-to-school decisions made in the term on the school's referrals, by outcome.")),
    (_l("Follow-up rate (随访率)"), _l("Follow-ups due in the term done on or before their due date / follow-ups due in the term.")),
    (_l("Class committee reports"), _l("Reports sent by class committee members (班级心理委员) in the term: concerns about a classmate, and weeks with nothing to report.")),
    (_l("Second-stage interviews"), _l("Interviews the school's psychology teachers recorded in the term after a positive screening result.")),
    (_l("Warning levels"), _l("Students on the school's warning register (预警库) by the level in force on the term's last day (today while the term runs): red, orange, yellow.")),
    (_l("Suppressed figures"), _l('A figure resting on 1 to 4 students shows "<5", and a rate whose denominator is under 5 too, so that no figure identifies a child.')),
)


class Term:
    """One term of one school year: its key ('2026-2027-1'), first day and first day after it."""

    def __init__(self, year: str, number: int):
        self.year, self.number = year, number
        self.start, self.end = term_bounds(year, number)

    @classmethod
    def current(cls):
        return cls(*term_of(clock.today()))

    @property
    def key(self) -> str:
        return f"{self.year}-{self.number}"

    @property
    def as_of(self) -> date:
        return min(self.end - timedelta(days=1), clock.today())

    def moments(self):
        """The term's bounds as UTC instants (local midnight), for timestamp columns."""
        return tuple(datetime.combine(d, time(0), tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc)
                     for d in (self.start, self.end))

    def previous(self):
        return Term(self.year, 1) if self.number == 2 else Term(f"{int(self.year[:4]) - 1}-{self.year[:4]}", 2)


def _empty():
    return {"enrolled": 0, "enrolled_by_grade": defaultdict(int), "screened": 0, "screened_by_grade": defaultdict(int),
            "scales": defaultdict(lambda: [0, 0]), "alerts": defaultdict(int),
            "referrals": {"sent": 0, "assessed": 0, "declined": 0}, "returns": defaultdict(int),
            "follow_ups": [0, 0], "committee": {"members": 0, "concerns": 0, "nothing": 0, "class_weeks": 0},
            "interviews": 0, "warning": defaultdict(int)}


def term_figures(term: Term, school_ids) -> dict:
    """Raw counts per school id for the term: the numbers of both documents, before suppression."""
    start, end = term.moments()
    out = defaultdict(_empty)
    as_of = term.as_of
    for school_id, grade, n in db.session.execute(
            select(Enrollment.school_id, ClassGroup.grade, func.count(distinct(Enrollment.student_id)))
            .join(ClassGroup, ClassGroup.id == Enrollment.class_group_id)
            .where(Enrollment.school_id.in_(school_ids), Enrollment.start_date <= as_of,
                   or_(Enrollment.end_date.is_(None), Enrollment.end_date > as_of))
            .group_by(Enrollment.school_id, ClassGroup.grade)):
        out[school_id]["enrolled"] += n
        out[school_id]["enrolled_by_grade"][grade] += n
    in_term = (Response.school_id.in_(school_ids), Response.submitted_at >= start, Response.submitted_at < end)
    for school_id, n in db.session.execute(
            select(Response.school_id, func.count(distinct(Response.student_id))).where(*in_term)
            .group_by(Response.school_id)):
        out[school_id]["screened"] = n
    for school_id, grade, n in db.session.execute(
            select(Response.school_id, ClassGroup.grade, func.count(distinct(Response.student_id)))
            .join(ClassGroup, ClassGroup.id == Response.class_group_id).where(*in_term)
            .group_by(Response.school_id, ClassGroup.grade)):
        out[school_id]["screened_by_grade"][grade] = n
    positive = case((Score.risk.in_(POSITIVE_RISKS), 1), else_=0)
    for school_id, code, grade, n, pos in db.session.execute(
            select(Response.school_id, Response.scale_code, ClassGroup.grade, func.count(), func.sum(positive))
            .join(Score, Score.response_id == Response.id)
            .outerjoin(ClassGroup, ClassGroup.id == Response.class_group_id).where(*in_term)
            .group_by(Response.school_id, Response.scale_code, ClassGroup.grade)):
        out[school_id]["scales"][(code, grade)] = [n, int(pos or 0)]
    for school_id, level, n in db.session.execute(
            select(Alert.school_id, Alert.level, func.count())
            .where(Alert.school_id.in_(school_ids), Alert.opened_at >= start, Alert.opened_at < end)
            .group_by(Alert.school_id, Alert.level)):
        out[school_id]["alerts"][level] = n
    reached = (ReferralStatus.ASSESSED, ReferralStatus.CLOSED)
    for school_id, n, assessed, declined in db.session.execute(
            select(Referral.school_id, func.count(), func.sum(case((Referral.status.in_(reached), 1), else_=0)),
                   func.sum(case((Referral.status == ReferralStatus.DECLINED, 1), else_=0)))
            .where(Referral.school_id.in_(school_ids), Referral.created_at >= start, Referral.created_at < end)
            .group_by(Referral.school_id)):
        out[school_id]["referrals"] = {"sent": n, "assessed": int(assessed or 0), "declined": int(declined or 0)}
    for school_id, outcome, n in db.session.execute(
            select(Referral.school_id, ReturnDecision.outcome, func.count())
            .join(Referral, Referral.id == ReturnDecision.referral_id)
            .where(Referral.school_id.in_(school_ids), ReturnDecision.created_at >= start, ReturnDecision.created_at < end)
            .group_by(Referral.school_id, ReturnDecision.outcome)):
        out[school_id]["returns"][getattr(outcome, "value", outcome)] = n
    for school_id, due_on, done_at in db.session.execute(
            select(FollowUp.school_id, FollowUp.due_on, FollowUp.done_at)
            .where(FollowUp.school_id.in_(school_ids), FollowUp.due_on >= term.start, FollowUp.due_on < term.end)):
        f = out[school_id]["follow_ups"]
        f[0] += 1
        if done_at is not None and done_at.astimezone(clock.LOCAL_TZ).date() <= due_on:
            f[1] += 1
    _committee(out, term, school_ids)
    _register(out, term, school_ids)
    return out


def _register(out, term, school_ids):
    start, end = term.moments()
    for school_id, n in db.session.execute(
            select(Interview.school_id, func.count()).where(Interview.school_id.in_(school_ids),
                                                            Interview.interviewed_on >= term.start,
                                                            Interview.interviewed_on < term.end)
            .group_by(Interview.school_id)):
        out[school_id]["interviews"] = n
    # The level in force at the term's end: each register line's last change before it.
    last = (select(WarningChange.entry_id, func.max(WarningChange.id).label("id"))
            .where(WarningChange.school_id.in_(school_ids), WarningChange.changed_at < end)
            .group_by(WarningChange.entry_id).subquery())
    for school_id, level, n in db.session.execute(
            select(WarningChange.school_id, WarningChange.to_level, func.count())
            .join(last, last.c.id == WarningChange.id)
            .where(WarningChange.to_level.in_(ACTIVE_LEVELS))
            .group_by(WarningChange.school_id, WarningChange.to_level)):
        out[school_id]["warning"][getattr(level, "value", level)] = n


def _committee(out, term, school_ids):
    for school_id, n in db.session.execute(
            select(CommitteeMember.school_id, func.count(distinct(CommitteeMember.student_id)))
            .where(CommitteeMember.school_id.in_(school_ids), CommitteeMember.academic_year == term.year,
                   CommitteeMember.term == term.number).group_by(CommitteeMember.school_id)):
        out[school_id]["committee"]["members"] = n
    weeks = defaultdict(set)
    for school_id, kind, class_id, week in db.session.execute(
            select(CommitteeReport.school_id, CommitteeReport.kind, CommitteeReport.class_group_id,
                   CommitteeReport.week_start)
            .where(CommitteeReport.school_id.in_(school_ids), CommitteeReport.week_start >= term.start,
                   CommitteeReport.week_start < term.end)):
        c = out[school_id]["committee"]
        c["concerns" if kind == "concern" else "nothing"] += 1
        weeks[school_id].add((class_id, week))
    for school_id, class_weeks in weeks.items():
        out[school_id]["committee"]["class_weeks"] = len(class_weeks)


def add_up(figures: list[dict]) -> dict:
    """The district's figures: the schools' counts added up."""
    total = _empty()
    for f in figures:
        for key in ("enrolled", "screened"):
            total[key] += f[key]
        total["interviews"] += f["interviews"]
        for key in ("enrolled_by_grade", "screened_by_grade", "alerts", "returns", "warning"):
            for k, n in f[key].items():
                total[key][k] += n
        for k, (n, pos) in f["scales"].items():
            total["scales"][k][0] += n
            total["scales"][k][1] += pos
        for k in total["referrals"]:
            total["referrals"][k] += f["referrals"][k]
        total["follow_ups"] = [total["follow_ups"][0] + f["follow_ups"][0], total["follow_ups"][1] + f["follow_ups"][1]]
        for k in total["committee"]:
            total["committee"][k] += f["committee"][k]
    return total


def schools_for_district():
    return db.session.scalars(select(School).order_by(School.name)).all()
