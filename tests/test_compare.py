"""The records comparison behind "a change made for speed must leave every record except
timings identical" (harness/compare.py, scripts/compare_commits.sh)."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.compare import compare_outputs, main


def write_run(root, variant="fixed", seed=0, loss="0.5", step_time="0.01", started=1.0):
    run = root / "runs" / variant / f"seed{seed}"
    run.mkdir(parents=True)
    (run / "steps.csv").write_text(
        "step,metric,value\n"
        f"0,loss/total,{loss}\n0,step_time_s,{step_time}\n0,grad_norm,nan\n", encoding="utf-8")
    (run / "status.json").write_text(json.dumps({
        "variant": variant, "seed": seed, "status": "ok", "started": started,
        "train_seconds": started * 3, "final": {"step_acc": 0.25},
        "facts": {"peak_memory_mb": started * 10, "flops_per_step": 1000}}), encoding="utf-8")
    (run / "heldout_scores.csv").write_text("item,step_acc\n0,1.0\n1,0.0\n", encoding="utf-8")
    return run


def test_timings_may_differ_everything_else_not(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a)
    write_run(b, step_time="0.07", started=2.0)
    assert compare_outputs(a, b) == []            # NaN equals NaN; timings left out
    assert main([str(a), str(b)]) == 0


def test_a_changed_value_is_reported(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a)
    write_run(b, loss="0.50000001")
    diffs = compare_outputs(a, b)
    assert diffs == ["fixed/seed0/steps.csv row 0 loss/total: 0.5 != 0.50000001"]
    assert main([str(a), str(b)]) == 1


def test_changed_facts_scores_and_missing_runs_are_reported(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_run(a)
    run = write_run(b)
    status = json.loads((run / "status.json").read_text())
    status["facts"]["flops_per_step"] = 999
    (run / "status.json").write_text(json.dumps(status))
    (run / "heldout_scores.csv").write_text("item,step_acc\n0,1.0\n1,1.0\n")
    write_run(b, variant="original")
    diffs = compare_outputs(a, b)
    assert "original/seed0: run only in B" in diffs
    assert any("facts.flops_per_step: 1000 != 999" in d for d in diffs)
    assert any("heldout_scores.csv" in d for d in diffs)
    shutil.rmtree(b / "runs" / "original")
    (run / "heldout_scores.csv").unlink()
    assert any("heldout_scores.csv: only in A" in d for d in compare_outputs(a, b))


@pytest.mark.slow
def test_the_same_grid_twice_gives_identical_records(tmp_path):
    """What scripts/compare_commits.sh checks across two commits, here within one: two
    sequential runs of the same small grid agree on every record but timings."""
    from harness.config import DataSettings, Settings
    from harness.train import TrainSettings
    from harness.runner import run_grid
    import variants
    from tests.conftest import TINY_ENCODER, toy_dataset
    from harness.prepare import encode_dataset
    from harness.encoders import resolve_encoder
    settings = Settings(data=DataSettings(vocab_size=200, max_length=32),
                        train=TrainSettings(steps=6, batch_size=8), encoder=TINY_ENCODER,
                        seeds=(0,))
    data = encode_dataset(toy_dataset(), settings.data, resolve_encoder(TINY_ENCODER))
    chosen = variants.select_variants("original,fixed")
    for out in ("a", "b"):
        run_grid(settings, chosen, tmp_path / out, show_progress=False, data=data)
    assert compare_outputs(tmp_path / "a", tmp_path / "b") == []
