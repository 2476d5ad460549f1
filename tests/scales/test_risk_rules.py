"""Critical rules, missing-answer rules, ASQ logic, PHQ-A extras, invalid input."""

import numpy as np
import pytest

import screening_scales as ss


@pytest.mark.parametrize("code", ["PHQ-9", "PHQ-A"])
@pytest.mark.parametrize("item9", [1, 2, 3])
def test_item9_any_positive_is_critical_even_with_low_total(code, item9):
    extra = [0, 0, 0, 0] if code == "PHQ-A" else []
    r = ss.score(code, [0] * 8 + [item9] + extra)
    assert r.total == item9 and r.band == "minimal"
    assert r.risk == "critical" and "suicidal_ideation" in r.flags
    assert ss.shows_crisis_resources(r)


def test_item9_zero_is_not_flagged():
    r = ss.score("PHQ-9", [3, 3, 3, 3, 3, 0, 0, 0, 0])
    assert (r.total, r.band, r.risk, r.flags) == (15, "moderately_severe", "high", ())
    assert not ss.shows_crisis_resources(r)


@pytest.mark.parametrize("code", ["PHQ-9", "PHQ-A"])
def test_missing_item9_is_unresolved_risk(code):
    extra = [0, 0, 0, 0] if code == "PHQ-A" else []
    r = ss.score(code, [0] * 8 + [None] + extra)
    assert r.total is None and r.band is None
    assert r.risk == "high" and r.flags == ("risk_item_unanswered",)
    assert ss.shows_crisis_resources(r)


def test_missing_item9_with_high_other_items_keeps_high():
    r = ss.score("PHQ-9", [3] * 8 + [None])
    assert r.risk == "high" and "risk_item_unanswered" in r.flags and r.total is None


@pytest.mark.parametrize("item", range(1, 9))
def test_missing_ordinary_item_raises_naming_it(item):
    answers = [1] * 8 + [0]
    answers[item - 1] = None
    with pytest.raises(ss.AnswerError) as exc:
        ss.score("PHQ-9", answers)
    assert exc.value.item == item
    assert f"item {item}" in str(exc.value)


def test_missing_ordinary_item_never_hides_a_critical_answer():
    r = ss.score("PHQ-9", [0, None, 0, 0, 0, 0, 0, 0, 2])
    assert r.total is None and r.band is None
    assert r.risk == "critical"
    assert r.flags == ("suicidal_ideation", "incomplete")


def test_missing_ordinary_and_missing_item9_reports_not_raises():
    r = ss.score("PHQ-9", [None, 0, 0, 0, 0, 0, 0, 0, None])
    assert r.risk == "high" and r.flags == ("risk_item_unanswered", "incomplete")


@pytest.mark.parametrize("code,n", [("GAD-7", 7), ("K10", 10), ("SCARED", 41), ("WHO-5", 5)])
def test_missing_item_raises_on_scales_without_critical_items(code, n):
    with pytest.raises(ss.AnswerError) as exc:
        ss.score(code, [None] + [1] * (n - 1))
    assert exc.value.item == 1


@pytest.mark.parametrize("answers,item", [
    ([0, 1, 2, 3, 0, 1, 2, 3, 4], 9), ([-1, 0, 0, 0, 0, 0, 0, 0, 0], 1),
    ([0, 0, 0, 0, 0, 0, 0, 0, 1.0], 9), ([0, "1", 0, 0, 0, 0, 0, 0, 0], 2),
    ([0, True, 0, 0, 0, 0, 0, 0, 0], 2),
])
def test_invalid_values_raise_never_clamp(answers, item):
    with pytest.raises(ss.AnswerError) as exc:
        ss.score("PHQ-9", answers)
    assert exc.value.item == item


@pytest.mark.parametrize("answers", [[0] * 8, [0] * 10, [], "000000000", None])
def test_wrong_count_or_type_raises(answers):
    with pytest.raises(ss.AnswerError) as exc:
        ss.score("PHQ-9", answers)
    assert exc.value.item is None


def test_k10_rejects_zero():
    with pytest.raises(ss.AnswerError):
        ss.score("K10", [0] + [1] * 9)


def test_numpy_integers_accepted():
    r = ss.score("PHQ-9", list(np.array([1, 1, 1, 1, 1, 0, 0, 0, 0])))
    assert r.total == 5


def test_unknown_scale():
    with pytest.raises(ss.UnknownScale):
        ss.score("PHQ-99", [0])
    with pytest.raises(KeyError):
        ss.default_registry().get("nope")


# --- ASQ -------------------------------------------------------------------------------------

@pytest.mark.parametrize("answers", [[0, 0, 0, 0], [0, 0, 0, 0, None], [0, 0, 0, 0, 0]])
def test_asq_negative(answers):
    r = ss.score("ASQ", answers)
    assert (r.total, r.band, r.risk, r.flags) == (0, "negative", "low", ())
    assert not ss.shows_crisis_resources(r)


@pytest.mark.parametrize("yes_item", [1, 2, 3, 4])
def test_asq_any_yes_q5_no_is_non_acute(yes_item):
    answers = [0, 0, 0, 0, 0]
    answers[yes_item - 1] = 1
    r = ss.score("ASQ", answers)
    assert (r.total, r.band, r.risk, r.flags) == (1, "non_acute_positive", "high", ("suicide_risk",))
    assert ss.shows_crisis_resources(r)


