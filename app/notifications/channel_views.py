"""A person's own channels (/account/channels), the admin's duty groups (/duty-groups) and the one-tap
acknowledgement link of a message (/ack/<token>, public: the signed token is the credential)."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.auth import policy
from app.extensions import db
from app.notifications import channel_settings as settings, channels, delivery
from app.notifications.forms import AddressForm, CodeForm, DutyGroupForm, LevelsForm, normalise_address
from app.notifications.models import DutyGroup
from app.orgs.models import Hospital, School
from app.risk import services as risk
from app.risk.models import Alert

bp = Blueprint("channels", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)

CHANNEL_LABELS = {"sms": _l("SMS"), "wecom_app": _l("WeCom"), "wecom_robot": _l("WeCom group robot"),
                  "dingtalk_robot": _l("DingTalk group robot"), "webhook": _l("Webhook"), "email": _l("E-mail")}
ERRORS = {
    "not_available": _l("This channel is not set up here."),
    "too_soon": _l("A code was sent less than a minute ago. Wait a moment, then ask again."),
    "no_code": _l("Ask for a code first."),
    "code_expired": _l("This code has expired or was tried too often. Ask for a new one."),
    "wrong_code": _l("That is not the code we sent."),
}


@bp.app_context_processor
def _channel_labels():
    return {"channel_label": lambda kind: CHANNEL_LABELS.get(kind, kind)}


def _kind_or_404(kind):
    if kind not in channels.personal_available(current_app.config):
        abort(404)
    return kind


@bp.get("/account/channels")
def my_channels():
    return _render_mine()


def _render_mine(status=200, **forms):
    kinds = channels.personal_available(current_app.config)
    mine = settings.my_channels(current_user)
    forms = {kind: forms.get(kind) or {"address": AddressForm(prefix=kind, kind=kind), "code": CodeForm(prefix=f"{kind}-c"),
                                       "levels": LevelsForm(prefix=f"{kind}-l",
                                                            data={lv: lv in (mine[kind].levels if kind in mine else [])
                                                                  for lv in settings.USER_LEVELS})}
             for kind in kinds}
    return render_template("notifications/channels.html", kinds=kinds, mine=mine, forms=forms, masked=settings.masked,
                           form=EmptyForm()), status


@bp.post("/account/channels/<kind>/address")
def set_address(kind):
    _kind_or_404(kind)
    form = AddressForm(prefix=kind, kind=kind)
    address = normalise_address(kind, form.address.data) if form.validate_on_submit() else None
    if address is None:
        form.address.errors = [_("Enter a mobile number (11 digits)") if kind == "sms" else _("Enter your WeCom user id")]
        return _render_mine(400, **{kind: {"address": form, "code": CodeForm(prefix=f"{kind}-c"),
                                           "levels": LevelsForm(prefix=f"{kind}-l")}})
    try:
        channel, code = settings.start_verification(current_user, kind, address)
    except settings.ChannelError as exc:
        flash(str(ERRORS[exc.code]), "error")
        return redirect(url_for("channels.my_channels"))
    db.session.commit()
    result = settings.send_code(channel, code)  # after the commit: never inside a transaction
    if result.ok:
        flash(_("We sent a code to %(address)s. Enter it below.", address=settings.masked(address)), "success")
    else:
        flash(_("The code could not be sent (%(answer)s). Check the address and try again in a minute.",
                answer=result.answer), "error")
    return redirect(url_for("channels.my_channels"))


@bp.post("/account/channels/<kind>/verify")
def verify(kind):
    _kind_or_404(kind)
    form = CodeForm(prefix=f"{kind}-c")
    if not form.validate_on_submit():
        flash(_("The code has 6 digits."), "error")
        return redirect(url_for("channels.my_channels"))
    try:
        settings.verify_code(current_user, kind, form.code.data)
    except settings.ChannelError as exc:
        db.session.commit()  # a wrong code counts as a try
        flash(str(ERRORS[exc.code]), "error")
        return redirect(url_for("channels.my_channels"))
    db.session.commit()
    flash(_("Verified: %(channel)s now reaches you.", channel=CHANNEL_LABELS[kind]), "success")
    return redirect(url_for("channels.my_channels"))


@bp.post("/account/channels/<kind>/levels")
def set_levels(kind):
    _kind_or_404(kind)
    form = LevelsForm(prefix=f"{kind}-l")
    if not form.validate_on_submit():
        abort(400)
    try:
        settings.set_levels(current_user, kind, [lv for lv in settings.USER_LEVELS if form[lv].data])
    except settings.ChannelError as exc:
        flash(str(ERRORS[exc.code]), "error")
        return redirect(url_for("channels.my_channels"))
    db.session.commit()
    flash(_("Saved."), "success")
    return redirect(url_for("channels.my_channels"))


@bp.post("/account/channels/<kind>/remove")
def remove(kind):
    _kind_or_404(kind)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        settings.remove_channel(current_user, kind)
    except settings.ChannelError:
        abort(404)
    db.session.commit()
    flash(_("Removed."), "success")
    return redirect(url_for("channels.my_channels"))


# --- duty groups (admin) -----------------------------------------------------------------------------------------

def _group_form():
    form = DutyGroupForm()
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    hospitals = db.session.scalars(select(Hospital).order_by(Hospital.name)).all()
    form.owner.choices = ([(f"school:{s.id}", s.name) for s in schools]
                          + [(f"hospital:{h.id}", h.name) for h in hospitals])
    return form


def _render_groups(form, status=200):
    groups = db.session.scalars(policy.scoped(current_user, DutyGroup).order_by(DutyGroup.id)).all()
    return render_template("notifications/duty_groups.html", groups=groups, form=form, action_form=EmptyForm(),
                           latest=settings.last_deliveries(g.id for g in groups), host_of=settings.host_of), status


@bp.get("/duty-groups")
@policy.allow_roles(Role.ADMIN)
def duty_groups():
    return _render_groups(_group_form())


@bp.post("/duty-groups")
@policy.allow_roles(Role.ADMIN)
def add_duty_group():
    policy.require(current_user, "manage_duty_groups")
    form = _group_form()
    if not form.validate_on_submit():
        return _render_groups(form, 400)
    owner, _sep, owner_id = form.owner.data.partition(":")
    settings.add_duty_group(form.data, school_id=int(owner_id) if owner == "school" else None,
                            hospital_id=int(owner_id) if owner == "hospital" else None, by=current_user)
    db.session.commit()
    flash(_("Duty group added. Send it a test message to check that it arrives."), "success")
    return redirect(url_for("channels.duty_groups"))


@bp.post("/duty-groups/<int:group_id>/active")
@policy.allow_roles(Role.ADMIN)
def toggle_duty_group(group_id):
    group = policy.get_visible_or_404(current_user, DutyGroup, group_id)
    policy.require(current_user, "manage_duty_groups")
    if not EmptyForm().validate_on_submit():
        abort(400)
    settings.set_duty_group_active(group, not group.active, by=current_user)
    db.session.commit()
    return redirect(url_for("channels.duty_groups"))


@bp.post("/duty-groups/<int:group_id>/test")
@policy.allow_roles(Role.ADMIN)
def test_duty_group(group_id):
    group = policy.get_visible_or_404(current_user, DutyGroup, group_id)
    policy.require(current_user, "manage_duty_groups")
    if not EmptyForm().validate_on_submit():
        abort(400)
    row = settings.queue_test(group, by=current_user)
    db.session.commit()
    sent, _failed = delivery.deliver_due(only=[row.id])  # after the commit, this one message only
    db.session.refresh(row)
    if sent:
        flash(_("The test message went out: %(answer)s", answer=row.last_answer), "success")
    else:
        flash(_("The test message failed: %(answer)s", answer=row.last_answer or ""), "error")
    return redirect(url_for("channels.duty_groups"))


# --- acknowledging from a message (no login: the signed, single-use, short-lived token is the credential) ---------

@bp.get("/ack/<token>")
@policy.public
def ack_link(token):
    found = delivery.delivery_for_ack(token)
    return render_template("notifications/ack.html", valid=found is not None, form=EmptyForm()), 200 if found else 404


@bp.post("/ack/<token>")
@policy.public
def use_ack_link(token):
    found = delivery.delivery_for_ack(token)
    if found is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not delivery.use_ack_link(found):
        abort(404)  # another tap got there first
    try:
        risk.acknowledge_alert(db.session.get(Alert, found.alert_id), by=found.user, via="message_link")
    except risk.AlertError:  # a colleague acknowledged it a moment ago: nothing left to do
        db.session.rollback()
        return redirect(url_for("channels.ack_done"))
    db.session.commit()
    return redirect(url_for("channels.ack_done"))


@bp.get("/ack/done")
@policy.public
def ack_done():
    return render_template("notifications/ack.html", done=True)
