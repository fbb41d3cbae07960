"""The corrected design (issue 14): each correction changes its own component and nothing
else, the designs of the review keep their records, and the variants are derived from the
axis table."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

import variants
from harness import actions
from harness.axes import check_all_axes
from harness.config import DataSettings
from harness.design import AXES, CORRECTED, FIXED, ORIGINAL, corrected_axes
from harness.encoders import resolve_encoder
from harness.forward import forward_and_loss
from harness.backward import per_head_backward
from harness.losses import (HEAD_WEIGHT_SETS, coordinate_rows, design_loss, query_every_row,
                            query_type_rows, squared_distance, standard_loss)
from harness.model.heads import PointerQueryDecoder, QueryDecoder
from harness.prepare import encode_dataset
from harness.records import StepRecords
from harness.schedules import EpochSchedulers
from harness.seeding import seeded
from harness.train import Hooks, TrainSettings, build_model, train
from tests.conftest import TINY_ENCODER, toy_dataset

SPEC = resolve_encoder(TINY_ENCODER)
CPU = torch.device("cpu")
UNITS = toy_dataset().units
NON_GESTURE = (actions.PRESS_BACK, actions.PRESS_HOME, actions.PRESS_ENTER,
               actions.STATUS_TASK_COMPLETE, actions.STATUS_TASK_IMPOSSIBLE)


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), DataSettings(vocab_size=200, max_length=32), SPEC)


def batch_of(data, rows) -> dict:
    return data.train.batch(torch.as_tensor(rows), trim=True)


def rows_with(data, codes, n: int = 8) -> list[int]:
    return [i for i, a in enumerate(data.train.action.tolist()) if a in codes][:n]


def forward(model, batch: dict, training: bool, units=UNITS):
    """The design's forward and loss on ``batch``, dropout drawn from the same seed each time,
    so that two models differ only by what their designs do."""
    model.train(training)
    with seeded(0, "test-dropout"):
        return forward_and_loss(model, batch, units, CPU, training=training)


def same_state(a, b, skip: str | None = None) -> bool:
    """Equal weights, leaving out the parameters under ``skip`` (a module name)."""
    keep = lambda state: {k: v for k, v in state.items()
                          if skip is None or not k.startswith(skip + ".")}
    sa, sb = keep(a.state_dict()), keep(b.state_dict())
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# --------------------------------------------------------------------------- the table

def test_every_axis_is_implemented_where_the_table_says():
    check_all_axes()


def test_corrected_follows_the_table_and_every_correction_has_a_reason():
    for axis in AXES.values():
        assert getattr(CORRECTED, axis.name) == axis.corrected
    moved = {a.name for a in corrected_axes()}
    assert moved == set(CORRECTED.differences(FIXED))
    assert moved == {"routing", "warmup", "query_loss", "gesture_codes", "query_decoding",
                     "query_head", "head_weights", "coord_loss"}
    for axis in corrected_axes():
        reason = axis.reason_not_in_review(axis.corrected)
        assert reason and "\n" not in reason, axis.name
        assert axis.reason_not_in_review(axis.fixed) is None
        assert axis.correction


def test_axes_not_in_the_review_leave_the_review_designs_records_alone():
    new = [a.name for a in AXES.values() if not a.in_review]
    assert new == ["query_loss", "gesture_codes", "query_decoding", "query_head",
                   "head_weights", "coord_loss", "aggregator"]
    for design in (ORIGINAL, FIXED):
        assert not set(new) & set(design.to_dict())
    # recorded in corrected where it moves them; the aggregator stays at sum in every design
    assert set(new) - {"aggregator"} <= set(CORRECTED.to_dict())
    assert "aggregator" not in CORRECTED.to_dict()
    assert ORIGINAL.replace(query_loss="type_rows").to_dict()["query_loss"] == "type_rows"


# --------------------------------------------------------------------------- variants

def test_corrected_and_its_ablations_are_registered():
    in_all = [v.name for v in variants.select_variants("all")]
    assert "corrected" in in_all
    group = variants.list_variants("corrected-*")
    assert sorted(group) == sorted(f"corrected-{a.correction}" for a in corrected_axes())
    assert not set(group) & set(in_all)
    for name in group:
        diff = variants.get_variant(name).design.differences(CORRECTED)
        (axis,) = diff
        assert diff[axis] == (AXES[axis].fixed, AXES[axis].corrected)
    # no original-<fix> / fixed-<fix> pair for a value the review does not have
    for axis in AXES.values():
        if not axis.in_review:
            assert f"original-{axis.fix}" not in variants.list_variants()


# --------------------------------------------------------------------------- model components

@pytest.mark.parametrize("axis", [a.name for a in corrected_axes()])
def test_a_correction_starts_every_module_from_the_same_weights(data, axis):
    # the pointer decoder is another module: every other one starts as the lstm design's
    skip = "query_decoder" if axis == "query_head" else None
    a = build_model(data, FIXED, SPEC, seed=3, query_steps=4)
    b = build_model(data, FIXED.replace(**{axis: AXES[axis].corrected}), SPEC, seed=3,
                    query_steps=4)
    assert same_state(a, b, skip)
    assert same_state(build_model(data, CORRECTED, SPEC, seed=3, query_steps=4), a,
                      "query_decoder")


def test_target_routing_in_training_predicted_routing_at_evaluation(data):
    design = FIXED.replace(routing="target_train")
    model = build_model(data, design, SPEC, 0)
    predicted_model = build_model(data, FIXED, SPEC, 0)
    batch = batch_of(data, range(12))
    trained, _ = forward(model, batch, training=True)
    assert torch.equal(trained["query_rows"], batch["action"] == actions.TYPE)
    assert torch.equal(trained["coord_rows"],
                       torch.isin(batch["action"], torch.tensor((4, 5, 6, 7, 10, 11))))
    evaluated, _ = forward(model, batch, training=False)
    reference, _ = forward(predicted_model, batch, training=False)
    predicted = evaluated["action_logits"].argmax(-1)
    assert torch.equal(evaluated["query_rows"], predicted == actions.TYPE)
    for key in ("action_logits", "query_logits", "coordinates", "query_rows", "coord_rows"):
        assert torch.equal(evaluated[key], reference[key]), key
    # with the DUAL_POINT set, the coordinate head trains on DUAL_POINT rows only
    dual = build_model(data, design.replace(gesture_codes="dual_point"), SPEC, 0)
    out, _ = forward(dual, batch, training=True)
    assert torch.equal(out["coord_rows"], batch["action"] == actions.DUAL_POINT)


class Recorder(torch.nn.Module):
    """The encoder's embedding table, recording the token ids the query decoder feeds it."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding
        self.calls: list[torch.Tensor] = []

    def forward(self, ids):
        self.calls.append(ids.clone())
        return self.embedding(ids)


