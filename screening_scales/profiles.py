"""Cut-off profiles in a scale file: the bands' own positive screen, and the named Chinese-population thresholds
(README: cut-off profiles). The loader calls these with its checker, which names the file and field of a problem."""

from __future__ import annotations

import re

from .model import INTERNATIONAL, SCHOOL_LEVELS, CutoffProfile

PROFILE_KEYS = {"code", "name", "population", "citation", "accuracy", "positive", "school_levels", "note"}
PROFILE_CODE = re.compile(r"[a-z][a-z0-9_]{1,47}")


def international_profile(bands, min_total, max_total, higher_is_better, source) -> CutoffProfile | None:
    """The bands' own positive screen (totals in a band above low risk), when those totals form one end of the
    range; None otherwise (then the scale cannot carry cut-off profiles)."""
    positive = {t for b in bands if b.min is not None and b.risk != "low" for t in range(b.min, b.max + 1)}
    if not positive or len(positive) == max_total - min_total + 1:
        return None
    names = {"zh": "国际通用分级", "en": "International bands"}
    population = {"zh": "量表编制者的研究（数据文件中的分级）", "en": "The instrument's own studies (the data file's bands)"}
    if higher_is_better and positive == set(range(min_total, max(positive) + 1)):
        return CutoffProfile(INTERNATIONAL, names, population, source, at_most=max(positive))
    if not higher_is_better and positive == set(range(min(positive), max_total + 1)):
        return CutoffProfile(INTERNATIONAL, names, population, source, at_least=min(positive))
    return None


def cutoff_profiles(chk, raw, international, min_total, max_total, higher_is_better) -> tuple:
    """Named Chinese-population thresholds. Each may only add positive screens to the international bands:
    a total those bands call positive stays positive under every profile (README: cut-off profiles)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        chk.fail("cutoff_profiles", "must be a list")
    profiles, codes = [], set()
    for i, p in enumerate(raw):
        f = f"cutoff_profiles[{i}]"
        chk.keys(p, PROFILE_KEYS, f, ("code", "name", "population", "citation", "positive"))
        code = chk.str_(p["code"], f"{f}.code")
        if not PROFILE_CODE.fullmatch(code) or code == INTERNATIONAL:
            chk.fail(f"{f}.code", "must be 2-48 characters a-z, 0-9 or _, starting with a letter, and not "
                                  f"'{INTERNATIONAL}' (the bands' own profile)")
        if code in codes:
            chk.fail(f"{f}.code", f"duplicate profile code {code!r}")
        codes.add(code)
        if international is None:
            chk.fail(f, "the bands give no positive screen (one end of the range above low risk) to move")
        want = "at_most" if higher_is_better else "at_least"
        chk.keys(p["positive"], {want}, f"{f}.positive", (want,))
        value = chk.int_(p["positive"][want], f"{f}.positive.{want}")
        if higher_is_better:
            if not min_total <= value < max_total:
                chk.fail(f"{f}.positive.at_most", f"must leave some totals negative ({min_total}-{max_total - 1})")
            if value < international.at_most:
                chk.fail(f"{f}.positive.at_most", f"a profile may only add positive screens: <={value} would call "
                         f"totals {value + 1}-{international.at_most} negative, which the bands call positive")
        else:
            if not min_total < value <= max_total:
                chk.fail(f"{f}.positive.at_least", f"must leave some totals negative ({min_total + 1}-{max_total})")
            if value > international.at_least:
                chk.fail(f"{f}.positive.at_least", f"a profile may only add positive screens: >={value} would call "
                         f"totals {international.at_least}-{value - 1} negative, which the bands call positive")
        levels = p.get("school_levels") or []
        if not isinstance(levels, list) or any(level not in SCHOOL_LEVELS for level in levels) \
                or len(set(levels)) != len(levels):
            chk.fail(f"{f}.school_levels", f"must list distinct school levels of: {', '.join(SCHOOL_LEVELS)}")
        profiles.append(CutoffProfile(
            code, chk.text(p["name"], f"{f}.name"), chk.text(p["population"], f"{f}.population"),
            chk.str_(p["citation"], f"{f}.citation"),
            chk.str_(p["accuracy"], f"{f}.accuracy") if "accuracy" in p else None,
            at_least=None if higher_is_better else value, at_most=value if higher_is_better else None,
            school_levels=tuple(levels), note=chk.str_(p["note"], f"{f}.note") if "note" in p else None))
    return tuple(profiles)
