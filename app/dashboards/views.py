"""Each role's home page."""
from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import Role, User
from app.audit import services as audit
from app.auth import policy
from app.care import services as care
from app.care.models import FollowUp, Referral, ReferralStatus, ReturnDecision
from app.core import clock
from app.core.args import id_arg, int_arg, month_arg
from app.dashboards.district_panels import district_dashboard
from app.dashboards.doctor import doctor_dashboard
from app.dashboards.suppress import every_count_shown
from app.dashboards.teacher import needs_doing_now, teacher_dashboard
from app.extensions import db
from app.monitoring import services as monitoring
from app.orgs.models import ClassGroup, Hospital, Partnership, School
from app.risk import services as risk
from app.risk.models import Alert, AlertStatus
from app.screening import services as screening
from app.screening.models import Campaign
from app.students.models import Enrollment, Student

bp = Blueprint("dashboards", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)

ACTIVE_ALERTS = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


def _sweep():
    """Escalation also runs on every dashboard load, so it does not depend on cron alone."""
    escalated = risk.escalate_overdue_alerts()
    if monitoring.record_sweep("page") or escalated:
        db.session.commit()


def _commit_keeping_loaded():
    """Commit, but leave the loaded rows as they are: a page rendered after a plain commit re-reads every expired
    row one SELECT at a time (hundreds on the teacher home), and rendering before the commit would keep SQLite's
    writer lock (app/core/sqlite_writer.py) through the rendering."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


@bp.get("/teacher")
@policy.allow_roles(Role.TEACHER)
def teacher_home():
    _sweep()
    classes = db.session.scalars(policy.scoped(current_user, ClassGroup).order_by(ClassGroup.grade, ClassGroup.name)).all()
    roster_counts = dict(db.session.execute(
        select(Enrollment.class_group_id, func.count(Enrollment.id))
        .where(Enrollment.school_id == current_user.school_id, Enrollment.end_date.is_(None))
        .group_by(Enrollment.class_group_id)).all())
    campaigns = db.session.scalars(policy.scoped(current_user, Campaign).order_by(Campaign.created_at.desc()).limit(10)).all()
    decisions = db.session.scalars(policy.scoped(current_user, ReturnDecision)
                                   .options(joinedload(ReturnDecision.referral).joinedload(Referral.student))
                                   .order_by(ReturnDecision.created_at.desc()).limit(10)).all()
    follow_ups = db.session.scalars(policy.scoped(current_user, FollowUp).where(
        FollowUp.done_at.is_(None))  # scoped: students enrolled here now, old-school tasks with hand-over consent
        .options(joinedload(FollowUp.student))
        .order_by(FollowUp.due_on, FollowUp.id).limit(50)).all()
    with every_count_shown(policy.sees_every_student_counted(current_user, current_user.school_id)):
        dashboard = teacher_dashboard(current_user, campaign_id=id_arg(request.args, "campaign"),
                                      grade=int_arg(request.args, "grade", high=16))
    todo, later = needs_doing_now(dashboard.worklist, follow_ups, clock.today(), clock.now())
    alerts = dashboard.worklist["alerts"]
    audit.record_list_view(current_user, "dashboards.teacher_home",
                           [a.student_id for a in alerts] + [d.student_id for d in decisions]
                           + [f.student_id for f in follow_ups])
    _commit_keeping_loaded()  # the audit row, and campaign figures counted for the first time or after new responses
    return render_template("dashboards/teacher.html", classes=classes, roster_counts=roster_counts, campaigns=campaigns,
                           todo=todo, later_follow_ups=later, decisions=decisions, now=clock.now(),
                           today=clock.today(), dashboard=dashboard)


@bp.get("/doctor")
@policy.allow_roles(Role.DOCTOR)
def doctor_home():
    _sweep()
    queue = db.session.scalars(
        policy.scoped(current_user, Referral)
        .where(Referral.status.in_(care.WAITING_STATUSES))
        .order_by(*care.referral_queue_order())).all()
    # Assessed but not yet closed: awaiting a decision or the review of a student not cleared.
    under_care = db.session.scalars(
        policy.scoped(current_user, Referral).where(Referral.status == ReferralStatus.ASSESSED)
        .order_by(*care.referral_queue_order())).all()
    alerts = db.session.scalars(policy.scoped(current_user, Alert).where(Alert.status.in_(ACTIVE_ALERTS))
                                .order_by(*risk.risk_list_order()).limit(20)).all()
    now = clock.now()
    waiting = {r.id: (care.waiting_hours(r, now), care.target_hours(r.urgency), care.is_over_target(r, now)) for r in queue}
    audit.record_list_view(current_user, "dashboards.doctor_home",
                           [r.student_id for r in queue] + [r.student_id for r in under_care])
    db.session.commit()
    return render_template("dashboards/doctor.html", queue=queue, under_care=under_care, waiting=waiting,
                           alerts=alerts, now=now, dashboard=doctor_dashboard(current_user))


@bp.get("/homeroom")
@policy.allow_roles(Role.HOMEROOM)
def homeroom_home():
    """Only 'needs attention' for the own class: no answers, scores or clinical text."""
    roster = screening.class_roster([current_user.class_group_id]) if current_user.class_group_id else []
    student_ids = [student.id for student, _ in roster]
    flagged = set(db.session.scalars(select(Alert.student_id).where(
        Alert.student_id.in_(student_ids), Alert.status.in_(ACTIVE_ALERTS))))
    # A student back at school with conditions still being followed also needs attention.
    flagged |= set(db.session.scalars(select(FollowUp.student_id).where(
        FollowUp.student_id.in_(student_ids), FollowUp.done_at.is_(None))))
    flagged |= _on_the_warning_register(student_ids)
    audit.record_list_view(current_user, "dashboards.homeroom_home", student_ids)
    db.session.commit()
    return render_template("dashboards/homeroom.html", roster=roster, flagged=flagged)


def _on_the_warning_register(student_ids):
    """A warning level in force at any school (issue 19): the student needs attention; the level is not shown."""
    from app.register.models import WarningEntry, WarningLevel

    return set(db.session.scalars(select(WarningEntry.student_id).where(
        WarningEntry.student_id.in_(student_ids), WarningEntry.level != WarningLevel.NONE)))


@bp.get("/admin")
@policy.allow_roles(Role.ADMIN)
def admin_home():
    _sweep()
    today = clock.today()
    district = district_dashboard(month_arg(request.args), id_arg(request.args, "school"))
    db.session.commit()  # closed months computed for the first time are kept (MonthlyFigures)
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    enrolled = dict(db.session.execute(
        select(Enrollment.school_id, func.count(Enrollment.id)).where(Enrollment.end_date.is_(None))
        .group_by(Enrollment.school_id)).all())
    partnerships = db.session.scalars(select(Partnership).order_by(Partnership.expires_on)).all()
    return render_template(
        "dashboards/admin.html", district=district, schools=schools, enrolled=enrolled, partnerships=partnerships, today=today,
        hospitals=db.session.scalars(select(Hospital).order_by(Hospital.name)).all(),
        user_count=db.session.scalar(select(func.count(User.id))),
        student_count=db.session.scalar(select(func.count(Student.id))),
        overdue_count=db.session.scalar(select(func.count(Alert.id)).where(
            Alert.status == AlertStatus.OPEN, Alert.due_at < clock.now())),
        alert_counts=dict(db.session.execute(select(Alert.level, func.count(Alert.id))
                                             .where(Alert.status.in_(ACTIVE_ALERTS)).group_by(Alert.level)).all()),
    )


from app.dashboards import exports  # noqa: E402,F401  (registers the export, drill-down and PDF routes on bp)
