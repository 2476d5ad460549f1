"""The risk list: open alerts, critical first; an alert's page (timeline, acknowledge, resolve); concerns."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.core.args import id_arg
from app.extensions import db
from app.monitoring import services as monitoring
from app.risk import services
from app.risk.forms import ConcernForm, ResolveForm
from app.risk.models import Alert, AlertStatus
from app.students.models import Student

bp = Blueprint("risk", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.DOCTOR, Role.ADMIN})

# Concerns have their own gate: homeroom teachers raise them too, but never see alerts.
concerns_bp = Blueprint("concerns", __name__, template_folder="templates")
policy.guard_blueprint(concerns_bp, roles={Role.TEACHER, Role.HOMEROOM})


@bp.app_context_processor
def _risk_labels():
    return {"alert_outcome_label": lambda k: services.OUTCOMES.get(k, k) if k else "",
            "concern_categories": services.CONCERN_CATEGORIES}

STATUS_FILTERS = {"active": (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED), "resolved": (AlertStatus.RESOLVED,)}


@bp.get("/alerts")
def alert_list():
    escalated = services.escalate_overdue_alerts()  # escalation runs on every look at the list, not only from cron
    if monitoring.record_sweep("page") or escalated:
        db.session.commit()
    status = request.args.get("status", "active")
    if status not in STATUS_FILTERS:
        status = "active"
    alerts = db.session.scalars(
        policy.scoped(current_user, Alert).where(Alert.status.in_(STATUS_FILTERS[status]))
        .order_by(*services.risk_list_order()).limit(500)
    ).all()
    if current_user.role != Role.DOCTOR:  # doctors see partner alerts without identity
        audit.record_list_view(current_user, "risk.alert_list", [a.student_id for a in alerts])
        db.session.commit()
    return render_template("risk/alerts.html", alerts=alerts, status=status, now=clock.now(), ack_form=EmptyForm(),
                           show_identity=current_user.role != Role.DOCTOR,
                           concern_form=ConcernForm() if current_user.role == Role.TEACHER else None)


@bp.get("/alerts/<int:alert_id>")
def alert_page(alert_id):
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    audit.record(current_user, "alert_viewed", "alert", alert.id, alert.student_id)
    db.session.commit()
    return _render_alert(alert, ResolveForm())


def _render_alert(alert, resolve_form, status=200):
    return render_template(
        "risk/alert.html", alert=alert, timeline=services.alert_timeline(alert), now=clock.now(),
        show_identity=policy.can(current_user, "see_alert_identity", alert),
        show_note=policy.can(current_user, "read_alert_note", alert),
        can_ack=policy.can(current_user, "acknowledge_alert", alert) and alert.status == AlertStatus.OPEN,
        can_resolve=policy.can(current_user, "resolve_alert", alert) and alert.status != AlertStatus.RESOLVED,
        ack_form=EmptyForm(), resolve_form=resolve_form), status


@bp.post("/alerts/<int:alert_id>/resolve")
def resolve(alert_id):
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    policy.require(current_user, "resolve_alert", alert)
    if alert.status == AlertStatus.RESOLVED:
        flash(_("This alert is already resolved."), "info")
        return redirect(url_for("risk.alert_page", alert_id=alert.id))
    form = ResolveForm()
    if not form.validate_on_submit():
        return _render_alert(alert, form, 400)
    services.resolve_alert(alert, form.outcome.data, form.note.data, by=current_user)
    db.session.commit()
    flash(_("Alert %(case)s resolved.", case=alert.case_number), "success")
    return redirect(url_for("risk.alert_page", alert_id=alert.id))


@concerns_bp.route("/concerns/new", methods=["GET", "POST"])
def new_concern():
    """Raise a concern without a screening; a homeroom teacher may do so for the own class only."""
    form = ConcernForm()
    student = None
    if request.method == "GET" and (student_id := id_arg(request.args, "student")) is not None:
        student = policy.get_visible_or_404(current_user, Student, student_id)
        form.student_number.data = student.student_number
        audit.record(current_user, "concern_form_viewed", "student", student.id, student.id)
        db.session.commit()
    if form.validate_on_submit():
        student = db.session.scalar(policy.scoped(current_user, Student)
                                    .where(Student.student_number == form.student_number.data.strip()))
        if student is None:
            form.student_number.errors.append(_("No student with this number in your school or class."))
        else:
            alert = services.raise_concern(student, form.level.data, form.category.data, form.note.data, by=current_user)
            db.session.commit()
            if current_user.role == Role.HOMEROOM:
                flash(_("Thank you. The psychology teachers have your concern."), "success")
                return redirect(url_for("dashboards.homeroom_home"))
            flash(_("Concern recorded as alert %(case)s.", case=alert.case_number), "success")
            return redirect(url_for("risk.alert_page", alert_id=alert.id))
    status = 400 if request.method == "POST" else 200
    return render_template("risk/concern.html", form=form, student=student), status


@bp.post("/alerts/<int:alert_id>/acknowledge")
def acknowledge(alert_id):
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    policy.require(current_user, "acknowledge_alert", alert)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.acknowledge_alert(alert, by=current_user)
    except services.AlertError:
        flash(_("This alert was already acknowledged."), "info")
        return redirect(url_for("risk.alert_list"))
    db.session.commit()
    flash(_("Alert %(case)s acknowledged.", case=alert.case_number), "success")
    return redirect(request.form.get("back") == "student" and url_for("files.student_file", student_id=alert.student_id)
                    or url_for("risk.alert_list"))
