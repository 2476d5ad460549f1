"""Every band edge of every shipped scale, checked against the issue's table (not the data files)."""

import pytest

import screening_scales as ss

from scales_helpers import answers_for_total

# (min, max, band, risk) straight from issue 3.
TABLE = {
    "PHQ-9": [(0, 4, "minimal", "low"), (5, 9, "mild", "low"), (10, 14, "moderate", "moderate"),
              (15, 19, "moderately_severe", "high"), (20, 27, "severe", "high")],
    "PHQ-A": [(0, 4, "minimal", "low"), (5, 9, "mild", "low"), (10, 14, "moderate", "moderate"),
              (15, 19, "moderately_severe", "high"), (20, 27, "severe", "high")],
    "PHQ-2": [(0, 2, "negative", "low"), (3, 6, "positive", "moderate")],
    "GAD-2": [(0, 2, "negative", "low"), (3, 6, "positive", "moderate")],
    "GAD-7": [(0, 4, "minimal", "low"), (5, 9, "mild", "low"), (10, 14, "moderate", "moderate"),
              (15, 21, "severe", "high")],
    "K6": [(0, 4, "low", "low"), (5, 12, "moderate", "moderate"), (13, 24, "serious", "high")],
    "K10": [(10, 15, "low", "low"), (16, 21, "moderate", "moderate"), (22, 29, "high", "high"),
            (30, 50, "very_high", "high")],
    "CES-DC": [(0, 15, "negative", "low"), (16, 60, "positive", "moderate")],
    "SCARED": [(0, 24, "negative", "low"), (25, 82, "positive", "moderate")],
    "WHO-5": [(0, 12, "poor", "moderate"), (13, 25, "adequate", "low")],
}
EDGES = [(code, t, band, risk) for code, rows in TABLE.items()
         for lo, hi, band, risk in rows for t in sorted({lo, hi})]


def test_table_covers_every_shipped_scale_but_asq(registry):
    assert set(TABLE) | {"ASQ"} == set(registry.codes())


@pytest.mark.parametrize("code,total,band,risk", EDGES)
def test_band_edges(registry, code, total, band, risk):
    scale = registry.get(code)
    answers = answers_for_total(scale, total, avoid=scale.critical_items)
    result = ss.score(code, answers)
    assert result.total == total
    assert result.band == band
    if any(answers[n - 1] for n in scale.critical_items):
        # only totals above 24 need item 9: then the critical rule governs risk
        assert result.risk == "critical" and "suicidal_ideation" in result.flags
    else:
        assert result.risk == risk
        assert result.flags == ()


@pytest.mark.parametrize("code", list(TABLE))
def test_total_range_matches_table(registry, code):
    scale = registry.get(code)
    rows = TABLE[code]
    assert (scale.min_total, scale.max_total) == (min(r[0] for r in rows), max(r[1] for r in rows))


def test_result_shape_and_dict(registry):
    r = ss.score("PHQ-9", [0, 1, 2, 3, 0, 1, 2, 3, 1])
    assert r.to_dict() == {"scale": "PHQ-9", "version": registry.get("PHQ-9").version, "total": 13,
                           "band": "moderate", "risk": "critical", "flags": ["suicidal_ideation"],
                           "subscales": {}, "profile": "international"}
    with pytest.raises(Exception):
        r.total = 3  # frozen


def test_who5_percentage():
    assert ss.score("WHO-5", [5, 5, 5, 5, 5]).subscales == {"percentage": 100}
    r = ss.score("WHO-5", [3, 3, 3, 2, 2])
    assert (r.total, r.band, r.risk, r.subscales) == (13, "adequate", "low", {"percentage": 52})
    r = ss.score("WHO-5", [3, 3, 2, 2, 2])
    assert (r.total, r.band, r.risk, r.subscales) == (12, "poor", "moderate", {"percentage": 48})


def test_cesdc_reversed_items():
    # all zeros: reversed items 4, 8, 12, 16 score 3 each
    assert ss.score("CES-DC", [0] * 20).total == 12
    # all threes: 16 ordinary items x3 = 48, reversed score 0
    assert ss.score("CES-DC", [3] * 20).total == 48
    answers = [0] * 20
    for n in (4, 8, 12, 16):
        answers[n - 1] = 3
    assert ss.score("CES-DC", answers).total == 0
    answers[3] = 2  # item 4 "just as good as other kids" only "some" -> 1 point
    assert ss.score("CES-DC", answers).total == 1
    # 15 vs 16 edge built with a reversed item
    a = [0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 0, 3, 3, 3, 3]  # 16 contributes 3 + 12
    r = ss.score("CES-DC", a)
    assert (r.total, r.band) == (15, "negative")
    a[0] = 1
    r = ss.score("CES-DC", a)
    assert (r.total, r.band, r.risk) == (16, "positive", "moderate")


SCARED_SUBSCALES = {
    "panic_somatic": ([1, 6, 9, 12, 15, 18, 19, 22, 24, 27, 30, 34, 38], 7),
    "generalized_anxiety": ([5, 7, 14, 21, 23, 28, 33, 35, 37], 9),
    "separation_anxiety": ([4, 8, 13, 16, 20, 25, 29, 31], 5),
    "social_anxiety": ([3, 10, 26, 32, 39, 40, 41], 8),
    "school_avoidance": ([2, 11, 17, 36], 3),
}


@pytest.mark.parametrize("name", list(SCARED_SUBSCALES))
def test_scared_subscale_thresholds(name):
    items, threshold = SCARED_SUBSCALES[name]
    for score_value, positive in ((threshold - 1, False), (threshold, True)):
        answers = [0] * 41
        left = score_value
        for n in items:
            answers[n - 1] = min(2, left)
            left -= answers[n - 1]
        assert left == 0
        r = ss.score("SCARED", answers)
        assert r.subscales[name] == {"score": score_value, "positive": positive}
        others = [k for k in SCARED_SUBSCALES if k != name]
        assert all(r.subscales[k] == {"score": 0, "positive": False} for k in others)
        assert r.total == score_value


def test_scared_subscales_partition_items():
    all_items = sorted(n for items, _ in SCARED_SUBSCALES.values() for n in items)
    assert all_items == list(range(1, 42))
