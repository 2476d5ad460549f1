"""Time score_batch on 1,000,000 PHQ-9 rows against per-response score().

Per-response scoring is timed on 20,000 rows and extrapolated to 1,000,000 (running a
million Python calls would only measure patience). Also what a cut-off profile adds: the
batch under a profile, and apply_profile() on an international result (what the submission
writer does per stored result). Writes bench/results/scales.json.
"""

import json
import pathlib
import platform
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import screening_scales as ss  # noqa: E402

N_BATCH = 1_000_000
N_SINGLE = 20_000


def _profiles(rows, sample):
    """The cost of banding with a cut-off profile (SCARED's Chinese norms move a band; PHQ-9's only adds a flag)."""
    t0 = time.perf_counter()
    ss.score_batch("PHQ-9", rows, profile="cn_primary_care_chen2013")
    batch_s = time.perf_counter() - t0
    out = {"phq9_batch_seconds_with_profile": round(batch_s, 4)}
    for code, profile, width in (("PHQ-9", "cn_primary_care_chen2013", 9), ("SCARED", "cn_urban_norms_wang", 41)):
        scale = ss.default_registry().get(code)
        rng = np.random.default_rng(1)
        results = [ss.score(scale, r) for r in rng.integers(0, 3, size=(N_SINGLE, width)).tolist()]
        t0 = time.perf_counter()
        for r in results:
            ss.apply_profile(scale, r, profile)
        out[f"{code}_apply_profile_microseconds"] = round((time.perf_counter() - t0) / N_SINGLE * 1e6, 2)
    return out


def main():
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 4, size=(N_BATCH, 9), dtype=np.int8)
    ss.score_batch("PHQ-9", rows[:10])  # warm up (registry load)
    t0 = time.perf_counter()
    out = ss.score_batch("PHQ-9", rows)
    batch_s = time.perf_counter() - t0
    sample = rows[:N_SINGLE].tolist()
    t0 = time.perf_counter()
    for row in sample:
        ss.score("PHQ-9", row)
    single_s = time.perf_counter() - t0
    per_row = single_s / N_SINGLE
    result = {
        "scale": "PHQ-9", "rows": N_BATCH, "batch_seconds": round(batch_s, 4),
        "per_response_rows_timed": N_SINGLE, "per_response_seconds_timed": round(single_s, 4),
        "per_response_seconds_extrapolated_to_rows": round(per_row * N_BATCH, 2),
        "extrapolated": True, "speedup": round(per_row * N_BATCH / batch_s, 1),
        "critical_rows": int((out["risk_index"] == 3).sum()),
        "profiles": _profiles(rows, sample),
        "python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
    }
    path = ROOT / "bench" / "results" / "scales.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
