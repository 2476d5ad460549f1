"""Staff accounts imported from a CSV or XLSX list: upload, preview with each row's problem, apply in one
transaction (the admin: any school's teachers and any hospital's doctors; a psychology teacher: homeroom teachers
of their own school)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts import staff_import
from app.accounts.admin_forms import StaffUploadForm
from app.accounts.forms import EmptyForm
from app.accounts.models import Role, StaffImport
from app.auth import policy
from app.extensions import db

bp = Blueprint("staff_imports", __name__, template_folder="templates", url_prefix="/admin/accounts/import")
policy.guard_blueprint(bp, roles={Role.ADMIN, Role.TEACHER})

FILE_ERRORS = {
    "too_large": _l("The file is larger than %(limit)s MB."),
    "malformed": _l("The file could not be read. Save it as CSV (UTF-8) or XLSX and try again."),
    "empty": _l("The file has no rows."),
    "missing_columns": _l("The header row lacks these columns: %(columns)s."),
    "too_many_rows": _l("The file has more than %(limit)s rows. Split it into smaller files."),
    "has_errors": _l("%(count)s rows have errors. Nothing was imported; correct the file and upload it again."),
    "already_applied": _l("This import was already applied."),
}
ROW_ERRORS = {
    "bad_username": _l("Username: 3 to 64 lower-case letters, digits, dots, hyphens or underscores"),
    "username_taken": _l("This username is taken"),
    "duplicate_in_file": _l("Same username as row"),
    "bad_display_name": _l("Name missing or longer than 80 characters"),
    "bad_role": _l("Role must be 心理教师, 班主任 or 医生 (teacher, homeroom, doctor)"),
    "homeroom_only": _l("You can import homeroom teachers (班主任) only"),
    "bad_email": _l("Not an e-mail address"),
    "unknown_school": _l("Unknown school (give its name or code)"),
    "not_your_school": _l("Not your school"),
    "school_closed": _l("This school is closed"),
    "unknown_class": _l("No such class this academic year at that school (create it first)"),
    "unknown_hospital": _l("Unknown hospital"),
}


def _file_error(exc):
    params = dict(exc.params)
    if exc.code == "too_large":
        params["limit"] = current_app.config["ROSTER_MAX_BYTES"] // (1024 * 1024)
    flash(str(FILE_ERRORS.get(exc.code, FILE_ERRORS["malformed"])) % params, "error")


def _home(form, status=200):
    imports = db.session.scalars(policy.scoped(current_user, StaffImport).order_by(StaffImport.id.desc()).limit(10)).all()
    return render_template("accounts/staff_import.html", form=form, imports=imports), status


@bp.get("")
def import_home():
    policy.require(current_user, "import_staff")
    return _home(StaffUploadForm())


@bp.post("")
def upload():
    policy.require(current_user, "import_staff")
    form = StaffUploadForm()
    if not form.validate_on_submit():
        return _home(form, 400)
    limit = current_app.config["ROSTER_MAX_BYTES"]
    data = form.file.data.read(limit + 1)
    try:
        if len(data) > limit:
            raise staff_import.StaffImportError("too_large")
        only = current_user.school_id if current_user.role == Role.TEACHER else None
        stored = staff_import.store_upload(data, form.file.data.filename or "", by=current_user, only_school_id=only)
    except staff_import.StaffImportError as exc:
        db.session.rollback()
        _file_error(exc)
        return _home(form, 400)
    db.session.commit()
    return redirect(url_for("staff_imports.preview", staff_import_id=stored.id))


@bp.get("/<int:staff_import_id>")
def preview(staff_import_id):
    stored = policy.get_visible_or_404(current_user, StaffImport, staff_import_id)
    plan = staff_import.plan_import(stored.rows, by=current_user, only_school_id=stored.school_id) if stored.rows else None
    return render_template("accounts/staff_preview.html", upload=stored, plan=plan, row_errors=ROW_ERRORS,
                           form=EmptyForm())


@bp.post("/<int:staff_import_id>/apply")
def apply(staff_import_id):
    stored = policy.get_visible_or_404(current_user, StaffImport, staff_import_id)
    policy.require(current_user, "apply_staff_import", stored)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        created = staff_import.apply_import(stored, by=current_user)
    except staff_import.StaffImportError as exc:
        db.session.rollback()
        _file_error(exc)
        return redirect(url_for("staff_imports.preview", staff_import_id=stored.id))
    db.session.commit()
    # The one-time passwords are the answer to this request alone: never stored, never shown again.
    return render_template("accounts/staff_imported.html", upload=stored, created=created)
