"""Referral to the partner hospital, the doctor's side of the loop, and the school's follow-ups."""
from io import BytesIO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.care import services
from app.care.forms import AssessmentForm, DeclineForm, DecisionForm, FollowUpForm, ReferralForm
from app.care.icd10 import F_CODES
from app.care.models import Assessment, FollowUp, Referral, ReferralStatus, ReturnDecision
from app.core import clock
from app.core.args import id_arg
from app.extensions import db
from app.files.views import render_student_file
from app.reports.pdf.certificate import certificate_pdf
from app.risk.models import Alert, AlertStatus
from app.students.models import Student
from app.web import RISK_LABELS, label

bp = Blueprint("care", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.DOCTOR})

CARE_ERRORS = {
    "not_a_partner": _l("Only hospitals with an active agreement with your school can receive referrals."),
    "already_referred": _l("This student already has an open referral to this hospital."),
    "bad_urgency": _l("Choose an urgency."),
    "not_waiting": _l("This referral is no longer waiting to be accepted."),
    "decline_reason_required": _l("Write why the referral is declined."),
    "not_accepted": _l("Accept the referral before recording an assessment."),
    "bad_risk_level": _l("Choose a risk level."),
    "bad_icd_code": _l("Choose an ICD-10 code from the list."),
    "assessed_in_future": _l("The date of assessment cannot be in the future."),
    "review_before_assessment": _l("The next review cannot be before the assessment."),
    "not_this_referral": _l("This assessment belongs to another referral."),
    "already_corrected": _l("This version was already corrected: correct the newest version."),
    "not_assessed": _l("Record an assessment before deciding on the return to school."),
    "conditions_required": _l("Write the conditions of the return."),
    "review_date_required": _l("A student not cleared needs a review date."),
    "review_date_past": _l("The review date must be in the future."),
    "follow_up_done": _l("This follow-up was already recorded."),
    "note_required": _l("Write what was done."),
    "next_due_past": _l("The next contact must be after today."),
}


def _referral_form(student):
    form = ReferralForm()
    declined = services.declined_hospital_ids(student.id, current_user.school_id)
    form.hospital_id.choices = [(h.id, h.name) for h in services.partner_hospitals(current_user.school_id, declined)]
    # Scoped: an earlier school's alerts come with the file only under hand-over consent.
    alerts = db.session.scalars(policy.scoped(current_user, Alert).where(Alert.student_id == student.id,
                                                                         Alert.status != AlertStatus.RESOLVED)
                                .order_by(Alert.id.desc())).all()
    form.alert_id.choices = [(0, _("None"))] + [(a.id, f"{a.case_number} · {label(RISK_LABELS, a.level)}") for a in alerts]
    return form, {a.id: a for a in alerts}


@bp.route("/students/<int:student_id>/refer", methods=["GET", "POST"])
def refer(student_id):
    student = policy.get_visible_or_404(current_user, Student, student_id)
    policy.require(current_user, "refer_student", student)
    form, alerts = _referral_form(student)
    if request.method == "GET":
        audit.record(current_user, "referral_form_viewed", "student", student.id, student.id)
        db.session.commit()
    from_alert = alerts.get(id_arg(request.args, "alert"))  # reached from an alert's page: linked, and back there
    if request.method == "GET" and alerts:
        first = from_alert or next(iter(alerts.values()))  # urgency defaults from the (newest) open alert's level
        form.alert_id.data, form.urgency.data = first.id, first.level
    declined = db.session.scalars(policy.scoped(current_user, Referral).where(Referral.student_id == student.id,
                                                                              Referral.status == ReferralStatus.DECLINED)
                                  .order_by(Referral.id.desc())).all()
    if not form.hospital_id.choices:
        flash(_("No other hospital has an active agreement with your school. Ask the district centre."), "error")
    if not form.validate_on_submit():
        return render_template("care/refer.html", form=form, student=student, declined=declined), \
            400 if request.method == "POST" else 200
    try:
        referral = services.refer_student(student, current_user.school_id, form.hospital_id.data, form.urgency.data,
                                          form.reason.data.strip(), alert=alerts.get(form.alert_id.data), by=current_user)
    except services.CareError as exc:
        db.session.rollback()
        _field_error(form, REFERRAL_ERROR_FIELD, exc.code)
        return render_template("care/refer.html", form=form, student=student, declined=declined), 400
    db.session.commit()
    flash(_("Referral %(case)s sent to %(hospital)s.", case=referral.case_number, hospital=referral.hospital.name), "success")
    if referral.alert_id is not None and from_alert is not None:
        return redirect(url_for("risk.alert_page", alert_id=referral.alert_id))
    return redirect(url_for("files.student_file", student_id=student.id))


