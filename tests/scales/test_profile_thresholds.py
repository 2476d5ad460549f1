"""Cut-off profiles: each shipped one proved against the threshold its study gives (shared/SCALES.md), on both sides
of the boundary; a profile never lowers anything and never touches a critical answer; batch scoring agrees."""

import copy

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import screening_scales as ss
from screening_scales.loader import load_scale_file

from scales_helpers import answers_for_total, shipped_data, write_yaml

# shared/SCALES.md, "Chinese validation studies": scale -> {profile: (positive side, threshold, study named)}
CITED = {
    "PHQ-9": {"cn_primary_care_chen2013": ("at_least", 10, "Chen S et al. 2013 (PubMed 23857806)")},
    "GAD-7": {"cn_general_hospital_he2010": ("at_least", 10, "He X, Li C, Wu W"),
              "hk_youth_2022": ("at_least", 7, "10.1186/s12888-022-04329-9")},
    "PHQ-2": {"cn_school_students": ("at_least", 3, "Chinese Journal of Clinical Psychology")},
    "SCARED": {"cn_urban_norms_wang": ("at_least", 23, "王凯")},
    "WHO-5": {"cn_senior_high_wang_bian2011": ("at_most", 12, "王洲, 卞茜 2011")},
}
# No Chinese cut-off in SCALES.md (PHQ-A: 7 is a remission cut-off; K6/K10, CES-DC, ASQ: none found): no profile.
WITHOUT = ["PHQ-A", "GAD-2", "ASQ", "K6", "K10", "CES-DC"]
ALL_PROFILES = [(code, name) for code, profiles in CITED.items() for name in profiles]


def test_the_shipped_profiles_are_exactly_the_cited_ones(registry):
    for code, profiles in CITED.items():
        scale = registry.get(code)
        assert [p.code for p in scale.cutoff_profiles] == list(profiles)
        for p in scale.cutoff_profiles:
            side, threshold, study = profiles[p.code]
            assert getattr(p, side) == threshold and getattr(p, "at_most" if side == "at_least" else "at_least") is None
            assert study in p.citation
            assert p.population_text("zh") and p.population_text("en") and p.name("zh") != p.name("en")
    for code in WITHOUT:
        assert registry.get(code).cutoff_profiles == ()


def test_profiles_name_school_levels_only_where_the_study_says_so(registry):
    levels = {(code, p.code): p.school_levels for code in CITED for p in registry.get(code).cutoff_profiles}
    assert levels[("GAD-7", "hk_youth_2022")] == ("high", "vocational", "university")  # aged 15-24
    assert levels[("WHO-5", "cn_senior_high_wang_bian2011")] == ("high",)               # senior high school
    assert {k for k, v in levels.items() if v} == {("GAD-7", "hk_youth_2022"),
                                                   ("WHO-5", "cn_senior_high_wang_bian2011")}
    hk = registry.get("GAD-7").profile("hk_youth_2022")
    assert hk.allows_level("high") and not hk.allows_level("middle") and not hk.allows_level("primary")
    assert registry.get("SCARED").profile("cn_urban_norms_wang").allows_level("primary")


def test_the_international_profile_is_the_bands_own_positive_screen(registry):
    expected = {"PHQ-9": "≥10", "PHQ-A": "≥10", "PHQ-2": "≥3", "GAD-7": "≥10", "GAD-2": "≥3", "ASQ": "≥1",
                "K6": "≥5", "K10": "≥16", "CES-DC": "≥16", "SCARED": "≥25", "WHO-5": "≤12"}
    for code, threshold in expected.items():
        scale = registry.get(code)
        assert scale.profile(None) is scale.profile("international") is scale.profiles[0]
        assert scale.profiles[0].threshold == threshold
    with pytest.raises(ss.UnknownProfile):
        registry.get("PHQ-9").profile("hk_youth_2022")


def _side_totals(profile):
    """(first positive total, last negative total) of the profile's boundary."""
    if profile.at_least is not None:
        return profile.at_least, profile.at_least - 1
    return profile.at_most, profile.at_most + 1


@pytest.mark.parametrize("code,name", ALL_PROFILES)
def test_each_profile_at_its_boundary(registry, code, name):
    scale, profile = registry.get(code), registry.get(code).profile(name)
    positive_total, negative_total = _side_totals(profile)
    avoid = scale.critical_items
    positive = ss.score(code, answers_for_total(scale, positive_total, avoid), profile=name)
    assert positive.total == positive_total and positive.profile == name
    assert positive.risk == "moderate" and ss.CUTOFF_POSITIVE in positive.flags
    if scale.two_bands:
        assert positive.band == scale.bands[1].code  # the positive band of a negative/positive scale
    else:
        assert positive.band == ss.score(code, answers_for_total(scale, positive_total, avoid)).band  # severity stays
    answers = answers_for_total(scale, negative_total, avoid)
    negative, international = ss.score(code, answers, profile=name), ss.score(code, answers)
    assert negative.profile == name and ss.CUTOFF_POSITIVE not in negative.flags
    assert (negative.band, negative.risk, negative.flags) == (international.band, international.risk,
                                                               international.flags)


