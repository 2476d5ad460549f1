"""Which cut-off profile new screenings use, and which Chinese texts may be used at all.

Profiles (screening_scales/README.md, cut-off profiles): the district admin chooses one per scale, for every school
level or for one level where the profile's study names its levels; a campaign resolves them once, at launch, and
keeps them; each stored score names the profile it was banded with.

Texts: what XinQiao ships is labelled (project translation, unverified copy); what a centre loads from its
directory (EXTRA_SCALE_DIRS) is used in a screening only after a named doctor has reviewed it.
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

import screening_scales
from screening_scales import INTERNATIONAL, SCHOOL_LEVELS
from app.audit import services as audit
from app.core import clock
from app.extensions import db
from app.scales.models import ALL_LEVELS, CutoffProfileChoice, ReviewDecision, ScaleTextReview

logger = logging.getLogger(__name__)

LEVEL_CHOICES = (ALL_LEVELS,) + SCHOOL_LEVELS
MAX_COMPARED_WITH = 500
MAX_NOTE = 2000


class ScalesError(ValueError):
    """A rule of this module was broken. `code` names it; the view turns it into a message."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def registry():
    return current_app.extensions["scales"]


# --- Chinese texts ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TextInfo:
    """What staff are told about the Chinese text of a scale: `state` is shipped, approved, rejected, awaiting_review
    or not_loaded (the text a past screening used is no longer in the centre's directory)."""
    code: str
    text_id: str | None
    status: str | None          # screening_scales.TRANSLATION_STATUSES
    state: str
    provenance: str = ""
    reviewer: str | None = None
    reviewed_at: datetime | None = None
    compared_with: str | None = None

    @property
    def usable(self) -> bool:
        return self.state in ("shipped", "approved")


def reviews() -> dict:
    """(code, text id) -> ScaleTextReview, every review (a handful of rows)."""
    return {(r.scale_code, r.text_id): r for r in db.session.scalars(select(ScaleTextReview))}


def text_info(scale, known_reviews=None) -> TextInfo:
    provenance = scale.translation.provenance if scale.translation else ""
    status = scale.translation.status if scale.translation else None
    if not scale.from_centre:
        return TextInfo(scale.code, None, status, "shipped", provenance)
    review = (known_reviews if known_reviews is not None else reviews()).get((scale.code, scale.text_id))
    if review is None:
        return TextInfo(scale.code, scale.text_id, status, "awaiting_review", provenance)
    return TextInfo(scale.code, scale.text_id, status, review.decision.value, provenance,
                    review.reviewed_by.display_name, review.reviewed_at, review.compared_with)


def text_info_for(code, text_id, known_reviews=None) -> TextInfo:
    """The text a screening used: `text_id` from its campaign (None: the scale's default text)."""
    try:
        scale = registry().get_text(code, text_id)
    except screening_scales.UnknownScale:
        return TextInfo(code, text_id, None, "not_loaded")
    return text_info(scale, known_reviews)


def campaign_texts(campaign, known_reviews=None) -> dict:
    """{code: TextInfo} of the texts a campaign's students were given."""
    known_reviews = reviews() if known_reviews is None else known_reviews
    chosen = campaign.scale_texts or {}
    return {code: text_info_for(code, chosen.get(code), known_reviews) for code in campaign.scale_codes}


def all_texts():
    """[(scale, TextInfo)] for every text loaded, in the registry's order."""
    known = reviews()
    return [(scale, text_info(scale, known)) for scale in registry().all_texts()]


def usable_texts():
    """The texts a new screening may use: every shipped text, and the centre's texts a doctor approved."""
    return [(scale, info) for scale, info in all_texts() if info.usable]


def check_usable(scale):
    """Refuse a text no doctor has approved (the form does not offer it; this is the rule itself)."""
    info = text_info(scale)
    if not info.usable:
        raise ScalesError("text_not_reviewed" if info.state == "awaiting_review" else "text_rejected")


