"""Licensed instruments: shipped scoring keys + institution item text (fixture text only)."""

import pytest

import screening_scales as ss

from scales_helpers import write_yaml


def _text_file(tmp_path, code, n, **extra):
    data = {"code": code, "source": "Fixture text for tests", "licence": "test fixture, not real text",
            "items": [{"zh": f"占位题目{i}", "en": f"Placeholder item {i}"} for i in range(1, n + 1)]}
    data.update(extra)
    return write_yaml(tmp_path / f"{code.lower()}.yaml", data)


@pytest.fixture
def licensed(tmp_path):
    _text_file(tmp_path, "SCL-90", 90, option_labels={"severity5": [
        {"zh": f"级{i}", "en": f"level {i}"} for i in range(1, 6)]})
    _text_file(tmp_path, "UPI", 60)
    _text_file(tmp_path, "SDS", 20)
    _text_file(tmp_path, "SAS", 20)
    return ss.load_registry(extra_dirs=[tmp_path])


def test_keys_need_institution_text():
    reg = ss.default_registry()
    assert "SCL-90" in reg.keys and "SCL-90" not in reg.codes()
    with pytest.raises(ss.UnknownScale) as exc:
        reg.get("SCL-90")
    assert "item text" in str(exc.value)


def test_merged_scale(licensed):
    scl = licensed.get("SCL-90")
    assert scl.item_count == 90 and scl.items[0].text("en") == "Placeholder item 1"
    assert scl.items[0].options[0].label("en") == "level 1"
    assert "Fixture" in scl.source and scl.licence == "test fixture, not real text"
    assert licensed.codes()[-4:] == ["SAS", "SCL-90", "SDS", "UPI"]


def test_merged_version_changes_with_text(tmp_path):
    _text_file(tmp_path, "SAS", 20)
    v1 = ss.load_registry(extra_dirs=[tmp_path]).get("SAS").version
    _text_file(tmp_path, "SAS", 20, name={"zh": "焦虑", "en": "Anxiety"})
    assert ss.load_registry(extra_dirs=[tmp_path]).get("SAS").version != v1


def test_text_file_may_not_carry_scoring(tmp_path):
    _text_file(tmp_path, "UPI", 60, bands=[])
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[tmp_path])
    assert "upi.yaml" in str(exc.value) and "'bands'" in str(exc.value)


def test_text_file_item_count_must_match(tmp_path):
    _text_file(tmp_path, "SDS", 19)
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[tmp_path])
    assert "sds.yaml" in str(exc.value) and "'items'" in str(exc.value)


# --- SCL-90 ---------------------------------------------------------------------------------

def test_scl90_all_ones_negative(licensed):
    r = ss.score("SCL-90", [1] * 90, registry=licensed)
    assert (r.total, r.band, r.risk) == (90, "negative", "low")
    assert r.subscales["somatization"] == {"score": 1.0, "positive": False}
    assert r.subscales["additional"] == {"score": 1.0}


def _scl90_answers(licensed, total):
    """Answers summing to `total` with every factor mean < 2 and few items >= 2."""
    scl = licensed.get("SCL-90")
    answers = [1] * 90
    left = total - 90
    groups = [s for s in scl.subscale_defs if s.code == "additional"] + \
             [s for s in scl.subscale_defs if s.code != "additional"]
    for s in groups:
        room = 4 * len(s.items) if s.code == "additional" else len(s.items) - 1
        for n in s.items:
            add = min(4, room, left)
            answers[n - 1] += add
            room -= add
            left -= add
    assert left == 0
    return answers


@pytest.mark.parametrize("total,band", [(90, "negative"), (160, "negative"), (161, "positive")])
def test_scl90_total_edge(licensed, total, band):
    answers = _scl90_answers(licensed, total)
    r = ss.score("SCL-90", answers, registry=licensed)
    assert (r.total, r.band) == (total, band)
    assert not any(v.get("positive") for v in r.subscales.values())
    assert sum(1 for a in answers if a >= 2) <= 43


def test_scl90_more_than_43_items_at_2(licensed):
    # spread 2s so no factor mean reaches 2 is impossible with 44 items; check the count rule
    answers = [1] * 90
    for n in range(1, 44):
        answers[n - 1] = 2
    r43 = ss.score("SCL-90", answers, registry=licensed)
    answers[43] = 2
    r44 = ss.score("SCL-90", answers, registry=licensed)
    assert r44.band == "positive"
    assert r43.total == 133 and r44.total == 134


