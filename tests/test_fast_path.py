"""The fast path keeps the design's numbers: per-batch padding gives the losses and gradients
of padding to the maximum length; bucketed batches are a permutation, the same for every
variant; bf16 autocast runs and keeps the loss in fp32."""

from __future__ import annotations

import pytest
import torch

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.design import FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.records import StepRecords
from harness.seeding import bucketed_batches
from harness.train import Hooks, TrainSettings, start_run, train, train_step
from tests.conftest import TINY_ENCODER, toy_dataset

SPEC = resolve_encoder(TINY_ENCODER)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    # max_length well above the prompts, so the plain path really pads
    return encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=64), SPEC)


class Grab(Hooks):
    def after_backward(self, run, step, batch, outputs, losses, skipped):
        self.losses = {k: v.detach().clone() for k, v in losses.items()}
        self.grads = {n: p.grad.detach().clone() for n, p in run.model.named_parameters()
                      if p.grad is not None}
        self.width = batch["input_ids"].shape[1]


@pytest.mark.parametrize("design", [ORIGINAL, FIXED.replace(warmup="none")],
                         ids=["original", "fixed"])
def test_per_batch_padding_equals_padding_to_max_length(data, design):
    """Dropout is switched off here: its masks are drawn over the padded shape, so the two
    paths draw different masks (equal in distribution, not in value)."""
    grabbed = {}
    for trim in (False, True):
        run = start_run(data, design, SPEC, TrainSettings(batch_size=8), 0, CPU, StepRecords(None))
        for module in run.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
        grab = Grab()
        train_step(run, data.train.batch(torch.arange(8), trim=trim), 0, grab)
        grabbed[trim] = grab
    plain, fast = grabbed[False], grabbed[True]
    assert fast.width < plain.width == 64
    for term in ("action", "query", "coord", "total"):
        torch.testing.assert_close(fast.losses[term], plain.losses[term], rtol=1e-5, atol=1e-6)
    assert fast.grads.keys() == plain.grads.keys()
    for name in plain.grads:
        # the position embeddings of padding positions get no gradient either way
        torch.testing.assert_close(fast.grads[name], plain.grads[name], rtol=1e-4, atol=1e-6)


def test_bucketed_batches_are_a_fixed_permutation_of_similar_lengths():
    lengths = torch.randint(5, 100, (400,), generator=torch.Generator().manual_seed(0))
    a = bucketed_batches(lengths, 16, seed=3, epoch=1)
    b = bucketed_batches(lengths, 16, seed=3, epoch=1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert sorted(torch.cat(a).tolist()) == list(range(400))
    spread = sum(int(lengths[x].max() - lengths[x].min()) for x in a) / len(a)
    shuffled = torch.randperm(400, generator=torch.Generator().manual_seed(1)).split(16)
    assert spread < 0.5 * sum(int(lengths[x].max() - lengths[x].min()) for x in shuffled) / 25


def test_bf16_autocast_runs_and_keeps_the_loss_in_fp32(data):
    records = StepRecords(None)
    result = train(data, FIXED.replace(warmup="none"), SPEC,
                   TrainSettings(steps=3, batch_size=8, precision="bf16"), 0, CPU, records)
    assert result.status == "ok"
    losses = [v for _, m, v in records.rows if m == "loss/total"]
    assert len(losses) == 3 and all(v == v for v in losses)

    class DType(Hooks):
        def after_loss(self, run, step, batch, outputs, losses):
            self.dtypes = {outputs["action_logits"].dtype, losses["total"].dtype}
    spy = DType()
    train(data, FIXED.replace(warmup="none"), SPEC,
          TrainSettings(steps=1, batch_size=8, precision="bf16"), 0, CPU, StepRecords(None),
          hooks=spy)
    assert spy.dtypes == {torch.float32}
