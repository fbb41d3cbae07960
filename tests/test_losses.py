import math

import pytest
import torch
import torch.nn.functional as F

from harness.backward import per_head_backward, single_backward
from harness.losses import (HEAD_WEIGHTS, coordinate_penalty, penalty_loss, penalty_term,
                            standard_loss)

NO_BOXES = torch.zeros(0, 4)


def t(*values):
    return torch.tensor(values, dtype=torch.float32)


def test_tap_predicted_for_a_swipe_costs_ten_times_mse():
    pred, true = t(0.5, 0.5, 0.5, 0.5), t(0.5, 0.8, 0.5, 0.2)
    assert torch.isclose(penalty_term(pred, true, NO_BOXES), 10 * F.mse_loss(pred, true))


def test_tap_in_the_true_box_is_free_even_when_far_from_the_centre():
    box = t(0.1, 0.1, 0.8, 0.2).unsqueeze(0)          # x, y, w, h
    true = t(0.15, 0.15, 0.15, 0.15)
    pred = t(0.8, 0.25, 0.8, 0.25)                      # 0.66 away, inside the box
    assert penalty_term(pred, true, box).item() == 0.0
    assert penalty_term(pred, true, NO_BOXES).item() > 0.0


def test_tap_within_tolerance_is_free_outside_costs_mse():
    true = t(0.5, 0.5, 0.5, 0.5)
    near = t(0.55, 0.55, 0.55, 0.55)                    # 0.071 away
    far = t(0.65, 0.5, 0.65, 0.5)                       # 0.15 away
    assert penalty_term(near, true, NO_BOXES).item() == 0.0
    assert torch.isclose(penalty_term(far, true, NO_BOXES), F.mse_loss(far, true))


def test_only_the_first_box_holding_the_true_centre_counts():
    boxes = torch.stack([t(0.4, 0.4, 0.2, 0.2), t(0.0, 0.0, 1.0, 1.0)])
    true = t(0.5, 0.5, 0.5, 0.5)
    pred = t(0.9, 0.9, 0.9, 0.9)                        # inside the second box only
    assert penalty_term(pred, true, boxes).item() > 0.0


def test_swipes_compare_direction_quadrants():
    true = t(0.5, 0.8, 0.5, 0.2)                        # dy < 0: angle -90 deg
    same = t(0.3, 0.9, 0.35, 0.1)
    other = t(0.5, 0.2, 0.5, 0.8)
    assert penalty_term(same, true, NO_BOXES).item() == 0.0
    assert torch.isclose(penalty_term(other, true, NO_BOXES), F.mse_loss(other, true))


def test_nan_terms_become_zero_and_non_gesture_targets_are_penalised():
    pred = torch.tensor([[math.nan] * 4, [0.3, 0.3, 0.3, 0.3]], requires_grad=True)
    targets = {"touch": t(0.5, 0.5, -1.0, -1.0).reshape(2, 2),
               "lift": t(0.5, 0.5, -1.0, -1.0).reshape(2, 2),
               "boxes": torch.zeros(2, 1, 4), "box_count": torch.tensor([0, 0])}
    loss = coordinate_penalty({"coordinates": pred}, targets)
    expected = F.mse_loss(pred[1].detach(), t(-1, -1, -1, -1)) / 2
    assert torch.isclose(loss, expected)


def test_penalty_gives_exactly_zero_gradient_when_every_prediction_is_accepted():
    pred = torch.tensor([[0.5, 0.5, 0.5, 0.5]], requires_grad=True)
    targets = {"touch": t(0.52, 0.5).reshape(1, 2), "lift": t(0.52, 0.5).reshape(1, 2),
               "boxes": torch.zeros(1, 1, 4), "box_count": torch.tensor([0])}
    loss = coordinate_penalty({"coordinates": pred}, targets)
    assert loss.item() == 0.0 and not loss.requires_grad


def _batch(actions, vocab=7, seed=0):
    g = torch.Generator().manual_seed(seed)
    n = len(actions)
    query = torch.zeros(n, 4, dtype=torch.long)
    for i, a in enumerate(actions):
        if a == 3:
            query[i, :2] = torch.tensor([2, 5])
    return ({"action_logits": torch.randn(n, 12, generator=g, requires_grad=True),
             "query_logits": torch.randn(n, 4, vocab, generator=g, requires_grad=True),
             "coordinates": torch.rand(n, 4, generator=g).requires_grad_()},
            {"action": torch.tensor(actions), "query_labels": query,
             "touch": torch.rand(n, 2, generator=g), "lift": torch.rand(n, 2, generator=g),
             "boxes": torch.zeros(n, 1, 4), "box_count": torch.zeros(n, dtype=torch.long)})


def test_standard_query_loss_is_nan_without_type_steps_and_penalty_guards_it():
    outputs, targets = _batch([4, 5, 10])
    assert math.isnan(standard_loss(outputs, targets)["query"].item())
    assert math.isnan(standard_loss(outputs, targets)["total"].item())
    assert penalty_loss(outputs, targets)["query"].item() == 0.0


def test_standard_coordinate_loss_uses_the_review_mask():
    outputs, targets = _batch([3, 4, 6, 11])
    mask = torch.tensor([False, True, True, True])
    coords = torch.cat([targets["touch"], targets["lift"]], 1)
    expected = F.huber_loss(outputs["coordinates"][mask], coords[mask])
    assert torch.isclose(standard_loss(outputs, targets)["coord"], expected)
    outputs, targets = _batch([3, 3])
    assert standard_loss(outputs, targets)["coord"].item() == 0.0


def test_totals_use_the_head_weights():
    outputs, targets = _batch([3, 4, 7])
    for loss in (standard_loss(outputs, targets), penalty_loss(outputs, targets)):
        expected = sum(HEAD_WEIGHTS[k] * loss[k] for k in ("action", "query", "coord"))
        assert torch.isclose(loss["total"], expected)


@pytest.mark.parametrize("actions", [[3, 4, 7], [4, 5, 10]])
def test_one_backward_equals_per_head_backward(actions):
    """The review's claim 3 on a toy graph: both strategies give the same gradient, also when
    the query loss is NaN (its gradient through the ignored targets is zero)."""
    grads = []
    for strategy in (single_backward, per_head_backward):
        outputs, targets = _batch(actions)
        skipped = strategy(standard_loss(outputs, targets))
        # A skipped backward leaves .grad unset, which the optimizer treats as zero.
        grads.append([torch.zeros_like(outputs[k]) if outputs[k].grad is None
                      else outputs[k].grad.clone()
                      for k in ("action_logits", "query_logits", "coordinates")])
        if strategy is per_head_backward:
            assert skipped == ([] if 3 in actions else ["query"])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, atol=1e-7)
        assert torch.isfinite(a).all()
