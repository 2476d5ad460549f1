"""Chinese texts: what each shipped text is, and a centre's own text of a shipped scale as a new version of it."""

import copy
import shutil
from pathlib import Path

import pytest

import screening_scales as ss
from screening_scales.loader import load_scale_file, merge_centre_text

from scales_helpers import shipped_data, write_yaml

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "centre_scales" / "phq9_centre.yaml"

# The issue's own list: six of our translations, and the texts copied from public code.
PROJECT = {"ASQ", "CES-DC", "K6", "K10", "SCARED", "PHQ-A"}
COPIES = {"PHQ-9", "PHQ-2", "GAD-7", "GAD-2", "WHO-5"}


def test_each_shipped_text_says_what_it_is(registry):
    assert {s.code for s in registry if s.translation.status == "project_translation"} == PROJECT
    assert {s.code for s in registry if s.translation.status == "unverified_copy"} == COPIES
    assert "corrupted item 8" in registry.get("PHQ-9").translation.provenance


@pytest.fixture
def centre(tmp_path):
    shutil.copy(FIXTURE, tmp_path / "phq9_centre.yaml")
    return tmp_path


def test_a_centre_text_is_a_new_version_beside_the_shipped_one(centre):
    reg = ss.load_registry(extra_dirs=[centre])
    shipped, texts = reg.get("PHQ-9"), reg.texts("PHQ-9")
    assert shipped.version == ss.default_registry().get("PHQ-9").version
    assert len(texts) == 2 and texts[0] is shipped and reg.codes() == ss.default_registry().codes()
    text = texts[1]
    assert text.from_centre and not shipped.from_centre and len(text.text_id) == 12
    assert text.version != shipped.version and reg.by_version("PHQ-9", text.version) is text
    assert reg.get_text("PHQ-9", text.text_id) is text and reg.get_text("PHQ-9") is shipped
    assert text.translation.status == "validated_official" and "PHQ9_Chinese_China.pdf" in text.translation.provenance
    assert text.items[7].text("zh").endswith("（测试）") and text.instructions("zh").endswith("（测试用文本）")
    # English, options, scoring, profiles and item ids come from the shipped file.
    assert [i.text("en") for i in text.items] == [i.text("en") for i in shipped.items]
    assert [i.id for i in text.items] == [i.id for i in shipped.items]
    assert text.items[0].options[3].label("zh") == "几乎每天"
    assert [p.code for p in text.profiles] == [p.code for p in shipped.profiles]
    for answers in ([0] * 8 + [1], [2] * 9, [1] * 5 + [0] * 4):
        a, b = ss.score(text, answers), ss.score(shipped, answers)
        assert (a.total, a.band, a.risk, a.flags) == (b.total, b.band, b.risk, b.flags) and a.version == text.version
    with pytest.raises(ss.UnknownScale):
        reg.get_text("PHQ-9", "0" * 12)


def test_the_text_id_names_the_text_not_the_shipped_scoring(centre, tmp_path_factory):
    """A review names the text: a later XinQiao release that changes the shipped file (a profile, a band) makes a
    new version of the centre text but keeps its text id, so the clinician's review still applies."""
    reg = ss.load_registry(extra_dirs=[centre])
    text = reg.texts("PHQ-9")[1]
    data = copy.deepcopy(shipped_data("phq9.yaml"))
    data["notes"] = ["a later release"]
    later = load_scale_file(write_yaml(tmp_path_factory.mktemp("later") / "phq9.yaml", data))
    import yaml

    again = merge_centre_text(later, yaml.safe_load(FIXTURE.read_text(encoding="utf-8")), FIXTURE)
    assert again.text_id == text.text_id and again.version != text.version


def _centre_file(tmp_path, mutate):
    import yaml

    data = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    mutate(data)
    write_yaml(tmp_path / "phq9_centre.yaml", data)
    return tmp_path


@pytest.mark.parametrize("mutate,field,words", [
    (lambda d: d.update(bands=[]), "bands", "never its scoring"),
    (lambda d: d.update(cutoff_profiles=[]), "cutoff_profiles", "never its scoring"),
    (lambda d: d.update(kind="scale"), "kind", "never its scoring"),
    (lambda d: d["items"].pop(), "items", "exactly 9"),
    (lambda d: d.pop("zh_translation"), "zh_translation", "missing"),
    (lambda d: d["zh_translation"].update(status="official"), "zh_translation.status", "validated_official"),
    (lambda d: d["zh_translation"].pop("provenance"), "zh_translation.provenance", "missing"),
    (lambda d: d["items"][3].update(zh=""), "items[3].zh", "non-empty"),
    (lambda d: d.update(option_labels={"frequency": [{"zh": "无"}]}), "option_labels.frequency", "4 labels"),
])
def test_the_loader_refuses_a_bad_centre_text(tmp_path, mutate, field, words):
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[_centre_file(tmp_path, mutate)])
    assert exc.value.field == field and words in str(exc.value) and "phq9_centre.yaml" in str(exc.value)


def test_the_same_text_twice_is_refused(centre):
    shutil.copy(FIXTURE, centre / "phq9_again.yaml")
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[centre])
    assert "the same text" in str(exc.value)


def test_centre_option_labels_replace_the_shipped_ones(tmp_path):
    labels = [{"zh": "完全没有"}, {"zh": "有几天"}, {"zh": "一半以上时间"}, {"zh": "几乎天天"}]
    reg = ss.load_registry(extra_dirs=[_centre_file(tmp_path, lambda d: d.update(option_labels={"frequency": labels}))])
    text = reg.texts("PHQ-9")[1]
    assert [o.label("zh") for o in text.items[0].options] == ["完全没有", "有几天", "一半以上时间", "几乎天天"]
    assert text.items[0].options[0].label("en") == "Not at all"


def test_every_text_a_centre_loads_is_marked_as_the_centres(tmp_path):
    """Licensed texts and a centre's own scales are the centre's texts too: the application reviews them all."""
    write_yaml(tmp_path / "upi.yaml", {"code": "UPI", "source": "Fixture", "licence": "fixture",
                                       "items": [{"zh": f"题{i}", "en": f"Item {i}"} for i in range(1, 61)]})
    data = copy.deepcopy(shipped_data("phq9.yaml"))
    data["code"] = "PHQ-9-LOCAL"
    write_yaml(tmp_path / "local.yaml", data)
    reg = ss.load_registry(extra_dirs=[tmp_path])
    upi, local = reg.get("UPI"), reg.get("PHQ-9-LOCAL")
    assert upi.from_centre and upi.translation.status == "unverified_copy" and upi.text_source == "Fixture"
    assert local.from_centre and local.text_id == local.version
    assert reg.texts("UPI") == [upi] and reg.by_version("UPI", upi.version) is upi
