"""The aggregator axis (issue 24): torchjd's aggregators through the harness's own backward
(:class:`harness.backward.AggregatedBackward`), on toy heads whose encoder gradients are set,
and in the training loop."""

from __future__ import annotations

import html
import math

import pytest
import torch
from torch import nn

pytest.importorskip("torchjd")

import variants                                                           # noqa: E402
from harness.backward import (AGGREGATORS, NO_GRAPH, NOT_FINITE, ZERO,    # noqa: E402
                              AggregatedBackward, design_backward, single_backward,
                              update_measures)
from harness.config import DataSettings                                   # noqa: E402
from harness.design import (AGGREGATOR_LABELS, AXES, CORRECTED, FIXED,    # noqa: E402
                            ORIGINAL, Design)
from harness.encoders import resolve_encoder                              # noqa: E402
from harness.errors import VariantError                                   # noqa: E402
from harness.instruments.aggregation import (UPDATE_COSINE, gramian_key,  # noqa: E402
                                             left_out_key, share_key)
from harness.instruments.suite import Instruments                         # noqa: E402
from harness.prepare import encode_dataset                                # noqa: E402
from harness.records import StepRecords                                   # noqa: E402
from harness.schema import HEADS                                          # noqa: E402
from harness.train import TrainSettings, build_model, train               # noqa: E402
from tests.conftest import TINY_ENCODER, toy_dataset                      # noqa: E402

WEIGHTS = {"action": 1.0, "query": 1.0, "coord": 1.0}
SPEC = resolve_encoder(TINY_ENCODER)
CPU = torch.device("cpu")