def recording(model) -> Recorder:
    recorder = Recorder(model.encoder.get_input_embeddings())
    model.encoder.get_input_embeddings = lambda: recorder
    return recorder


def test_teacher_forcing_feeds_targets_in_training_and_argmax_at_evaluation(data):
    model = build_model(data, FIXED.replace(query_decoding="teacher_forcing", routing="all"),
                        SPEC, 0)
    batch = batch_of(data, rows_with(data, (actions.TYPE,), 4))
    labels = batch["query_labels"]
    steps = model.query_decoder.steps

    recorder = recording(model)
    out, losses = forward(model, batch, training=True)
    fed = torch.stack(recorder.calls, dim=1)                       # [B, steps]
    assert torch.equal(fed[:, :steps - 1], labels[:, :steps - 1])
    assert math.isfinite(float(losses["query"].detach()))

    recorder.calls.clear()
    out, _ = forward(model, batch, training=False)
    fed = torch.stack(recorder.calls, dim=1)
    assert torch.equal(fed, out["query_logits"].argmax(-1))


def test_greedy_decoding_ignores_the_targets(data):
    model = build_model(data, FIXED.replace(routing="all"), SPEC, 0)
    batch = batch_of(data, rows_with(data, (actions.TYPE,), 4))
    recorder = recording(model)
    out, _ = forward(model, batch, training=True)
    assert torch.equal(torch.stack(recorder.calls, dim=1), out["query_logits"].argmax(-1))


