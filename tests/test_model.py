"""Same-data, same-weights guarantees, determinism, and what each axis value changes."""

from __future__ import annotations

import math

import pytest
import torch

import variants
from harness.config import DataSettings
from harness.prepare import encode_dataset
from harness.data.tensors import design_targets
from harness.design import FIXED, ORIGINAL
from harness.encoders import resolve_encoder
from harness.model.agent import AgentModel
from harness.model.heads import LSTMCoordHead, MLPCoordHead
from harness.records import StepRecords
from harness.train import Hooks, TrainSettings, build_model, train
from tests.conftest import TINY_ENCODER, toy_dataset

SPEC = resolve_encoder(TINY_ENCODER)
SETTINGS = TrainSettings(steps=6, batch_size=8)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=32), SPEC)


def state(model: AgentModel, prefix: str) -> dict:
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def assert_same_state(a: dict, b: dict):
    assert a.keys() == b.keys() and a
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.mark.parametrize("first,second", [("original", "original+mlp_head"),
                                          ("original", "fixed"),
                                          ("fixed", "fixed-projections")])
def test_shared_modules_start_identical(data, first, second):
    a = build_model(data, variants.get_variant(first).design, SPEC, seed=3, query_steps=4)
    b = build_model(data, variants.get_variant(second).design, SPEC, seed=3, query_steps=4)
    for prefix in ("encoder.", "action_head.", "query_decoder."):
        assert_same_state(state(a, prefix), state(b, prefix))
    if a.design.coord_head == b.design.coord_head:
        assert_same_state(state(a, "coord_head."), state(b, "coord_head."))
    if a.projections is not None and b.projections is not None:
        assert_same_state(state(a, "projections."), state(b, "projections."))


def test_different_seeds_start_differently(data):
    a = build_model(data, FIXED, SPEC, seed=0, query_steps=4)
    b = build_model(data, FIXED, SPEC, seed=1, query_steps=4)
    assert not torch.equal(a.action_head.weight, b.action_head.weight)


class BatchSpy(Hooks):
    def __init__(self):
        self.batches = []
        self.losses = []

    def after_backward(self, run, step, batch, outputs, losses, skipped):
        self.batches.append(batch["input_ids"].clone())
        self.losses.append({k: float(v.detach()) for k, v in losses.items()})


def test_variants_differing_in_one_head_see_identical_batches(data):
    spies = []
    for name in ("original", "original+mlp_head", "fixed"):
        spy = BatchSpy()
        train(data, variants.get_variant(name).design, SPEC, SETTINGS, 5, CPU,
              StepRecords(None), hooks=spy)
        spies.append(spy)
    assert len(spies[0].batches) == SETTINGS.steps
    for other in spies[1:]:
        for x, y in zip(spies[0].batches, other.batches):
            assert torch.equal(x, y)


def test_same_variant_and_seed_gives_identical_numbers(data, tmp_path):
    results = []
    for i in range(2):
        records = StepRecords(tmp_path / str(i))
        result = train(data, ORIGINAL, SPEC, SETTINGS, 7, CPU, records)
        records.close(complete=True)
        results.append((result.final, (tmp_path / str(i) / "steps.csv").read_text()))
    a_final, a_steps = results[0]
    b_final, b_steps = results[1]
    assert a_final.keys() == b_final.keys()
    for key in a_final:
        assert a_final[key] == b_final[key] or (math.isnan(a_final[key]) and math.isnan(b_final[key]))
    strip = lambda text: [l for l in text.splitlines() if ",step_time_s," not in l]
    assert strip(a_steps) == strip(b_steps)


# --------------------------------------------------------------------------- axis by axis

def _one_step(data, design, seed=0, hooks=None):
    records = StepRecords(None)
    train(data, design, SPEC, TrainSettings(steps=1, batch_size=8), seed, CPU, records,
          hooks=hooks)
    return records


def test_axis_coord_head_swaps_only_the_coordinate_head(data):
    a = build_model(data, ORIGINAL, SPEC, 0, 4)
    b = build_model(data, ORIGINAL.replace(coord_head="mlp"), SPEC, 0, 4)
    assert isinstance(a.coord_head, LSTMCoordHead) and isinstance(b.coord_head, MLPCoordHead)
    differing = {k.split(".")[0] for k in set(a.state_dict()) ^ set(b.state_dict())}
    assert differing == {"coord_head"}
    out = b(data.train.input_ids[:3], data.train.attention_mask[:3])["coordinates"]
    assert out.shape == (3, 4) and bool(((out > 0) & (out < 1)).all())


