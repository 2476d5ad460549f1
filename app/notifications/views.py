"""The inbox of every staff user (with the unread count in the header) and the doctors' duty roster."""
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.audit import services as audit
from app.auth import policy
from app.extensions import db
from app.notifications import services
from app.notifications.models import Notification
from app.orgs.models import Hospital

bp = Blueprint("notifications", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles=policy.STAFF_ROLES)


@bp.app_context_processor
def _inbox_badge():
    """One cheap COUNT per page for the header badge."""
    try:
        unread = services.unread_count(current_user) if current_user.is_authenticated else 0
    except SQLAlchemyError:  # an error page while the database is down must still render
        unread = 0
    return {"inbox_unread": unread, "kind_label": services.kind_label}


@bp.get("/inbox")
def inbox():
    items = db.session.scalars(policy.scoped(current_user, Notification)
                               .order_by(Notification.read_at.is_not(None), Notification.id.desc()).limit(200)).all()
    return render_template("notifications/inbox.html", items=items, form=EmptyForm())


@bp.post("/inbox/<int:notification_id>/open")
def open_notification(notification_id):
    item = policy.get_visible_or_404(current_user, Notification, notification_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.mark_read(item)
    db.session.commit()
    parts = urlsplit(item.link)
    if parts.scheme or parts.netloc or not item.link.startswith("/"):  # only ever a path inside the app
        return redirect(url_for("notifications.inbox"))
    return redirect(item.link)


@bp.post("/inbox/read-all")
def read_all():
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.mark_all_read(current_user)
    db.session.commit()
    return redirect(url_for("notifications.inbox"))


@bp.get("/duty")
@policy.allow_roles(Role.ADMIN)
def duty_roster():
    doctors = db.session.scalars(select(User).where(User.role == Role.DOCTOR, User.active.is_(True))
                                 .order_by(User.hospital_id, User.display_name)).all()
    hospitals = {h.id: h.name for h in db.session.scalars(select(Hospital))}
    return render_template("notifications/duty.html", doctors=doctors, hospitals=hospitals, form=EmptyForm())


@bp.post("/duty/<int:user_id>")
@policy.allow_roles(Role.ADMIN)
def toggle_duty(user_id):
    policy.require(current_user, "set_duty")
    doctor = db.session.scalar(select(User).where(User.id == user_id, User.role == Role.DOCTOR))
    if doctor is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    doctor.on_duty = not doctor.on_duty
    audit.record(current_user, "duty_changed", "user", doctor.id, detail={"on_duty": doctor.on_duty})
    db.session.commit()
    if doctor.on_duty:
        flash(_("%(name)s is now on duty.", name=doctor.display_name), "success")
    else:
        flash(_("%(name)s is now off duty.", name=doctor.display_name), "success")
    return redirect(url_for("notifications.duty_roster"))
