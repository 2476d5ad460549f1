"""Load and validate scale data files (YAML) into Scale objects; build a Registry.

Every file is checked strictly at start-up so that a typo in a band or a critical
item can never reach a student: any problem raises ScaleDefinitionError naming the
file and the field.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ScaleDefinitionError, UnknownScale
from .model import RISK_LEVELS, TRANSLATION_STATUSES, Band, Item, Option, Rule, Scale, Subscale, Translation, risk_rank
from .profiles import cutoff_profiles, international_profile

logger = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"
KEYS_DIR = PACKAGE_DIR / "keys"

TEXT_KEYS = {"zh", "en"}
SCALE_KEYS = {
    "code", "kind", "name", "instructions", "source", "licence", "zh_translation", "min_age",
    "min_age_basis", "loinc", "notes", "option_sets", "default_options", "items", "scoring",
    "bands", "rules", "critical_items", "unanswered_band", "subscales", "derived",
    "reliable_change", "quality", "cutoff_profiles",
}
REQUIRED_SCALE_KEYS = {"code", "name", "instructions", "source", "licence", "option_sets",
                       "items", "scoring", "bands", "zh_translation"}
# A shipped scoring key has no item text; the institution supplies it.
KEY_ONLY_KEYS = {"item_count", "item_text_licence"}
REQUIRED_KEY_KEYS = {"code", "kind", "name", "source", "licence", "option_sets", "item_count",
                     "scoring", "bands"}
ITEM_TEXT_KEYS = {"code", "kind", "name", "instructions", "items", "option_labels", "source",
                  "licence", "zh_translation", "notes"}
ITEM_KEYS = {"id", "text", "options", "optional", "asked_if", "note"}
OPTION_KEYS = {"value", "label"}
SCORING_KEYS = {"items", "reversed", "transform", "direction"}
TRANSFORM_KEYS = {"multiply", "round"}
BAND_KEYS = {"code", "min", "max", "risk", "flags", "label", "note"}
RULE_KEYS = {"when", "risk", "flags", "band_at_least", "note"}
WHEN_KEYS = {"item", "at_least", "equals", "items_at_least", "count_more_than",
             "any_subscale_positive"}
SUBSCALE_KEYS = {"code", "items", "method", "at_least", "note"}
RC_KEYS = {"sd", "reliability", "source"}
QUALITY_KEYS = {"min_seconds", "basis"}
ZH_KEYS = {"status", "provenance", "note"}
KNOWN_FLAGS = {"suicidal_ideation", "recent_suicidal_thoughts", "past_suicide_attempt",
               "suicide_risk", "acute_suicide_risk", "risk_item_unanswered"}


def canonical_version(data) -> str:
    """First 12 hex chars of sha256 over the canonical JSON of the parsed data."""
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScaleDefinitionError(path, "<file>", f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ScaleDefinitionError(path, "<file>", "top level must be a mapping")
    return data


class _Checker:
    """Small helpers that raise ScaleDefinitionError with the file and field."""

    def __init__(self, path):
        self.path = path

    def fail(self, field, problem):
        raise ScaleDefinitionError(self.path, field, problem)

    def keys(self, mapping, allowed, field, required=()):
        if not isinstance(mapping, dict):
            self.fail(field, "must be a mapping")
        unknown = sorted(set(mapping) - set(allowed))
        if unknown:
            where = f"{field}.{unknown[0]}" if field else unknown[0]
            self.fail(where, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        missing = sorted(set(required) - set(mapping))
        if missing:
            self.fail(f"{field}.{missing[0]}" if field else missing[0], "required key is missing")

    def text(self, value, field, required=("zh", "en")):
        if isinstance(value, str):
            self.fail(field, "must be a mapping with 'zh' and 'en' texts")
        self.keys(value, TEXT_KEYS, field, required)
        for k, v in value.items():
            if not isinstance(v, str) or not v.strip():
                self.fail(f"{field}.{k}", "must be a non-empty string")
        return dict(value)

    def int_(self, value, field):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, f"must be an integer, got {value!r}")
        return value

    def number(self, value, field):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(field, f"must be a number, got {value!r}")
        return value

    def str_(self, value, field):
        if not isinstance(value, str) or not value.strip():
            self.fail(field, "must be a non-empty string")
        return value

    def item_list(self, value, field, n_items):
        if not isinstance(value, list) or not value:
            self.fail(field, "must be a non-empty list of item numbers")
        for i, n in enumerate(value):
            self.int_(n, f"{field}[{i}]")
            if not 1 <= n <= n_items:
                self.fail(f"{field}[{i}]", f"item {n} does not exist (scale has {n_items} items)")
        if len(set(value)) != len(value):
            self.fail(field, "lists an item more than once")
        return tuple(value)

    def risk(self, value, field):
        if value not in RISK_LEVELS:
            self.fail(field, f"must be one of {', '.join(RISK_LEVELS)}, got {value!r}")
        return value

    def flags(self, value, field):
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(f, str) and f for f in value):
            self.fail(field, "must be a list of flag names")
        return tuple(value)


def _slug(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _option_sets(chk, raw, field, need_labels=True):
    if not isinstance(raw, dict) or not raw:
        chk.fail(field, "must be a non-empty mapping of option set name -> options")
    sets = {}
    for name, options in raw.items():
        f = f"{field}.{name}"
        if not isinstance(options, list) or len(options) < 2:
            chk.fail(f, "must list at least two options")
        parsed = []
        for i, opt in enumerate(options):
            chk.keys(opt, OPTION_KEYS, f"{f}[{i}]", ("value", "label") if need_labels else ("value",))
            value = chk.int_(opt["value"], f"{f}[{i}].value")
            labels = chk.text(opt["label"], f"{f}[{i}].label") if "label" in opt else {}
            parsed.append((value, labels))
        values = [v for v, _ in parsed]
        if len(set(values)) != len(values):
            chk.fail(f, "option values must be distinct")
        if sorted(values) != list(range(min(values), max(values) + 1)):
            chk.fail(f, "option values must be consecutive integers")
        sets[name] = parsed
    return sets


def _translation(chk, raw, field="zh_translation") -> Translation:
    chk.keys(raw, ZH_KEYS, field, ("status", "provenance"))
    if raw["status"] not in TRANSLATION_STATUSES:
        chk.fail(f"{field}.status", f"must be one of {', '.join(TRANSLATION_STATUSES)} (README: Chinese texts)")
    note = chk.str_(raw["note"], f"{field}.note") if "note" in raw else ""
    return Translation(raw["status"], chk.str_(raw["provenance"], f"{field}.provenance"), note)


def _build(chk: _Checker, data: dict, item_texts: list | None, option_labels: dict | None,
           version: str, path: str, meta_override: dict | None = None, translation: Translation | None = None,
           text_id: str | None = None, text_source: str | None = None) -> Scale:
    """Validate a full definition (a scale, or a key merged with item text) and build a Scale."""
    code = chk.str_(data["code"], "code")
    sets = _option_sets(chk, data["option_sets"], "option_sets", need_labels=item_texts is None
                        and "item_count" not in data)
    if option_labels:
        chk.keys(option_labels, set(sets), "option_labels")
        for name, labels in option_labels.items():
            f = f"option_labels.{name}"
            if not isinstance(labels, list) or len(labels) != len(sets[name]):
                chk.fail(f, f"must list {len(sets[name])} labels, one per option")
            sets[name] = [(v, chk.text(lab, f"{f}[{i}]"))
                          for i, ((v, _), lab) in enumerate(zip(sets[name], labels))]
    default_set = data.get("default_options")
    if default_set is not None and default_set not in sets:
        chk.fail("default_options", f"no option set named {default_set!r}")

    raw_items = data["items"]
    if not isinstance(raw_items, list) or not raw_items:
        chk.fail("items", "must be a non-empty list")
    n_items = len(raw_items)
    items = []
    seen_ids = set()
    for i, it in enumerate(raw_items):
        f = f"items[{i}]"
        chk.keys(it, ITEM_KEYS, f)
        number = i + 1
        item_id = it.get("id", f"{_slug(code)}_{number}")
        chk.str_(item_id, f"{f}.id")
        if item_id in seen_ids:
            chk.fail(f"{f}.id", f"duplicate item id {item_id!r}")
        seen_ids.add(item_id)
        if item_texts is not None:
            texts = item_texts[i]
        else:
            if "text" not in it:
                chk.fail(f"{f}.text", "required key is missing")
            texts = chk.text(it["text"], f"{f}.text")
        set_name = it.get("options", default_set)
        if set_name is None:
            chk.fail(f"{f}.options", "no option set given and no default_options")
        if set_name not in sets:
            chk.fail(f"{f}.options", f"no option set named {set_name!r}")
        optional = it.get("optional", False)
        if not isinstance(optional, bool):
            chk.fail(f"{f}.optional", "must be true or false")
        asked_if = it.get("asked_if")
        if asked_if is not None:
            chk.keys(asked_if, {"any_of", "equals"}, f"{f}.asked_if", ("any_of", "equals"))
            chk.item_list(asked_if["any_of"], f"{f}.asked_if.any_of", n_items)
            chk.int_(asked_if["equals"], f"{f}.asked_if.equals")
            asked_if = {"any_of": tuple(asked_if["any_of"]), "equals": asked_if["equals"]}
        options = tuple(Option(v, labels or {"zh": str(v), "en": str(v)}) for v, labels in sets[set_name])
        items.append(Item(number, item_id, texts, options, optional, asked_if))
    items = tuple(items)

    scoring = data["scoring"]
    chk.keys(scoring, SCORING_KEYS, "scoring")
    scored = (chk.item_list(scoring["items"], "scoring.items", n_items) if "items" in scoring
              else tuple(range(1, n_items + 1)))
    reversed_items = (chk.item_list(scoring["reversed"], "scoring.reversed", n_items)
                      if scoring.get("reversed") else ())
    for i, n in enumerate(reversed_items):
        if n not in scored:
            chk.fail(f"scoring.reversed[{i}]", f"item {n} is reversed but not scored")
    for i, n in enumerate(scored):
        if items[n - 1].optional or items[n - 1].asked_if:
            chk.fail(f"scoring.items[{i}]", f"item {n} is optional/conditional and cannot be summed")
    direction = scoring.get("direction", "higher_is_worse")
    if direction not in ("higher_is_worse", "higher_is_better"):
        chk.fail("scoring.direction", "must be higher_is_worse or higher_is_better")
    raw_min = sum(items[n - 1].min_value for n in scored)
    raw_max = sum(items[n - 1].max_value for n in scored)
    transform = scoring.get("transform")
    if transform is not None:
        chk.keys(transform, TRANSFORM_KEYS, "scoring.transform", ("multiply", "round"))
        chk.number(transform["multiply"], "scoring.transform.multiply")
        if transform["multiply"] <= 0:
            chk.fail("scoring.transform.multiply", "must be positive")
        if transform["round"] != "floor":
            chk.fail("scoring.transform.round", "only 'floor' is supported")
        transform = dict(transform)
        min_total = math.floor(raw_min * transform["multiply"])
        max_total = math.floor(raw_max * transform["multiply"])
    else:
        min_total, max_total = raw_min, raw_max

    # Bands: ranged bands must tile [min_total, max_total] exactly; list order = severity.
    raw_bands = data["bands"]
    if not isinstance(raw_bands, list) or not raw_bands:
        chk.fail("bands", "must be a non-empty list")
    bands = []
    codes = set()
    for i, b in enumerate(raw_bands):
        f = f"bands[{i}]"
        chk.keys(b, BAND_KEYS, f, ("code", "risk"))
        bcode = chk.str_(b["code"], f"{f}.code")
        if bcode in codes:
            chk.fail(f"{f}.code", f"duplicate band code {bcode!r}")
        codes.add(bcode)
        has_min, has_max = "min" in b, "max" in b
        if has_min != has_max:
            chk.fail(f"{f}.{'max' if has_min else 'min'}", "a band needs both min and max (or neither)")
        lo = chk.int_(b["min"], f"{f}.min") if has_min else None
        hi = chk.int_(b["max"], f"{f}.max") if has_max else None
        if lo is not None:
            if lo > hi:
                chk.fail(f"{f}.min", f"min {lo} is above max {hi}")
            if lo < min_total or hi > max_total:
                chk.fail(f"{f}.{'min' if lo < min_total else 'max'}",
                         f"band {lo}-{hi} is outside the possible total range {min_total}-{max_total}")
        labels = chk.text(b["label"], f"{f}.label") if "label" in b else {}
        bands.append(Band(bcode, chk.risk(b["risk"], f"{f}.risk"), lo, hi,
                          chk.flags(b.get("flags"), f"{f}.flags"), labels))
    for i in range(1, len(bands)):
        if risk_rank(bands[i].risk) < risk_rank(bands[i - 1].risk):
            chk.fail(f"bands[{i}].risk", "bands must be listed from least to most severe")
    ranged = sorted((b for b in bands if b.min is not None), key=lambda b: b.min)
    if not ranged:
        chk.fail("bands", "at least one band needs a min/max range")
    expected = min_total
    for b in ranged:
        idx = bands.index(b)
        if b.min > expected:
            chk.fail(f"bands[{idx}].min", f"gap: totals {expected}-{b.min - 1} fall in no band")
        if b.min < expected:
            chk.fail(f"bands[{idx}].min", f"overlap: total {b.min} is already in another band")
        expected = b.max + 1
    if expected <= max_total:
        chk.fail(f"bands[{bands.index(ranged[-1])}].max",
                 f"gap: totals {expected}-{max_total} fall in no band (range {min_total}-{max_total})")

    # Subscales
    subscales = []
    raw_subs = data.get("subscales") or []
    if not isinstance(raw_subs, list):
        chk.fail("subscales", "must be a list")
    for i, s in enumerate(raw_subs):
        f = f"subscales[{i}]"
        chk.keys(s, SUBSCALE_KEYS, f, ("code", "items"))
        method = s.get("method", "sum")
        if method not in ("sum", "mean"):
            chk.fail(f"{f}.method", "must be sum or mean")
        its = chk.item_list(s["items"], f"{f}.items", n_items)
        for j, n in enumerate(its):
            if n not in scored:
                chk.fail(f"{f}.items[{j}]", f"item {n} is not a scored item")
        at_least = chk.number(s["at_least"], f"{f}.at_least") if "at_least" in s else None
        subscales.append(Subscale(chk.str_(s["code"], f"{f}.code"), its, method, at_least))

    # Rules
    rules = []
    raw_rules = data.get("rules") or []
    if not isinstance(raw_rules, list):
        chk.fail("rules", "must be a list")
    for i, r in enumerate(raw_rules):
        f = f"rules[{i}]"
        chk.keys(r, RULE_KEYS, f, ("when",))
        when = r["when"]
        chk.keys(when, WHEN_KEYS, f"{f}.when")
        if "item" in when:
            n = chk.int_(when["item"], f"{f}.when.item")
            if not 1 <= n <= n_items:
                chk.fail(f"{f}.when.item", f"item {n} does not exist (scale has {n_items} items)")
            conds = [k for k in ("at_least", "equals") if k in when]
            if len(conds) != 1 or set(when) - {"item", conds[0]}:
                chk.fail(f"{f}.when", "an item rule needs exactly one of at_least / equals")
            v = chk.int_(when[conds[0]], f"{f}.when.{conds[0]}")
            if v not in items[n - 1].values:
                chk.fail(f"{f}.when.{conds[0]}", f"{v} is not an option value of item {n}")
        elif "items_at_least" in when:
            if set(when) != {"items_at_least", "count_more_than"}:
                chk.fail(f"{f}.when", "items_at_least needs count_more_than (and nothing else)")
            chk.int_(when["items_at_least"], f"{f}.when.items_at_least")
            chk.int_(when["count_more_than"], f"{f}.when.count_more_than")
        elif "any_subscale_positive" in when:
            if when != {"any_subscale_positive": True} or not any(s.at_least is not None for s in subscales):
                chk.fail(f"{f}.when.any_subscale_positive", "needs subscales with at_least thresholds")
        else:
            chk.fail(f"{f}.when", "must name an item, items_at_least or any_subscale_positive")
        risk = chk.risk(r["risk"], f"{f}.risk") if "risk" in r else None
        bal = r.get("band_at_least")
        if bal is not None and bal not in codes:
            chk.fail(f"{f}.band_at_least", f"no band named {bal!r}")
        if risk is None and bal is None and not r.get("flags"):
            chk.fail(f, "a rule must set risk, band_at_least or flags")
        rules.append(Rule(dict(when), risk, chk.flags(r.get("flags"), f"{f}.flags"), bal))
    for i, b in enumerate(bands):
        if b.min is None and not any(r.band_at_least == b.code for r in rules) \
                and data.get("unanswered_band") != b.code:
            chk.fail(f"bands[{i}]", f"band {b.code!r} has no range and no rule leads to it")

    critical = (chk.item_list(data["critical_items"], "critical_items", n_items)
                if data.get("critical_items") else ())
    unanswered_band = data.get("unanswered_band")
    if unanswered_band is not None:
        if unanswered_band not in codes:
            chk.fail("unanswered_band", f"no band named {unanswered_band!r}")
        if not critical:
            chk.fail("unanswered_band", "only meaningful with critical_items")

    derived = data.get("derived") or {}
    if not isinstance(derived, dict):
        chk.fail("derived", "must be a mapping")
    for name, spec in derived.items():
        chk.keys(spec, {"multiply"}, f"derived.{name}", ("multiply",))
        chk.int_(spec["multiply"], f"derived.{name}.multiply")

    rc = data.get("reliable_change")
    if rc is not None:
        chk.keys(rc, RC_KEYS, "reliable_change", ("sd", "reliability", "source"))
        if chk.number(rc["sd"], "reliable_change.sd") <= 0:
            chk.fail("reliable_change.sd", "must be positive")
        if not 0 <= chk.number(rc["reliability"], "reliable_change.reliability") < 1:
            chk.fail("reliable_change.reliability", "must be in [0, 1)")
        chk.str_(rc["source"], "reliable_change.source")
        rc = dict(rc)

    quality = data.get("quality") or {}
    chk.keys(quality, QUALITY_KEYS, "quality")
    if "min_seconds" in quality and chk.number(quality["min_seconds"], "quality.min_seconds") < 0:
        chk.fail("quality.min_seconds", "must not be negative")

    min_age = data.get("min_age")
    if min_age is not None:
        chk.int_(min_age, "min_age")
    loinc = data.get("loinc")
    if loinc is not None and not isinstance(loinc, dict):
        chk.fail("loinc", "must be a mapping or null")
    higher_is_better = direction == "higher_is_better"
    source = chk.str_(meta_override.get("source", data["source"]) if meta_override else data["source"], "source")
    international = international_profile(bands, min_total, max_total, higher_is_better, source)
    profiles = cutoff_profiles(chk, data.get("cutoff_profiles"), international, min_total, max_total,
                                higher_is_better)

    meta = meta_override or {}
    names = chk.text(meta.get("name", data["name"]), "name")
    instructions = meta.get("instructions", data.get("instructions"))
    instructions = chk.text(instructions, "instructions") if instructions is not None else {"zh": "", "en": ""}

    return Scale(
        code=code, version=version, path=path, names=names, instruction_texts=instructions,
        items=items, scored_items=scored, reversed_items=reversed_items, transform=transform,
        bands=tuple(bands), rules=tuple(rules), critical_items=critical,
        unanswered_band=unanswered_band, subscale_defs=tuple(subscales), derived=dict(derived),
        higher_is_better=higher_is_better, source=source,
        licence=chk.str_(meta.get("licence", data["licence"]), "licence"),
        min_age=min_age, loinc=dict(loinc) if loinc else None, reliable_change=rc,
        quality=dict(quality), min_total=min_total, max_total=max_total, raw=data,
        translation=translation, cutoff_profiles=profiles, international_profile=international,
        text_id=text_id, text_source=text_source,
    )


def load_scale_file(path, from_centre=False) -> Scale:
    """Load one full scale file (item text and scoring together); `from_centre` for a centre's own scale."""
    path = Path(path)
    data = _read_yaml(path)
    chk = _Checker(path)
    chk.keys(data, SCALE_KEYS, "", REQUIRED_SCALE_KEYS)
    if data.get("kind", "scale") != "scale":
        chk.fail("kind", "a scale file has kind 'scale' (or none)")
    translation = _translation(chk, data["zh_translation"])
    version = canonical_version(data)
    return _build(chk, data, None, None, version, str(path), translation=translation,
                  text_id=version if from_centre else None, text_source=data["source"] if from_centre else None)


