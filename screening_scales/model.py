"""Immutable objects describing a validated scale: Scale, Item, Option, Band, Rule, CutoffProfile, Translation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .errors import UnknownProfile

RISK_LEVELS = ("low", "moderate", "high", "critical")
_RISK_RANK = {level: rank for rank, level in enumerate(RISK_LEVELS)}

# What a scale's Chinese text is (README: "Chinese texts"). Only a text a centre loads may claim the first, and
# the application uses such a text only after a named clinician has reviewed it.
TRANSLATION_STATUSES = ("validated_official", "unverified_copy", "project_translation")
# School levels a cut-off profile's study population covers (the application's SchoolLevel values).
SCHOOL_LEVELS = ("primary", "middle", "high", "vocational", "university")
# The profile every scale has: its data file's bands, as the instrument's authors set them.
INTERNATIONAL = "international"


def risk_rank(level: str) -> int:
    """Return the position of a risk level in RISK_LEVELS (low=0 … critical=3)."""
    try:
        return _RISK_RANK[level]
    except KeyError:
        raise ValueError(f"unknown risk level: {level!r}") from None


def locale_key(locale: str | None) -> str:
    """Map a locale such as 'zh_CN', 'zh-Hans', 'en_US' to 'zh' or 'en' (Chinese by default)."""
    if locale and str(locale).lower().startswith("en"):
        return "en"
    return "zh"


def _pick(texts: dict, locale: str | None) -> str:
    key = locale_key(locale)
    return texts.get(key) or texts.get("zh") or texts.get("en") or ""


@dataclass(frozen=True)
class Option:
    value: int
    labels: dict = field(repr=False)

    def label(self, locale: str | None = "zh") -> str:
        return _pick(self.labels, locale)


@dataclass(frozen=True)
class Item:
    number: int
    id: str
    texts: dict = field(repr=False)
    options: tuple = field(repr=False)
    optional: bool = False
    asked_if: dict | None = None  # {"any_of": [item numbers], "equals": value}

    def text(self, locale: str | None = "zh") -> str:
        return _pick(self.texts, locale)

    # Cached: scoring asks for them on every answer, and an item never changes (a frozen dataclass keeps a
    # cached_property in its __dict__, outside the fields that equality and hashing see).
    @cached_property
    def values(self) -> frozenset:
        return frozenset(o.value for o in self.options)

    @cached_property
    def min_value(self) -> int:
        return min(self.values)

    @cached_property
    def max_value(self) -> int:
        return max(self.values)


@dataclass(frozen=True)
class Band:
    code: str
    risk: str
    min: int | None = None  # None for bands reachable only through a rule (ASQ acute_positive)
    max: int | None = None
    flags: tuple = ()
    labels: dict = field(default_factory=dict, repr=False)

    def label(self, locale: str | None = "zh") -> str:
        return _pick(self.labels, locale) or self.code


@dataclass(frozen=True)
class Rule:
    """A clinical rule: when the condition holds, raise risk / band and add flags."""

    when: dict
    risk: str | None = None
    flags: tuple = ()
    band_at_least: str | None = None


@dataclass(frozen=True)
class Subscale:
    code: str
    items: tuple
    method: str = "sum"  # sum | mean
    at_least: float | None = None


@dataclass(frozen=True)
class Translation:
    """What the scale's Chinese text is and where it came from."""

    status: str        # one of TRANSLATION_STATUSES
    provenance: str
    note: str = ""


@dataclass(frozen=True)
class CutoffProfile:
    """A named positive-screen threshold with the population and study it comes from (README: cut-off profiles).

    Positive when the total is at least `at_least` (scales where higher is worse) or at most `at_most` (WHO-5).
    """

    code: str
    names: dict = field(repr=False)
    population: dict = field(repr=False)
    citation: str = field(repr=False)
    accuracy: str | None = field(default=None, repr=False)
    at_least: int | None = None
    at_most: int | None = None
    school_levels: tuple = ()  # empty: any level (the study names none)
    note: str | None = field(default=None, repr=False)

    def name(self, locale: str | None = "zh") -> str:
        return _pick(self.names, locale)

    def population_text(self, locale: str | None = "zh") -> str:
        return _pick(self.population, locale)

    def is_positive(self, total) -> bool | None:
        """Whether `total` is a positive screen by this profile's threshold (None without a total)."""
        if total is None:
            return None
        return total >= self.at_least if self.at_least is not None else total <= self.at_most

    @property
    def threshold(self) -> str:
        return f"≥{self.at_least}" if self.at_least is not None else f"≤{self.at_most}"

    def allows_level(self, level) -> bool:
        return not self.school_levels or level in self.school_levels