def review_text(code, text_id, decision, compared_with, note, *, by):
    """Record a doctor's review of a centre's text: approved for screenings, or rejected. Once per text."""
    try:
        scale = registry().get_text(code, text_id)
    except screening_scales.UnknownScale:
        raise ScalesError("unknown_text") from None
    if not scale.from_centre:
        raise ScalesError("nothing_to_review")
    if (code, scale.text_id) in reviews():
        raise ScalesError("already_reviewed")
    if decision not in (d.value for d in ReviewDecision):
        raise ScalesError("bad_decision")
    compared_with = (compared_with or "").strip()
    note = (note or "").strip() or None
    if not compared_with or len(compared_with) > MAX_COMPARED_WITH or (note and len(note) > MAX_NOTE):
        raise ScalesError("compared_with_needed")
    review = ScaleTextReview(scale_code=code, text_id=scale.text_id, version=scale.version,
                             decision=ReviewDecision(decision), compared_with=compared_with, note=note,
                             reviewed_by_id=by.id)
    db.session.add(review)
    db.session.flush()
    audit.record(by, "scale_text_reviewed", "scale_text", review.id,
                 detail={"scale": code, "text_id": scale.text_id, "version": scale.version, "decision": decision})
    return review


# --- cut-off profiles ------------------------------------------------------------------------------------------

def profile_choices() -> dict:
    """(scale code, school level or ALL_LEVELS) -> CutoffProfileChoice."""
    return {(c.scale_code, c.school_level): c for c in db.session.scalars(select(CutoffProfileChoice))}


def _in_force(scale, choice, level) -> str | None:
    """The choice's profile if the scale still has it and it fits the level; else None (logged)."""
    if choice is None:
        return None
    try:
        profile = scale.profile(choice.profile)
    except screening_scales.UnknownProfile:
        logger.warning("cut-off profile %s of %s is no longer in its data file: international bands used",
                       choice.profile, scale.code)
        return None
    return profile.code if level is None or profile.allows_level(level) else None


def profile_for(scale, level, choices=None) -> str:
    """The profile a screening of `scale` at a school of `level` is banded with."""
    choices = profile_choices() if choices is None else choices
    return (_in_force(scale, choices.get((scale.code, level)), level)
            or _in_force(scale, choices.get((scale.code, ALL_LEVELS)), level) or INTERNATIONAL)


def profiles_for_campaign(codes, level) -> dict:
    """{code: profile} for a new campaign's battery at a school of `level`: resolved once, kept by the campaign."""
    choices = profile_choices()
    return {code: profile_for(registry().get(code), level, choices) for code in codes}


def choose_profile(code, level, profile_code, *, by):
    """The district admin's choice for new screenings of one scale at one level (or all levels). Audited; past
    results keep the profile they were banded with (`flask scales reband` re-bands them, explicitly)."""
    if code not in registry():
        raise ScalesError("unknown_scale")
    scale = registry().get(code)
    if level not in LEVEL_CHOICES:
        raise ScalesError("unknown_level")
    try:
        profile = scale.profile(profile_code)
    except screening_scales.UnknownProfile:
        raise ScalesError("unknown_profile") from None
    if level == ALL_LEVELS and profile.school_levels or level != ALL_LEVELS and not profile.allows_level(level):
        raise ScalesError("profile_not_for_level")
    choice = db.session.scalar(select(CutoffProfileChoice).where(CutoffProfileChoice.scale_code == code,
                                                                 CutoffProfileChoice.school_level == level))
    before = choice.profile if choice is not None else None
    if choice is None:
        choice = CutoffProfileChoice(scale_code=code, school_level=level, profile=profile.code, chosen_by_id=by.id)
        db.session.add(choice)
    else:
        choice.profile, choice.chosen_by_id, choice.chosen_at = profile.code, by.id, clock.now()
    db.session.flush()
    audit.record(by, "cutoff_profile_chosen", "cutoff_profile_choice", choice.id,
                 detail={"scale": code, "level": level, "from": before, "to": profile.code})
    return choice


def profile_overview():
    """For the profiles page: each scale with Chinese cut-offs, its profiles, the choices made and, per school
    level, the profile a screening started now would use; and the scales that have none."""
    choices = profile_choices()
    rows = []
    for scale in registry():
        if not scale.cutoff_profiles:
            continue
        rows.append({"scale": scale, "choices": {level: choices.get((scale.code, level)) for level in LEVEL_CHOICES},
                     "in_force": {level: scale.profile(profile_for(scale, level, choices)) for level in SCHOOL_LEVELS}})
    return {"rows": rows, "without": [scale for scale in registry() if not scale.cutoff_profiles]}