class ToyHeads(nn.Module):
    """A shared 2-vector (the "encoder") and one scalar per head; head h's loss is
    g_h . encoder + its own scalar, so its gradient on the encoder is exactly g_h and on its
    own scalar exactly 1."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(2, 1, bias=False)
        self.action_head = nn.Linear(1, 1, bias=False)
        self.query_decoder = nn.Linear(1, 1, bias=False)
        self.coord_head = nn.Linear(1, 1, bias=False)
        with torch.no_grad():
            self.encoder.weight.fill_(0.5)
            for head in (self.action_head, self.query_decoder, self.coord_head):
                head.weight.fill_(1.0)

    def module_groups(self) -> dict:
        return {"encoder": [self.encoder.weight], "action_head": [self.action_head.weight],
                "query_decoder": [self.query_decoder.weight],
                "coord_head": [self.coord_head.weight]}

    def losses(self, gradients: dict) -> dict:
        """``gradients``: head -> its encoder gradient, or None for a head without a graph."""
        own = {"action": self.action_head, "query": self.query_decoder,
               "coord": self.coord_head}
        losses = {}
        for head in HEADS:
            g = gradients.get(head)
            if g is None:
                losses[head] = torch.tensor(0.0)
            else:
                losses[head] = (torch.as_tensor(g, dtype=torch.float32)
                                @ self.encoder.weight[0] + own[head].weight[0, 0])
        losses["total"] = sum(losses[h] for h in HEADS)
        return losses


def aggregate(value: str, gradients: dict) -> tuple[torch.Tensor, AggregatedBackward, list]:
    model = ToyHeads()
    backward = AggregatedBackward(model, value)
    backward.measure = True
    skipped = backward(model.losses(gradients), WEIGHTS)
    return model.encoder.weight.grad[0].clone(), backward, skipped


# --------------------------------------------------------------------------- toy heads

def test_orthogonal_gradients_give_upgrad_the_sums_update():
    update, backward, _ = aggregate("upgrad", {"action": (1.0, 0.0), "query": (0.0, 1.0)})
    assert update == pytest.approx(torch.tensor([1.0, 1.0]), abs=1e-5)
    assert backward.last.kept == ("action", "query")
    assert update_measures(backward.last.gramian, backward.last.kept,
                           backward.last.weights)["cosine"] == pytest.approx(1.0, abs=1e-6)


def test_upgrad_resolves_a_conflict_the_sum_keeps():
    g1, g2 = torch.tensor([1.0, 0.0]), torch.tensor([-2.0, 1.0])
    plain = g1 + g2
    assert float(plain @ g1) < 0            # the sum conflicts with the action head
    update, backward, _ = aggregate("upgrad", {"action": tuple(g1), "query": tuple(g2)})
    assert float(update @ g1) >= -1e-6 and float(update @ g2) >= -1e-6
    assert float(update.norm()) > 0
    measures = update_measures(backward.last.gramian, backward.last.kept,
                               backward.last.weights)
    assert measures["cosine"] < 1.0
    assert measures["action"] + measures["query"] == pytest.approx(1.0, abs=1e-6)


def test_each_heads_own_parameters_get_its_own_gradient():
    model = ToyHeads()
    AggregatedBackward(model, "mgda")(
        model.losses({"action": (1.0, 0.0), "query": (-2.0, 1.0)}),
        {"action": 1.0, "query": 0.5, "coord": 2.0})
    assert float(model.action_head.weight.grad) == pytest.approx(1.0)
    assert float(model.query_decoder.weight.grad) == pytest.approx(0.5)
    assert model.coord_head.weight.grad is None     # no graph: untouched, as a backward would


def test_a_head_without_a_graph_or_with_a_zero_gradient_is_left_out():
    # MGDA's minimum-norm point with a zero row in the Jacobian is 0: the encoder would stall
    update, backward, skipped = aggregate("mgda", {"action": (1.0, 0.0), "query": (0.0, 0.0)})
    assert backward.last.left_out == {"query": ZERO, "coord": NO_GRAPH}
    assert backward.last.kept == ("action",)
    assert update == pytest.approx(torch.tensor([1.0, 0.0]), abs=1e-6)
    assert skipped == []


def test_a_non_finite_gradient_is_left_out_and_recorded_as_skipped():
    update, backward, skipped = aggregate("upgrad", {"action": (1.0, 0.0),
                                                     "query": (math.nan, 1.0)})
    assert backward.last.left_out["query"] == NOT_FINITE
    assert skipped == ["query"]
    assert torch.isfinite(update).all()
    assert update == pytest.approx(torch.tensor([1.0, 0.0]), abs=1e-5)


def test_no_head_with_a_gradient_gives_a_zero_update_not_none():
    update, backward, _ = aggregate("upgrad", {"action": (0.0, 0.0)})
    assert backward.last.kept == ()
    assert torch.equal(update, torch.zeros(2))


def test_every_aggregator_is_registered_and_sum_is_the_backward_axis():
    assert AXES["aggregator"].choices == ("sum", *AGGREGATOR_LABELS)
    assert set(AGGREGATORS.values()) == set(AXES["aggregator"].choices)
    model = build_model(encoded(), FIXED, SPEC, 0)
    assert design_backward(FIXED, model) is single_backward
    assert isinstance(design_backward(FIXED.replace(aggregator="pcgrad"), model),
                      AggregatedBackward)


# --------------------------------------------------------------------------- designs

def test_per_head_backward_with_an_aggregator_is_refused():
    with pytest.raises(VariantError, match="needs backward='single'"):
        ORIGINAL.replace(aggregator="upgrad")
    with pytest.raises(VariantError, match="per-head backward passes"):
        Design(backward="per_head", aggregator="mgda")
    assert ORIGINAL.replace(backward="single", aggregator="mgda").aggregator == "mgda"


def test_the_sum_designs_records_do_not_name_the_axis():
    for design in (ORIGINAL, FIXED, CORRECTED):
        assert design.aggregator == "sum"
        assert "aggregator" not in design.to_dict()
    assert FIXED.replace(aggregator="upgrad").to_dict()["aggregator"] == "upgrad"


def test_the_aggregator_variants_are_a_group_outside_all():
    names = [v.name for v in variants.select_variants("aggregators")]
    assert names == [f"{base}+{value}" for base in ("fixed", "corrected")
                     for value in AGGREGATOR_LABELS]
    assert not set(names) & {v.name for v in variants.select_variants("all")}
    assert variants.get_variant("corrected+nashmtl").design == CORRECTED.replace(
        aggregator="nashmtl")
    chosen = [v.name for v in variants.select_variants("fixed,aggregators,fixed+mgda")]
    assert chosen[0] == "fixed" and len(chosen) == 17
    with pytest.raises(VariantError, match="shadow"):
        variants.registry.register_group("fixed", ["fixed"])


# --------------------------------------------------------------------------- training

_ENCODED = {}


def encoded():
    if "data" not in _ENCODED:
        _ENCODED["data"] = encode_dataset(toy_dataset(), DataSettings(vocab_size=200,
                                                                      max_length=32), SPEC)
    return _ENCODED["data"]


def run(design, steps: int = 6, hooks=None) -> tuple:
    records = StepRecords(None)
    result = train(encoded(), design, SPEC, TrainSettings(steps=steps, batch_size=8), 0, CPU,
                   records, hooks=hooks)
    return result, records.rows


@pytest.mark.parametrize("value", list(AGGREGATOR_LABELS))
def test_a_tiny_run_per_aggregator_finishes_with_finite_losses(value):
    # corrected: its warmup moves the weights from step 0 (fixed's epoch10 holds lr at 0)
    result, rows = run(CORRECTED.replace(aggregator=value))
    assert result.status == "ok"
    totals = [v for _, m, v in rows if m == "loss/total"]
    assert len(totals) == 6 and all(math.isfinite(v) for v in totals)
    assert math.isfinite(result.final["val_loss"])


def test_an_aggregated_run_is_deterministic_and_differs_from_the_sum():
    a = [v for _, m, v in run(CORRECTED.replace(aggregator="upgrad"))[1] if m == "loss/total"]
    b = [v for _, m, v in run(CORRECTED.replace(aggregator="upgrad"))[1] if m == "loss/total"]
    plain = [v for _, m, v in run(CORRECTED)[1] if m == "loss/total"]
    assert a == b
    assert a[0] == plain[0]         # the same weights and batch at step 0
    assert a[1:] != plain[1:]


def test_the_instrument_measures_aggregated_runs_only():
    _, rows = run(CORRECTED.replace(aggregator="dualproj"), steps=3, hooks=Instruments())
    keys = {m for _, m, _ in rows}
    assert {UPDATE_COSINE, gramian_key("action-query"), share_key("action"),
            left_out_key("coord")} <= keys
    steps_left_out = [s for s, m, _ in rows if m == left_out_key("query")]
    assert steps_left_out == [0, 1, 2]
    cosine = [v for _, m, v in rows if m == UPDATE_COSINE]
    assert len(cosine) == 1 and -1.0 <= cosine[0] <= 1.0 + 1e-9
    _, plain_rows = run(CORRECTED, steps=3, hooks=Instruments())
    assert not {m for _, m, _ in plain_rows
                if m.startswith(("aggregation/", "probe/gramian", "probe/update"))}


# --------------------------------------------------------------------------- the report

def made_up_records(conflicts: float, gain_items: int):
    """fixed and fixed+upgrad over 3 seeds: upgrad right on ``gain_items`` more held-out items
    (varying a little by seed), and the fixed design's action-query conflict flag set on that
    share of its probe steps."""
    from tests.test_findings import make_records, ones
    names = {"fixed": FIXED.to_dict(), "fixed+upgrad": FIXED.replace(aggregator="upgrad").to_dict(),
             "fixed+mgda": FIXED.replace(aggregator="mgda").to_dict(),
             "original+single_backward": ORIGINAL.replace(backward="single").to_dict()}
    scores, steps = {}, []
    for seed in (0, 1, 2):
        scores[("fixed", seed)] = ones(15 + seed)
        scores[("fixed+upgrad", seed)] = ones(15 + seed + gain_items)
        scores[("fixed+mgda", seed)] = ones(15 + seed + (seed % 2))
        scores[("original+single_backward", seed)] = ones(10)
        for step in range(10):
            for pair in ("action-query", "action-coord", "query-coord"):
                flag = float(step < conflicts * 10) if pair == "action-query" else 0.0
                steps.append(("fixed", seed, step * 25, f"probe/conflict/{pair}", flag))
    return make_records(names, scores=scores, steps=steps)


def test_each_aggregator_is_compared_with_its_sum_base_on_every_metric():
    from harness.report.aggregators import aggregator_comparisons, aggregators_table
    from harness.report.analysis import METRICS
    records = made_up_records(conflicts=0.4, gain_items=8)
    comparisons = aggregator_comparisons(records)
    assert [(c.fix, c.base, c.with_fix, c.without_fix, c.family) for c in comparisons] == [
        ("upgrad", "fixed", "fixed+upgrad", "fixed", "aggregators"),
        ("mgda", "fixed", "fixed+mgda", "fixed", "aggregators")]
    table = aggregators_table(records).set_index("aggregator")
    for metric in METRICS:
        assert table.loc["upgrad", f"d_{metric}"] == pytest.approx(8 / 40)
    assert table.loc["upgrad", "v_step_acc"] == table.loc["upgrad", "verdict"] == "helps"
    assert table.loc["mgda", "verdict"] != "helps"
    # a family of their own: two comparisons, adjusted together, not with the fixes' effects
    assert table.loc["upgrad", "family_size"] == 2
    assert table.loc["upgrad", "pairs"] == 3
    assert table.loc["upgrad", "step_time_ratio"] == pytest.approx(1.0)
    assert table.loc["upgrad", "base conflict action-query"] == pytest.approx(0.4)
    assert table.loc["upgrad", "base conflict query-coord"] == 0.0


def test_the_finding_relates_the_conflict_to_the_gains():
    from harness.report.aggregators import aggregators_section
    frequent = aggregators_section(made_up_records(conflicts=0.4, gain_items=8))["findings"]
    assert len(frequent) == 1
    assert "action-query 40%" in frequent[0] and "upgrad helped" in frequent[0]
    assert "+0.200 [" in frequent[0]
    rare = aggregators_section(made_up_records(conflicts=0.1, gain_items=0))["findings"][0]
    assert "action-query 10%" in rare and "conflicts were rare" in rare and "none helped" in rare
    often = aggregators_section(made_up_records(conflicts=0.6, gain_items=0))["findings"][0]
    assert "frequent, yet no aggregator" in often


def test_without_aggregator_variants_the_section_is_empty():
    from harness.report.aggregators import aggregators_section
    from tests.test_findings import make_records, ones
    records = make_records({"fixed": FIXED.to_dict()},
                           scores={("fixed", s): ones(10) for s in (0, 1, 2)})
    section = aggregators_section(records)
    assert section["table"].empty and section["findings"] == []
    assert section["by_metric"].empty and section["applied"].empty


def test_the_placebo_is_no_base_and_the_fixes_effects_leave_the_aggregators_out():
    from harness.report.aggregators import aggregator_comparisons
    from harness.report.analysis import effects_table
    records = made_up_records(conflicts=0.4, gain_items=8)
    records.variants.insert(0, {"name": "placebo", "design": FIXED.to_dict(), "noise_salt": 1})
    assert {c.base for c in aggregator_comparisons(records)} == {"fixed"}
    assert not set(effects_table(records).with_fix) & {"fixed+upgrad", "fixed+mgda"}


def test_the_report_shows_the_section_from_a_real_grid(tmp_path):
    from harness.config import DataSettings, Settings
    from harness.report import build_report
    from harness.runner import run_grid
    settings = Settings(data=DataSettings(vocab_size=200, max_length=32),
                        train=TrainSettings(steps=6, batch_size=8), encoder=TINY_ENCODER,
                        seeds=(0, 1), device="cpu")
    chosen = [variants.get_variant("corrected"), variants.get_variant("corrected+upgrad")]
    run_grid(settings, chosen, tmp_path, show_progress=False, data=encoded())
    page = html.unescape(build_report(tmp_path).read_text(encoding="utf-8"))
    assert "Would a conflict-aware update help?" in page
    assert 'id="aggregators-table"' in page and 'id="aggregation-table"' in page
    assert "In corrected the heads' gradients on the shared encoder" in page
    assert (tmp_path / "tables" / "aggregators.csv").is_file()


def test_one_head_in_the_jacobian_gives_every_aggregator_an_update():
    # Nash-MTL cannot take a one-row Jacobian in torchjd 0.18 (cvxpy): that head's gradient
    for value in AGGREGATOR_LABELS:
        update, backward, _ = aggregate(value, {"action": (3.0, 4.0)})
        assert backward.last.kept == ("action",)
        assert torch.isfinite(update).all() and float(update @ torch.tensor([3.0, 4.0])) > 0
    update, backward, _ = aggregate("nashmtl", {"action": (3.0, 4.0)})
    assert update == pytest.approx(torch.tensor([3.0, 4.0]))
    assert backward.last.weights.tolist() == [1.0]