def load_key_file(path) -> dict:
    """Load and check a shipped scoring key (no item text); returns its parsed data."""
    path = Path(path)
    data = _read_yaml(path)
    chk = _Checker(path)
    allowed = (SCALE_KEYS | KEY_ONLY_KEYS) - {"items", "instructions", "zh_translation"}
    chk.keys(data, allowed, "", REQUIRED_KEY_KEYS)
    if data["kind"] != "scoring_key":
        chk.fail("kind", "a key file has kind 'scoring_key'")
    n = chk.int_(data["item_count"], "item_count")
    # Validate the scoring now, with placeholder text, so a broken key fails at start-up.
    placeholder = [{"zh": f"#{i}", "en": f"#{i}"} for i in range(1, n + 1)]
    _build(chk, _key_as_scale(data), placeholder, None, "0" * 12, str(path))
    return data


def _key_as_scale(key: dict) -> dict:
    data = {k: v for k, v in key.items() if k not in KEY_ONLY_KEYS}
    data["items"] = [{} for _ in range(key["item_count"])]
    return data


def merge_item_text(key: dict, key_path, text_data: dict, text_path) -> Scale:
    """Combine a shipped scoring key with an institution's licensed item text."""
    chk = _Checker(text_path)
    chk.keys(text_data, ITEM_TEXT_KEYS, "", ("code", "items", "source", "licence"))
    if text_data.get("kind", "item_text") != "item_text":
        chk.fail("kind", f"{text_data['code']} is scored by a shipped key; this file may only supply "
                         "item text (kind: item_text)")
    items = text_data["items"]
    if not isinstance(items, list) or len(items) != key["item_count"]:
        chk.fail("items", f"must list exactly {key['item_count']} item texts for {key['code']}")
    texts = []
    for i, it in enumerate(items):
        if isinstance(it, dict) and "text" in it:
            chk.keys(it, {"text"}, f"items[{i}]")
            it = it["text"]
        texts.append(chk.text(it, f"items[{i}]"))
    meta = {"name": text_data.get("name", key["name"]),
            "source": f"{key['source']} | item text: {text_data['source']}",
            "licence": text_data["licence"]}
    if "instructions" in text_data:
        meta["instructions"] = text_data["instructions"]
    # A licensed text that does not say what it is counts as a copy nobody has checked.
    translation = (_translation(chk, text_data["zh_translation"]) if "zh_translation" in text_data
                   else Translation("unverified_copy", f"item text: {chk.str_(text_data['source'], 'source')}"))
    version = canonical_version({"key": key, "text": text_data})
    return _build(chk, _key_as_scale(key), texts, text_data.get("option_labels"), version,
                  str(text_path), meta, translation=translation, text_id=canonical_version(text_data),
                  text_source=text_data["source"])