def test_axis_projections_and_post_norm_add_only_their_modules(data):
    a = build_model(data, ORIGINAL, SPEC, 0, 4)
    b = build_model(data, ORIGINAL.replace(projections="per_head"), SPEC, 0, 4)
    c = build_model(data, ORIGINAL.replace(post_norm=True), SPEC, 0, 4)
    assert {k.split(".")[0] for k in set(b.state_dict()) - set(a.state_dict())} == {"projections"}
    assert set(b.projections) == {"action", "query", "coord"}
    assert {k.split(".")[0] for k in set(c.state_dict()) - set(a.state_dict())} == {"post_norm"}
    assert isinstance(c.post_norm, torch.nn.LayerNorm)


def test_axis_routing_runs_heads_on_predicted_rows_only(data):
    model = build_model(data, ORIGINAL.replace(routing="predicted"), SPEC, 0, 4).eval()
    with torch.no_grad():
        out = model(data.train.input_ids[:16], data.train.attention_mask[:16])
    predicted = out["action_logits"].argmax(-1)
    assert torch.equal(out["query_rows"], predicted == 3)
    assert torch.equal(out["coord_rows"], torch.isin(predicted, torch.tensor([4, 5, 6, 7, 10, 11])))
    assert bool((out["coordinates"][~out["coord_rows"]] == 0).all())
    assert bool((out["query_logits"][~out["query_rows"]] == 0).all())
    unrouted = build_model(data, ORIGINAL, SPEC, 0, 4)(data.train.input_ids[:4],
                                                       data.train.attention_mask[:4])
    assert unrouted["query_rows"] is None and unrouted["coord_rows"] is None


def test_axis_coord_units_divides_targets_by_the_screen(data):
    batch = data.train.batch(torch.arange(6))
    stored = design_targets(batch, data.units, "as_stored")
    screen = design_targets(batch, data.units, "screen")
    assert torch.equal(stored["touch"], batch["touch"])
    assert torch.allclose(screen["touch"] * torch.tensor([1080.0, 2400.0]), batch["touch"])
    assert torch.allclose(screen["boxes"] * torch.tensor([1080.0, 2400.0, 1080.0, 2400.0]),
                          batch["boxes"])


def test_axis_loss_and_backward_change_what_is_computed(data):
    class Spy(Hooks):
        def after_backward(self, run, step, batch, outputs, losses, skipped):
            self.coord, self.skipped = float(losses["coord"].detach()), skipped
    penalty, standard = Spy(), Spy()
    _one_step(data, ORIGINAL, hooks=penalty)
    _one_step(data, ORIGINAL.replace(loss="standard"), hooks=standard)
    # pixel targets: the penalty's MSE is in squared pixels, Huber is linear in pixels
    assert penalty.coord > 1000 * standard.coord > 0


def test_axis_warmup_holds_lr_at_zero_for_the_first_epoch(data):
    per_epoch = math.ceil(len(data.train) / 8)                 # batches of 8
    settings = TrainSettings(steps=2 * per_epoch + 1, batch_size=8)
    lrs = {}
    for warmup in ("none", "epoch10"):
        records = StepRecords(None)
        train(data, FIXED.replace(warmup=warmup), SPEC, settings, 0, CPU, records)
        lrs[warmup] = [v for _, m, v in records.rows if m == "lr"]
    assert set(lrs["none"]) == {settings.lr}
    assert per_epoch > 5
    assert lrs["epoch10"][:per_epoch] == [0.0] * per_epoch
    assert lrs["epoch10"][per_epoch:2 * per_epoch] == \
        [pytest.approx(0.1 * settings.lr)] * per_epoch
    assert lrs["epoch10"][2 * per_epoch] == pytest.approx(0.2 * settings.lr)


def test_axis_clip_norm_bounds_the_update_gradient(data):
    class Spy(Hooks):
        def after_step(self, run, step):
            grads = [p.grad for p in run.model.parameters() if p.grad is not None]
            self.after = float(torch.nn.utils.get_total_norm(grads))
    clipped, unclipped = Spy(), Spy()
    rec_c = _one_step(data, ORIGINAL, hooks=clipped)
    rec_u = _one_step(data, ORIGINAL.replace(clip_norm=None), hooks=unclipped)
    pre = rec_c.last("grad_norm")
    assert pre == rec_u.last("grad_norm") and pre > 1.0
    assert clipped.after == pytest.approx(1.0, rel=1e-4)
    assert unclipped.after == pytest.approx(pre, rel=1e-5)
    assert rec_c.last("clipped") == 1.0 and math.isnan(rec_u.last("clipped"))
