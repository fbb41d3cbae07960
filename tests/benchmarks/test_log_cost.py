"""What ``--log tensorboard`` costs a training step: the instrumented step with the live
events writer against the same step without it, measured like the instrumented-over-bare
step (lockstep blocks of 25 steps, ratio of the median blocks; harness.benchmarking), bounded
in benchmarks/bounds.json.

MLflow has no per-step cost to measure: the driver writes each run after it ends.
"""

from __future__ import annotations

import pytest
import torch

from harness.benchmarking import compare_steps
from harness.config import DataSettings
from harness.design import FIXED
from harness.encoders import resolve_encoder
from harness.instruments import InstrumentSettings
from harness.instruments.suite import Instruments
from harness.prepare import prepare_data
from harness.records import StepRecords
from harness.train import (HookChain, TrainSettings, flush_records, record_step, start_run,
                           train_step)

pytest.importorskip("tensorboard")

BATCH = 16
BLOCK = 25      # one probe step per block, as in a run (probes every 25 steps)


@pytest.fixture(scope="module")
def data():
    return prepare_data(DataSettings(synthetic_episodes=80), resolve_encoder("tiny"))


def stepper(data, batches, hooks_for):
    """One training step as the loop does it, records flushed every step (the CPU path),
    cycling through ``batches``; ``hooks_for(run)`` builds the run's hooks."""
    run = start_run(data, FIXED.replace(warmup="none"), resolve_encoder("tiny"),
                    TrainSettings(batch_size=BATCH), 0, torch.device("cpu"), StepRecords(None))
    hooks = hooks_for(run)
    hooks.on_start(run)
    counter = [0]

    def step():
        batch = batches[counter[0] % len(batches)]
        losses, grad_norm, skipped = train_step(run, batch, counter[0], hooks)
        record_step(run.records, counter[0], losses, grad_norm,
                    run.optimizer.param_groups[0]["lr"], skipped, run.design.clip_norm)
        flush_records(run, hooks)
        counter[0] += 1
    return step


def test_tensorboard_over_no_log_step(benchmark, data, tmp_path):
    from harness.logs.tensorboard import LiveTensorBoard
    batches = []
    for i in range(5):
        index = torch.arange(i * BATCH, (i + 1) * BATCH)
        batches.append(data.train.batch(index, trim=True))
    instruments = lambda: Instruments(InstrumentSettings(probe_every=BLOCK))
    live = []

    def with_events(run):
        live.append(LiveTensorBoard(tmp_path / "tensorboard", run.records, "fixed", 0,
                                    FIXED.to_dict(), None))
        return HookChain([instruments(), live[-1]])

    logged = stepper(data, batches, with_events)
    plain = stepper(data, batches, lambda run: HookChain([instruments()]))
    disabled = benchmark.disabled
    try:
        c = compare_steps(logged, plain, steps=BLOCK, names=("tensorboard", "no log"),
                          device="cpu", rounds=2 if disabled else 24, warmup=1)
        benchmark.extra_info.update(c.extra_info(), ratio_name="tensorboard_over_no_log",
                                    device="cpu", precision="fp32", steps_per_block=BLOCK,
                                    probe_every=BLOCK, batch=BATCH)

        def one_block():
            for _ in range(BLOCK):
                logged()
        benchmark.pedantic(one_block, rounds=1 if disabled else 3, iterations=1)
    finally:
        live[0].finish({"status": "ok", "finished": None})
    assert any((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
