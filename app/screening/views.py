"""Psychology teachers: classes, campaigns, live progress, class results."""
from datetime import timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.accounts.models import Role
from app.audit import services as audit
from app.auth import policy
from app.core import clock
from app.core.args import id_arg
from app.extensions import db
from app.orgs.models import ClassGroup
from app.scales import services as scale_settings
from app.screening import projection, services
from app.screening.forms import CampaignForm
from app.screening.models import Campaign
from app.students.models import Student

bp = Blueprint("screening", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER})

CAMPAIGN_ERRORS = {
    "classes_not_in_school": _l("Choose classes of your own school."),
    "no_scales": _l("Choose at least one questionnaire."),
    "unknown_scale": _l("Unknown questionnaire."),
    "closes_in_past": _l("The session must stay open for at least an hour."),
    "school_closed": _l("This school is closed: it gets no new classes, campaigns, rosters or accounts."),
    "one_text_per_scale": _l("Choose one text of each questionnaire."),
    "text_not_reviewed": _l("This text has not been reviewed by a doctor yet: it cannot be used in a screening."),
    "text_rejected": _l("A doctor found that this text does not match its source: it cannot be used."),
}
# What a new screening starts with: the PHQ-9 and the GAD-7, in a centre's reviewed text where there is one.
DEFAULT_BATTERY = ("PHQ-9", "GAD-7")


@bp.get("/classes/<int:class_id>")
def class_page(class_id):
    class_group = policy.get_visible_or_404(current_user, ClassGroup, class_id)
    roster = services.class_roster([class_group.id])
    campaigns = db.session.scalars(
        policy.scoped(current_user, Campaign).where(Campaign.classes.any(ClassGroup.id == class_group.id))
        .order_by(Campaign.created_at.desc())).all()
    audit.record_list_view(current_user, "screening.class_page", [student.id for student, _ in roster])
    db.session.commit()
    return render_template("screening/class.html", class_group=class_group, roster=roster, campaigns=campaigns)


def _campaign_form():
    """The form, with every questionnaire text a screening may use (a centre's text once a doctor approved it)."""
    form = CampaignForm()
    classes = db.session.scalars(policy.scoped(current_user, ClassGroup).order_by(ClassGroup.grade, ClassGroup.name)).all()
    form.class_ids.choices = [(c.id, f"{c.grade} · {c.name}") for c in classes]
    usable = scale_settings.usable_texts()
    form.scale_codes.choices = [(services.scale_choice(scale), _scale_label(scale)) for scale, _info in usable]
    form.texts = {services.scale_choice(scale): info for scale, info in usable}  # the badges beside the choices
    form.awaiting_review = sum(1 for _s, info in scale_settings.all_texts() if info.state == "awaiting_review")
    return form, {c.id: c for c in classes}


def _scale_label(scale):
    name = scale.name(str(get_locale()))
    return _("%(name)s · asks about suicide or self-harm", name=name) if scale.critical_items else name


def _default_battery(form):
    """PHQ-9 and GAD-7, each in the last of its usable texts (a centre's approved text comes after the shipped one)."""
    chosen = {}
    for value, _label in form.scale_codes.choices:
        code = value.partition(services.TEXT_SEPARATOR)[0]
        if code in DEFAULT_BATTERY:
            chosen[code] = value
    return list(chosen.values())


def _misses_crisis_questions(form):
    """A battery that cannot detect suicide risk starts only when the teacher confirms it (the box is then shown).
    Called after validation: every choice names a usable text of a known scale."""
    codes = [choice.partition(services.TEXT_SEPARATOR)[0] for choice in form.scale_codes.data]
    if form.without_crisis_questions.data or any(services.asks_crisis_questions(code) for code in codes):
        return False
    form.without_crisis_questions.errors = [_(
        "None of the chosen questionnaires asks about suicide or self-harm, so no answer can open a critical alert. "
        "Add one that does (marked in the list), or tick the box to start without.")]
    return True


@bp.route("/campaigns/new", methods=["GET", "POST"])
def new_campaign():
    form, classes = _campaign_form()
    if request.method == "GET":
        class_id = id_arg(request.args, "class_id")
        form.class_ids.data = [class_id] if class_id else []
        form.scale_codes.data = _default_battery(form)
        form.title.data = _("Screening %(date)s", date=clock.today().isoformat())
    if not form.validate_on_submit() or _misses_crisis_questions(form):
        return render_template("screening/new_campaign.html", form=form), 400 if request.method == "POST" else 200
    chosen = [classes[i] for i in form.class_ids.data if i in classes]
    try:
        campaign = services.launch_campaign(current_user.school, chosen, form.scale_codes.data, form.title.data.strip(),
                                            clock.now() + timedelta(hours=form.open_hours.data), by=current_user)
    except services.ScreeningError as exc:
        flash(CAMPAIGN_ERRORS.get(exc.code, _("The campaign could not be started.")), "error")
        return render_template("screening/new_campaign.html", form=form), 400
    db.session.commit()
    missing = services.students_without_screening_consent([c.id for c in chosen])
    if missing:
        flash(_("%(count)s students in these classes have no guardian consent to screening on file: they cannot "
                "join until it is recorded.", count=missing), "error")
    return redirect(url_for("screening.campaign_page", campaign_id=campaign.id))


@bp.get("/campaigns/<int:campaign_id>")
def campaign_page(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    roster = services.class_roster([c.id for c in campaign.classes])
    results = services.campaign_results(campaign)
    audit.record_list_view(current_user, "screening.campaign_page", [student.id for student, _ in roster])
    db.session.commit()
    return render_template("screening/campaign.html", campaign=campaign, roster=roster, results=results,
                           progress=services.campaign_progress(campaign), is_open=campaign.is_open(clock.now()),
                           participants=services.campaign_participants(campaign), close_form=EmptyForm())


@bp.get("/campaigns/<int:campaign_id>/progress.json")
def campaign_progress(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    return jsonify({"classes": services.campaign_progress(campaign), "open": campaign.is_open(clock.now())})


# --- the projector view: what the whole class may see (issue 17, item 1) ------------------------------

@bp.get("/campaigns/<int:campaign_id>/projector")
def projector(campaign_id):
    """The code large, a QR code of the join link with the code in it, and the live counts: nothing about any
    student, no alerts and no inbox (the teacher's own page keeps the results)."""
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    link = url_for("student.start", code=campaign.session_code, _external=True)
    return render_template("screening/projector.html", campaign=campaign, join_link=link,
                           qr_svg=projection.qr_svg(link), counts=projection.campaign_counts(campaign),
                           is_open=campaign.is_open(clock.now()))


@bp.get("/campaigns/<int:campaign_id>/projector.json")
def projector_counts(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    return jsonify(projection.campaign_counts(campaign) | {"open": campaign.is_open(clock.now())})


@bp.post("/campaigns/<int:campaign_id>/close")
def close_campaign(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.close_campaign(campaign, by=current_user)
    db.session.commit()
    flash(_("The session is closed. Students can no longer submit."), "info")
    return redirect(url_for("screening.campaign_page", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/students/<int:student_id>/end-session")
def end_student_session(campaign_id, student_id):
    """End one student's session: someone joined as a classmate, or a shared device was left signed in."""
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    student = policy.get_visible_or_404(current_user, Student, student_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        services.end_student_session(campaign, student, by=current_user)
    except services.ScreeningError:
        abort(404)  # the student never joined this campaign
    db.session.commit()
    flash(_("%(name)s's session has ended on every device. The student can join again with the code.",
            name=student.name), "info")
    return redirect(url_for("screening.campaign_page", campaign_id=campaign.id))
