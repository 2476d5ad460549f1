"""Values every template can use: labels for levels, bands and statuses in the user's language."""
from datetime import datetime, timezone

from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user

from app.accounts.forms import EmptyForm
from app.core import clock

RISK_LABELS = {"low": _l("Low"), "moderate": _l("Moderate"), "high": _l("High"), "critical": _l("Critical")}
BAND_LABELS = {
    "minimal": _l("Minimal"), "mild": _l("Mild"), "moderate": _l("Moderate"),
    "moderately_severe": _l("Moderately severe"), "severe": _l("Severe"),
    "negative": _l("Negative"), "positive": _l("Positive"),
    "non_acute_positive": _l("Non-acute positive"), "acute_positive": _l("Acute positive"),
    "low": _l("Low"), "serious": _l("Serious distress"), "high": _l("High"), "very_high": _l("Very high"),
    "adequate": _l("Adequate"), "poor": _l("Poor well-being"),
}
STATUS_LABELS = {
    "open": _l("Open"), "acknowledged": _l("Acknowledged"), "resolved": _l("Resolved"),
    "sent": _l("Sent"), "accepted": _l("Accepted"), "assessed": _l("Assessed"), "closed": _l("Closed"),
    "declined": _l("Declined"),
}
REASON_LABELS = {
    "suicide_risk": _l("Suicide risk answer"), "high_score": _l("High score"),
    "moderate_score": _l("Moderate score"), "concern": _l("Concern raised by staff"),
    "classmate_worry": _l("Concern: a classmate is worried"), "self_harm_sign": _l("Concern: sign of self-harm"),
    "parent_call": _l("Concern: call from a parent"), "other": _l("Concern: other"),
    "committee_report": _l("Concern: reported by a class committee member"),
    "student_request": _l("The student asked to talk to someone now"),
}
FLAG_LABELS = {
    "suicidal_ideation": _l("Thoughts of death or self-harm"), "recent_suicidal_thoughts": _l("Serious suicidal thoughts in the past month"),
    "past_suicide_attempt": _l("Past suicide attempt"), "suicide_risk": _l("Suicide risk"),
    "acute_suicide_risk": _l("Acute suicide risk"), "risk_item_unanswered": _l("Risk question unanswered"),
    "cutoff_positive": _l("Positive by its cut-off profile"),
}
QUALITY_LABELS = {
    "too_fast": _l("Answered unusually fast"),
    "straight_lining": _l("Same answer to every question"),
}
OUTCOME_LABELS = {
    "cleared": _l("Cleared to return"), "cleared_with_conditions": _l("Cleared with conditions"),
    "not_cleared": _l("Not cleared"),
}
PLAN_LABELS = {"outpatient": _l("Outpatient care"), "inpatient": _l("Inpatient care"),
               "school_support": _l("School-based support"), "none": _l("None")}
SETTING_LABELS = {"clinic": _l("Hospital clinic"), "on_site": _l("On site at the school")}
LEVEL_LABELS = {"primary": _l("Primary school"), "middle": _l("Middle school"), "high": _l("High school"),
                "vocational": _l("Vocational school"), "university": _l("University")}
ROLE_LABELS = {"admin": _l("District admin"), "teacher": _l("Psychology teacher"), "homeroom": _l("Homeroom teacher"),
               "doctor": _l("Doctor")}


def label(mapping, key):
    key = getattr(key, "value", key)
    return mapping.get(key, key) if key is not None else ""


def local_time(moment, fmt="%Y-%m-%d %H:%M"):
    """Render an aware UTC datetime (or its ISO text, as cached figures keep it) in the schools' time zone."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(clock.LOCAL_TZ).strftime(fmt)


RISK_ORDER = ("low", "moderate", "high", "critical")


def worst_risk(levels):
    levels = [level for level in levels if level in RISK_ORDER]
    return max(levels, key=RISK_ORDER.index) if levels else None


def template_helpers():
    return {
        "risk_label": lambda k: label(RISK_LABELS, k),
        "band_label": lambda k: label(BAND_LABELS, k),
        "status_label": lambda k: label(STATUS_LABELS, k),
        "reason_label": lambda k: label(REASON_LABELS, k),
        "flag_label": lambda k: label(FLAG_LABELS, k),
        "outcome_label": lambda k: label(OUTCOME_LABELS, k),
        "quality_label": lambda k: label(QUALITY_LABELS, k),
        "plan_label": lambda k: label(PLAN_LABELS, k),
        "setting_label": lambda k: label(SETTING_LABELS, k),
        "role_label": lambda k: label(ROLE_LABELS, k),
        # "all": a cut-off profile chosen for every school level at once.
        "level_label": lambda k: _l("Every school level") if k == "all" else label(LEVEL_LABELS, k),
        "local_time": local_time,
        "worst_risk": worst_risk,
        "get_locale": get_locale,
        "logout_form": EmptyForm() if current_user.is_authenticated else None,
    }
