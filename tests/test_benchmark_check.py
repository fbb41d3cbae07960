"""The CI ratio check fails when an instrument gets slower: a deliberately slowed instrument
pushes the instrumented-over-bare ratio past its documented bound."""

from __future__ import annotations

import time

import pytest
import torch

from harness.benchmarking import check_ratios, compare_steps, load_bounds, ratio_table
from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.design import FIXED
from harness.encoders import resolve_encoder
from harness.instruments import InstrumentSettings
from harness.instruments.suite import Instruments
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

    slowed = compare_steps(stepper(SlowInstruments(InstrumentSettings(probe_every=5))),
                           stepper(Hooks()), steps=5, names=("instrumented", "bare"), rounds=3)
    results = {"benchmarks": [{"name": "slowed", "extra_info": {
        **slowed.extra_info(), "ratio_name": "instrumented_over_bare"}}]}
    assert slowed.ratio > 1.10
    assert check_ratios(results, load_bounds())


class FakeClock:
    """A clock that the timed callables advance, so the estimator is tested without timing."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_lockstep_median_ratio_ignores_shared_bursts_and_one_sided_spikes():
    """Side a costs 1.1 per step and b 1.0 (one step in five costs 3 on both, like a probe).
    In every round a burst of +5 lands on one step of both sides (lockstep: they run side by
    side), and in one round a spike of +50 hits side a alone. The median ratio is that of the
    undisturbed costs plus the shared burst; the spike is dropped."""
    clock, rounds, steps = FakeClock(), 6, 5
    calls = {"a": 0, "b": 0}

    def side(name, cost):
        def step():
            i = calls[name]
            position, block = i % steps, i // steps
            clock.now += 3.0 if position == 0 else cost
            clock.now += 5.0 if position == block % steps else 0.0
            clock.now += 50.0 if (name, block, position) == ("a", 2, 1) else 0.0
            calls[name] += 1
        return step

    c = compare_steps(side("a", 1.1), side("b", 1.0), steps=steps, rounds=rounds, warmup=0,
                      clock=clock)
    assert c.ratio == pytest.approx((3.0 + 4 * 1.1 + 5.0) / (3.0 + 4 * 1.0 + 5.0))
    assert c.a_median_s == pytest.approx(3.0 + 4 * 1.1 + 5.0) and c.rounds == rounds
    assert c.a_min_s == pytest.approx(3.0 + 4 * 1.1 + 5.0)
