"""The `scales` CLI contract (click, no Flask)."""

import json

from click.testing import CliRunner

import screening_scales as ss
from screening_scales.cli import scales_cli


def _run(args, input=None, env=None):
    return CliRunner().invoke(scales_cli, args, input=input, env=env)


def test_list():
    res = _run(["list"])
    assert res.exit_code == 0
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["code"] for r in rows] == ss.default_registry().codes()
    phq = rows[0]
    assert phq["items"] == 9 and phq["version"] == ss.default_registry().get("PHQ-9").version
    assert phq["names"]["zh-CN"] == "患者健康问卷（PHQ-9）" and "PHQ-9" in phq["names"]["en"]


def test_show_languages():
    zh = _run(["show", "PHQ-9"], env={"LANG": "zh_CN.UTF-8"})
    assert zh.exit_code == 0 and "做事时提不起劲或没有兴趣" in zh.output and "完全不会" in zh.output
    en = _run(["show", "PHQ-9"], env={"LANG": "en_US.UTF-8"})
    assert "Little interest or pleasure in doing things" in en.output
    assert "做事" not in en.output
    forced = _run(["show", "GAD-7", "--lang", "zh"], env={"LANG": "en_US.UTF-8"})
    assert "感觉紧张，焦虑或急切" in forced.output
    assert _run(["show", "NOPE"]).exit_code != 0


def test_score_one():
    res = _run(["score", "PHQ-9", "0,1,2,3,0,1,2,3,1"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out == ss.score("PHQ-9", [0, 1, 2, 3, 0, 1, 2, 3, 1]).to_dict()


def test_score_missing_field():
    res = _run(["score", "PHQ-9", "0,1,2,3,0,1,2,3,"])
    assert res.exit_code == 0
    out = json.loads(res.output)
    assert out["total"] is None and out["risk"] == "high" and out["flags"] == ["risk_item_unanswered"]
    res = _run(["score", "PHQ-9", "0,,2,3,0,1,2,3,0"])
    assert res.exit_code == 1 and "item 2" in json.loads(res.output)["error"]


def test_score_errors_are_json():
    for args in (["score", "PHQ-9", "0,1,2,3,0,1,2,3,9"], ["score", "PHQ-9", "a,b"],
                 ["score", "NOPE", "1"], ["score", "PHQ-9", "0,0"]):
        res = _run(args)
        assert res.exit_code == 1, args
        assert set(json.loads(res.output)) == {"error"}


def test_score_jsonl():
    lines = [
        {"id": "a", "scale": "ASQ", "answers": [1, 0, 0, 0, None]},
        {"id": 2, "scale": "GAD-7", "answers": [3, 3, 3, 3, 3, 0, 0]},
        {"id": "bad", "scale": "GAD-7", "answers": [9, 0, 0, 0, 0, 0, 0]},
        {"id": "c", "scale": "PHQ-9", "answers": [0, 0, 0, 0, 0, 0, 0, 0, 2]},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\nnot json\n"
    res = _run(["score", "--jsonl"], input=text)
    assert res.exit_code == 1
    out = [json.loads(line) for line in res.output.splitlines()]
    assert len(out) == 5
    assert out[0]["id"] == "a" and out[0]["band"] == "non_acute_positive"
    assert out[1] == {"id": 2, **ss.score("GAD-7", [3, 3, 3, 3, 3, 0, 0]).to_dict()}
    assert out[2]["id"] == "bad" and "error" in out[2]
    assert out[3]["risk"] == "critical"
    assert out[4]["id"] is None and "error" in out[4]


def test_score_jsonl_all_ok():
    text = json.dumps({"id": 1, "scale": "WHO-5", "answers": [5, 5, 5, 5, 5]}) + "\n"
    res = _run(["score", "--jsonl"], input=text)
    assert res.exit_code == 0
    assert json.loads(res.output)["subscales"] == {"percentage": 100}


def test_extra_dir_option(tmp_path):
    import yaml
    data = {"code": "GAD-2", "source": "x", "licence": "y", "items": []}
    (tmp_path / "empty").mkdir()
    res = _run(["--extra-dir", str(tmp_path / "empty"), "list"])
    assert res.exit_code == 0 and len(res.output.splitlines()) == 11
    text = {"code": "SAS", "source": "fixture", "licence": "fixture",
            "items": [{"zh": f"占位{i}", "en": f"placeholder {i}"} for i in range(20)]}
    (tmp_path / "sas.yaml").write_text(yaml.safe_dump(text, allow_unicode=True), encoding="utf-8")
    res = _run(["--extra-dir", str(tmp_path), "score", "SAS", ",".join(["2"] * 20)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["scale"] == "SAS"
    del data


def test_profiles_and_texts_on_the_command_line():
    listed = {r["code"]: r for r in map(json.loads, _run(["list"]).output.splitlines())}
    assert listed["GAD-7"]["profiles"] == ["international", "cn_general_hospital_he2010", "hk_youth_2022"]
    assert listed["PHQ-9"]["translation"] == "unverified_copy" and listed["PHQ-9"]["text"] is None
    shown = _run(["show", "GAD-7", "--lang", "en"]).output
    assert "Cut-off profile hk_youth_2022: ≥7 · Hong Kong youth (2022)" in shown and "Chinese text: unverified_copy" in shown
    out = json.loads(_run(["score", "GAD-7", "1,1,1,1,1,1,1", "--profile", "hk_youth_2022"]).output)
    assert (out["band"], out["risk"], out["profile"], out["flags"]) == ("mild", "moderate", "hk_youth_2022",
                                                                         ["cutoff_positive"])
    refused = _run(["score", "PHQ-9", "0,0,0,0,0,0,0,0,0", "--profile", "hk_youth_2022"])
    assert refused.exit_code == 1 and "no cut-off profile" in refused.output