def test_the_cited_thresholds_in_numbers(registry):
    """The same facts, written out: what changes where a Chinese threshold differs from the international bands."""
    def result(code, total, profile):
        scale = registry.get(code)
        r = ss.score(code, answers_for_total(scale, total, scale.critical_items), profile=profile)
        return r.band, r.risk
    assert result("SCARED", 22, "cn_urban_norms_wang") == ("negative", "low")
    assert result("SCARED", 23, "cn_urban_norms_wang") == ("positive", "moderate")
    assert result("SCARED", 23, None) == ("negative", "low")
    assert result("SCARED", 24, "cn_urban_norms_wang") == ("positive", "moderate")
    assert result("GAD-7", 6, "hk_youth_2022") == ("mild", "low")
    assert result("GAD-7", 7, "hk_youth_2022") == ("mild", "moderate")
    assert result("GAD-7", 7, None) == ("mild", "low")
    assert result("GAD-7", 9, "cn_general_hospital_he2010") == ("mild", "low")
    assert result("GAD-7", 10, "cn_general_hospital_he2010") == ("moderate", "moderate")
    assert result("PHQ-9", 9, "cn_primary_care_chen2013") == ("mild", "low")
    assert result("PHQ-9", 10, "cn_primary_care_chen2013") == ("moderate", "moderate")
    assert result("PHQ-2", 2, "cn_school_students") == ("negative", "low")
    assert result("PHQ-2", 3, "cn_school_students") == ("positive", "moderate")
    assert result("WHO-5", 13, "cn_senior_high_wang_bian2011") == ("adequate", "low")
    assert result("WHO-5", 12, "cn_senior_high_wang_bian2011") == ("poor", "moderate")


@pytest.mark.parametrize("code,name", ALL_PROFILES)
def test_a_profile_never_lowers_any_total(registry, code, name):
    scale = registry.get(code)
    for total in range(scale.min_total, scale.max_total + 1):
        answers = answers_for_total(scale, total, scale.critical_items)
        international, banded = ss.score(code, answers), ss.score(code, answers, profile=name)
        assert ss.risk_rank(banded.risk) >= ss.risk_rank(international.risk)
        assert scale.band_index(banded.band) >= scale.band_index(international.band)
        assert set(international.flags) <= set(banded.flags)


@pytest.mark.parametrize("name", [None, "cn_primary_care_chen2013"])
def test_critical_answers_do_not_depend_on_the_profile(name):
    item9 = ss.score("PHQ-9", [0] * 8 + [1], profile=name)
    assert (item9.total, item9.risk, item9.flags[0]) == (1, "critical", "suicidal_ideation")
    assert ss.shows_crisis_resources(item9)
    blank = ss.score("PHQ-9", [0] * 8 + [None], profile=name)
    assert blank.total is None and blank.risk == "high" and "risk_item_unanswered" in blank.flags
    assert blank.profile == (name or "international")  # no total: the profile cannot judge, nothing is lowered
    loud = ss.score("PHQ-9", [3] * 9, profile=name)
    assert loud.risk == "critical" and loud.band == "severe"


def test_apply_profile_rebands_only_an_international_result(registry):
    scale = registry.get("SCARED")
    international = ss.score(scale, answers_for_total(scale, 23))
    banded = ss.apply_profile(scale, international, "cn_urban_norms_wang")
    assert banded == ss.score(scale, answers_for_total(scale, 23), profile="cn_urban_norms_wang")
    assert ss.apply_profile(scale, international, "international") is international
    with pytest.raises(ValueError):
        ss.apply_profile(scale, banded, "cn_urban_norms_wang")
    with pytest.raises(ss.UnknownProfile):
        ss.score("SCARED", [0] * 41, profile="hk_youth_2022")


# --- batch scoring agrees with score() under every profile ---------------------------------------------------

def _random_matrix(scale, n, rng):
    return np.stack([rng.integers(it.min_value, it.max_value + 1, size=n) for it in scale.items], axis=1)


@pytest.mark.parametrize("code,name", ALL_PROFILES + [(code, None) for code in CITED])
def test_batch_equals_per_response_under_profiles(registry, code, name):
    scale = registry.get(code)
    m = _random_matrix(scale, 2000, np.random.default_rng(abs(hash((code, name))) % 2**32))
    # Boundary rows too: the random ones rarely sit exactly on a threshold.
    edges = [answers_for_total(scale, t, scale.critical_items) for p in scale.profiles for t in _side_totals(p)]
    m = np.vstack([m, np.array(edges, dtype=m.dtype)])
    out = ss.score_batch(code, m, profile=name)
    assert out["profile"] == (name or "international")
    for i, row in enumerate(m.tolist()):
        r = ss.score(code, row, profile=name)
        assert (int(out["total"][i]), out["bands"][out["band_index"][i]], ss.RISK_LEVELS[out["risk_index"][i]]) \
            == (r.total, r.band, r.risk)
        assert bool(out["positive"][i]) == scale.profile(name).is_positive(r.total)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), which=st.sampled_from(ALL_PROFILES))
