"""What staff read about a scale's Chinese text and cut-off profile: badges with an explanation, in every template."""
from types import SimpleNamespace

from flask import g
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

import screening_scales
from app.scales import services
from app.web import local_time

STATUS_LABELS = {
    "validated_official": _l("Validated text"),
    "unverified_copy": _l("Unverified copy"),
    "project_translation": _l("Our translation"),
}
STATUS_EXPLANATIONS = {
    "validated_official": _l("The publisher's official or a published validated Chinese text, as the centre holds it."),
    "unverified_copy": _l("Copied from public sources as the official Chinese text, but nobody has compared it with "
                          "the publisher's document (copies in circulation differ from each other)."),
    "project_translation": _l("Translated by the XinQiao project: not an official or validated Chinese version."),
}
STATE_LABELS = {
    "awaiting_review": _l("Awaiting review"),
    "rejected": _l("Review rejected"),
    "not_loaded": _l("Text no longer loaded"),
}
STATE_EXPLANATIONS = {
    "awaiting_review": _l("A text the centre loaded. A doctor must compare it with its source before a screening "
                          "can use it."),
    "rejected": _l("A doctor found that this text does not match its source: no screening can use it."),
    "not_loaded": _l("The centre's text this screening used is no longer in the centre's directory."),
}
STATUS_CSS = {"validated_official": "text-validated", "unverified_copy": "text-copy",
              "project_translation": "text-project"}


def text_badge_parts(info):
    """(label, css class, explanation) of the badge for a services.TextInfo."""
    if info.state in STATE_LABELS:
        return SimpleNamespace(label=STATE_LABELS[info.state], css=f"text-{info.state.replace('_', '-')}",
                               title=STATE_EXPLANATIONS[info.state])
    label = STATUS_LABELS.get(info.status, info.status)
    title = str(STATUS_EXPLANATIONS.get(info.status, ""))
    if info.state == "approved":
        if info.status != "validated_official":
            label = _("%(status)s · reviewed", status=label)
        title += " " + _("Reviewed by %(name)s on %(date)s against: %(source)s.", name=info.reviewer,
                         date=local_time(info.reviewed_at, "%Y-%m-%d"), source=info.compared_with)
    return SimpleNamespace(label=label, css=STATUS_CSS.get(info.status, ""), title=title)


def _known_reviews():
    """The reviews, read once per request however many results a page shows."""
    if "scale_text_reviews" not in g:
        g.scale_text_reviews = services.reviews()
    return g.scale_text_reviews


def response_text(response):
    """The TextInfo of the text a student answered: the response's own version, else its campaign's choice."""
    scale = services.registry().by_version(response.scale_code, response.scale_version)
    if scale is not None:
        return services.text_info(scale, _known_reviews())
    chosen = (response.campaign.scale_texts or {}).get(response.scale_code) if response.campaign else None
    return services.text_info_for(response.scale_code, chosen, _known_reviews())


def campaign_texts(campaign):
    return services.campaign_texts(campaign, _known_reviews())


def cutoff_profile(code, profile_code):
    """The CutoffProfile object, or None when the scale or the profile is no longer loaded."""
    try:
        return services.registry().get(code).profile(profile_code)
    except (screening_scales.UnknownScale, screening_scales.UnknownProfile):
        return None


def cutoff_label(code, profile_code):
    """'Hong Kong youth (2022) ≥7': what a result was banded with."""
    profile = cutoff_profile(code, profile_code)
    if profile is None:
        return profile_code or ""
    return f"{profile.name(str(get_locale()))} {profile.threshold}"


def cutoff_title(code, profile_code):
    profile = cutoff_profile(code, profile_code)
    if profile is None:
        return _("This cut-off profile is no longer in the scale's data file.")
    locale = str(get_locale())
    return _("Positive screen %(threshold)s. Population: %(population)s. Source: %(citation)s.",
             threshold=profile.threshold, population=profile.population_text(locale), citation=profile.citation)


def legend():
    """The badges a page may show, with what each means (shown in full where a scale is chosen)."""
    return [SimpleNamespace(label=STATUS_LABELS[s], css=STATUS_CSS[s], title=STATUS_EXPLANATIONS[s])
            for s in screening_scales.TRANSLATION_STATUSES]


def template_helpers():
    return {"text_legend_items": legend, "text_badge_parts": text_badge_parts, "response_text": response_text,
            "campaign_texts": campaign_texts, "cutoff_label": cutoff_label, "cutoff_title": cutoff_title,
            "text_status_label": lambda k: STATUS_LABELS.get(k, k)}


def _plain(info, code, profile_code):
    text = str(text_badge_parts(info).label)
    if profile_code and profile_code != screening_scales.INTERNATIONAL:
        text += " · " + _("Cut-off") + " " + cutoff_label(code, profile_code)
    return text


def response_note(response):
    """One line for a PDF: what the Chinese text was, and the cut-off profile if not the international bands."""
    profile = response.score.cutoff_profile if response.score else None
    return _plain(response_text(response), response.scale_code, profile)


def campaign_scale_note(campaign, code):
    return _plain(campaign_texts(campaign)[code], code, (campaign.cutoff_profiles or {}).get(code))
