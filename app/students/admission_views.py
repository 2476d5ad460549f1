"""The district admin's admission requests: schools' roster rows for students who are not theirs, approved or
refused here (app/students/admissions.py). Only the admin moves a student into a school."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.extensions import db
from app.students import admissions, yearend
from app.students.forms import RefuseAdmissionForm
from app.students.models import AdmissionRequest, RosterImport

bp = Blueprint("admissions", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.ADMIN})

ADMISSION_PROBLEMS = {
    "decided": _l("This request was already decided."),
    "year_ended": _l("The request is for an academic year that has ended: refuse it; the school imports the roster "
                     "again for this year."),
    "birth_date_differs": _l("The birth date in the school's row differs from the record: refuse it and ask the "
                             "school to check its file."),
    "starts_today": _l("The student's current enrolment started today; approve from tomorrow."),
}


@bp.get("/admin/admissions")
def pending():
    batches = admissions.pending_by_import()
    audit.record_list_view(current_user, "admissions.pending",
                           [m.student.id for _batch, matches, _n in batches for m in matches if m.student is not None])
    db.session.commit()
    return render_template("students/admissions.html", batches=batches, decided=admissions.recently_decided(),
                           form=EmptyForm(), refuse_form=RefuseAdmissionForm(formdata=None), problems=ADMISSION_PROBLEMS)


def _decide(action):
    """Run one decision; a refusal of the service rolls back and says why. Returns True when done."""
    try:
        action()
    except (admissions.AdmissionError, yearend.YearEndError) as exc:
        db.session.rollback()
        flash(str(ADMISSION_PROBLEMS.get(exc.code, ADMISSION_PROBLEMS["decided"])), "error")
        return False
    db.session.commit()
    return True


@bp.post("/admin/admissions/<int:admission_id>/approve")
def approve(admission_id):
    request_ = policy.get_visible_or_404(current_user, AdmissionRequest, admission_id)
    policy.require(current_user, "decide_admission", request_)
    if not EmptyForm().validate_on_submit():
        abort(400)
    number = request_.student_number
    if _decide(lambda: admissions.approve_admission(request_, by=current_user)):
        flash(_("Admitted %(number)s.", number=number), "success")
    return redirect(url_for("admissions.pending"))


@bp.post("/admin/admissions/<int:admission_id>/refuse")
def refuse(admission_id):
    request_ = policy.get_visible_or_404(current_user, AdmissionRequest, admission_id)
    policy.require(current_user, "decide_admission", request_)
    form = RefuseAdmissionForm()
    if not form.validate_on_submit():
        abort(400)
    number = request_.student_number
    if _decide(lambda: admissions.refuse_admission(request_, by=current_user, note=form.note.data)):
        flash(_("Refused %(number)s; the school sees your note.", number=number), "info")
    return redirect(url_for("admissions.pending"))


@bp.post("/admin/rosters/<int:import_id>/admissions/approve")
def approve_import(import_id):
    upload = policy.get_visible_or_404(current_user, RosterImport, import_id)
    policy.require(current_user, "decide_admission", upload)
    if not EmptyForm().validate_on_submit():
        abort(400)
    approved, left = admissions.approve_import(upload, by=current_user)
    db.session.commit()
    flash(_("%(approved)s admitted; %(left)s still waiting for a decision one by one.", approved=approved, left=left),
          "success")
    return redirect(url_for("admissions.pending"))


@bp.post("/admin/rosters/<int:import_id>/admissions/refuse")
def refuse_import(import_id):
    upload = policy.get_visible_or_404(current_user, RosterImport, import_id)
    policy.require(current_user, "decide_admission", upload)
    form = RefuseAdmissionForm()
    if not form.validate_on_submit():
        abort(400)
    refused = admissions.refuse_import(upload, by=current_user, note=form.note.data)
    db.session.commit()
    flash(_("%(n)s requests refused; the school sees your note.", n=refused), "info")
    return redirect(url_for("admissions.pending"))
