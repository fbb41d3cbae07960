"""Parallel runs (--jobs) give exactly the numbers of a sequential run."""

from __future__ import annotations

import pandas as pd
import pytest

import variants
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.encoders import resolve_encoder
from harness.runner import run_grid
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset

SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=4, batch_size=8), encoder=TINY_ENCODER,
                    seeds=(0, 1), device="cpu")
TIMING = ("step_time_s", "samples_per_s", "tokens_per_s", "peak_memory_mb", "probe/seconds")


def comparable(out) -> pd.DataFrame:
    steps = pd.read_csv(out / "steps.csv")
    steps = steps[~steps.metric.isin(TIMING)]
    return steps.sort_values(["variant", "seed", "step", "metric"]).reset_index(drop=True)


@pytest.mark.slow
def test_two_jobs_equal_one_job(tmp_path):
    data = encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))
    chosen = [variants.get_variant("original"), variants.get_variant("fixed")]
    one = run_grid(SETTINGS, chosen, tmp_path / "one", show_progress=False, data=data,
                   jobs=1, threads=1)
    two = run_grid(SETTINGS, chosen, tmp_path / "two", show_progress=False, data=data,
                   jobs=2, threads=1)
    assert list(two.status) == ["ok"] * 4
    pd.testing.assert_frame_equal(comparable(tmp_path / "one"), comparable(tmp_path / "two"))
    metrics = [c for c in one.columns if c in ("action_acc", "step_acc", "val_loss")]
    pd.testing.assert_frame_equal(one[["variant", "seed", *metrics]],
                                  two[["variant", "seed", *metrics]])
