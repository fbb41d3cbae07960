"""The prepared GPU check runs end to end on tiny shapes on CPU, so the one call on a lent
GPU does not fail on a typo."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_smoke_on_cpu(tmp_path):
    out = tmp_path / "gpu_check.json"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--smoke",
                           "--device", "cpu", "--precisions", "fp32", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    names = [r["name"] for r in result["runs"]]
    assert names == ["bare", "harness_fixed", "harness_original", "harness_fixed_fast"]
    for row in result["runs"]:
        assert row["step_time_s"] > 0 and row["samples_per_s"] > 0
        assert row["mfu"] is None                   # no peak for a CPU: never made up
    assert result["runs"][0]["time_over_bare"] == 1.0
    assert result["runs"][1]["flops_per_step"] > 0
