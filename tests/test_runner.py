"""The grid runner: isolation of failures, records on disk, resume, --force."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

import variants
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.design import ORIGINAL
from harness.encoders import resolve_encoder
from harness.errors import HarnessInputError
from harness.results import run_folder_name
from harness.runner import run_grid
from harness.train import Hooks, TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset
from variants.registry import Variant

SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=4, batch_size=8), encoder=TINY_ENCODER,
                    seeds=(0, 1), device="cpu")


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))


class Boom(Hooks):
    def after_backward(self, run, step, batch, outputs, losses, skipped):
        if step == 2:
            raise RuntimeError("injected failure at step 2")


def boom_for(name):
    return lambda variant, seed: Boom() if variant.name == name else None


def test_a_failing_variant_does_not_stop_the_others(data, tmp_path):
    chosen = [variants.get_variant("original"), variants.get_variant("fixed")]
    summary = run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data,
                       hooks_factory=boom_for("original"))
    assert len(summary) == 4
    failed = summary[summary.variant == "original"]
    assert set(failed.status) == {"failed"}
    assert set(failed.message) == {"RuntimeError: injected failure at step 2"}
    assert set(summary[summary.variant == "fixed"].status) == {"ok"}
    on_disk = pd.read_csv(tmp_path / "summary.csv")
    assert list(on_disk.status) == list(summary.status)
    assert "injected failure" in (tmp_path / "runs/original/seed0/error.txt").read_text()
    steps = pd.read_csv(tmp_path / "steps.csv")
    assert list(steps.columns) == ["variant", "seed", "step", "metric", "value"]
    losses = steps[steps.metric == "loss/total"]
    assert set(losses[losses.variant == "fixed"].step) == {0, 1, 2, 3}
    # the held-out split is scored after the last step, at the count of steps done
    assert set(steps[steps.metric == "heldout/action_acc"].step) == {4}
    # the failed run keeps its records up to the last completed step
    assert losses[losses.variant == "original"].step.max() == 1
    run = json.loads((tmp_path / "run.json").read_text())
    assert {"settings", "environment", "command", "data", "variants", "baselines"} <= set(run)


def test_rerun_skips_finished_runs_and_force_recomputes(data, tmp_path):
    chosen = [variants.get_variant("fixed")]
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data)
    status = tmp_path / "runs/fixed/seed0/status.json"
    first = json.loads(status.read_text())["finished"]

    calls = []
    counting = lambda variant, seed: calls.append((variant.name, seed))
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data, hooks_factory=counting)
    assert calls == [] and json.loads(status.read_text())["finished"] == first

    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data, hooks_factory=counting,
             force=True)
    assert calls == [("fixed", 0), ("fixed", 1)]


def test_rerun_with_other_settings_is_refused(data, tmp_path):
    chosen = [variants.get_variant("fixed")]
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data)
    other = Settings(data=SETTINGS.data, train=TrainSettings(steps=5, batch_size=8),
                     encoder=TINY_ENCODER, seeds=(0,), device="cpu")
    with pytest.raises(HarnessInputError, match="different settings.*--force"):
        run_grid(other, chosen, tmp_path, show_progress=False, data=data)


def test_unsafe_variant_names_get_distinct_safe_folders(data, tmp_path):
    names = ["<script>alert(1)</script>", "../escape", "a/b", "a_b"]
    folders = [run_folder_name(n) for n in names]
    assert len(set(folders)) == 4
    assert all("/" not in f and f not in (".", "..") for f in folders)
    evil = Variant(names[0], "an evil name", ORIGINAL)
    summary = run_grid(Settings(**{**SETTINGS.__dict__, "seeds": (0,)}), [evil], tmp_path,
                       show_progress=False, data=data)
    assert list(summary.variant) == [names[0]] and list(summary.status) == ["ok"]


def test_divergence_is_recorded_and_ends_the_run(data, tmp_path):
    class Poison(Hooks):
        def after_backward(self, run, step, batch, outputs, losses, skipped):
            if step == 1:
                next(run.model.parameters()).grad.fill_(float("nan"))
    summary = run_grid(SETTINGS, [variants.get_variant("fixed")], tmp_path, show_progress=False,
                       data=data, hooks_factory=lambda v, s: Poison())
    assert set(summary.status) == {"diverged"}
    assert set(summary.diverged_at) == {1}
    assert "non-finite" in summary.message.iloc[0]
    assert torch.isfinite(torch.tensor(summary.steps_done.values)).all()


def test_placebo_is_fixed_under_another_noise_stream(data, tmp_path):
    """Same design, data and initial weights as fixed; dropout and batch order differ, so the
    losses differ from the first step on; a second grid gives the same numbers again."""
    chosen = [variants.get_variant("fixed"), variants.get_variant("placebo")]
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data)
    steps = pd.read_csv(tmp_path / "steps.csv")
    loss = lambda v: steps[(steps.variant == v) & (steps.metric == "loss/total")
                           & (steps.seed == 0)].value.to_numpy()
    assert len(loss("fixed")) == len(loss("placebo")) == 4
    assert not (loss("fixed") == loss("placebo")).all()
    again = tmp_path / "again"
    run_grid(SETTINGS, chosen, again, show_progress=False, data=data)
    from harness.compare import TIMING_METRICS
    numbers = lambda frame: frame[~frame.metric.isin(TIMING_METRICS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(numbers(pd.read_csv(again / "steps.csv")), numbers(steps))
    status = json.loads((tmp_path / "runs/placebo/seed0/status.json").read_text())
    fixed = json.loads((tmp_path / "runs/fixed/seed0/status.json").read_text())
    assert status["design"] == fixed["design"] and status["fingerprint"] != fixed["fingerprint"]


def test_placebo_starts_from_the_fixed_designs_initial_weights(data, tmp_path):
    initial = {}

    class Capture(Hooks):
        def __init__(self, name):
            self.name = name

        def on_start(self, run):
            initial[self.name] = {k: v.clone() for k, v in run.model.state_dict().items()}

    chosen = [variants.get_variant("fixed"), variants.get_variant("placebo")]
    run_grid(Settings(**{**SETTINGS.__dict__, "seeds": (0,)}), chosen, tmp_path,
             show_progress=False, data=data, hooks_factory=lambda v, s: Capture(v.name))
    assert initial["fixed"].keys() == initial["placebo"].keys()
    assert all(torch.equal(initial["fixed"][k], initial["placebo"][k]) for k in initial["fixed"])
