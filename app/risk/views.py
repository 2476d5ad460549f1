"""The risk list: open alerts, critical first; an alert's page (timeline, acknowledge, resolve); concerns."""
from datetime import timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role, User
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.core.args import id_arg
from app.extensions import db
from app.care.models import Referral
from app.monitoring import services as monitoring
from app.risk import answers, crisis, services
from app.risk.forms import ConcernForm, CrisisStepForm, GuardianContactForm, ResolveForm
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
            "concern_categories": services.CONCERN_CATEGORIES,
            "contact_outcome_label": lambda k: crisis.CONTACT_OUTCOMES.get(k, k),
            "contact_direction_label": lambda k: crisis.CONTACT_DIRECTIONS.get(k, k)}

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
    linked = {}
    for referral in db.session.scalars(policy.scoped(current_user, Referral).where(
            Referral.alert_id.in_([a.id for a in alerts])).order_by(Referral.id)):
        linked[referral.alert_id] = referral  # the newest referral of each alert, as the viewer may see it
    return render_template("risk/alerts.html", alerts=alerts, status=status, now=clock.now(), ack_form=EmptyForm(),
                           checklist=crisis.progress(alerts), checklist_total=len(crisis.CRISIS_STEPS), linked=linked,
                           show_identity=current_user.role != Role.DOCTOR,
                           concern_form=ConcernForm() if current_user.role == Role.TEACHER else None)


@bp.get("/alerts/<int:alert_id>")
def alert_page(alert_id):
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    audit.record(current_user, "alert_viewed", "alert", alert.id, alert.student_id)
    db.session.commit()
    return _render_alert(alert)


def _render_alert(alert, resolve_form=None, step_form=None, contact_form=None, status=200):
    """The alert with why it was raised, whom to call, the crisis checklist, the linked referrals and the next step."""
    referrals = db.session.scalars(policy.scoped(current_user, Referral).where(Referral.alert_id == alert.id)
                                   .order_by(Referral.id)).all()
    steps = crisis.checklist(alert) if crisis.needs_checklist(alert) else []
    contacts = crisis.guardian_contacts(alert)
    open_ = alert.status != AlertStatus.RESOLVED
    can_work = policy.can(current_user, "work_crisis_checklist", alert) and open_
    proposal = services.hospital_proposal(referrals) if open_ else None
    if resolve_form is None:
        resolve_form = ResolveForm()
        if proposal is not None:  # the hospital's decision proposes closing with the outcome "referred"
            resolve_form.outcome.data = "referred"
    return render_template(
        "risk/alert.html", alert=alert, now=clock.now(), steps=steps, contacts=contacts, referrals=referrals,
        timeline=services.alert_timeline(alert, referrals, steps, contacts), proposal=proposal,
        explained=answers.explain_alert(alert) if policy.can(current_user, "read_alert_answers", alert) else [],
        show_identity=policy.can(current_user, "see_alert_identity", alert),
        show_note=policy.can(current_user, "read_alert_note", alert),
        show_guardian=policy.can(current_user, "read_guardian_contact", alert),
        placement=_placement(alert.student) if policy.can(current_user, "read_guardian_contact", alert) else None,
        can_ack=policy.can(current_user, "acknowledge_alert", alert) and alert.status == AlertStatus.OPEN,
        can_resolve=policy.can(current_user, "resolve_alert", alert) and open_,
        can_refer=can_work and policy.can(current_user, "refer_student", alert.student)
        and proposal is None and not any(r.status.value in ("sent", "accepted", "assessed") for r in referrals),
        can_work=can_work, checklist_done=all(s.done for s in steps),
        ack_form=EmptyForm(), resolve_form=resolve_form, step_form=step_form or CrisisStepForm(),
        step_error_for=step_form.step.data if step_form is not None and step_form.errors else None,
        contact_form=contact_form or _contact_form(alert)), status


def _placement(student):
    """The student's class today and its homeroom teacher(s), for whom to ask."""
    enrollment = student.current_enrollment()
    if enrollment is None or enrollment.class_group is None:
        return None
    homeroom = db.session.scalars(select(User).where(User.role == Role.HOMEROOM, User.active.is_(True),
                                                     User.class_group_id == enrollment.class_group_id)
                                  .order_by(User.display_name)).all()
    return {"school": enrollment.school, "class_group": enrollment.class_group, "homeroom": homeroom}


