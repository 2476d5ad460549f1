"""XinQiao questionnaire library: scale definitions, validation and scoring (no Flask)."""

from .batch import score_batch
from .change import reliable_change
from .errors import AnswerError, ScaleDefinitionError, UnknownProfile, UnknownScale
from .loader import Registry, default_registry, load_registry
from .model import (INTERNATIONAL, RISK_LEVELS, SCHOOL_LEVELS, TRANSLATION_STATUSES, Band, CutoffProfile, Item,
                    Option, Scale, Translation, risk_rank)
from .quality import quality_flags
from .scoring import (CRISIS_FLAGS, CUTOFF_POSITIVE, ScoreResult, apply_profile, needs_crisis_resources, score,
                      shows_crisis_resources)

__all__ = [
    "AnswerError", "Band", "CRISIS_FLAGS", "CUTOFF_POSITIVE", "CutoffProfile", "INTERNATIONAL", "Item", "Option",
    "RISK_LEVELS", "Registry", "SCHOOL_LEVELS", "Scale", "ScaleDefinitionError", "ScoreResult", "TRANSLATION_STATUSES",
    "Translation", "UnknownProfile", "UnknownScale", "apply_profile", "default_registry", "load_registry",
    "needs_crisis_resources", "quality_flags", "reliable_change", "risk_rank", "score", "score_batch",
    "shows_crisis_resources",
]
