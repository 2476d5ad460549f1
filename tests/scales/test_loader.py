"""The loader refuses broken files, naming the file and the field; versions track content."""

import copy

import pytest

import screening_scales as ss
from screening_scales.loader import load_scale_file

from scales_helpers import shipped_data, write_yaml


def _broken(tmp_path, mutate, name="broken.yaml"):
    data = copy.deepcopy(shipped_data("phq9.yaml"))
    mutate(data)
    return write_yaml(tmp_path / name, data)


def _refused(path, field):
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        load_scale_file(path)
    msg = str(exc.value)
    assert path.name in msg and f"'{field}'" in msg, msg
    assert exc.value.field == field
    return msg


def _set(data, key, value):
    data[key] = value


CASES = [
    ("unknown top-level key", lambda d: _set(d, "cutoff", 10), "cutoff"),
    ("unknown band key", lambda d: d["bands"][0].update(colour="red"), "bands[0].colour"),
    ("unknown item key", lambda d: d["items"][2].update(weight=2), "items[2].weight"),
    ("missing required key", lambda d: d.pop("source"), "source"),
    ("overlapping bands", lambda d: d["bands"][1].update(min=4), "bands[1].min"),
    ("gapped bands", lambda d: d["bands"][2].update(min=11), "bands[2].min"),
    ("bands short of the maximum", lambda d: d["bands"][4].update(max=26), "bands[4].max"),
    ("band beyond the maximum", lambda d: d["bands"][4].update(max=28), "bands[4].max"),
    ("band min above max", lambda d: d["bands"][2].update(min=15, max=14), "bands[2].min"),
    ("band with min only", lambda d: d["bands"][2].pop("max"), "bands[2].max"),
    ("unknown risk", lambda d: d["bands"][0].update(risk="none"), "bands[0].risk"),
    ("bands not in severity order", lambda d: d["bands"][4].update(risk="low"), "bands[4].risk"),
    ("option value not an integer", lambda d: d["option_sets"]["frequency"][1].update(value="1"),
     "option_sets.frequency[1].value"),
    ("option values not consecutive", lambda d: d["option_sets"]["frequency"][3].update(value=5),
     "option_sets.frequency"),
    ("rule value not an option", lambda d: d["rules"][0]["when"].update(at_least=4),
     "rules[0].when.at_least"),
    ("rule on a missing item", lambda d: d["rules"][0]["when"].update(item=10), "rules[0].when.item"),
    ("reversed item does not exist", lambda d: d["scoring"].update(reversed=[10]), "scoring.reversed[0]"),
    ("critical item does not exist", lambda d: _set(d, "critical_items", [0]), "critical_items[0]"),
    ("subscale item does not exist",
     lambda d: _set(d, "subscales", [{"code": "x", "items": [1, 12]}]), "subscales[0].items[1]"),
    ("text missing a language", lambda d: d["items"][0]["text"].pop("en"), "items[0].text.en"),
    ("text not bilingual", lambda d: _set(d, "name", "PHQ-9"), "name"),
    ("unknown option set", lambda d: d["items"][0].update(options="nope"), "items[0].options"),
    ("unknown band in rule", lambda d: d["rules"][0].update(band_at_least="awful"),
     "rules[0].band_at_least"),
    ("bad reliable change", lambda d: d["reliable_change"].update(reliability=1.2),
     "reliable_change.reliability"),
    ("bad translation status", lambda d: d["zh_translation"].update(status="maybe"),
     "zh_translation.status"),
]


@pytest.mark.parametrize("label,mutate,field", CASES, ids=[c[0] for c in CASES])
def test_loader_refuses(tmp_path, label, mutate, field):
    _refused(_broken(tmp_path, mutate), field)


def test_invalid_yaml_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("code: [unclosed\n", encoding="utf-8")
    _refused(path, "<file>")


def test_broken_extra_dir_file_stops_registry(tmp_path):
    _broken(tmp_path, lambda d: (d.update(code="PHQ-9-X"), d["bands"][1].update(min=6)))
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[tmp_path])
    assert "broken.yaml" in str(exc.value) and "bands[1].min" in str(exc.value)