def _contact_form(alert):
    form = GuardianContactForm(prefix="g")
    if not form.is_submitted():
        form.person.data = alert.student.guardian_name or ""
        form.contacted_at.data = clock.now().astimezone(clock.LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    return form


@bp.post("/alerts/<int:alert_id>/resolve")
def resolve(alert_id):
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    policy.require(current_user, "resolve_alert", alert)
    if alert.status == AlertStatus.RESOLVED:
        flash(_("This alert is already resolved."), "info")
        return redirect(url_for("risk.alert_page", alert_id=alert.id))
    form = ResolveForm()
    if not form.validate_on_submit():
        return _render_alert(alert, form, status=400)
    try:
        services.resolve_alert(alert, form.outcome.data, form.note.data, by=current_user)
    except services.AlertError:  # the crisis checklist is not done: say why it closes anyway
        form.note.errors.append(_("The crisis checklist is not complete: write why the alert closes anyway."))
        return _render_alert(alert, form, status=400)
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
    back = request.form.get("back")
    if back == "alert":  # the next step stays on the page: refer, call the guardian, the checklist, close
        return redirect(url_for("risk.alert_page", alert_id=alert.id))
    return redirect(back == "student" and url_for("files.student_file", student_id=alert.student_id)
                    or url_for("risk.alert_list"))


CRISIS_ERRORS = {
    "resolved": _l("This alert is already resolved."),
    "unknown_step": _l("This step cannot be ticked here."),
    "step_done": _l("This step was already recorded."),
    "note_required": _l("Write what was found, or why not."),
    "bad_direction": _l("Choose who called."),
    "bad_outcome": _l("Choose an outcome."),
    "contact_in_future": _l("The call cannot be in the future."),
    "contact_before_alert": _l("The call cannot be before the alert was opened."),
}
CRISIS_ERROR_FIELD = {"bad_direction": "direction", "bad_outcome": "outcome", "contact_in_future": "contacted_at",
                      "contact_before_alert": "contacted_at"}


@bp.post("/alerts/<int:alert_id>/checklist")
def record_crisis_step(alert_id):
    """Tick one step of the crisis checklist (who and when are recorded)."""
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    policy.require(current_user, "work_crisis_checklist", alert)
    form = CrisisStepForm()
    if not form.validate_on_submit():
        return _render_alert(alert, step_form=form, status=400)
    try:
        crisis.record_step(alert, form.step.data, form.note.data, by=current_user)
    except crisis.CrisisError as exc:
        db.session.rollback()
        form.note.errors.append(CRISIS_ERRORS[exc.code])
        return _render_alert(alert, step_form=form, status=400)
    db.session.commit()
    flash(_("Checklist step recorded."), "success")
    return redirect(url_for("risk.alert_page", alert_id=alert.id, _anchor="checklist"))


@bp.post("/alerts/<int:alert_id>/guardian-contacts")
def record_guardian_contact(alert_id):
    """Record a call with the guardian; one that reached them ticks "guardian informed"."""
    alert = policy.get_visible_or_404(current_user, Alert, alert_id)
    policy.require(current_user, "work_crisis_checklist", alert)
    form = GuardianContactForm(prefix="g")
    if not form.validate_on_submit():
        return _render_alert(alert, contact_form=form, status=400)
    data = dict(form.data, contacted_at=form.contacted_at.data.replace(tzinfo=clock.LOCAL_TZ).astimezone(timezone.utc))
    try:
        crisis.record_guardian_contact(alert, data, by=current_user)
    except crisis.CrisisError as exc:
        db.session.rollback()
        getattr(form, CRISIS_ERROR_FIELD.get(exc.code, "note")).errors.append(CRISIS_ERRORS[exc.code])
        return _render_alert(alert, contact_form=form, status=400)
    db.session.commit()
    flash(_("Call with the guardian recorded."), "success")
    return redirect(url_for("risk.alert_page", alert_id=alert.id, _anchor="guardian"))
