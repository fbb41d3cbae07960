"""Instruments measure what they claim, and measuring does not change the run."""

from __future__ import annotations

import math

import pytest
import torch

from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.design import FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.instruments import InstrumentSettings
from harness.instruments.cost import mfu
from harness.instruments.gradients import cosine, flat, group_norms, head_conflict, head_gradients
from harness.instruments.suite import Instruments
from harness.instruments.throughput import count_flops, device_key, peak_flops
from harness.losses import weighted_total
from harness.records import StepRecords
from harness.train import Hooks, HookChain, TrainSettings, train
from tests.conftest import TINY_ENCODER, toy_dataset

SPEC = resolve_encoder(TINY_ENCODER)
CPU = torch.device("cpu")
SETTINGS = TrainSettings(steps=6, batch_size=8)


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=32), SPEC)


def run(data, design, hooks=None, settings=SETTINGS, probe_every=2):
    records = StepRecords(None)
    instruments = Instruments(InstrumentSettings(probe_every=probe_every))
    result = train(data, design, SPEC, settings, 0, CPU, records,
                   hooks=HookChain([instruments, hooks]))
    return result, records


def values(records, metric):
    return [v for _, m, v in records.rows if m == metric]


def test_group_norms_equal_a_direct_computation():
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    b(a(torch.randn(4, 3))).sum().backward()
    norms = group_norms({"a": list(a.parameters()), "b": list(b.parameters()), "none": []})
    direct = torch.sqrt(sum((p.grad ** 2).sum() for p in a.parameters()))
    assert torch.isclose(norms["a"], direct)
    assert norms["none"].item() == 0.0


def test_opposing_losses_give_a_negative_cosine_and_a_conflict():
    shared = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    x = torch.tensor([3.0, -1.0])
    losses = {"action": (shared * x).sum(), "query": -(shared * x).sum() / 0.5,
              "coord": (shared ** 2).sum()}
    grads = head_gradients(losses, [shared])
    out = head_conflict(grads, n_shared=1)
    assert out["probe/cosine/action-query"].item() == pytest.approx(-1.0)
    assert out["probe/conflict/action-query"].item() == 1.0
    assert out["probe/shared_grad_norm/action"].item() == pytest.approx(math.sqrt(10))
    assert math.isnan(cosine(torch.zeros(2), torch.ones(2)).item())
    assert shared.grad is None   # measuring left the training gradient alone


def test_flop_count_and_mfu_arithmetic_on_a_known_matmul():
    a, b = torch.randn(64, 32), torch.randn(32, 16)
    assert count_flops(lambda: a @ b) == 2 * 64 * 32 * 16
    assert mfu(1e12, 0.5, 4e12) == pytest.approx(0.5)
    assert mfu(1e12, 0.5, None) is None and peak_flops(CPU, "bf16") is None
    assert device_key("NVIDIA H100 80GB HBM3") == "h100 sxm"
    assert device_key("NVIDIA H200") == "h200" and device_key("Tesla T4") is None


def test_instruments_do_not_change_the_run(data):
    bare = StepRecords(None)
    bare_result = train(data, ORIGINAL, SPEC, SETTINGS, 0, CPU, bare)
    result, records = run(data, ORIGINAL, probe_every=1)
    assert values(records, "loss/total") == values(bare, "loss/total")
    assert result.final == bare_result.final or all(
        a == b or (math.isnan(a) and math.isnan(b))
        for a, b in zip(result.final.values(), bare_result.final.values()))


def test_every_step_records_groups_throughput_and_probes(data):
    result, records = run(data, FIXED)
    for group in ("encoder", "post_norm", "projections", "action_head", "query_decoder",
                  "coord_head"):
        assert len(values(records, f"grad_norm/{group}")) == SETTINGS.steps
    for metric in ("step_time_s", "samples_per_s", "tokens_per_s"):
        assert len(values(records, metric)) == SETTINGS.steps
        assert all(v > 0 for v in values(records, metric))
    assert sorted(s for s, m, _ in records.rows if m == "probe/seconds") == [0, 2, 4]
    assert len(values(records, "probe/cosine/action-coord")) == 3
    assert values(records, "peak_memory_mb")[-1] > 0
    assert result.facts["flops_per_step"] > 0
    agreement = result.facts["backward_agreement"]
    assert agreement["rel_diff"] < 1e-5 and agreement["step"] == 0


def test_target_range_audit_sees_pixels_the_sigmoid_cannot_reach(data):
    pixels, _ = run(data, ORIGINAL)
    screen, _ = run(data, ORIGINAL.replace(coord_units="screen"))
    assert pixels.facts["target_range_audit"]["dual_point_targets_outside_range"] == 1.0
    assert screen.facts["target_range_audit"]["dual_point_targets_outside_range"] == 0.0
    # the penalty loss also sees non-gesture steps, whose (-1, -1) is out of range in any units
    assert screen.facts["target_range_audit"]["loss_scope_non_dual_point_steps"] > 0
    assert screen.facts["target_range_audit"]["targets_outside_range_in_loss_scope"] > 0


def no_type_data():
    steps = [s for s in toy_dataset().steps if s.action_type != 3]
    dataset = toy_dataset()
    dataset.steps = steps
    return encode_dataset(dataset, DataSettings(vocab_size=200, max_length=32), SPEC)


@pytest.mark.parametrize("backward,consequence", [("single", "survived"),
                                                  ("per_head", "skipped")])
def test_a_nan_query_loss_is_recorded_with_its_consequence(backward, consequence):
    result, _ = run(no_type_data(), FIXED.replace(backward=backward))
    assert result.status == "ok"
    events = result.facts["nonfinite_events"]
    assert [e["step"] for e in events] == list(range(SETTINGS.steps))
    assert {(e["term"], e["consequence"]) for e in events} == {("query", consequence)}
    assert result.facts["nonfinite_counts"] == {f"query:{consequence}": SETTINGS.steps}


def test_a_nan_that_reaches_the_weights_is_propagated_and_diverges(data):
    class PoisonCoord(Hooks):
        def after_loss(self, run, step, batch, outputs, losses):
            if step == 3:
                losses["coord"] = losses["coord"] * float("nan")
                losses["total"] = weighted_total(losses["action"], losses["query"],
                                                 losses["coord"])
    result, _ = run(data, FIXED, hooks=PoisonCoord())
    assert result.status == "diverged" and result.diverged_at == 3
    assert result.facts["nonfinite_events"] == [
        {"step": 3, "term": "coord", "value": result.facts["nonfinite_events"][0]["value"],
         "consequence": "propagated"}]


def test_hook_chain_forwards_every_attachment_point_in_order():
    calls = []

    class Recorder(Hooks):
        def __init__(self, name):
            self.name = name

        def __getattribute__(self, attr):
            if attr in POINTS:
                return lambda *args: calls.append((object.__getattribute__(self, "name"),
                                                   attr, args))
            return object.__getattribute__(self, attr)

    POINTS = [n for n in vars(Hooks) if not n.startswith("_")]
    assert "after_backward" in POINTS and "on_end" in POINTS
    chain = HookChain([Recorder("a"), None, Recorder("b")])
    for point in POINTS:
        getattr(chain, point)(1, 2)
    assert calls == [(name, point, (1, 2)) for point in POINTS for name in ("a", "b")]
