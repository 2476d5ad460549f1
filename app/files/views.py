"""The student's file page, and the district admin's break-glass access to it."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.care.forms import FollowUpForm
from app.care.models import FollowUp, Referral, ReferralStatus
from app.core import clock
from app.extensions import db
from app.files import handover, services
from app.files.forms import BreakGlassForm
from app.files.models import BreakGlassAccess
from app.students.models import Student

bp = Blueprint("files", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.DOCTOR, Role.ADMIN})


def _care_context(student, failed_form=None):
    """Open follow-ups (with a form each for the teacher; `failed_form` comes back with its errors), declined
    referrals and break-glass history."""
    follow_ups = db.session.scalars(policy.scoped(current_user, FollowUp).where(
        FollowUp.student_id == student.id, FollowUp.done_at.is_(None)).order_by(FollowUp.due_on, FollowUp.id)).all()
    can_record = {f.id for f in follow_ups if policy.can(current_user, "record_follow_up", f)}
    forms = {f.id: FollowUpForm(prefix=f"f{f.id}", formdata=None) for f in follow_ups if f.id in can_record}
    if failed_form is not None and failed_form[0] in forms:
        forms[failed_form[0]] = failed_form[1]
    declined = db.session.scalars(policy.scoped(current_user, Referral).where(
        Referral.student_id == student.id, Referral.status == ReferralStatus.DECLINED).order_by(Referral.id.desc())).all()
    return {
        "follow_ups": follow_ups, "follow_up_forms": forms, "declined": declined,
        "break_glass": db.session.scalars(policy.scoped(current_user, BreakGlassAccess).where(
            BreakGlassAccess.student_id == student.id).order_by(BreakGlassAccess.opened_at.desc()).limit(20)).all(),
        "can_break_glass": policy.can(current_user, "break_glass", student),
        "today": clock.today(),
    }


@bp.get("/students/<int:student_id>")
def student_file(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    return render_student_file(student)


def render_student_file(student, failed_form=None, status=200):
    """The file page; a follow-up form that failed (follow-up id, form) comes back on it with its errors and input."""
    policy.require(current_user, "view_file", student)
    show_clinical = policy.can(current_user, "read_clinical_text", student)
    view = handover.file_for(current_user, student)
    earlier = sorted({e.school.name for e in student.enrollments if e.school_id != current_user.school_id
                      and e.start_date <= clock.today()}) if current_user.role == Role.TEACHER else []
    detail = {"school_id": current_user.school_id, "hospital_id": current_user.hospital_id,
              "entries": len(view.entries), "withheld": view.hidden_count}
    if show_clinical and current_user.role == Role.ADMIN:
        detail["break_glass"] = True
    audit.record(current_user, "file_viewed", "student", student.id, student.id, detail=detail)
    db.session.commit()
    return render_template(
        "files/student.html", student=student, enrollment=student.current_enrollment(),
        timeline=view.entries, file_view=view, summary=view.summary, earlier_schools=earlier,
        open_alerts=[e.obj for e in view.summary["open_alerts"]],
        decision=next((e.obj for e in view.entries if e.kind == "decision"), None),
        show_clinical=show_clinical,
        can_refer=policy.can(current_user, "refer_student", student),
        can_consent=policy.can(current_user, "record_consent", student),
        can_ack=current_user.role == Role.TEACHER, ack_form=EmptyForm(), now=clock.now(),
        can_report=current_user.role in (Role.TEACHER, Role.DOCTOR),
        **_care_context(student, failed_form),
    ), status


@bp.route("/students/<int:student_id>/break-glass", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
@policy.require_recent_auth()
def break_glass(student_id):
    """Emergency access to clinical text: a reason, an audit event, a time limit, and the school is shown."""
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "break_glass", student)
    form = BreakGlassForm()
    if not form.validate_on_submit():
        audit.record(current_user, "break_glass_form_viewed", "student", student.id, student.id)
        db.session.commit()
        return render_template("files/break_glass.html", student=student, form=form), 400 if form.is_submitted() else 200
    access = services.open_break_glass(current_user, student, form.reason.data)
    db.session.commit()
    flash(_("Emergency access open until %(time)s. It is recorded and shown to the school.",
            time=access.expires_at.astimezone(clock.LOCAL_TZ).strftime("%H:%M")), "info")
    return redirect(url_for("files.student_file", student_id=student.id))


SEARCH_LIMIT = 50


@bp.get("/students/find")
@policy.allow_roles(Role.TEACHER, Role.DOCTOR)
def find_student():
    """Find a student by name or student number (学籍号), among those the user may see: the query is scoped."""
    policy.require(current_user, "search_students")
    query = (request.args.get("q") or "").strip()[:80]
    students = []
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        students = db.session.scalars(policy.scoped(current_user, Student).where(or_(
            Student.name.ilike(pattern, escape="\\"), Student.student_number.ilike(pattern, escape="\\")))
            .order_by(Student.name, Student.id).limit(SEARCH_LIMIT + 1)).all()
        audit.record_list_view(current_user, "files.find_student", [s.id for s in students[:SEARCH_LIMIT]])
        db.session.commit()
    return render_template("files/find.html", query=query, students=students[:SEARCH_LIMIT],
                           more=len(students) > SEARCH_LIMIT, today=clock.today())
