"""The district admin's account management: second factor required, disable/enable, unlock, reset."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

from app.accounts import lockout, services
from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.auth import policy
from app.core import clock
from app.extensions import db

bp = Blueprint("account_admin", __name__, template_folder="templates", url_prefix="/admin/accounts")
policy.guard_blueprint(bp, roles={Role.ADMIN})

ADMIN_ERRORS = {
    "admin_needs_second_factor": _l("Admin accounts always use a second factor."),
    "cannot_disable_self": _l("You cannot disable your own account."),
}


@bp.get("")
def account_list():
    return _list_page()


def _list_page():
    users = db.session.scalars(policy.scoped(current_user, User).order_by(User.role, User.username)).all()
    return render_template("accounts/admin_accounts.html", users=users, form=EmptyForm(), now=clock.now(),
                           slowed=lockout.slowed_down(users))


def _act(user_id, change):
    user = policy.get_visible_or_404(current_user, User, user_id)
    policy.require(current_user, "manage_account", user)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        change(user)
    except services.AccountError as exc:
        db.session.rollback()
        flash(ADMIN_ERRORS[str(exc)], "error")
        return _list_page(), 400
    db.session.commit()
    flash(_("Account %(username)s updated.", username=user.username), "success")
    return redirect(url_for("account_admin.account_list"))


def _flag(name):
    value = request.form.get(name)
    if value not in ("0", "1"):
        abort(400)
    return value == "1"


@bp.post("/<int:user_id>/second-factor")
def require_second_factor(user_id):
    required = _flag("required")
    return _act(user_id, lambda user: services.set_second_factor_required(user, required, by=current_user))


@bp.post("/<int:user_id>/active")
def set_active(user_id):
    active = _flag("active")
    return _act(user_id, lambda user: services.set_active(user, active, by=current_user))


@bp.post("/<int:user_id>/unlock")
def unlock(user_id):
    return _act(user_id, lambda user: services.reset_failed_logins(user, by=current_user))


@bp.post("/<int:user_id>/reset-second-factor")
def reset_second_factor(user_id):
    return _act(user_id, lambda user: services.reset_second_factor(user, by=current_user))
