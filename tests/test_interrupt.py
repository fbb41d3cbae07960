"""Ctrl-C in the middle of a grid: finished runs are kept, a partial report is written, and
rerunning the same command ends with exactly the summary of an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import TINY_ENCODER

ROOT = Path(__file__).resolve().parent.parent
MEASURED = {"train_seconds", "step_time_s", "samples_per_s", "tokens_per_s", "peak_memory_mb",
            "probe_seconds", "mfu"}


def command(out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "run_ablation.py"), "--variants", "original,fixed",
            "--seeds", "2", "--steps", "30", "--synthetic-episodes", "30",
            "--encoder", TINY_ENCODER, "--jobs", "1", "--threads", "1", "--no-progress",
            "--out", str(out)]


def statuses(out: Path) -> list[str]:
    found = []
    for path in out.glob("runs/*/seed*/status.json"):
        try:
            found.append(json.loads(path.read_text())["status"])
        except (ValueError, OSError):
            pass
    return found


def comparable(out: Path) -> pd.DataFrame:
    summary = pd.read_csv(out / "summary.csv")
    return summary[[c for c in summary.columns if c not in MEASURED]]


@pytest.mark.slow
def test_sigint_then_rerun_equals_an_uninterrupted_run(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    done = subprocess.run(command(whole), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    process = subprocess.Popen(command(cut), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline:
        seen = statuses(cut)
        if "ok" in seen and "running" in seen:    # one run finished, the next one under way
            break
        time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("the grid never reached its second run")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert (cut / "index.html").is_file()                  # the partial report
    kept = pd.read_csv(cut / "summary.csv")
    assert "ok" in set(kept.status)
    assert set(kept.status) - {"ok"} <= {"interrupted", "missing", "running"}
    assert "incomplete grid" in (cut / "index.html").read_text()
    # records of the interrupted run up to its last completed step
    partial = list(cut.glob("runs/*/seed*/steps.partial.csv"))
    assert partial and all(p.stat().st_size > 0 for p in partial)

    again = subprocess.run(command(cut), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    pd.testing.assert_frame_equal(comparable(whole), comparable(cut))


def test_bad_input_is_one_message_and_exit_code_2(tmp_path):
    bad = tmp_path / "data"
    bad.mkdir()
    (bad / "episodes.json").write_text(json.dumps({"ep-1": [{"prompt": "x", "coordinates": [],
                                                             "results": {"action_type": 9}}]}))
    result = subprocess.run([sys.executable, str(ROOT / "run_ablation.py"), "--data", str(bad),
                             "--units", "normalized", "--out", str(tmp_path / "out")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("error: ")
    assert "episodes.json, episode 'ep-1', step 0: results.action_type 9 is not an action code" \
        in result.stderr
