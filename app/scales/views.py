"""Questionnaire settings pages: the Chinese texts (a doctor reviews a centre's text) and the cut-off profiles
(the district admin chooses). Readable by psychology teachers, doctors and the admin; no student data."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user

import screening_scales
from app.accounts.models import Role
from app.auth import policy
from app.extensions import db
from app.scales import labels, services
from app.scales.forms import ProfileChoiceForm, TextReviewForm

bp = Blueprint("scales", __name__, template_folder="templates", url_prefix="/scales")
policy.guard_blueprint(bp, roles={Role.TEACHER, Role.DOCTOR, Role.ADMIN})
bp.app_context_processor(labels.template_helpers)

SHIPPED = "shipped"  # the text id in URLs of a text shipped with XinQiao (which has none)
ERRORS = {
    "already_reviewed": _l("This text has already been reviewed. A corrected text is a new file with its own review."),
    "nothing_to_review": _l("This text ships with XinQiao: there is nothing to review."),
    "compared_with_needed": _l("Name the document you compared the text with."),
    "unknown_profile": _l("This scale has no such cut-off profile."),
    "unknown_level": _l("Unknown school level."),
    "unknown_scale": _l("Unknown questionnaire."),
    "profile_not_for_level": _l("This profile's study covers only some school levels: choose it for those levels "
                                "one by one."),
}


def _text_or_404(scale_code, text_id):
    try:
        scale = services.registry().get_text(scale_code, None if text_id == SHIPPED else text_id)
    except screening_scales.UnknownScale:
        abort(404)
    if scale.from_centre == (text_id == SHIPPED):
        abort(404)
    return scale


@bp.get("/texts")
def text_list():
    policy.require(current_user, "view_scale_settings")
    return render_template("scales/texts.html", texts=services.all_texts(), shipped=SHIPPED)


def _text_page(scale, form, status=200):
    registry = services.registry()
    shipped = registry.get(scale.code) if scale.from_centre and not registry.get(scale.code).from_centre else None
    option_sets = list(dict.fromkeys(tuple((o.value, o.label("zh")) for o in item.options) for item in scale.items))
    return render_template("scales/text.html", scale=scale, info=services.text_info(scale), shipped=shipped,
                           option_sets=option_sets,
                           review=services.reviews().get((scale.code, scale.text_id)), form=form,
                           can_review=policy.can(current_user, "review_scale_text")), status


@bp.get("/texts/<scale_code>/<text_id>")
def text_page(scale_code, text_id):
    policy.require(current_user, "view_scale_settings")
    return _text_page(_text_or_404(scale_code, text_id), TextReviewForm())


@bp.post("/texts/<scale_code>/<text_id>/review")
def review_text(scale_code, text_id):
    scale = _text_or_404(scale_code, text_id)
    policy.require(current_user, "review_scale_text")
    form = TextReviewForm()
    if not form.validate_on_submit():
        return _text_page(scale, form, 400)
    try:
        services.review_text(scale.code, scale.text_id, form.decision.data, form.compared_with.data, form.note.data,
                             by=current_user)
    except services.ScalesError as exc:
        db.session.rollback()
        flash(ERRORS.get(exc.code, _("The review could not be recorded.")), "error")
        return _text_page(scale, form, 400)
    db.session.commit()
    flash(_("Your review is recorded.") if form.decision.data == "rejected"
          else _("Your review is recorded: screenings can now use this text."), "success")
    return redirect(url_for("scales.text_page", scale_code=scale.code, text_id=scale.text_id))


def _profiles_page(status=200):
    return render_template("scales/profiles.html", overview=services.profile_overview(),
                           can_choose=policy.can(current_user, "choose_cutoff_profile"),
                           level_choices=services.LEVEL_CHOICES), status


@bp.get("/cutoff-profiles")
def cutoff_profiles():
    policy.require(current_user, "view_scale_settings")
    return _profiles_page()


@bp.post("/cutoff-profiles")
def choose_profile():
    policy.require(current_user, "choose_cutoff_profile")
    form = ProfileChoiceForm()
    if not form.validate_on_submit():
        flash(_("Choose a school level and a profile."), "error")
        return _profiles_page(400)
    try:
        services.choose_profile(form.scale_code.data, form.school_level.data, form.profile.data, by=current_user)
    except services.ScalesError as exc:
        db.session.rollback()
        flash(ERRORS.get(exc.code, _("The choice could not be saved.")), "error")
        return _profiles_page(400)
    db.session.commit()
    flash(_("Saved. Screenings started from now on use it; results already stored keep the profile they were "
            "banded with."), "success")
    return redirect(url_for("scales.cutoff_profiles"))
