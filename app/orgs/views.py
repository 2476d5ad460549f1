"""The district admin sets up schools, hospitals and cooperation agreements; the admin and a school's
psychology teacher create classes."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.orgs import services
from app.orgs.forms import AgreementForm, ClassForm, HospitalForm, ReasonForm, RenewForm, SchoolForm
from app.orgs.models import ClassGroup, Hospital, Partnership, School
from app.orgs.school_year import import_years
from app.students.models import Enrollment

bp = Blueprint("orgs", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.ADMIN, Role.TEACHER})

ORG_ERRORS = {
    "bad_name": _l("Give a name of at most 120 characters."),
    "bad_code": _l("The school code has 2 to 32 letters, digits or hyphens."),
    "bad_level": _l("Choose the level of the school."),
    "bad_district": _l("The district has at most 80 characters."),
    "school_name_taken": _l("Another school already has this name."),
    "school_code_taken": _l("Another school already has this code."),
    "hospital_name_taken": _l("Another hospital already has this name."),
    "already_closed": _l("This school is already closed."),
    "not_closed": _l("This school is open."),
    "reason_required": _l("Write the reason (at most 300 characters)."),
    "school_closed": _l("This school is closed: it gets no new classes, campaigns, rosters or accounts."),
    "expires_before_signed": _l("The expiry date must be after the signing date."),
    "already_expired": _l("This agreement would already have expired."),
    "overlaps": _l("An agreement between this school and this hospital already covers some of these dates: "
                   "renew that one instead."),
    "ended_cannot_renew": _l("This agreement was ended early; sign a new one instead."),
    "renewal_not_later": _l("The new expiry date must be later than the current one and than today."),
    "not_in_force": _l("This agreement is not in force."),
    "bad_year": _l("Choose this academic year or the next."),
    "bad_grade": _l("The grade is a number from 1 to 16."),
    "bad_class_name": _l("Give the class a name of at most 40 characters."),
    "class_exists": _l("This class already exists in that academic year."),
}
STATE_LABELS = {"upcoming": _l("Not yet in force"), "in_force": _l("In force"),
                "expiring": _l("Expires within 60 days"), "ended_early": _l("Ended early"), "expired": _l("Expired")}


def _error(exc):
    flash(str(ORG_ERRORS.get(exc.code, exc.code)), "error")


# --- schools -------------------------------------------------------------------------------------------

def _schools_page(form, status=200):
    schools = db.session.scalars(policy.scoped(current_user, School).order_by(School.closed_on.is_not(None), School.name)).all()
    enrolled = dict(db.session.execute(
        select(Enrollment.school_id, func.count(Enrollment.id)).where(
            Enrollment.start_date <= clock.today(),
            (Enrollment.end_date.is_(None)) | (Enrollment.end_date > clock.today())).group_by(Enrollment.school_id)).all())
    return render_template("orgs/schools.html", schools=schools, enrolled=enrolled, form=form), status


@bp.route("/admin/schools", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def schools():
    policy.require(current_user, "manage_orgs")
    form = SchoolForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _schools_page(form, 400 if request.method == "POST" else 200)
    try:
        school = services.create_school(form.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _schools_page(form, 400)
    db.session.commit()
    flash(_("School %(name)s created. Next: its agreement with a hospital, its classes and its staff.", name=school.name),
          "success")
    return redirect(url_for("orgs.school_page", school_id=school.id))


def _school_page(school, form=None, close_form=None, status=200):
    if form is None:
        form = SchoolForm(obj=school, formdata=None)
        form.level.data = school.level.value
    agreements = sorted(school.partnerships, key=lambda p: p.signed_on, reverse=True)
    return render_template("orgs/school.html", school=school, form=form, close_form=close_form or ReasonForm(prefix="close"),
                           reopen_form=EmptyForm(), agreements=agreements, state=services.agreement_state,
                           state_labels=STATE_LABELS), status


def _load_school(school_id):
    school = policy.get_visible_or_404(current_user, School, school_id)
    policy.require(current_user, "manage_orgs")
    return school


@bp.route("/admin/schools/<int:school_id>", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def school_page(school_id):
    school = _load_school(school_id)
    if request.method == "GET":
        return _school_page(school)
    form = SchoolForm()
    if not form.validate_on_submit():
        return _school_page(school, form=form, status=400)
    try:
        services.update_school(school, form.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _school_page(school, form=form, status=400)
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("orgs.school_page", school_id=school.id))


@bp.post("/admin/schools/<int:school_id>/close")
@policy.allow_roles(Role.ADMIN)
def close_school(school_id):
    school = _load_school(school_id)
    form = ReasonForm(prefix="close")
    if not form.validate_on_submit():
        return _school_page(school, close_form=form, status=400)
    try:
        services.close_school(school, form.reason.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _school_page(school, close_form=form, status=400)
    db.session.commit()
    flash(_("%(name)s is closed. Its students' files stay; it starts no new screening.", name=school.name), "info")
    return redirect(url_for("orgs.school_page", school_id=school.id))


@bp.post("/admin/schools/<int:school_id>/reopen")
@policy.allow_roles(Role.ADMIN)
def reopen_school(school_id):
    school = _load_school(school_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.reopen_school(school, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _school_page(school, status=400)
    db.session.commit()
    flash(_("%(name)s is open again.", name=school.name), "info")
    return redirect(url_for("orgs.school_page", school_id=school.id))


# --- hospitals -----------------------------------------------------------------------------------------

def _hospitals_page(form, status=200):
    hospitals = db.session.scalars(policy.scoped(current_user, Hospital).order_by(Hospital.name)).all()
    today = clock.today()
    partner_counts = {h.id: sum(1 for p in h.partnerships if p.is_active(today)) for h in hospitals}
    return render_template("orgs/hospitals.html", hospitals=hospitals, form=form, partner_counts=partner_counts), status


@bp.route("/admin/hospitals", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def hospitals():
    policy.require(current_user, "manage_orgs")
    form = HospitalForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _hospitals_page(form, 400 if request.method == "POST" else 200)
    try:
        hospital = services.create_hospital(form.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _hospitals_page(form, 400)
    db.session.commit()
    flash(_("Hospital %(name)s created. Next: its agreements with schools and its doctors' accounts.",
            name=hospital.name), "success")
    return redirect(url_for("orgs.hospitals"))


@bp.route("/admin/hospitals/<int:hospital_id>", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def hospital_page(hospital_id):
    hospital = policy.get_visible_or_404(current_user, Hospital, hospital_id)
    policy.require(current_user, "manage_orgs")
    form = HospitalForm(obj=hospital) if request.method == "GET" else HospitalForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                services.update_hospital(hospital, form.data, by=current_user)
            except services.OrgError as exc:
                db.session.rollback()
                _error(exc)
            else:
                db.session.commit()
                flash(_("Saved."), "success")
                return redirect(url_for("orgs.hospital_page", hospital_id=hospital.id))
    agreements = sorted(hospital.partnerships, key=lambda p: p.signed_on, reverse=True)
    return render_template("orgs/hospital.html", hospital=hospital, form=form, agreements=agreements,
                           state=services.agreement_state, state_labels=STATE_LABELS), status


# --- cooperation agreements --------------------------------------------------------------------------------

def _agreement_form():
    form = AgreementForm()
    form.school_id.choices = [(s.id, s.name) for s in db.session.scalars(
        select(School).where(School.closed_on.is_(None)).order_by(School.name))]
    form.hospital_id.choices = [(h.id, h.name) for h in db.session.scalars(select(Hospital).order_by(Hospital.name))]
    return form


def _agreements_page(form=None, status=200):
    agreements = db.session.scalars(policy.scoped(current_user, Partnership).order_by(Partnership.expires_on)).all()
    today = clock.today()
    states = {a.id: services.agreement_state(a, today) for a in agreements}
    order = {"expiring": 0, "in_force": 1, "upcoming": 2, "ended_early": 3, "expired": 4}
    agreements.sort(key=lambda a: (order[states[a.id]], a.last_day))
    expiring = [a for a in agreements if states[a.id] == "expiring"]
    return render_template("orgs/agreements.html", agreements=agreements, states=states, state_labels=STATE_LABELS,
                           expiring=expiring, form=form if form is not None else _agreement_form(), renew_form=RenewForm(prefix="renew", formdata=None),
                           end_form=ReasonForm(prefix="end", formdata=None),
                           warning_days=services.EXPIRY_WARNING_DAYS), status


@bp.route("/admin/agreements", methods=["GET", "POST"])
@policy.allow_roles(Role.ADMIN)
def agreements():
    policy.require(current_user, "manage_orgs")
    form = _agreement_form()
    if request.method == "GET" or not form.validate_on_submit():
        return _agreements_page(form, 400 if request.method == "POST" else 200)
    try:
        services.create_agreement(db.session.get(School, form.school_id.data), db.session.get(Hospital, form.hospital_id.data),
                                  form.signed_on.data, form.expires_on.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _agreements_page(form, 400)
    db.session.commit()
    flash(_("Agreement recorded."), "success")
    return redirect(url_for("orgs.agreements"))


def _load_agreement(agreement_id):
    agreement = policy.get_visible_or_404(current_user, Partnership, agreement_id)
    policy.require(current_user, "manage_orgs")
    return agreement


@bp.post("/admin/agreements/<int:agreement_id>/renew")
@policy.allow_roles(Role.ADMIN)
def renew_agreement(agreement_id):
    agreement = _load_agreement(agreement_id)
    form = RenewForm(prefix="renew")
    try:
        if not form.validate_on_submit():
            raise services.OrgError("renewal_not_later")
        services.renew_agreement(agreement, form.expires_on.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _agreements_page(status=400)
    db.session.commit()
    flash(_("Agreement renewed until %(date)s.", date=agreement.expires_on.isoformat()), "success")
    return redirect(url_for("orgs.agreements"))


@bp.post("/admin/agreements/<int:agreement_id>/end")
@policy.allow_roles(Role.ADMIN)
def end_agreement(agreement_id):
    agreement = _load_agreement(agreement_id)
    form = ReasonForm(prefix="end")
    try:
        if not form.validate_on_submit():
            raise services.OrgError("reason_required")
        services.end_agreement(agreement, form.reason.data, by=current_user)
    except services.OrgError as exc:
        db.session.rollback()
        _error(exc)
        return _agreements_page(status=400)
    db.session.commit()
    flash(_("The agreement ends today: from tomorrow %(school)s can no longer refer students to %(hospital)s. "
            "Both are told.", school=agreement.school.name, hospital=agreement.hospital.name), "info")
    return redirect(url_for("orgs.agreements"))


# --- classes (the admin for any school, a psychology teacher for their own) --------------------------------

def _class_form():
    form = ClassForm()
    this_year, next_year = import_years(clock.today())
    form.academic_year.choices = [(this_year, _("%(year)s (this year)", year=this_year)),
                                  (next_year, _("%(year)s (next year)", year=next_year))]
    if not form.is_submitted():
        form.academic_year.data = this_year
    return form


@bp.route("/schools/<int:school_id>/classes", methods=["GET", "POST"])
def school_classes(school_id):
    school = policy.get_visible_or_404(current_user, School, school_id)
    policy.require(current_user, "create_class", school)
    form = _class_form()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                created = services.create_class(school, form.academic_year.data, form.grade.data, form.name.data,
                                                by=current_user)
            except services.OrgError as exc:
                db.session.rollback()
                _error(exc)
            else:
                db.session.commit()
                flash(_("Class %(name)s created for %(year)s.", name=created.name, year=created.academic_year), "success")
                return redirect(url_for("orgs.school_classes", school_id=school.id))
    classes = db.session.scalars(select(ClassGroup).where(ClassGroup.school_id == school.id).order_by(
        ClassGroup.academic_year.desc(), ClassGroup.grade, ClassGroup.name)).all()
    return render_template("orgs/classes.html", school=school, classes=classes, form=form), status


# --- both sides of an agreement are told when it ends (the school's pages, the hospital's doctors' pages) ----

@bp.app_template_global()
def agreement_notices():
    """The current user's school's (teacher) or hospital's (doctor) agreements that end soon or have just ended."""
    if not current_user.is_authenticated:
        return []
    if current_user.role == Role.TEACHER and current_user.school_id:
        return services.agreement_notices(school_id=current_user.school_id)
    if current_user.role == Role.DOCTOR and current_user.hospital_id:
        return services.agreement_notices(hospital_id=current_user.hospital_id)
    return []
