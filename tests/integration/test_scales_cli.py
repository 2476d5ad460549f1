"""`flask --app wsgi scales …` end to end, as researchers and our own checks call it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CODES = ["PHQ-9", "PHQ-A", "PHQ-2", "GAD-7", "GAD-2", "ASQ", "K6", "K10", "CES-DC", "SCARED", "WHO-5"]


def flask(*args, instance, stdin=None, lang="en_US.UTF-8"):
    env = dict(os.environ, XINQIAO_INSTANCE_DIR=str(instance), LANG=lang,
               DATABASE_URL=f"sqlite:///{instance}/cli.sqlite")
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "scales", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_list_prints_one_json_object_per_scale(tmp_path):
    result = flask("list", instance=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["code"] for r in rows] == CODES
    phq9 = rows[0]
    assert phq9["items"] == 9 and set(phq9["names"]) == {"zh-CN", "en"} and len(phq9["version"]) == 12


def test_show_speaks_the_users_language(tmp_path):
    assert "Not at all" in flask("show", "PHQ-9", instance=tmp_path).stdout
    assert "完全不会" in flask("show", "PHQ-9", instance=tmp_path, lang="zh_CN.UTF-8").stdout


def test_score_one_and_a_missing_answer(tmp_path):
    result = flask("score", "PHQ-9", "0,1,2,3,0,1,2,3,1", instance=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) | {"version": None} == {
        "scale": "PHQ-9", "version": None, "total": 13, "band": "moderate", "risk": "critical",
        "flags": ["suicidal_ideation"], "subscales": {}, "profile": "international"}
    missing_item9 = json.loads(flask("score", "PHQ-9", "0,0,0,0,0,0,0,0,", instance=tmp_path).stdout)
    assert "risk_item_unanswered" in missing_item9["flags"] and missing_item9["risk"] in ("high", "critical")
    bad = flask("score", "GAD-7", "0,1,2,9,0,1,2", instance=tmp_path)
    assert bad.returncode == 1 and "error" in json.loads(bad.stdout)


def test_jsonl_scores_every_line_and_reports_bad_ones(tmp_path):
    lines = "\n".join(json.dumps(x) for x in [
        {"id": "a", "scale": "ASQ", "answers": [0, 1, 0, 0, 0]},
        {"id": "b", "scale": "GAD-7", "answers": [0, 1, 2, 3, 0, 1, None]},
        {"id": "c", "scale": "WHO-5", "answers": [5, 5, 5, 5, 5]},
    ]) + "\n"
    result = flask("score", "--jsonl", instance=tmp_path, stdin=lines)
    out = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert result.returncode == 1
    assert out["a"]["band"] == "non_acute_positive" and out["a"]["risk"] == "high"
    assert "error" in out["b"] and "7" in out["b"]["error"]
    assert out["c"]["subscales"]["percentage"] == 100
    assert flask("score", "--jsonl", instance=tmp_path, stdin=lines.split("\n")[0] + "\n").returncode == 0


def test_licensed_scale_text_from_instance_scales_is_loaded(tmp_path):
    (tmp_path / "scales").mkdir()
    text = {"code": "SDS", "source": "Institution-supplied text (test fixture)", "licence": "fixture, not real text",
            "items": [{"zh": f"占位{i}", "en": f"Placeholder {i}"} for i in range(1, 21)]}
    (tmp_path / "scales" / "sds.yaml").write_text(yaml.safe_dump(text, allow_unicode=True))
    rows = [json.loads(line) for line in flask("list", instance=tmp_path).stdout.splitlines()]
    assert "SDS" in [r["code"] for r in rows]
    scored = json.loads(flask("score", "SDS", ",".join(["1"] * 20), instance=tmp_path).stdout)
    assert scored["scale"] == "SDS" and "total" in scored


def test_a_broken_scale_file_refuses_start_naming_file_and_field(tmp_path):
    (tmp_path / "scales").mkdir()
    (tmp_path / "scales" / "bad.yaml").write_text("code: SCL-90\n")
    result = flask("list", instance=tmp_path)
    assert result.returncode != 0
    assert "bad.yaml" in result.stderr and "items" in result.stderr