# A rule broken in a service shows on the field it concerns (issue 17): the form comes back with what was typed.
REFERRAL_ERROR_FIELD = {"not_a_partner": "hospital_id", "already_referred": "hospital_id", "bad_urgency": "urgency"}
DECISION_ERROR_FIELD = {"conditions_required": "conditions", "review_date_required": "review_on",
                        "review_date_past": "review_on", "not_assessed": "outcome"}
ASSESSMENT_ERROR_FIELD = {"bad_risk_level": "risk_level", "bad_icd_code": "icd10_code", "assessed_in_future": "assessed_on",
                          "review_before_assessment": "next_review_on", "not_accepted": "assessed_on",
                          "not_this_referral": "findings", "already_corrected": "findings"}
FOLLOW_UP_ERROR_FIELD = {"note_required": "note", "next_due_past": "next_due_on", "follow_up_done": "note"}


def _field_error(form, fields, code):
    """Put the message of a broken rule on its field (flashed only when no field is named)."""
    name = fields.get(code)
    if name is None or not hasattr(form, name):
        flash(CARE_ERRORS[code], "error")
    else:
        getattr(form, name).errors = list(getattr(form, name).errors) + [CARE_ERRORS[code]]


def _assessment_form(source=None):
    form = AssessmentForm(prefix="a", obj=source)
    form.icd10_code.choices = [("", _("None"))] + [(code, str(label)) for code, label in F_CODES]
    return form


def _render_referral(referral, assessment_form=None, decision_form=None, decline_form=None, status=200):
    audit.record(current_user, "referral_viewed", "referral", referral.id, referral.student_id)
    db.session.commit()
    if assessment_form is None:
        assessment_form = _assessment_form()
        assessment_form.assessed_on.data = clock.today()
    if decision_form is None:
        decision_form = DecisionForm(prefix="d")
        latest = referral.latest_assessment  # the review date follows the assessment's next review
        if latest is not None and latest.next_review_on and latest.next_review_on > clock.today():
            decision_form.review_on.data = latest.next_review_on
    linked_alert = db.session.scalar(policy.scoped(current_user, Alert).where(Alert.id == referral.alert_id)) \
        if referral.alert_id else None
    follow_ups = db.session.scalars(select(FollowUp).join(ReturnDecision, FollowUp.decision_id == ReturnDecision.id)
                                    .where(ReturnDecision.referral_id == referral.id)
                                    .order_by(FollowUp.due_on, FollowUp.id)).all()
    return render_template(
        "care/referral.html", referral=referral, action_form=EmptyForm(), assessment_form=assessment_form,
        decision_form=decision_form, linked_alert=linked_alert, decline_form=decline_form or DeclineForm(prefix="x"),
        follow_ups=follow_ups, today=clock.today(), now=clock.now(),
        current_ids={a.id for a in referral.current_assessments},
        waiting_hours=services.waiting_hours(referral), target_hours=services.target_hours(referral.urgency),
        over_target=services.is_over_target(referral),
        can_accept=policy.can(current_user, "accept_referral", referral),
        can_decline=policy.can(current_user, "decline_referral", referral),
        can_assess=policy.can(current_user, "assess", referral),
        can_decide=policy.can(current_user, "decide_return", referral) and bool(referral.assessments),
        show_clinical=policy.can(current_user, "read_clinical_text", referral.student),
        show_identity=policy.can(current_user, "see_referral_identity", referral),
        show_decline_reason=policy.can(current_user, "read_decline_reason", referral),
    ), status


@bp.get("/referrals/<int:referral_id>")
def referral_page(referral_id):
    return _render_referral(policy.get_visible_or_404(current_user, Referral, referral_id))


@bp.post("/referrals/<int:referral_id>/accept")
def accept(referral_id):
    referral = policy.get_visible_or_404(current_user, Referral, referral_id)
    policy.require(current_user, "accept_referral", referral)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.accept_referral(referral, by=current_user)
    db.session.commit()
    flash(_("Referral accepted."), "success")
    return redirect(url_for("care.referral_page", referral_id=referral.id))


@bp.post("/referrals/<int:referral_id>/decline")
def decline(referral_id):
    referral = policy.get_visible_or_404(current_user, Referral, referral_id)
    policy.require(current_user, "decline_referral", referral)
    form = DeclineForm(prefix="x")
    if not form.validate_on_submit():
        return _render_referral(referral, decline_form=form, status=400)
    services.decline_referral(referral, form.reason.data, by=current_user)
    db.session.commit()
    flash(_("Referral declined; the school sees your reason."), "success")
    return redirect(url_for("dashboards.doctor_home"))


def _save_assessment(referral, form, corrects=None):
    try:
        services.record_assessment(referral, form.data, by=current_user, corrects=corrects)
    except services.CareError as exc:
        db.session.rollback()
        _field_error(form, ASSESSMENT_ERROR_FIELD, exc.code)
        return False
    db.session.commit()
    return True


