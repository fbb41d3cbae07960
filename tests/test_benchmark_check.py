"""The CI ratio check fails when an instrument gets slower: a deliberately slowed instrument
pushes the instrumented-over-bare ratio past its documented bound."""

from __future__ import annotations

import time

import torch

from harness.benchmarking import check_ratios, compare, load_bounds, ratio_table
from harness.config import DataSettings
from harness.data.prepare import encode_dataset
from harness.design import FIXED
from harness.encoders import resolve_encoder
from harness.instruments import InstrumentSettings, Instruments
from harness.records import StepRecords
from harness.train import Hooks, TrainSettings, start_run, train_step
from tests.conftest import TINY_ENCODER, toy_dataset


class SlowInstruments(Instruments):
    """The real instruments plus a 20 ms stall per step, as a regression would add."""

    def after_step(self, run, step):
        super().after_step(run, step)
        time.sleep(0.02)


def _results(ratio: float) -> dict:
    return {"benchmarks": [{"name": "test_instrumented_over_bare_step",
                            "extra_info": {"ratio_name": "instrumented_over_bare",
                                           "ratio": ratio}}]}


def test_bounds_are_documented_and_checked():
    bounds = load_bounds()
    assert bounds["instrumented_over_bare"] == 1.10
    assert check_ratios(_results(1.05), bounds) == []
    (problem,) = check_ratios(_results(1.30), bounds)
    assert "instrumented_over_bare = 1.300 exceeds its bound 1.100" in problem
    assert ratio_table(_results(1.05))[0]["value"] == 1.05


def test_a_slowed_instrument_fails_the_ratio_check():
    spec = resolve_encoder(TINY_ENCODER)
    data = encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=32), spec)
    batch = data.train.batch(torch.arange(8), trim=True)

    def stepper(hooks):
        run = start_run(data, FIXED, spec, TrainSettings(batch_size=8), 0, torch.device("cpu"),
                        StepRecords(None))
        hooks.on_start(run)
        counter = [0]

        def step():
            train_step(run, batch, counter[0], hooks)
            counter[0] += 1
        return step

    slowed = compare(stepper(SlowInstruments(InstrumentSettings(probe_every=25))),
                     stepper(Hooks()), names=("instrumented", "bare"), rounds=5)
    results = {"benchmarks": [{"name": "slowed", "extra_info": {
        **slowed.extra_info(), "ratio_name": "instrumented_over_bare"}}]}
    assert slowed.ratio > 1.10
    assert check_ratios(results, load_bounds())
