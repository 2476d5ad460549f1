"""XinQiao questionnaire library: scale definitions, validation and scoring (no Flask)."""

from .batch import score_batch
from .change import reliable_change
from .errors import AnswerError, ScaleDefinitionError, UnknownScale
from .loader import Registry, default_registry, load_registry
from .model import RISK_LEVELS, Band, Item, Option, Scale, risk_rank
from .quality import quality_flags
from .scoring import CRISIS_FLAGS, ScoreResult, needs_crisis_resources, score, shows_crisis_resources

__all__ = [
    "AnswerError", "Band", "CRISIS_FLAGS", "Item", "Option", "RISK_LEVELS", "Registry", "Scale",
    "ScaleDefinitionError", "ScoreResult", "UnknownScale", "default_registry", "load_registry",
    "needs_crisis_resources", "quality_flags", "reliable_change", "risk_rank", "score", "score_batch",
    "shows_crisis_resources",
]