@bp.post("/referrals/<int:referral_id>/assessment")
def record_assessment(referral_id):
    referral = policy.get_visible_or_404(current_user, Referral, referral_id)
    policy.require(current_user, "assess", referral)
    form = _assessment_form()
    if not form.validate_on_submit() or not _save_assessment(referral, form):
        return _render_referral(referral, assessment_form=form, status=400)
    flash(_("Assessment recorded."), "success")
    return redirect(url_for("care.referral_page", referral_id=referral.id))


@bp.route("/referrals/<int:referral_id>/assessments/<int:assessment_id>/correct", methods=["GET", "POST"])
def correct_assessment(referral_id, assessment_id):
    """A correction is a new version that supersedes the given one; the old one stays in the history."""
    referral = policy.get_visible_or_404(current_user, Referral, referral_id)
    policy.require(current_user, "assess", referral)
    original = policy.get_visible_or_404(current_user, Assessment, assessment_id)
    if original.referral_id != referral.id:
        abort(404)
    form = _assessment_form(source=original if request.method == "GET" else None)
    if request.method == "POST" and form.validate_on_submit() and _save_assessment(referral, form, corrects=original):
        flash(_("Correction saved as version %(v)d.", v=original.version + 1), "success")
        return redirect(url_for("care.referral_page", referral_id=referral.id))
    audit.record(current_user, "assessment_viewed", "assessment", original.id, referral.student_id)
    db.session.commit()
    return render_template("care/correct.html", referral=referral, original=original, form=form), \
        400 if request.method == "POST" else 200


@bp.post("/referrals/<int:referral_id>/decision")
def decide(referral_id):
    referral = policy.get_visible_or_404(current_user, Referral, referral_id)
    policy.require(current_user, "decide_return", referral)
    form = DecisionForm(prefix="d")
    if not form.validate_on_submit():
        return _render_referral(referral, decision_form=form, status=400)
    try:
        services.decide_return(referral, form.data, by=current_user)
    except services.CareError as exc:
        db.session.rollback()
        _field_error(form, DECISION_ERROR_FIELD, exc.code)
        return _render_referral(referral, decision_form=form, status=400)
    db.session.commit()
    flash(_("Return-to-school decision recorded."), "success")
    return redirect(url_for("care.referral_page", referral_id=referral.id))


@bp.get("/decisions/<int:decision_id>/certificate.pdf")
@policy.require_recent_auth()
def certificate(decision_id):
    decision = policy.get_visible_or_404(current_user, ReturnDecision, decision_id)
    policy.require(current_user, "download_certificate", decision)
    enrollment = decision.referral.student.current_enrollment()
    school_name = enrollment.school.name if enrollment else decision.referral.school.name
    pdf = certificate_pdf(decision, school_name)
    audit.record(current_user, "export", "return_decision", decision.id, decision.student_id,
                 detail={"document": "return_certificate", "diagnosis_shared": decision.share_diagnosis})
    db.session.commit()
    return send_file(BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=f"certificate-{decision.case_number}.pdf")


@bp.post("/follow-ups/<int:follow_up_id>")
@policy.allow_roles(Role.TEACHER)
def record_follow_up(follow_up_id):
    follow_up = policy.get_visible_or_404(current_user, FollowUp, follow_up_id)
    policy.require(current_user, "record_follow_up", follow_up)
    form = FollowUpForm(prefix=f"f{follow_up.id}")
    back = url_for("files.student_file", student_id=follow_up.student_id)
    if not form.validate_on_submit():  # the file page again, the form with its errors and what was typed
        return render_student_file(follow_up.student, failed_form=(follow_up.id, form), status=400)
    try:
        services.record_follow_up(follow_up, form.note.data, form.next_due_on.data, by=current_user)
    except services.CareError as exc:
        db.session.rollback()
        _field_error(form, FOLLOW_UP_ERROR_FIELD, exc.code)
        return render_student_file(follow_up.student, failed_form=(follow_up.id, form), status=400)
    db.session.commit()
    flash(_("Follow-up contact recorded."), "success")
    return redirect(back)


REFERRAL_FILTERS = {"open": services.OPEN_REFERRAL_STATUSES, "declined": (ReferralStatus.DECLINED,),
                    "closed": (ReferralStatus.CLOSED,), "all": tuple(ReferralStatus)}


@bp.get("/referrals")
@policy.allow_roles(Role.TEACHER)
def referral_list():
    """The school's referrals and their states: the declined ones too, not only in the inbox."""
    policy.require(current_user, "list_school_referrals")
    state = request.args.get("state", "open")
    if state not in REFERRAL_FILTERS:
        state = "open"
    referrals = db.session.scalars(policy.scoped(current_user, Referral)
                                   .where(Referral.status.in_(REFERRAL_FILTERS[state]))
                                   .order_by(Referral.created_at.desc(), Referral.id.desc()).limit(500)).all()
    audit.record_list_view(current_user, "care.referral_list", [r.student_id for r in referrals])
    db.session.commit()
    return render_template("care/referrals.html", referrals=referrals, state=state)
