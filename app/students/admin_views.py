"""Rosters, year-end moves, transfers, guardian consent and the file's access log (admin and psychology teachers)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.audit import services as audit
from app.audit.models import AuditEvent
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, School
from app.orgs.school_year import academic_year
from app.students import consent as consents
from app.students import admissions, roster, yearend
from app.students.forms import ConsentForm, RosterUploadForm, StudentLookupForm, TransferForm
from app.students.models import ConsentKind, RosterImport, Student

bp = Blueprint("rosters", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.ADMIN, Role.TEACHER})

ROSTER_ERRORS = {
    "too_large": _l("The file is larger than %(limit)s MB. Split the roster into smaller files."),
    "malformed": _l("The file could not be read. Save it as CSV (UTF-8) or XLSX and try again."),
    "empty": _l("The file has no rows."),
    "missing_columns": _l("The header row lacks these columns: %(columns)s."),
    "too_many_rows": _l("The file has more than %(limit)s rows. Split it into smaller files."),
    "unpacks_too_large": _l("The file unpacks to more than %(limit)s MB, more than any roster needs. Nothing was "
                            "imported. Save the roster again as XLSX or CSV and upload that file."),
    "has_errors": _l("%(count)s rows have errors. Nothing was imported; correct the file and upload it again."),
    "already_applied": _l("This import was already applied."),
    "year_ended": _l("This roster was uploaded for the academic year %(year)s, which has ended. Nothing was "
                     "imported; upload it again for this academic year."),
}
ROW_ERRORS = {
    "bad_number": _l("Student number missing or malformed"),
    "bad_name": _l("Name missing or too long"),
    "unknown_school": _l("Unknown school"),
    "not_your_school": _l("Not your school"),
    "school_closed": _l("This school is closed"),
    "bad_class": _l("Class missing or too long"),
    "bad_grade": _l("Grade must be a number from 1 to 16"),
    "bad_sex": _l("Sex must be 男/女 or M/F"),
    "bad_birth_date": _l("Impossible birth date"),
    "bad_phone": _l("Guardian phone is not a phone number"),
    "duplicate_in_file": _l("Same student number as row"),
    "birth_date_conflict": _l("The birth date differs from the one recorded for this student: check the file"),
}
YEAR_END_ERRORS = {
    "nothing_to_promote": _l("No class of this academic year has current students: nothing to promote."),
    "already_there": _l("The student is already enrolled in this class."),
    "starts_today": _l("The student's current enrolment started today; transfer from tomorrow."),
}


def _roster_error(exc):
    params = dict(exc.params)
    if exc.code == "too_large":
        params["limit"] = current_app.config["ROSTER_MAX_BYTES"] // (1024 * 1024)
    return str(ROSTER_ERRORS.get(exc.code, ROSTER_ERRORS["malformed"])) % params


def _render_home(form, lookup, status=200):
    imports = db.session.scalars(policy.scoped(current_user, RosterImport).order_by(RosterImport.id.desc()).limit(10)).all()
    schools = db.session.scalars(policy.scoped(current_user, School).order_by(School.name)).all()
    return render_template("students/rosters.html", form=form, imports=imports, schools=schools, lookup=lookup,
                           waiting=admissions.waiting_counts([i.id for i in imports]),
                           admissions_waiting=admissions.pending_count() if current_user.role == Role.ADMIN else 0), status


@bp.get("/rosters")
def roster_home():
    return _render_home(RosterUploadForm(), StudentLookupForm(request.args))


@bp.post("/rosters")
def upload_roster():
    policy.require(current_user, "import_roster")
    form = RosterUploadForm()
    limit = current_app.config["ROSTER_MAX_BYTES"]
    if form.validate_on_submit():
        data = form.file.data.read(limit + 1)
        try:
            if len(data) > limit:
                raise roster.RosterError("too_large")
            only = current_user.school_id if current_user.role == Role.TEACHER else None
            upload = roster.store_upload(data, form.file.data.filename or "", by=current_user, only_school_id=only,
                                         year=form.academic_year.data)
        except roster.RosterError as exc:
            db.session.rollback()
            flash(_roster_error(exc), "error")
        else:
            db.session.commit()
            return redirect(url_for("rosters.roster_preview", import_id=upload.id))
    return _render_home(form, StudentLookupForm(formdata=None), 400)


@bp.get("/rosters/<int:import_id>")
def roster_preview(import_id):
    upload = policy.get_visible_or_404(current_user, RosterImport, import_id)
    plan = roster.preview_import(upload, by=current_user)  # audited with the numbers it looked up
    requests = admissions.requests_of(upload, by=current_user) if plan is None else []
    db.session.commit()
    return render_template("students/roster_preview.html", upload=upload, plan=plan, row_errors=ROW_ERRORS,
                           requests=requests, form=EmptyForm(), limit=100)


@bp.post("/rosters/<int:import_id>/apply")
def apply_roster(import_id):
    upload = policy.get_visible_or_404(current_user, RosterImport, import_id)
    policy.require(current_user, "apply_roster", upload)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        plan = roster.apply_import(upload, by=current_user)
    except roster.RosterError as exc:
        db.session.rollback()
        flash(_roster_error(exc), "error")
        return redirect(url_for("rosters.roster_preview", import_id=upload.id))
    db.session.commit()
    counts = plan.counts()
    if counts["new"] or counts["elsewhere"] or current_user.role == Role.ADMIN:
        flash(_("Roster applied: %(new)s new, %(updated)s updated, %(elsewhere)s moved from another school, "
                "%(unchanged)s unchanged.", **counts), "info")
    else:  # a school's import writes only its own students
        flash(_("Roster applied: %(updated)s updated, %(unchanged)s unchanged.", **counts), "info")
    if counts["requests"]:
        flash(_("%(requests)s rows wait for the district admin to admit them.", **counts), "info")
    return redirect(url_for("rosters.roster_preview", import_id=upload.id))


@bp.route("/schools/<int:school_id>/year-end", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def year_end(school_id):
    school = policy.get_visible_or_404(current_user, School, school_id)
    policy.require(current_user, "run_year_end", school)
    form = EmptyForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = yearend.run_year_end(school, by=current_user)
        except yearend.YearEndError as exc:
            db.session.rollback()
            flash(str(YEAR_END_ERRORS[exc.code]), "error")
        else:
            db.session.commit()
            flash(_("Year-end done: %(promoted)s students promoted, %(graduated)s graduated.", **result), "info")
            return redirect(url_for("rosters.year_end", school_id=school.id))
    return render_template("students/year_end.html", school=school, steps=yearend.plan_year_end(school), form=form)


@bp.get("/admin/students")
@policy.allow_roles(Role.ADMIN)
def find_student():
    lookup = StudentLookupForm(request.args)
    number = (lookup.number.data or "").strip().upper()
    student = db.session.scalar(select(Student).where(Student.student_number == number)) if number else None
    if student is not None:
        return redirect(url_for("rosters.admin_student", student_id=student.id))
    flash(_("No student with this number."), "error")
    return redirect(url_for("rosters.roster_home"))


def _transfer_form(student):
    """The receiving classes: another school's, of this academic year or a later one (a past year's class is
    never where a student moves to; the choices are also what the form accepts)."""
    form = TransferForm()
    current = student.current_enrollment()
    this_year = academic_year(clock.today())  # "2026-2027": compares in order as text
    classes = db.session.execute(select(ClassGroup, School).join(School, School.id == ClassGroup.school_id)
                                 .where(ClassGroup.academic_year >= this_year)
                                 .order_by(School.name, ClassGroup.academic_year.desc(), ClassGroup.grade, ClassGroup.name)).all()
    form.class_group_id.choices = [(c.id, f"{s.name} · {c.academic_year} · {c.name}") for c, s in classes
                                   if not current or c.school_id != current.school_id]
    return form


@bp.get("/admin/students/<int:student_id>")
@policy.allow_roles(Role.ADMIN)
def admin_student(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    audit.record(current_user, "student_record_viewed", "student", student.id, student.id)
    db.session.commit()
    return render_template("students/admin_student.html", student=student, form=_transfer_form(student),
                           consents=consents.current_consents(student.id), kinds=list(ConsentKind))


@bp.post("/admin/students/<int:student_id>/transfer")
@policy.allow_roles(Role.ADMIN)
def transfer(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "transfer_student", student)
    form = _transfer_form(student)
    if form.validate_on_submit():
        to_class = db.session.get(ClassGroup, form.class_group_id.data)
        try:
            yearend.transfer_student(student, to_class, by=current_user)
        except yearend.YearEndError as exc:
            db.session.rollback()
            flash(str(YEAR_END_ERRORS[exc.code]), "error")
        else:
            db.session.commit()
            flash(_("Transferred to %(school)s.", school=to_class.school.name), "info")
    else:
        flash(_("Choose the receiving school and class."), "error")
    return redirect(url_for("rosters.admin_student", student_id=student.id))


@bp.get("/admin/students/<int:student_id>/access-log")
@policy.allow_roles(Role.ADMIN)
def access_log(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "view_access_log", student)
    events = db.session.execute(
        select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.student_id == student.id).order_by(AuditEvent.id.desc())).all()
    audit.record(current_user, "access_log_viewed", "student", student.id, student.id)
    db.session.commit()
    schools = {s.id: s.name for s in db.session.scalars(select(School))}
    return render_template("students/access_log.html", student=student, events=events, schools=schools)


@bp.route("/students/<int:student_id>/consent", methods=["GET", "POST"])
def consent_page(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "record_consent", student)
    form = ConsentForm()
    if request.method == "GET":
        form.kind.data = request.args.get("kind") or "screening"
    if request.method == "POST" and form.validate_on_submit():
        consents.record_consent(student, ConsentKind(form.kind.data), form.granted.data == "yes", form.note.data,
                                by=current_user)
        db.session.commit()
        flash(_("Consent recorded."), "info")
        return redirect(url_for("rosters.consent_page", student_id=student.id))
    audit.record(current_user, "consent_viewed", "student", student.id, student.id)
    db.session.commit()
    return render_template("students/consent.html", student=student, form=form,
                           current=consents.current_consents(student.id), history=consents.consent_history(student.id)), \
        400 if request.method == "POST" else 200