def _partial_text(chk, value, field, shipped):
    """A centre's text for one element: Chinese required, English taken from the shipped text when absent."""
    if isinstance(value, dict) and "text" in value:
        chk.keys(value, {"text"}, field)
        value, field = value["text"], f"{field}.text"
    text = chk.text(value, field, required=("zh",))
    return {"zh": text["zh"], "en": text.get("en") or shipped.get("en", text["zh"])}


def merge_centre_text(scale: Scale, text_data: dict, text_path) -> Scale:
    """A shipped scale with a centre's own text (e.g. the publisher's official Chinese text it holds under its
    licence): the shipped scoring, bands, rules and profiles with the centre's item, instruction and option
    wording. A new version of the scale; the application uses it only after a clinician's review."""
    chk = _Checker(text_path)
    scoring = sorted(set(text_data) - ITEM_TEXT_KEYS) if text_data.get("kind", "item_text") == "item_text" \
        else ["kind"]
    if scoring:
        chk.fail(scoring[0], f"{scale.code} is shipped with XinQiao: a centre file may only supply its text "
                             "(kind: item_text), never its scoring (screening_scales/README.md: centre texts)")
    chk.keys(text_data, ITEM_TEXT_KEYS, "", ("code", "items", "source", "licence", "zh_translation"))
    translation = _translation(chk, text_data["zh_translation"])
    data = copy.deepcopy(scale.raw)
    items = text_data["items"]
    if not isinstance(items, list) or len(items) != len(data["items"]):
        chk.fail("items", f"must list exactly {len(data['items'])} item texts for {scale.code}")
    for i, value in enumerate(items):
        data["items"][i]["text"] = _partial_text(chk, value, f"items[{i}]", data["items"][i]["text"])
    for key in ("name", "instructions"):
        if key in text_data:
            data[key] = _partial_text(chk, text_data[key], key, data[key])
    labels = text_data.get("option_labels") or {}
    chk.keys(labels, set(data["option_sets"]), "option_labels")
    for name, options in labels.items():
        shipped = data["option_sets"][name]
        if not isinstance(options, list) or len(options) != len(shipped):
            chk.fail(f"option_labels.{name}", f"must list {len(shipped)} labels, one per option")
        for j, label in enumerate(options):
            shipped[j]["label"] = _partial_text(chk, label, f"option_labels.{name}[{j}]", shipped[j]["label"])
    data["zh_translation"] = dict(text_data["zh_translation"])
    data["source"] = f"{scale.raw['source']} | text: {chk.str_(text_data['source'], 'source')}"
    data["licence"] = chk.str_(text_data["licence"], "licence")
    version = canonical_version({"scale": scale.raw, "text": text_data})
    return _build(chk, data, None, None, version, str(text_path), translation=translation,
                  text_id=canonical_version(text_data), text_source=text_data["source"])


