"""The review's adapted snippets, run as written on a run's own batch."""

from __future__ import annotations

import torch

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.design import FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.instruments.literal import NOT_RUN, RAISED, RAN, literal_checks
from harness.records import StepRecords
from harness.train import TrainSettings, start_run
from tests.conftest import TINY_ENCODER, toy_dataset

SPEC = resolve_encoder(TINY_ENCODER)


def checks_on(design, batch_size):
    data = encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=32), SPEC)
    run = start_run(data, design, SPEC, TrainSettings(batch_size=batch_size), 0,
                    torch.device("cpu"), StepRecords(None))
    batch = data.train.batch(torch.arange(batch_size), True)
    outputs, _ = run.forward_and_loss(batch)
    return run, batch, outputs, literal_checks(run.model, batch, outputs)


def test_item_routing_raises_at_the_batch_size_and_runs_at_one():
    *_, checks = checks_on(FIXED, 8)
    item = checks["item_routing"]
    assert item["outcome"] == RAISED and item["batch_size"] == 8
    assert item["error"].startswith("RuntimeError: a Tensor with 8 elements cannot be "
                                    "converted to Scalar")
    *_, single = checks_on(FIXED, 1)
    assert single["item_routing"]["outcome"] == RAN


def test_mlp_with_the_reviews_input_width_cannot_take_the_projection():
    *_, checks = checks_on(FIXED, 4)
    mlp = checks["mlp_input_width"]
    assert mlp["outcome"] == RAISED
    # 32-wide projection output against a first layer of 32 + 256 inputs
    assert "mat1 and mat2 shapes cannot be multiplied (4x32 and 288x256)" in mlp["error"]


def test_cuda_only_check_is_not_run_on_cpu():
    *_, checks = checks_on(ORIGINAL, 4)
    isin = checks["isin_cpu_codes"]
    assert isin["outcome"] == NOT_RUN == "not run: needs CUDA"
    assert isin["error"].startswith("the labels are on the CPU")
    assert isin["device"] == "cpu"


def test_checks_leave_the_run_untouched():
    run, batch, outputs, _ = checks_on(FIXED, 8)
    state = torch.random.get_rng_state()
    before = [p.detach().clone() for p in run.model.parameters()]
    literal_checks(run.model, batch, outputs)
    assert torch.equal(state, torch.random.get_rng_state())
    assert all(torch.equal(a, b) for a, b in zip(before, run.model.parameters()))
    assert all(p.grad is None for p in run.model.parameters())