def test_extra_dir_cannot_override_shipped_scale(tmp_path):
    """A centre may give a shipped scale another text (tests/scales/test_centre_texts.py), never its scoring."""
    _broken(tmp_path, lambda d: None, "phq9.yaml")
    with pytest.raises(ss.ScaleDefinitionError) as exc:
        ss.load_registry(extra_dirs=[tmp_path])
    assert "may only supply its text" in str(exc.value) and exc.value.field == "bands"


def test_extra_dir_adds_scale(tmp_path):
    _broken(tmp_path, lambda d: d.update(code="PHQ-9-LOCAL"), "local.yaml")
    reg = ss.load_registry(extra_dirs=[tmp_path, tmp_path / "missing"])
    assert reg.codes()[-1] == "PHQ-9-LOCAL"
    assert ss.score("PHQ-9-LOCAL", [0] * 8 + [1], registry=reg).risk == "critical"


def test_version_is_content_hash(tmp_path):
    a = _broken(tmp_path, lambda d: None, "a.yaml")
    v1 = load_scale_file(a).version
    assert len(v1) == 12 and int(v1, 16) >= 0
    assert v1 == ss.default_registry().get("PHQ-9").version  # same parsed content
    # comments and formatting do not change the version
    a.write_text("# a comment\n" + a.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_scale_file(a).version == v1
    b = _broken(tmp_path, lambda d: d["items"][0]["text"].update(en="Changed"), "b.yaml")
    assert load_scale_file(b).version != v1
    c = _broken(tmp_path, lambda d: d["bands"][0].update(risk="low", label={"zh": "无", "en": "None"}), "c.yaml")
    assert load_scale_file(c).version != v1


def test_result_carries_version():
    assert ss.score("GAD-7", [0] * 7).version == ss.default_registry().get("GAD-7").version


def test_registry_api(registry):
    assert registry.codes() == ["PHQ-9", "PHQ-A", "PHQ-2", "GAD-7", "GAD-2", "ASQ", "K6", "K10",
                                "CES-DC", "SCARED", "WHO-5"]
    assert ss.default_registry() is ss.default_registry()
    phq = registry.get("PHQ-9")
    assert phq.item_count == 9 and phq.min_age == 13 and phq.loinc["panel"] == "44249-1"
    assert phq.items[0].id == "phq9_1" and phq.items[0].number == 1
    assert phq.items[0].text("zh") == "做事时提不起劲或没有兴趣"
    assert phq.items[8].text("zh_CN") == "有不如死掉或用某种方式伤害自己的念头"
    assert phq.items[0].text("en_US") == "Little interest or pleasure in doing things"
    assert phq.name("fr") == phq.name("zh")
    assert [o.value for o in phq.items[0].options] == [0, 1, 2, 3]
    assert phq.items[0].options[3].label("en") == "Nearly every day"
    assert registry.get("GAD-7").items[0].text("zh") == "感觉紧张，焦虑或急切"
    assert [o.value for o in registry.get("PHQ-A").items[11].options] == [0, 1]
    assert phq.source and phq.licence and phq.instructions("en")


@pytest.mark.parametrize("code", ["PHQ-9", "PHQ-A", "PHQ-2", "GAD-7", "GAD-2", "ASQ", "K6", "K10",
                                  "CES-DC", "SCARED", "WHO-5"])
def test_every_shipped_file_is_bilingual_and_sourced(registry, code):
    scale = registry.get(code)
    # Nothing shipped was checked against a publisher's document: only a centre's reviewed text may claim that.
    assert scale.translation.status in ("unverified_copy", "project_translation")
    assert scale.translation.provenance and scale.text_id is None and not scale.from_centre
    for item in scale.items:
        assert item.text("zh") and item.text("en") and item.text("zh") != item.text("en")
        for opt in item.options:
            assert opt.label("zh") and opt.label("en")
    assert scale.name("zh") != scale.name("en")


def test_package_does_not_import_flask():
    import subprocess
    import sys
    code = ("import sys, screening_scales, screening_scales.cli; "
            "bad=[m for m in sys.modules if m.split('.')[0] in ('flask','app')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=str(__import__("pathlib").Path(ss.__file__).parents[1]))