class Registry:
    """The validated scales, by code, in a stable order, and the centre's other texts of shipped scales."""

    def __init__(self, scales, keys=None, variants=None):
        self._scales = dict(scales)
        self.keys = dict(keys or {})  # code -> parsed key data (scoring keys without text)
        self._variants = {code: dict(texts) for code, texts in (variants or {}).items()}  # code -> {text_id: Scale}
        self._by_version = {(s.code, s.version): s for s in self.all_texts()}

    def texts(self, code) -> list:
        """Every text of a scale: the default (shipped) one first, then the centre's texts."""
        return [self.get(code)] + list(self._variants.get(code, {}).values())

    def all_texts(self):
        for scale in self._scales.values():
            yield scale
            yield from self._variants.get(scale.code, {}).values()

    def get_text(self, code, text_id=None) -> Scale:
        """The scale with the given text (None: the default text)."""
        scale = self.get(code)
        if text_id is None or text_id == scale.text_id:
            return scale
        try:
            return self._variants[code][text_id]
        except KeyError:
            raise UnknownScale(f"{code} (text {text_id} is not loaded)") from None

    def by_version(self, code, version) -> Scale | None:
        """The loaded scale of that code and version (any of its texts), or None."""
        return self._by_version.get((code, version))

    def get(self, code) -> Scale:
        if isinstance(code, Scale):
            return code
        try:
            return self._scales[code]
        except KeyError:
            if code in self.keys:
                raise UnknownScale(f"{code} (scoring key shipped, but no institution item text "
                                   "was loaded)") from None
            raise UnknownScale(code) from None

    def __contains__(self, code):
        return code in self._scales

    def __iter__(self):
        return iter(self._scales.values())

    def __len__(self):
        return len(self._scales)

    def codes(self) -> list:
        return list(self._scales)


