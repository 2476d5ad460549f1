"""Naming class committee members, their sign-in, their reports, and the teacher's week.

A committee member is a student: they sign in with the screening credentials (student number and birth date) while
they are named for the current term and enrolled in the class they were named for. What they send raises a concern
for the school's psychology teachers (an alert, app/risk); nothing about any classmate is ever shown back to them.
"""
import logging
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from app.audit import services as audit
from app.committee.models import REPORT_CONCERN, REPORT_NOTHING, CommitteeMember, CommitteeReport
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.orgs.school_year import term_of
from app.risk import services as risk
from app.students.models import Enrollment, Student

logger = logging.getLogger(__name__)

COMMITTEE_REASON = "committee_report"  # the alert reason of a committee member's concern
# How urgent, as the member says it → the alert's level (and so its service-level target).
URGENCY_LEVELS = {"danger": "critical", "soon": "high", "this_week": "moderate"}
NOTE_MAX = 2000
MAX_MEMBERS_PER_CLASS = 4


class CommitteeError(ValueError):
    """A committee rule was broken; `code` names it, the view says it in the user's language."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def week_start(on: date | None = None) -> date:
    """The Monday of the week `on` (today) falls in: reports count per school week."""
    on = on or clock.today()
    return on - timedelta(days=on.weekday())


def _enrolled_in(class_group_id, on=None):
    on = on or clock.today()
    return (select(Enrollment.student_id)
            .where(Enrollment.class_group_id == class_group_id, Enrollment.start_date <= on,
                   or_(Enrollment.end_date.is_(None), Enrollment.end_date > on)))


def current_enrollment_at(student_id, school_id):
    today = clock.today()
    return db.session.scalar(select(Enrollment).where(
        Enrollment.student_id == student_id, Enrollment.school_id == school_id, Enrollment.class_group_id.is_not(None),
        Enrollment.start_date <= today, or_(Enrollment.end_date.is_(None), Enrollment.end_date > today)))


def members_this_term(school_id):
    """The school's committee members named for the current term and not ended, by class."""
    year, term = term_of(clock.today())
    return db.session.scalars(
        select(CommitteeMember).join(ClassGroup, ClassGroup.id == CommitteeMember.class_group_id)
        .where(CommitteeMember.school_id == school_id, CommitteeMember.academic_year == year,
               CommitteeMember.term == term, CommitteeMember.ended_at.is_(None))
        .order_by(ClassGroup.grade, ClassGroup.name, CommitteeMember.id)).all()


def appoint_member(school: School, student_number: str, by) -> CommitteeMember:
    """Name a current student of `school` as committee member of their class for the current term."""
    if school.closed_on is not None:
        raise CommitteeError("school_closed")
    student = db.session.scalar(select(Student).where(Student.student_number == (student_number or "").strip()))
    enrollment = current_enrollment_at(student.id, school.id) if student is not None else None
    if enrollment is None:
        raise CommitteeError("not_in_school")  # the same answer for a stranger and an unknown number
    year, term = term_of(clock.today())
    current = [m for m in members_this_term(school.id) if m.class_group_id == enrollment.class_group_id]
    if any(m.student_id == student.id for m in current):
        raise CommitteeError("already_member")
    if len(current) >= MAX_MEMBERS_PER_CLASS:
        raise CommitteeError("class_full")
    member = CommitteeMember(school_id=school.id, class_group_id=enrollment.class_group_id, student_id=student.id,
                             academic_year=year, term=term, appointed_by_id=by.id, appointed_at=clock.now())
    db.session.add(member)
    db.session.flush()
    audit.record(by, "committee_member_named", "committee_member", member.id, student.id,
                 detail={"class_group_id": member.class_group_id, "term": f"{year}-{term}"})
    return member


def end_membership(member: CommitteeMember, by):
    """The member stops (the term's choice changed, the student asked): their sign-in stops working at once."""
    if member.ended_at is not None:
        raise CommitteeError("already_ended")
    member.ended_at, member.ended_by_id = clock.now(), by.id
    audit.record(by, "committee_member_ended", "committee_member", member.id, member.student_id)


def active_member(member_id) -> CommitteeMember | None:
    """The membership while it may be used: this term, not ended, the student still in the class, the school open."""
    member = db.session.get(CommitteeMember, member_id) if isinstance(member_id, int) else None
    if member is None or member.ended_at is not None or (member.academic_year, member.term) != term_of(clock.today()):
        return None
    if db.session.get(School, member.school_id).closed_on is not None:
        return None
    in_class = db.session.scalar(_enrolled_in(member.class_group_id).where(Enrollment.student_id == member.student_id))
    return member if in_class is not None else None