def test_asq_yes_count_is_total():
    assert ss.score("ASQ", [1, 1, 1, 1, 0]).total == 4


@pytest.mark.parametrize("yes_item", [1, 2, 3, 4])
def test_asq_q5_yes_is_acute(yes_item):
    answers = [0, 0, 0, 0, 1]
    answers[yes_item - 1] = 1
    r = ss.score("ASQ", answers)
    assert (r.band, r.risk) == ("acute_positive", "critical")
    assert r.flags == ("suicide_risk", "acute_suicide_risk")
    assert ss.shows_crisis_resources(r)


def test_asq_q5_yes_without_other_yes_is_still_acute():
    r = ss.score("ASQ", [0, 0, 0, 0, 1])
    assert (r.band, r.risk) == ("acute_positive", "critical")


@pytest.mark.parametrize("answers", [[1, 0, 0, 0], [1, 0, 0, 0, None], [0, 1, 1, 0, None]])
def test_asq_positive_with_q5_missing(answers):
    r = ss.score("ASQ", answers)
    assert r.band == "non_acute_positive" and r.risk == "high"
    assert r.flags == ("suicide_risk", "risk_item_unanswered")
    assert r.total == sum(answers[:4])


@pytest.mark.parametrize("missing", [1, 2, 3, 4])
def test_asq_missing_question_counts_as_positive(missing):
    answers = [0, 0, 0, 0]
    answers[missing - 1] = None
    r = ss.score("ASQ", answers)
    assert r.total is None
    assert r.band == "non_acute_positive" and r.risk == "high"
    assert "risk_item_unanswered" in r.flags and "suicide_risk" in r.flags


def test_asq_missing_question_with_q5_yes_is_acute():
    r = ss.score("ASQ", [None, 1, 0, 0, 1])
    assert (r.band, r.risk) == ("acute_positive", "critical")
    assert "risk_item_unanswered" in r.flags and "acute_suicide_risk" in r.flags


def test_asq_all_missing():
    r = ss.score("ASQ", [None] * 5)
    assert r.risk == "high" and "risk_item_unanswered" in r.flags


@pytest.mark.parametrize("answers", [[0, 0, 0], [0, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0]])
def test_asq_invalid(answers):
    with pytest.raises(ss.AnswerError):
        ss.score("ASQ", answers)


# --- PHQ-A extras ----------------------------------------------------------------------------

def test_phqa_serious_thoughts_past_month_is_critical():
    r = ss.score("PHQ-A", [0] * 9 + [0, 0, 1, 0])
    assert (r.total, r.band, r.risk) == (0, "minimal", "critical")
    assert r.flags == ("recent_suicidal_thoughts",)


def test_phqa_ever_tried_is_at_least_high():
    r = ss.score("PHQ-A", [0] * 9 + [0, 0, 0, 1])
    assert (r.band, r.risk, r.flags) == ("minimal", "high", ("past_suicide_attempt",))
    assert ss.shows_crisis_resources(r)  # a past attempt shows the crisis resources, though the risk is 'high'
    r = ss.score("PHQ-A", [3] * 8 + [0] + [1, 3, 0, 1])
    assert (r.total, r.band, r.risk) == (24, "severe", "high")


def test_phqa_all_suicide_signals_together():
    r = ss.score("PHQ-A", [0] * 8 + [1] + [1, 1, 1, 1])
    assert r.risk == "critical"
    assert r.flags == ("suicidal_ideation", "recent_suicidal_thoughts", "past_suicide_attempt")


def test_phqa_optional_items_may_be_blank():
    r = ss.score("PHQ-A", [1] * 8 + [0] + [None, None, 0, 0])
    assert (r.total, r.band, r.risk, r.flags) == (8, "mild", "low", ())


@pytest.mark.parametrize("idx", [11, 12])
def test_phqa_missing_suicide_question_is_unresolved_risk(idx):
    answers = [0] * 13
    answers[idx] = None
    r = ss.score("PHQ-A", answers)
    assert r.total == 0 and r.risk == "high" and r.flags == ("risk_item_unanswered",)


def test_phqa_needs_all_13_positions():
    with pytest.raises(ss.AnswerError):
        ss.score("PHQ-A", [0] * 9)
    with pytest.raises(ss.AnswerError):
        ss.score("PHQ-A", [0] * 9 + [0, 0, 2, 0])  # yes/no item takes 0/1 only


def test_critical_items_exposed(registry):
    assert registry.get("PHQ-9").critical_items == (9,)
    assert registry.get("PHQ-A").critical_items == (9, 12, 13)
    assert registry.get("ASQ").critical_items == (1, 2, 3, 4, 5)
    assert registry.get("GAD-7").critical_items == ()


def test_risk_levels_order():
    assert ss.RISK_LEVELS == ("low", "moderate", "high", "critical")
    assert [ss.risk_rank(x) for x in ss.RISK_LEVELS] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        ss.risk_rank("severe")


def test_every_flag_a_scale_file_may_set_shows_the_crisis_resources():
    # A new kind of flag must be a conscious choice: add it to CRISIS_FLAGS, or change this test.
    from screening_scales.loader import KNOWN_FLAGS

    assert KNOWN_FLAGS <= ss.CRISIS_FLAGS
    for flag in KNOWN_FLAGS:
        assert ss.needs_crisis_resources("low", [flag])
    assert not ss.needs_crisis_resources("high", ["incomplete", "too_fast"])
    assert ss.needs_crisis_resources("critical", [])
