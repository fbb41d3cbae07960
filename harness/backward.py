"""The ``backward`` axis: one backward of the weighted total, or one per head loss.

Each takes the loss terms and the design's head weights (:func:`harness.losses.head_weights`)
and returns the names of the loss terms whose backward was skipped (non-finite), so the
instruments can record what happened to a NaN.
"""

from __future__ import annotations

import torch

from harness.axes import AxisRegistry
from harness.losses import HEAD_WEIGHTS
from harness.schema import HEADS

TERMS = HEADS   # back-propagated in this order by the per-head strategy


def single_backward(losses: dict, weights: dict = HEAD_WEIGHTS) -> list[str]:
    """The review's fix: ``total_loss.backward()``. A NaN term is not skipped: it is in the total
    (which the loss weighted already)."""
    losses["total"].backward()
    return []


def per_head_backward(losses: dict, weights: dict = HEAD_WEIGHTS) -> list[str]:
    """The user's loop: one backward per head, each only when its loss is finite.

    ``dummy_zero`` is a leaf that requires grad, as in the user's code, so a term without a
    graph (a constant 0) still back-propagates without error. Every backward but the last
    retains the graph; the last one frees it.
    """
    device = losses["total"].device
    dummy_zero = torch.tensor(0.0, requires_grad=True, device=device)
    skipped = []
    for i, term in enumerate(TERMS):
        if torch.isfinite(losses[term]):
            (dummy_zero + weights[term] * losses[term]).backward(
                retain_graph=i < len(TERMS) - 1)
        else:
            skipped.append(term)
    return skipped


BACKWARDS = AxisRegistry("backward")
BACKWARDS.register("single", single_backward)
BACKWARDS.register("per_head", per_head_backward)
BACKWARDS.check()