def test_scl90_factor_mean_2_is_positive(licensed):
    answers = [1] * 90
    for n in (11, 24, 63, 67, 74, 81):  # hostility
        answers[n - 1] = 2
    r = ss.score("SCL-90", answers, registry=licensed)
    assert r.total == 96 and r.band == "positive"
    assert r.subscales["hostility"] == {"score": 2.0, "positive": True}
    answers[80] = 1
    assert ss.score("SCL-90", answers, registry=licensed).band == "negative"


def test_scl90_item15_is_critical(licensed):
    answers = [1] * 90
    answers[14] = 2
    r = ss.score("SCL-90", answers, registry=licensed)
    assert r.risk == "critical" and "suicidal_ideation" in r.flags
    answers[14] = None
    r = ss.score("SCL-90", answers, registry=licensed)
    assert r.risk == "high" and "risk_item_unanswered" in r.flags


# --- UPI ------------------------------------------------------------------------------------

def _upi(yes):
    answers = [0] * 60
    for n in yes:
        answers[n - 1] = 1
    return answers


def test_upi_lie_items_not_scored(licensed):
    assert ss.score("UPI", _upi([5, 20, 35, 50]), registry=licensed).total == 0
    assert ss.score("UPI", [1] * 60, registry=licensed).total == 56


PLAIN = [n for n in range(1, 61) if n not in (5, 20, 35, 50, 8, 16, 25, 26)]


@pytest.mark.parametrize("total,band,risk", [(19, "class_3", "low"), (20, "class_2", "moderate"),
                                             (24, "class_2", "moderate"), (25, "class_1", "high")])
def test_upi_class_edges(licensed, total, band, risk):
    r = ss.score("UPI", _upi(PLAIN[:total]), registry=licensed)
    assert (r.total, r.band, r.risk) == (total, band, risk)


@pytest.mark.parametrize("item", [8, 16, 26])
def test_upi_class2_items(licensed, item):
    r = ss.score("UPI", _upi([item]), registry=licensed)
    assert (r.total, r.band, r.risk) == (1, "class_2", "moderate")


def test_upi_item25_is_class1_and_critical(licensed):
    r = ss.score("UPI", _upi([25]), registry=licensed)
    assert (r.band, r.risk, r.flags) == ("class_1", "critical", ("suicidal_ideation",))
    assert ss.shows_crisis_resources(r)


# --- Zung SDS / SAS -------------------------------------------------------------------------

def _zung(scale, raw, reg):
    """Answers whose raw sum is `raw` (reversed items answered so they score as intended)."""
    s = reg.get(scale)
    scores = [1] * 20
    left = raw - 20
    for i in range(20):
        add = min(3, left)
        scores[i] += add
        left -= add
    return [5 - v if (i + 1) in s.reversed_items else v for i, v in enumerate(scores)]


@pytest.mark.parametrize("raw,standard,band", [
    (20, 25, "normal"), (42, 52, "normal"), (43, 53, "mild"), (50, 62, "mild"), (51, 63, "moderate"),
    (58, 72, "moderate"), (59, 73, "severe"), (80, 100, "severe")])
def test_sds_standard_score_edges(licensed, raw, standard, band):
    answers = _zung("SDS", raw, licensed)
    r = ss.score("SDS", answers, registry=licensed)
    assert (r.total, r.band, r.subscales["raw"]) == (standard, band, raw)


@pytest.mark.parametrize("raw,standard,band", [
    (39, 48, "normal"), (40, 50, "mild"), (47, 58, "mild"), (48, 60, "moderate"),
    (55, 68, "moderate"), (56, 70, "severe")])
def test_sas_standard_score_edges(licensed, raw, standard, band):
    r = ss.score("SAS", _zung("SAS", raw, licensed), registry=licensed)
    assert (r.total, r.band, r.subscales["raw"]) == (standard, band, raw)
    assert r.flags == ()


def test_sds_reversed_items(licensed):
    r = ss.score("SDS", [1] * 20, registry=licensed)
    assert r.subscales["raw"] == 10 * 1 + 10 * 4
    assert ss.quality_flags("SDS", [1] * 20, registry=licensed) == ["straight_lining"]


def test_sds_item19_is_critical(licensed):
    answers = [1] * 20
    answers[18] = 2
    r = ss.score("SDS", answers, registry=licensed)
    assert r.risk == "critical" and "suicidal_ideation" in r.flags