def _yaml_files(directory: Path):
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


SHIPPED_ORDER = ("PHQ-9", "PHQ-A", "PHQ-2", "GAD-7", "GAD-2", "ASQ", "K6", "K10", "CES-DC",
                 "SCARED", "WHO-5")


def load_registry(extra_dirs=None) -> Registry:
    """Load and validate the shipped scales, the shipped keys and any extra directories."""
    scales = {}
    for path in _yaml_files(DATA_DIR):
        scale = load_scale_file(path)
        if scale.code in scales:
            raise ScaleDefinitionError(path, "code", f"duplicate code {scale.code!r}")
        scales[scale.code] = scale
    ordered = {c: scales.pop(c) for c in SHIPPED_ORDER if c in scales}
    ordered.update(sorted(scales.items()))
    keys, key_paths = {}, {}
    for path in _yaml_files(KEYS_DIR):
        key = load_key_file(path)
        if key["code"] in keys or key["code"] in ordered:
            raise ScaleDefinitionError(path, "code", f"duplicate code {key['code']!r}")
        keys[key["code"]], key_paths[key["code"]] = key, path
    shipped = set(ordered)
    variants = {}
    for directory in extra_dirs or ():
        directory = Path(directory)
        if not directory.is_dir():
            logger.info("extra scale directory %s does not exist; skipped", directory)
            continue
        for path in _yaml_files(directory):
            data = _read_yaml(path)
            code = data.get("code")
            if code in shipped:  # a centre's own text of a shipped scale: another version beside the shipped one
                scale = merge_centre_text(ordered[code], data, path)
                texts = variants.setdefault(code, {})
                if scale.text_id in texts:
                    raise ScaleDefinitionError(path, "items", f"the same text as {texts[scale.text_id].path}")
                texts[scale.text_id] = scale
            elif code in ordered:
                raise ScaleDefinitionError(path, "code", f"{code!r} is already defined "
                                                         f"(by {ordered[code].path})")
            elif code in keys:
                ordered[code] = merge_item_text(keys[code], key_paths[code], data, path)
            else:
                scale = load_scale_file(path, from_centre=True)
                ordered[scale.code] = scale
    return Registry(ordered, keys, variants)


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The shipped scales only, loaded once per process."""
    return load_registry()