@dataclass(frozen=True)
class Scale:
    code: str
    version: str
    path: str
    names: dict = field(repr=False)
    instruction_texts: dict = field(repr=False)
    items: tuple = field(repr=False)
    scored_items: tuple = field(repr=False)
    reversed_items: tuple = field(repr=False)
    transform: dict | None = field(repr=False)
    bands: tuple = field(repr=False)
    rules: tuple = field(repr=False)
    critical_items: tuple = field(repr=False)
    unanswered_band: str | None = field(repr=False)
    subscale_defs: tuple = field(repr=False)
    derived: dict = field(repr=False)
    higher_is_better: bool = field(repr=False)
    source: str = field(repr=False)
    licence: str = field(repr=False)
    min_age: int | None = field(repr=False)
    loinc: dict | None = field(repr=False)
    reliable_change: dict | None = field(repr=False)
    quality: dict = field(repr=False)
    min_total: int = field(repr=False)
    max_total: int = field(repr=False)
    raw: dict = field(repr=False)  # the parsed file(s), for show/debugging
    translation: Translation = field(default=None, repr=False)
    # The Chinese-language profiles of the data file; the international one is built from the bands.
    cutoff_profiles: tuple = field(default=(), repr=False)
    international_profile: CutoffProfile | None = field(default=None, repr=False)
    # A text a centre loaded (EXTRA_SCALE_DIRS): the digest of its text file, which a clinician's review names.
    # None for a text shipped with XinQiao.
    text_id: str | None = None
    text_source: str | None = field(default=None, repr=False)

    @cached_property
    def item_count(self) -> int:
        return len(self.items)

    @cached_property
    def omittable_tail(self) -> int:
        """How many items at the end may be left out (optional, or asked only after an earlier answer)."""
        count = 0
        for item in reversed(self.items):
            if not (item.optional or item.asked_if):
                break
            count += 1
        return count

    def name(self, locale: str | None = "zh") -> str:
        return _pick(self.names, locale)

    def instructions(self, locale: str | None = "zh") -> str:
        return _pick(self.instruction_texts, locale)

    def band(self, code: str) -> Band:
        for b in self.bands:
            if b.code == code:
                return b
        raise KeyError(code)

    def band_index(self, code: str) -> int:
        return [b.code for b in self.bands].index(code)

    @property
    def profiles(self) -> tuple:
        """Every profile a deployment may choose: the international one first (None when the bands have no
        positive screen, e.g. a scale whose every band is low risk)."""
        return ((self.international_profile,) if self.international_profile else ()) + self.cutoff_profiles

    @cached_property
    def _profiles_by_code(self) -> dict:
        return {p.code: p for p in self.profiles}

    def profile(self, code: str | None) -> CutoffProfile:
        try:
            return self._profiles_by_code[code or INTERNATIONAL]
        except KeyError:
            raise UnknownProfile(f"{self.code} has no cut-off profile {code!r}") from None

    @cached_property
    def positive_band(self) -> Band | None:
        """The first band (least severe first) above low risk: a positive screen under the international bands."""
        return next((b for b in self.bands if b.min is not None and b.risk != "low"), None)

    @cached_property
    def two_bands(self) -> bool:
        """Negative/positive scales (SCARED, PHQ-2, WHO-5 …): a profile moves the boundary between the two."""
        return len(self.bands) == 2 and all(b.min is not None for b in self.bands) \
            and self.bands[0].risk == "low" and self.bands[1].risk != "low"

    @property
    def from_centre(self) -> bool:
        """A text a centre loaded: used in a screening only after a clinician's review (the application decides)."""
        return self.text_id is not None

    @cached_property
    def has_reversed_items(self) -> bool:
        return bool(self.reversed_items)

    def __hash__(self):
        return hash((self.code, self.version))

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "items": self.item_count}
