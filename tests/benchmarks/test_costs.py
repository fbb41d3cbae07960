"""What each design choice costs, and what the instruments cost, as ratios measured side by
side in one process (harness.benchmarking.compare). pytest-benchmark times side "a" of each
comparison for its saved statistics; the ratio goes in ``extra_info``.

Under plain `pytest` (benchmarks disabled) every comparison runs two rounds: a smoke test of
the code paths. `make bench` runs them for real and checks the ratios against
benchmarks/bounds.json.
"""

from __future__ import annotations

import shutil

import pytest
import torch

import variants
from harness.benchmarking import compare, compare_steps
from harness.config import DataSettings, Settings
from harness.prepare import prepare_data
from harness.data.tensors import design_targets
from harness.design import FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.instruments import InstrumentSettings
from harness.instruments.suite import Instruments
from harness.losses import penalty_loss, standard_loss
from harness.precision import autocast
from harness.model.heads import LSTMCoordHead, MLPCoordHead
from harness.records import StepRecords
from harness.report import build_report
from harness.runner import run_grid
from harness.train import (Hooks, TrainSettings, flush_records, record_step, start_run,
                           train_step)

BATCH = 16
DEVICES = [("cpu", "fp32")]
if torch.cuda.is_available():
    DEVICES += [("cuda", "fp32"), ("cuda", "bf16")]


@pytest.fixture(scope="module")
def data():
    return prepare_data(DataSettings(synthetic_episodes=80), resolve_encoder("tiny"))


def rounds(benchmark, full: int) -> int:
    return 2 if benchmark.disabled else full


def record(benchmark, comparison, ratio_name: str, **info) -> None:
    benchmark.extra_info.update(comparison.extra_info(), ratio_name=ratio_name, **info)


def batch_of(data, device: str, start: int = 0) -> dict:
    index = torch.arange(start, start + BATCH)
    return {k: v.to(device) for k, v in data.train.batch(index, trim=True).items()}


def make_run(data, design, device: str, precision: str = "fp32"):
    """A run whose steps autocast their forward pass as the harness does (loss in fp32)."""
    return start_run(data, design, resolve_encoder("tiny"),
                     TrainSettings(batch_size=BATCH, precision=precision), 0,
                     torch.device(device), StepRecords(None))


def step_fn(run, batches, hooks: Hooks):
    """One training step as the loop does it (precision from the run's settings), records
    included (flushed every step on CPU), cycling through ``batches``."""
    batches = batches if isinstance(batches, list) else [batches]
    counter = [0]

    def step():
        batch = batches[counter[0] % len(batches)]
        losses, grad_norm, skipped = train_step(run, batch, counter[0], hooks)
        record_step(run.records, counter[0], losses, grad_norm, run.optimizer.param_groups[0]["lr"],
                    skipped, run.design.clip_norm)
        flush_records(run, hooks)
        counter[0] += 1
    return step


# --------------------------------------------------------------------------- heads and losses

@pytest.mark.parametrize("device,precision", DEVICES)
def test_coordinate_heads_lstm_over_mlp(benchmark, device, precision):
    torch.manual_seed(0)
    context = torch.randn(BATCH, 128, device=device)
    lstm, mlp = LSTMCoordHead(128).to(device), MLPCoordHead(128).to(device)

    def run(head):
        def go():
            with autocast(torch.device(device), precision):
                out = head(context)
            out.float().sum().backward()
        return go
    c = compare(run(lstm), run(mlp), names=("lstm", "mlp"), device=device,
                rounds=rounds(benchmark, 50))
    record(benchmark, c, "lstm_over_mlp_head", device=device, precision=precision,
           shape=[BATCH, 128])
    benchmark(run(lstm))


