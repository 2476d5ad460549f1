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
from app.screening import services
from app.screening.forms import CampaignForm
from app.screening.models import Campaign

bp = Blueprint("screening", __name__, template_folder="templates")
policy.guard_blueprint(bp, roles={Role.TEACHER})

CAMPAIGN_ERRORS = {
    "classes_not_in_school": _l("Choose classes of your own school."),
    "no_scales": _l("Choose at least one questionnaire."),
    "unknown_scale": _l("Unknown questionnaire."),
    "closes_in_past": _l("The session must stay open for at least an hour."),
}


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
    form = CampaignForm()
    classes = db.session.scalars(policy.scoped(current_user, ClassGroup).order_by(ClassGroup.grade, ClassGroup.name)).all()
    form.class_ids.choices = [(c.id, f"{c.grade} · {c.name}") for c in classes]
    form.scale_codes.choices = [(code, _scale_label(code)) for code in services.registry().codes()]
    return form, {c.id: c for c in classes}


def _scale_label(code):
    name = services.registry().get(code).name(str(get_locale()))
    return _("%(name)s · asks about suicide or self-harm", name=name) if services.asks_crisis_questions(code) else name


def _misses_crisis_questions(form):
    """A battery that cannot detect suicide risk starts only when the teacher confirms it (the box is then shown).
    Called after validation: every chosen code is a known scale."""
    if form.without_crisis_questions.data or any(services.asks_crisis_questions(code) for code in form.scale_codes.data):
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
        form.scale_codes.data = ["PHQ-9", "GAD-7"]
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
                           close_form=EmptyForm())


@bp.get("/campaigns/<int:campaign_id>/progress.json")
def campaign_progress(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    return jsonify({"classes": services.campaign_progress(campaign), "open": campaign.is_open(clock.now())})


@bp.post("/campaigns/<int:campaign_id>/close")
def close_campaign(campaign_id):
    campaign = policy.get_visible_or_404(current_user, Campaign, campaign_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.close_campaign(campaign, by=current_user)
    db.session.commit()
    flash(_("The session is closed. Students can no longer submit."), "info")
    return redirect(url_for("screening.campaign_page", campaign_id=campaign.id))
