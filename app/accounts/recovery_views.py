"""A forgotten password: ask for a link by e-mail (when mail is on), follow it, choose a new password."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.accounts import recovery, services
from app.accounts.views import PASSWORD_ERRORS
from app.auth import policy
from app.extensions import db, limiter

bp = Blueprint("recovery", __name__, template_folder="templates", url_prefix="/password")
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)  # every route below is @public and checks for itself
_SESSION_KEY = "password_reset_token"


class ForgotForm(FlaskForm):
    email = StringField(_l("E-mail address of your account"), validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))])


def _address_key():
    """Per e-mail address, from every client address: one person's mailbox is not flooded."""
    return "password-reset:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/forgot", methods=["GET", "POST"])
@policy.public
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_ADDRESS_RATE_LIMIT"], methods=["POST"], key_func=_address_key)
def forgot():
    if not recovery.mail_on():
        if request.method == "POST":
            abort(404)
        return render_template("accounts/forgot.html", form=None)
    form = ForgotForm()
    if not form.validate_on_submit():
        return render_template("accounts/forgot.html", form=form), 400 if request.method == "POST" else 200
    recovery.request_reset(form.email.data)
    db.session.commit()
    # The same answer whether or not an account has this address.
    flash(_("If an account has this address, a link to choose a new password is on its way. It works once, for "
            "%(minutes)s minutes.", minutes=current_app.config["PASSWORD_RESET_MINUTES"]), "info")
    return redirect(url_for("accounts.login"))


@bp.get("/reset/<token>")
@policy.public
def follow_link(token):
    """The link from the mail: its token moves into the session, so that it leaves the address bar and history."""
    if recovery.user_for_token(token) is None:
        return render_template("accounts/reset_invalid.html"), 400
    session[_SESSION_KEY] = token
    return redirect(url_for("recovery.new_password"))


@bp.route("/new", methods=["GET", "POST"])
@policy.public
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def new_password():
    user = recovery.user_for_token(session.get(_SESSION_KEY))
    if user is None:
        session.pop(_SESSION_KEY, None)
        return render_template("accounts/reset_invalid.html"), 400
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return render_template("accounts/reset_password.html", form=form, user=user), \
            400 if request.method == "POST" else 200
    try:
        recovery.complete_reset(user, form.new_password.data)
    except services.AccountError as exc:
        db.session.rollback()
        flash(PASSWORD_ERRORS[str(exc)], "error")
        return render_template("accounts/reset_password.html", form=form, user=user), 400
    db.session.commit()
    session.pop(_SESSION_KEY, None)
    flash(_("Your new password is set. Sign in with it."), "success")
    return redirect(url_for("accounts.login"))