def test_batch_equals_per_response_under_profiles_hypothesis(registry, data, which):
    code, name = which
    scale = registry.get(code)
    rows = data.draw(st.lists(st.tuples(*[st.integers(it.min_value, it.max_value) for it in scale.items]),
                              min_size=1, max_size=20))
    out = ss.score_batch(code, np.array(rows, dtype=np.int16), profile=name)
    for i, row in enumerate(rows):
        r = ss.score(code, list(row), profile=name)
        assert (int(out["total"][i]), out["bands"][out["band_index"][i]],
                ss.RISK_LEVELS[out["risk_index"][i]]) == (r.total, r.band, r.risk)


# --- the loader ---------------------------------------------------------------------------------------------

def _profile(**overrides):
    profile = {"code": "test_profile", "name": {"zh": "测试", "en": "Test"}, "population": {"zh": "样本", "en": "Sample"},
               "citation": "A study", "positive": {"at_least": 10}}
    profile.update(overrides)
    return profile


def _phq9_with(tmp_path, *profiles, name="phq9.yaml"):
    data = copy.deepcopy(shipped_data("phq9.yaml"))
    data["cutoff_profiles"] = list(profiles)
    return write_yaml(tmp_path / name, data)


@pytest.mark.parametrize("profile,field,words", [
    (_profile(positive={"at_least": 11}), "cutoff_profiles[0].positive.at_least", "only add positive screens"),
    (_profile(positive={"at_most": 10}), "cutoff_profiles[0].positive.at_most", "unknown key"),
    (_profile(positive={"at_least": 0}), "cutoff_profiles[0].positive.at_least", "some totals negative"),
    (_profile(positive={"at_least": "7"}), "cutoff_profiles[0].positive.at_least", "integer"),
    (_profile(code="international"), "cutoff_profiles[0].code", "not 'international'"),
    (_profile(code="Chen 2013"), "cutoff_profiles[0].code", "a-z"),
    (_profile(school_levels=["senior"]), "cutoff_profiles[0].school_levels", "distinct school levels"),
    (_profile(population="Hangzhou"), "cutoff_profiles[0].population", "'zh' and 'en'"),
    ({k: v for k, v in _profile().items() if k != "citation"}, "cutoff_profiles[0].citation", "missing"),
    (_profile(sensitivity=0.87), "cutoff_profiles[0].sensitivity", "unknown key"),
])
def test_the_loader_refuses_a_bad_profile(tmp_path, profile, field, words):
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        load_scale_file(_phq9_with(tmp_path, profile))
    assert exc.value.field == field and words in str(exc.value) and "phq9.yaml" in str(exc.value)


def test_the_loader_refuses_a_duplicate_profile_and_accepts_a_more_sensitive_one(tmp_path):
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        load_scale_file(_phq9_with(tmp_path, _profile(), _profile()))
    assert exc.value.field == "cutoff_profiles[1].code"
    scale = load_scale_file(_phq9_with(tmp_path, _profile(positive={"at_least": 7}, school_levels=["high"])))
    assert scale.profile("test_profile").at_least == 7
    assert ss.score(scale, [1] * 7 + [0, 0], profile="test_profile").risk == "moderate"


def test_a_higher_is_better_profile_may_not_call_a_poor_total_adequate(tmp_path):
    data = copy.deepcopy(shipped_data("who5.yaml"))
    data["cutoff_profiles"][0]["positive"] = {"at_most": 11}  # the study's 11.5 cut-off: less sensitive
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        load_scale_file(write_yaml(tmp_path / "who5.yaml", data))
    assert exc.value.field == "cutoff_profiles[0].positive.at_most" and "only add positive screens" in str(exc.value)


def test_profiles_are_part_of_the_version(tmp_path):
    """The version is the hash of the whole file, profiles included: (version, profile) names exactly the thresholds
    a stored score was banded with, even if a profile is edited later under the same name."""
    base = load_scale_file(_phq9_with(tmp_path, _profile(), name="a.yaml"))
    edited = load_scale_file(_phq9_with(tmp_path, _profile(positive={"at_least": 9}), name="b.yaml"))
    shipped = ss.default_registry().get("PHQ-9")
    assert len({base.version, edited.version, shipped.version}) == 3
    assert [i.id for i in base.items] == [i.id for i in shipped.items]  # the items are the same