def sign_in(student_number, birth_date: date) -> CommitteeMember:
    """The student's usable membership, or CommitteeError('details_do_not_match') whatever was wrong: the form
    cannot tell a wrong birth date from a student who is not a committee member."""
    student = db.session.scalar(select(Student).where(Student.student_number == (student_number or "").strip()))
    member = None
    if student is not None and student.birth_date == birth_date:
        year, term = term_of(clock.today())
        for candidate_id in db.session.scalars(select(CommitteeMember.id).where(
                CommitteeMember.student_id == student.id, CommitteeMember.academic_year == year,
                CommitteeMember.term == term, CommitteeMember.ended_at.is_(None)).order_by(CommitteeMember.id.desc())):
            member = active_member(candidate_id)
            if member is not None:
                break
    if member is None:
        raise CommitteeError("details_do_not_match")
    audit.record("student", "committee_signed_in", "committee_member", member.id, member.student_id)
    return member


def classmates(member: CommitteeMember):
    """(id, name) of the member's current classmates, the member left out: names only, nothing else about them."""
    return db.session.execute(
        select(Student.id, Student.name).where(Student.id.in_(_enrolled_in(member.class_group_id)),
                                               Student.id != member.student_id)
        .order_by(Student.name, Student.id)).all()


def report_concern(member: CommitteeMember, classmate_id, noticed: str, urgency: str) -> CommitteeReport:
    """A concern about a current classmate: it opens (or joins) an alert for the school's psychology teachers."""
    from app.auth import policy

    noticed = (noticed or "").strip()
    if urgency not in URGENCY_LEVELS:
        raise CommitteeError("choose_urgency")
    if not noticed or len(noticed) > NOTE_MAX:
        raise CommitteeError("describe")
    if not isinstance(classmate_id, int) or not policy.committee_may_report_on(member, classmate_id):
        raise CommitteeError("choose_classmate")
    subject = db.session.get(Student, classmate_id)
    note = _("Reported by the class committee member %(name)s: %(text)s", name=member.student.name, text=noticed)
    alert = risk.raise_alert(subject, member.school_id, URGENCY_LEVELS[urgency], COMMITTEE_REASON, note=note)
    report = CommitteeReport(member_id=member.id, school_id=member.school_id, class_group_id=member.class_group_id,
                             week_start=week_start(), kind=REPORT_CONCERN, subject_student_id=subject.id,
                             urgency=urgency, note=noticed, alert_id=alert.id, created_at=clock.now())
    db.session.add(report)
    db.session.flush()
    audit.record("student", "committee_report_sent", "committee_report", report.id, subject.id,
                 detail={"member_id": member.id, "kind": REPORT_CONCERN, "urgency": urgency, "alert_id": alert.id})
    return report


def report_nothing(member: CommitteeMember) -> CommitteeReport:
    report = CommitteeReport(member_id=member.id, school_id=member.school_id, class_group_id=member.class_group_id,
                             week_start=week_start(), kind=REPORT_NOTHING, created_at=clock.now())
    db.session.add(report)
    db.session.flush()
    audit.record("student", "committee_report_sent", "committee_report", report.id,
                 detail={"member_id": member.id, "kind": REPORT_NOTHING})
    return report


def week_overview(school_id, week: date):
    """Per class of the school's current year: its committee members this term and what the class sent this week
    (concerns, nothing to report, or nothing yet). Classes without a member are listed too."""
    year, _term = term_of(clock.today())
    classes = db.session.scalars(select(ClassGroup).where(ClassGroup.school_id == school_id,
                                                          ClassGroup.academic_year == year)
                                 .order_by(ClassGroup.grade, ClassGroup.name)).all()
    members = {}
    for member in members_this_term(school_id):
        members.setdefault(member.class_group_id, []).append(member)
    sent = {}
    for class_id, kind, n in db.session.execute(
            select(CommitteeReport.class_group_id, CommitteeReport.kind, func.count())
            .where(CommitteeReport.school_id == school_id, CommitteeReport.week_start == week)
            .group_by(CommitteeReport.class_group_id, CommitteeReport.kind)):
        sent.setdefault(class_id, {})[kind] = n
    rows = []
    for class_group in classes:
        counts = sent.get(class_group.id, {})
        rows.append({"class_group": class_group, "members": members.get(class_group.id, []),
                     "concerns": counts.get(REPORT_CONCERN, 0), "nothing": counts.get(REPORT_NOTHING, 0),
                     "reported": bool(counts)})
    return rows

