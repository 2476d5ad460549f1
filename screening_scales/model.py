"""Immutable objects describing a validated scale: Scale, Item, Option, Band, Rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

RISK_LEVELS = ("low", "moderate", "high", "critical")
_RISK_RANK = {level: rank for rank, level in enumerate(RISK_LEVELS)}


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

    @cached_property
    def has_reversed_items(self) -> bool:
        return bool(self.reversed_items)

    def __hash__(self):
        return hash((self.code, self.version))

    def describe(self) -> dict[str, Any]:
        return {"code": self.code, "version": self.version, "items": self.item_count}