def test_teacher_forcing_changes_only_the_query_logits(data):
    batch = batch_of(data, range(12))
    greedy = build_model(data, FIXED.replace(routing="all"), SPEC, 0)
    forced = build_model(data, FIXED.replace(routing="all", query_decoding="teacher_forcing"),
                         SPEC, 0)
    a, la = forward(greedy, batch, training=True)
    b, lb = forward(forced, batch, training=True)
    assert torch.equal(a["action_logits"], b["action_logits"])
    assert torch.equal(a["coordinates"], b["coordinates"])
    assert not torch.equal(a["query_logits"], b["query_logits"])
    assert torch.equal(la["action"], lb["action"]) and torch.equal(la["coord"], lb["coord"])


def pointer_inputs(batch: int = 3, length: int = 6, size: int = 8, vocab: int = 20, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    states = torch.randn(batch, length, size, generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    mask[0, 4:] = 0                                       # row 0: two padding positions
    ids = torch.randint(5, vocab, (batch, length), generator=g)
    return torch.randn(batch, size, generator=g), (states, mask, ids)


def test_the_pointer_decoder_returns_log_probabilities_of_a_mixture():
    with seeded(0, "pointer-test"):
        decoder = PointerQueryDecoder(8, 20, steps=5, hidden=16)
        embed = torch.nn.Embedding(20, 8)
    context, prompt = pointer_inputs()
    out = decoder(context, embed, prompt=prompt)
    assert out.shape == (3, 5, 20)
    assert torch.allclose(out.exp().sum(-1), torch.ones(3, 5), atol=1e-5)
    # the losses read them as logits: cross-entropy of log-probabilities is their NLL
    target = torch.tensor([7, 3, 11])
    assert torch.allclose(torch.nn.functional.cross_entropy(out[:, 0], target),
                          -out[:, 0].gather(1, target[:, None]).mean(), atol=1e-5)


def test_a_copying_pointer_decoder_puts_all_its_mass_on_the_prompt_tokens():
    with seeded(0, "pointer-test"):
        decoder = PointerQueryDecoder(8, 20, steps=4, hidden=16)
        embed = torch.nn.Embedding(20, 8)
    with torch.no_grad():                     # the gate shut: copy only
        decoder.gate.weight.zero_()
        decoder.gate.bias.fill_(-50.0)
    context, (states, mask, ids) = pointer_inputs()
    probs = decoder(context, embed, prompt=(states, mask, ids)).exp().detach()
    for row in range(3):
        visible = set(ids[row][mask[row].bool()].tolist())
        hidden_only = set(ids[row][~mask[row].bool()].tolist()) - visible
        on_prompt = probs[row][:, sorted(visible)].sum(-1)
        assert torch.allclose(on_prompt, torch.ones(4), atol=1e-5), row
        # a padding position is never copied
        for token in hidden_only:
            assert float(probs[row][:, token].max()) < 1e-9


def test_the_pointer_decoder_reads_the_prompt_and_the_lstm_one_does_not():
    with seeded(0, "pointer-test"):
        pointer = PointerQueryDecoder(8, 20, steps=3, hidden=16)
        lstm = QueryDecoder(8, 20, steps=3, hidden=16)
        embed = torch.nn.Embedding(20, 8)
    context, (states, mask, ids) = pointer_inputs()
    other = (states.flip(1), mask, ids.flip(1))
    assert not torch.allclose(pointer(context, embed, prompt=(states, mask, ids)),
                              pointer(context, embed, prompt=other))
    assert torch.equal(lstm(context, embed, prompt=(states, mask, ids)),
                       lstm(context, embed, prompt=other))


def test_the_pointer_decoder_trains_the_encoder_and_teacher_forcing_feeds_it_targets(data):
    design = CORRECTED
    model = build_model(data, design, SPEC, 0)
    assert isinstance(model.query_decoder, PointerQueryDecoder)
    batch = batch_of(data, rows_with(data, (actions.TYPE,), 4))
    recorder = recording(model)
    out, losses = forward(model, batch, training=True)
    steps = model.query_decoder.steps
    fed = torch.stack(recorder.calls, dim=1)
    assert torch.equal(fed[:, :steps - 1], batch["query_labels"][:, :steps - 1])
    losses["query"].backward()
    assert model.encoder.encoder.layer[-1].output.dense.weight.grad.abs().sum() > 0


def test_head_weights_scale_the_query_term_in_the_total_and_in_each_backward():
    outputs, targets = toy_outputs([actions.TYPE, actions.DUAL_POINT, actions.PRESS_BACK])
    review = design_loss(FIXED, outputs, targets)
    light = design_loss(FIXED.replace(head_weights="query_0.1"), outputs, targets)
    for term in ("action", "query", "coord"):
        assert torch.equal(review[term], light[term])
    assert torch.isclose(review["total"] - light["total"], 0.4 * review["query"])
    # the per-head backward weighs each term the same way
    grads = {}
    for name, weights in (("review", HEAD_WEIGHT_SETS["review"]),
                          ("light", HEAD_WEIGHT_SETS["query_0.1"])):
        outputs, targets = toy_outputs([actions.TYPE, actions.DUAL_POINT])
        per_head_backward(design_loss(FIXED, outputs, targets), weights)
        grads[name] = outputs["query_logits"].grad
    assert torch.allclose(grads["light"], grads["review"] * 0.2)


# --------------------------------------------------------------------------- losses

def toy_outputs(codes, vocab: int = 7, steps: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = len(codes)
    labels = torch.zeros(n, steps, dtype=torch.long)
    for i, code in enumerate(codes):
        if code == actions.TYPE:
            labels[i, :3] = torch.tensor([2, 5, 3])
    outputs = {"action_logits": torch.randn(n, 12, generator=g, requires_grad=True),
               "query_logits": torch.randn(n, steps, vocab, generator=g, requires_grad=True),
               "coordinates": torch.rand(n, 4, generator=g).requires_grad_()}
    touch = torch.rand(n, 2, generator=g)
    no_point = torch.tensor([c != actions.DUAL_POINT for c in codes])
    touch[no_point] = -1.0
    targets = {"action": torch.tensor(codes), "query_labels": labels, "touch": touch,
               "lift": touch.clone(), "boxes": torch.zeros(n, 1, 4),
               "box_count": torch.zeros(n, dtype=torch.long)}
    return outputs, targets


def test_type_rows_query_loss_is_finite_without_a_type_step():
    outputs, targets = toy_outputs([4, 5, 10, 6])
    args = (outputs["query_logits"], targets["query_labels"], targets["action"])
    assert math.isnan(float(query_every_row(*args).detach()))
    assert float(query_type_rows(*args)) == 0.0
    losses = design_loss(FIXED.replace(query_loss="type_rows"), outputs, targets)
    assert all(math.isfinite(float(v.detach())) for v in losses.values())
    losses["total"].backward()
    assert torch.isfinite(outputs["action_logits"].grad).all()


def test_type_rows_query_loss_equals_the_review_loss_when_there_is_a_type_step():
    outputs, targets = toy_outputs([3, 4, 5, 3])
    args = (outputs["query_logits"], targets["query_labels"], targets["action"])
    assert torch.allclose(query_type_rows(*args), query_every_row(*args))


def test_dual_point_mask_excludes_the_codes_without_a_point():
    codes = [actions.DUAL_POINT, *NON_GESTURE, actions.TYPE]
    outputs, targets = toy_outputs(codes)
    coords = torch.cat([targets["touch"], targets["lift"]], dim=1)
    review = design_loss(FIXED, outputs, targets)["coord"]
    dual = design_loss(FIXED.replace(gesture_codes="dual_point"), outputs, targets)["coord"]
    assert torch.isclose(review, torch.nn.functional.huber_loss(outputs["coordinates"][:6],
                                                                coords[:6]))
    assert torch.isclose(dual, torch.nn.functional.huber_loss(outputs["coordinates"][:1],
                                                              coords[:1]))
    # only the coordinate term moves
    a = design_loss(FIXED, outputs, targets)
    b = design_loss(FIXED.replace(gesture_codes="dual_point"), outputs, targets)
    assert torch.equal(a["action"], b["action"]) and torch.equal(a["query"], b["query"])


def test_squared_distance_is_eight_huber_on_screen_fractions_and_only_the_coordinate_term():
    outputs, targets = toy_outputs([4, 4, 4, 3])
    pred, true = outputs["coordinates"][:3], torch.cat([targets["touch"], targets["lift"]], 1)[:3]
    assert torch.isclose(squared_distance(pred, true),
                         8 * torch.nn.functional.huber_loss(pred, true))
    a = design_loss(FIXED, outputs, targets)
    b = design_loss(FIXED.replace(coord_loss="sq_distance"), outputs, targets)
    assert torch.isclose(b["coord"], 8 * a["coord"])
    assert torch.equal(a["action"], b["action"]) and torch.equal(a["query"], b["query"])


def test_review_values_compute_the_review_loss_exactly():
    outputs, targets = toy_outputs([3, 4, 6, 11])
    a, b = design_loss(FIXED, outputs, targets), standard_loss(outputs, targets)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_audit_rows_follow_the_mask():
    codes = torch.tensor([4, 5, 6, 7, 10, 11, 3])
    assert coordinate_rows(FIXED, codes).tolist() == [True] * 6 + [False]
    assert coordinate_rows(CORRECTED, codes).tolist() == [True] + [False] * 6
    assert coordinate_rows(ORIGINAL.replace(gesture_codes="dual_point"), codes).all()


# --------------------------------------------------------------------------- warmup

def schedulers(warmup: str, lr: float = 1.0) -> EpochSchedulers:
    model = torch.nn.Linear(1, 1, bias=False)
    return EpochSchedulers(torch.optim.AdamW(model.parameters(), lr=lr), warmup)


def test_linear_step_warmup_sequence():
    s = schedulers("linear_steps:18")
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # no optimizer.step() in this test
        for step in range(25):
            lrs.append(s.lr())
            s.end_step(step)
            if step == 8:
                s.end_epoch(1.0, 0, 9)                     # an epoch end does not step it
    assert lrs[:18] == pytest.approx([(k + 1) / 18 for k in range(18)])
    assert lrs[18:] == [1.0] * 7
    warmups = [e for e in s.events if e["scheduler"] == "linear warmup"]
    assert [e["step"] for e in warmups] == list(range(1, 18))
    assert warmups[-1]["lr_after"] == pytest.approx(1.0)


def test_step_warmup_never_undoes_a_plateau_cut_after_it_ends():
    s = schedulers("linear_steps:18")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for step in range(18):
            s.end_step(step)
        assert s.lr() == 1.0
        s.optimizer.param_groups[0]["lr"] = 0.1           # as a plateau cut would
        s.end_step(18)
    assert s.lr() == 0.1


def test_no_step_warmup_records_nothing_per_step():
    for warmup in ("none", "epoch10"):
        s = schedulers(warmup)
        before = s.lr()
        s.end_step(0)
        assert s.lr() == before and s.events == []


def test_step_warmup_in_the_training_loop(data):
    records = StepRecords(None)
    settings = TrainSettings(steps=20, batch_size=8)
    result = train(data, FIXED.replace(warmup="linear_steps:18"), SPEC, settings, 0, CPU,
                   records)
    lrs = [v for _, m, v in records.rows if m == "lr"]
    assert lrs == pytest.approx([settings.lr * min(1.0, (k + 1) / 18) for k in range(20)])
    assert sum(e["scheduler"] == "linear warmup"
               for e in result.facts["scheduler_events"]) == 17


# --------------------------------------------------------------------------- end to end

class LossSpy(Hooks):
    def __init__(self):
        self.query = []

    def after_loss(self, run, step, batch, outputs, losses):
        self.query.append(float(losses["query"].detach()))


def test_corrected_trains_with_finite_losses(data):
    spy = LossSpy()
    result = train(data, CORRECTED, SPEC, TrainSettings(steps=12, batch_size=8), 0, CPU,
                   StepRecords(None), hooks=spy)
    assert result.status == "ok"
    assert all(math.isfinite(q) for q in spy.query)
    assert math.isfinite(result.final["val_loss"])


def test_evaluation_targets_do_not_reach_the_model(data):
    """forward_and_loss without ``training`` hands the model no targets: a corrected model
    evaluates as the fixed design's routing and decoding would."""
    corrected = build_model(data, CORRECTED, SPEC, 0)
    fixed_like = build_model(data, CORRECTED.replace(routing="predicted",
                                                     query_decoding="greedy"), SPEC, 0)
    batch = batch_of(data, range(12))
    a, _ = forward(corrected, batch, training=False)
    b, _ = forward(fixed_like, batch, training=False)
    for key in ("action_logits", "query_logits", "coordinates"):
        assert torch.equal(a[key], b[key]), key
