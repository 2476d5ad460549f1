"""Staff account management: the district admin for every account, a school's psychology teacher for the homeroom
teachers of their own school (any other account answers 404). Create with a one-time password, edit role and scope,
disable and re-enable, reset a password or a lost second factor with a reason; the admin alone requires a second
factor or clears a lock."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts import lockout, management, services
from app.accounts.admin_forms import AccountForm, ReasonForm
from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.auth import policy
from app.core import clock
from app.extensions import db
from app.orgs.models import ClassGroup, Hospital, School

bp = Blueprint("account_admin", __name__, template_folder="templates", url_prefix="/admin/accounts")
policy.guard_blueprint(bp, roles={Role.ADMIN, Role.TEACHER})

ADMIN_ERRORS = {
    "admin_needs_second_factor": _l("Admin accounts always use a second factor."),
    "cannot_disable_self": _l("You cannot disable your own account."),
    "bad_username": _l("A username has 3 to 64 lower-case letters, digits, dots, hyphens or underscores."),
    "username_taken": _l("This username is taken."),
    "bad_email": _l("This is not an e-mail address."),
    "bad_display_name": _l("Give a name of at most 80 characters."),
    "bad_role": _l("Choose a role."),
    "school_required": _l("Psychology and homeroom teachers need a school."),
    "school_closed": _l("This school is closed: it gets no new classes, campaigns, rosters or accounts."),
    "class_required": _l("A homeroom teacher needs a class of their school, of this academic year or a later one."),
    "hospital_required": _l("Doctors need a hospital."),
    "cannot_change_own_role": _l("You cannot change your own role."),
    "reason_required": _l("Write the reason (5 to 300 characters)."),
    "not_your_own": _l("Change your own password on your account page."),
}


def _error(exc):
    flash(str(ADMIN_ERRORS.get(str(exc), exc)), "error")


def _is_admin():
    return current_user.role == Role.ADMIN


# --- the list --------------------------------------------------------------------------------------------

@bp.get("")
def account_list():
    return _list_page()


def _list_page(status=200):
    query = select(User).where(policy.account_scope(current_user))
    school_id, hospital_id = _arg_id("school"), _arg_id("hospital")
    if school_id:
        query = query.where(User.school_id == school_id)
    if hospital_id:
        query = query.where(User.hospital_id == hospital_id)
    users = db.session.scalars(query.order_by(User.active.desc(), User.role, User.username)).all()
    return render_template("accounts/admin_accounts.html", users=users, form=EmptyForm(), now=clock.now(),
                           slowed=lockout.slowed_down(users)), status


def _arg_id(name):
    """An id from the query string, or None (absent, not a number, or out of any column's range)."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < 2**31 else None


# --- create and edit ----------------------------------------------------------------------------------------

def _account_form(account=None):
    """The form with the choices the actor may give: a psychology teacher only chooses a class of their school."""
    form = AccountForm(obj=account) if account is not None and request.method == "GET" else AccountForm()
    if account is not None:
        del form.username
    if _is_admin():
        schools = db.session.scalars(select(School).order_by(School.name)).all()
        form.school_id.choices = [(0, "—")] + [(s.id, s.name) for s in schools if s.closed_on is None
                                               or (account is not None and s.id == account.school_id)]
        form.hospital_id.choices = [(0, "—")] + [(h.id, h.name) for h in
                                                 db.session.scalars(select(Hospital).order_by(Hospital.name))]
        classes = management.usable_classes()
    else:
        del form.role, form.school_id, form.hospital_id
        classes = management.usable_classes(current_user.school_id)
    classes = db.session.scalars(classes.order_by(ClassGroup.school_id, ClassGroup.grade, ClassGroup.name)).all()
    if account is not None and account.class_group is not None and account.class_group not in classes:
        classes.append(account.class_group)  # last year's class stays shown until changed
    groups = {}
    for c in classes:
        groups.setdefault(c.school.name, []).append((c.id, f"{c.academic_year} · {c.name}"))
    form.class_group_id.choices = {"—": [(0, "—")], **groups}
    if request.method == "GET":
        _fill_scope(form, account)
    return form


def _fill_scope(form, account):
    """GET: the account's role and scope, or for a new account the role, school and hospital of the link that led
    here (allowlisted)."""
    if account is not None:
        form.class_group_id.data = account.class_group_id or 0
    if not _is_admin():
        return
    if account is not None:
        form.role.data = account.role.value
        form.school_id.data, form.hospital_id.data = account.school_id or 0, account.hospital_id or 0
        return
    role = request.args.get("role")
    form.role.data = role if role in {r.value for r in Role} else Role.TEACHER.value
    form.school_id.data = _arg_id("school") or 0
    form.hospital_id.data = _arg_id("hospital") or 0


@bp.route("/new", methods=["GET", "POST"])
def new_account():
    policy.require(current_user, "create_account")
    form = _account_form()
    if request.method == "GET" or not form.validate_on_submit():
        return render_template("accounts/account_new.html", form=form), 400 if request.method == "POST" else 200
    try:
        user, password = management.create_account(form.data, by=current_user)
    except services.AccountError as exc:
        db.session.rollback()
        _error(exc)
        return render_template("accounts/account_new.html", form=form), 400
    db.session.commit()
    # The one-time password is the answer to this request alone: never stored, never shown again.
    return render_template("accounts/one_time_password.html", account=user, password=password, created=True)


def _load(user_id, action="manage_account"):
    account = policy.get_manageable_account_or_404(current_user, user_id)
    policy.require(current_user, action, account)
    return account


def _account_page(account, form=None, reason_form=None, status=200):
    return render_template("accounts/account.html", account=account, form=form or _account_form(account),
                           reason_form=reason_form or ReasonForm(formdata=None), action_form=EmptyForm(),
                           now=clock.now()), status


@bp.route("/<int:user_id>", methods=["GET", "POST"])
def account_page(user_id):
    account = _load(user_id)
    if request.method == "GET":
        return _account_page(account)
    form = _account_form(account)
    if not form.validate_on_submit():
        return _account_page(account, form=form, status=400)
    try:
        management.update_account(account, form.data, by=current_user)
    except services.AccountError as exc:
        db.session.rollback()
        _error(exc)
        return _account_page(account, form=form, status=400)
    db.session.commit()
    flash(_("Account %(username)s updated.", username=account.username), "success")
    return redirect(url_for("account_admin.account_page", user_id=account.id))


@bp.post("/<int:user_id>/reset-password")
def reset_password(user_id):
    account = _load(user_id)
    form = ReasonForm()
    try:
        if not form.validate_on_submit():
            raise services.AccountError("reason_required")
        password = management.reset_password(account, form.reason.data, by=current_user)
    except services.AccountError as exc:
        db.session.rollback()
        _error(exc)
        return _account_page(account, reason_form=form, status=400)
    db.session.commit()
    return render_template("accounts/one_time_password.html", account=account, password=password, created=False)


@bp.post("/<int:user_id>/reset-second-factor")
def reset_second_factor(user_id):
    account = _load(user_id, "manage_sign_in")
    form = ReasonForm()
    try:
        if not form.validate_on_submit():
            raise services.AccountError("reason_required")
        management.reset_second_factor(account, form.reason.data, by=current_user)
    except services.AccountError as exc:
        db.session.rollback()
        _error(exc)
        return _account_page(account, reason_form=form, status=400)
    db.session.commit()
    flash(_("Second factor of %(username)s reset: they set it up again at their next sign-in, and were told.",
            username=account.username), "success")
    return redirect(url_for("account_admin.account_page", user_id=account.id))


# --- one-click changes from the list ---------------------------------------------------------------------------

def _act(user_id, change, action="manage_account"):
    user = _load(user_id, action)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        change(user)
    except services.AccountError as exc:
        db.session.rollback()
        _error(exc)
        return _list_page(400)
    db.session.commit()
    flash(_("Account %(username)s updated.", username=user.username), "success")
    return redirect(request.referrer if _same_page(request.referrer) else url_for("account_admin.account_list"))


def _same_page(url):
    """Back to the list or the account page the button was on (never elsewhere)."""
    parts = urlsplit(url or "")
    return parts.netloc == request.host and parts.path.startswith(bp.url_prefix)


def _flag(name):
    value = request.form.get(name)
    if value not in ("0", "1"):
        abort(400)
    return value == "1"


@bp.post("/<int:user_id>/second-factor")
def require_second_factor(user_id):
    required = _flag("required")
    return _act(user_id, lambda user: services.set_second_factor_required(user, required, by=current_user),
                "manage_sign_in")


@bp.post("/<int:user_id>/active")
def set_active(user_id):
    active = _flag("active")
    return _act(user_id, lambda user: services.set_active(user, active, by=current_user))


@bp.post("/<int:user_id>/unlock")
def unlock(user_id):
    return _act(user_id, lambda user: services.reset_failed_logins(user, by=current_user), "manage_sign_in")