@pytest.mark.parametrize("device,precision", DEVICES)
def test_losses_penalty_over_standard(benchmark, data, device, precision):
    batch = batch_of(data, device)
    targets = {**batch, **design_targets(batch, data.units, "screen")}
    g = torch.Generator().manual_seed(0)
    outputs = {"action_logits": torch.randn(BATCH, 12, generator=g),
               "query_logits": torch.randn(BATCH, data.query_steps, data.vocab_size, generator=g),
               "coordinates": torch.rand(BATCH, 4, generator=g)}
    outputs = {k: v.to(device).requires_grad_() for k, v in outputs.items()}

    def run(loss_fn):
        return lambda: loss_fn(outputs, targets)["total"].backward()
    c = compare(run(penalty_loss), run(standard_loss), names=("penalty", "standard"),
                device=device, rounds=rounds(benchmark, 30))
    record(benchmark, c, "penalty_over_standard_loss", device=device, batch=BATCH)
    benchmark(run(penalty_loss))


# --------------------------------------------------------------------------- training steps

def _step_pair(benchmark, data, device, precision, design_a, design_b, names, ratio_name,
               full_rounds=12):
    batch = batch_of(data, device)
    a = step_fn(make_run(data, design_a, device, precision), batch, Hooks())
    b = step_fn(make_run(data, design_b, device, precision), batch, Hooks())
    c = compare(a, b, names=names, device=device, rounds=rounds(benchmark, full_rounds))
    record(benchmark, c, ratio_name, device=device, precision=precision, batch=BATCH,
           samples_per_s_a=BATCH / c.a_median_s, samples_per_s_b=BATCH / c.b_median_s)
    benchmark(a)


@pytest.mark.parametrize("device,precision", DEVICES)
def test_step_per_head_over_single_backward(benchmark, data, device, precision):
    _step_pair(benchmark, data, device, precision, ORIGINAL, ORIGINAL.replace(backward="single"),
               ("per_head", "single"), "per_head_over_single_backward")


@pytest.mark.parametrize("device,precision", DEVICES)
def test_step_routing_all_over_predicted(benchmark, data, device, precision):
    _step_pair(benchmark, data, device, precision, FIXED.replace(routing="all"), FIXED,
               ("routing all", "routing predicted"), "routing_all_over_predicted")


@pytest.mark.parametrize("device,precision", DEVICES)
def test_step_original_over_fixed(benchmark, data, device, precision):
    """A full tiny training step per built-in design, samples/s of each in extra_info."""
    _step_pair(benchmark, data, device, precision, ORIGINAL, FIXED, ("original", "fixed"),
               "original_over_fixed_step")


@pytest.mark.parametrize("device,precision", DEVICES)
def test_instrumented_over_bare_step(benchmark, data, device, precision):
    """Blocks of 25 steps, each with one probe step (probes every 25), instrumented against
    bare, on the same design, weights and batches; every step timed on its own
    (harness.benchmarking.compare_steps). Five batches, so that a position in the block sees
    the same batch in every round."""
    block = 25
    batches = [batch_of(data, device, start=i * BATCH) for i in range(5)]

    def step_with(hooks):
        run = make_run(data, FIXED.replace(warmup="none"), device, precision)
        hooks.on_start(run)
        return step_fn(run, batches, hooks)
    instrumented = step_with(Instruments(InstrumentSettings(probe_every=block)))
    bare = step_with(Hooks())
    c = compare_steps(instrumented, bare, steps=block, names=("instrumented", "bare"),
                      device=device, rounds=rounds(benchmark, 24), warmup=1)
    record(benchmark, c, "instrumented_over_bare", device=device, precision=precision,
           steps_per_block=block, probe_every=block)

    def one_block():
        for _ in range(block):
            instrumented()
    benchmark.pedantic(one_block, rounds=1 if benchmark.disabled else 3, iterations=1)


# --------------------------------------------------------------------------- the report

def test_build_report_from_saved_records(benchmark, data, tmp_path):
    settings = Settings(data=DataSettings(synthetic_episodes=80),
                        train=TrainSettings(steps=4, batch_size=BATCH), seeds=(0, 1))
    chosen = variants.select_variants("original,fixed,original+mlp_head,fixed-mlp_head")
    run_grid(settings, chosen, tmp_path / "grid", show_progress=False, data=data)

    def build():
        shutil.rmtree(tmp_path / "grid" / "plots", ignore_errors=True)
        return build_report(tmp_path / "grid")
    benchmark.pedantic(build, rounds=1 if benchmark.disabled else 3, iterations=1)
    benchmark.extra_info.update(variants=len(chosen), seeds=2, steps=4)
