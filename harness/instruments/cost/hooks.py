"""Every step timed from its start to the optimizer step, less the probes; sizes taken at the
step's start and turned into rates at the flush, when CUDA timings can be read without
stalling the step."""

from __future__ import annotations

import math

import torch

from harness.backward import design_backward
from harness.losses import head_weights
from harness.instruments.cost import (PEAK_MEMORY, PROBE_SECONDS, SAMPLES_PER_S, STEP_TIME,
                                      TOKENS_PER_S)
from harness.instruments.hooks import InstrumentHooks
from harness.instruments.throughput import (StepTimer, count_flops, peak_flops, peak_memory_mb,
                                            reset_peak_memory)
from harness.seeding import batch_order


def count_step_flops(run) -> int:
    """FLOPs of one training step (forward, loss, the design's backward) on the first batch,
    without touching the run: RNG forked, gradients cleared afterwards. An aggregating design
    counts with a backward of its own, so that a stateful aggregator's state (Nash-MTL's
    previous weights) is not the run's; its solver's work (quadprog, cvxpy) is not counted."""
    index = batch_order(len(run.data.train), run.seed, 0)[:run.settings.batch_size]
    batch = {k: v.to(run.device)
             for k, v in run.data.train.batch(index, run.settings.trim_padding).items()}
    devices = [run.device] if run.device.type == "cuda" else []
    backward = design_backward(run.design, run.model)

    def one_step():
        _, losses = run.forward_and_loss(batch)
        backward(losses, head_weights(run.design))

    with torch.random.fork_rng(devices=devices):
        run.model.train()
        flops = count_flops(one_step)
    run.optimizer.zero_grad(set_to_none=True)
    return flops


class CostHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        self.timer = StepTimer(run.device)
        self.pending_sizes: list[tuple[int, int, torch.Tensor]] = []
        self.probe_seconds = 0.0
        self.probes = 0
        reset_peak_memory(run.device)
        run.facts["peak_flops"] = peak_flops(run.device, run.settings.precision)
        run.facts["attention_implementation"] = getattr(
            run.model.encoder.config, "_attn_implementation", None)
        if self.settings.flops:
            run.facts["flops_per_step"] = count_step_flops(run)

    def on_step_start(self, run, step, batch) -> None:
        self.timer.start()
        self.pending_sizes.append((step, batch["input_ids"].shape[0],
                                   batch["attention_mask"].sum()))

    def probed(self, run, step, seconds) -> None:
        self.timer.exclude(seconds)
        self.probe_seconds += seconds
        self.probes += 1
        run.records.add(step, PROBE_SECONDS, seconds)

    def after_step(self, run, step) -> None:
        self.timer.stop(step)

    def before_flush(self, run) -> None:
        sizes = {step: (samples, tokens) for step, samples, tokens in self.pending_sizes}
        self.pending_sizes.clear()
        last = None
        for step, seconds in self.timer.collect():
            samples, tokens = sizes[step]
            tokens = float(tokens)
            run.records.add_many(step, {
                STEP_TIME: seconds,
                SAMPLES_PER_S: samples / seconds if seconds > 0 else math.nan,
                TOKENS_PER_S: tokens / seconds if seconds > 0 else math.nan,
            })
            last = step
        if last is not None:
            run.records.add(last, PEAK_MEMORY, peak_memory_mb(run.device))

    def on_end(self, run) -> None:
        run.facts["probes"] = self.probes
        run.facts["probe_seconds"] = self.probe_seconds
        run.facts["peak_memory_mb"] = peak_memory_mb(run.device)
