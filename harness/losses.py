"""The ``loss`` axis: the original penalty loss and the review's standard loss; and the parts
of a loss that the corrections change, each an axis of its own: ``query_loss`` (over every
step or over the TYPE steps) and the gesture set of the coordinate mask (``gesture_codes``,
whose values live in :mod:`harness.model.agent` because routing reads the same set).

Both losses return ``{"action", "query", "coord", "total"}`` as 0-d tensors; ``total`` is the
weighted sum with the head weights both designs use. Flaws of either design are reproduced,
not repaired, at the designs' own values: the standard query loss is NaN on a batch without
TYPE steps (every target is the ignored padding id 0), and its coordinate mask includes codes
5, 6, 7, 10 and 11, whose targets are the (-1, -1) of "no point". The corrected values are
separate, so that each can be ablated alone; the coordinate term of the standard loss is one
more (``coord_loss``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from harness import actions
from harness.axes import AxisRegistry
from harness.model.agent import GESTURE_CODES, GESTURE_SETS

#: The weights of the head losses in the total, as the user's code and the review have them.
HEAD_WEIGHTS = {"action": 1.0, "query": 0.5, "coord": 2.0}

#: The ``head_weights`` axis: the weight of each head's loss in the total, in the single
#: backward and in each per-head backward alike.
HEAD_WEIGHT_SETS = AxisRegistry("head_weights")
HEAD_WEIGHT_SETS.register("review", HEAD_WEIGHTS)
HEAD_WEIGHT_SETS.register("query_0.1", {**HEAD_WEIGHTS, "query": 0.1})
HEAD_WEIGHT_SETS.check()


def head_weights(design) -> dict[str, float]:
    return HEAD_WEIGHT_SETS[design.head_weights]

#: Penalty loss constants (DESIGN.md section 3).
TAP_DISTANCE = 0.04          # touch-lift distance at or under which a gesture is a tap
TAP_TOLERANCE = 0.10         # predicted tap centre this close to the true one costs nothing
MISMATCH_FACTOR = 10.0       # tap predicted for a swipe or the reverse


def weighted_total(action, query, coord, weights: dict = HEAD_WEIGHTS) -> torch.Tensor:
    return weights["action"] * action + weights["query"] * query + weights["coord"] * coord


# --------------------------------------------------------------------------- query_loss

def query_every_row(logits: torch.Tensor, labels: torch.Tensor,
                    action: torch.Tensor) -> torch.Tensor:
    """Both designs' query loss: a mean over every non-padding target token of the batch,
    0 / 0 = NaN when the batch has no TYPE step."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=0)


def query_type_rows(logits: torch.Tensor, labels: torch.Tensor,
                    action: torch.Tensor) -> torch.Tensor:
    """The same mean over the TYPE steps' tokens; a batch without one has nothing to predict
    and adds 0 (no graph), instead of a NaN that poisons the logged and validation losses."""
    rows = action == actions.TYPE
    labels = labels[rows]
    if not bool((labels != 0).any()):
        return logits.new_zeros(())
    logits = logits[rows]
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=0)


QUERY_LOSSES = AxisRegistry("query_loss")
QUERY_LOSSES.register("all_rows", query_every_row)
QUERY_LOSSES.register("type_rows", query_type_rows)
QUERY_LOSSES.check()


# --------------------------------------------------------------------------- coord_loss

def squared_distance(pred: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Squared distance of the touch point plus that of the lift point, mean over steps: 4x
    the element mean of MSE, 8x Huber(delta 1) wherever every error is under 1 (always, on
    screen fractions)."""
    return (pred - true).pow(2).sum(dim=-1).mean()


#: The ``coord_loss`` axis: the standard loss's coordinate term, (pred [N, 4], true [N, 4])
#: -> 0-d. The penalty loss has its own.
COORD_LOSSES = AxisRegistry("coord_loss")
COORD_LOSSES.register("huber", F.huber_loss)
COORD_LOSSES.register("sq_distance", squared_distance)
COORD_LOSSES.check()


@dataclass(frozen=True)
class LossParts:
    """What the correction axes choose inside a loss; the defaults are both designs' own."""

    query: Callable = query_every_row        # (logits, labels, action codes) -> 0-d
    gesture_codes: tuple = GESTURE_CODES     # the standard loss's coordinate mask
    coord: Callable = F.huber_loss           # the standard loss's coordinate term
    weights: dict = field(default_factory=lambda: HEAD_WEIGHTS)   # of the terms in the total


REVIEW_PARTS = LossParts()


def _action_and_query(outputs: dict, targets: dict,
                      parts: LossParts = REVIEW_PARTS) -> tuple[torch.Tensor, torch.Tensor]:
    action = F.cross_entropy(outputs["action_logits"], targets["action"])
    query = parts.query(outputs["query_logits"], targets["query_labels"], targets["action"])
    return action, query


def _coordinate_targets(targets: dict) -> torch.Tensor:
    return torch.cat([targets["touch"], targets["lift"]], dim=-1)   # [B, 4]


# --------------------------------------------------------------------------- standard (fixed)

def standard_loss(outputs: dict, targets: dict, parts: LossParts = REVIEW_PARTS) -> dict:
    """The review's ``ADCLoss``: CE, CE(ignore_index=0), Huber on the gesture-masked rows;
    other ``parts`` give the corrected design's query loss, mask and coordinate term."""
    action, query = _action_and_query(outputs, targets, parts)
    gesture = torch.isin(targets["action"],
                         torch.tensor(parts.gesture_codes, device=targets["action"].device))
    if gesture.any():
        coord = parts.coord(outputs["coordinates"][gesture], _coordinate_targets(targets)[gesture])
    else:
        coord = torch.tensor(0.0, device=targets["action"].device)
    return {"action": action, "query": query, "coord": coord,
            "total": weighted_total(action, query, coord, parts.weights)}


# --------------------------------------------------------------------------- penalty (original)

def _zero_if_nan(value: torch.Tensor) -> torch.Tensor:
    return value.new_zeros(()) if bool(torch.isnan(value)) else value


def _quadrant(touch: torch.Tensor, lift: torch.Tensor) -> int:
    """Which quarter of the circle the direction (lift - touch) points into, 0..3."""
    dx, dy = (lift - touch).tolist()
    return int((math.atan2(dy, dx) % (2 * math.pi)) // (math.pi / 2)) % 4


def _contains(boxes: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Which [x, y, w, h] boxes contain the point (edges included); boxes is [M, 4]."""
    x, y = point[0], point[1]
    return ((boxes[:, 0] <= x) & (x <= boxes[:, 0] + boxes[:, 2])
            & (boxes[:, 1] <= y) & (y <= boxes[:, 1] + boxes[:, 3]))


def penalty_term(pred: torch.Tensor, true: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """One step's coordinate penalty; ``pred`` and ``true`` are (tx, ty, lx, ly)."""
    zero = pred.new_zeros(())
    pred_tap = bool(torch.dist(pred[:2], pred[2:]) <= TAP_DISTANCE)
    true_tap = bool(torch.dist(true[:2], true[2:]) <= TAP_DISTANCE)
    if pred_tap != true_tap:
        return MISMATCH_FACTOR * F.mse_loss(pred, true)
    if true_tap:
        true_centre = (true[:2] + true[2:]) / 2
        pred_centre = (pred[:2] + pred[2:]) / 2
        containing = _contains(boxes, true_centre).nonzero()
        if containing.numel():
            box = boxes[int(containing[0, 0])].unsqueeze(0)   # the first box holding the centre
            if bool(_contains(box, pred_centre)[0]):
                return zero
        if bool(torch.dist(pred_centre, true_centre) <= TAP_TOLERANCE):
            return zero
        return F.mse_loss(pred, true)
    if _quadrant(pred[:2], pred[2:]) == _quadrant(true[:2], true[2:]):
        return zero
    return F.mse_loss(pred, true)


def coordinate_penalty(outputs: dict, targets: dict) -> torch.Tensor:
    """The original coordinate loss: a Python loop over the batch, every step included (also
    non-gesture steps, whose targets are (-1, -1)); a NaN term becomes 0; mean over steps."""
    pred = outputs["coordinates"]
    true = _coordinate_targets(targets)
    terms = []
    for i in range(pred.shape[0]):
        boxes = targets["boxes"][i, :int(targets["box_count"][i])]
        terms.append(_zero_if_nan(penalty_term(pred[i], true[i], boxes)))
    return torch.stack(terms).mean()


def penalty_loss(outputs: dict, targets: dict, parts: LossParts = REVIEW_PARTS) -> dict:
    """The original loss: both cross-entropies set to 0 when NaN, plus the coordinate penalty
    over every step (the gesture set does not apply to it)."""
    action, query = _action_and_query(outputs, targets, parts)
    action, query = _zero_if_nan(action), _zero_if_nan(query)
    coord = coordinate_penalty(outputs, targets)
    return {"action": action, "query": query, "coord": coord,
            "total": weighted_total(action, query, coord, parts.weights)}


# --------------------------------------------------------------------------- the axis

@dataclass(frozen=True)
class DesignLoss:
    """One value of the ``loss`` axis: the loss function and the rows whose coordinate targets
    its coordinate term sees (what the target-range audit counts), defined together so that
    the audit cannot disagree with the loss."""

    compute: Callable[..., dict]                          # (outputs, targets, parts) -> terms
    coord_rows: Callable[..., torch.Tensor]   # (action codes [N], gesture codes) -> bool [N]

    def __call__(self, outputs: dict, targets: dict, parts: LossParts = REVIEW_PARTS) -> dict:
        return self.compute(outputs, targets, parts)


def every_row(action: torch.Tensor, codes: tuple = GESTURE_CODES) -> torch.Tensor:
    return torch.ones_like(action, dtype=torch.bool)


def gesture_rows(action: torch.Tensor, codes: tuple = GESTURE_CODES) -> torch.Tensor:
    return torch.isin(action, torch.tensor(codes, device=action.device))


LOSSES = AxisRegistry("loss")
LOSSES.register("penalty", DesignLoss(penalty_loss, coord_rows=every_row))
LOSSES.register("standard", DesignLoss(standard_loss, coord_rows=gesture_rows))
LOSSES.check()


def loss_parts(design) -> LossParts:
    return LossParts(query=QUERY_LOSSES[design.query_loss],
                     gesture_codes=GESTURE_SETS[design.gesture_codes],
                     coord=COORD_LOSSES[design.coord_loss],
                     weights=head_weights(design))


def design_loss(design, outputs: dict, targets: dict) -> dict:
    """The design's loss terms: its ``loss`` value with the parts its other axes choose."""
    return LOSSES[design.loss](outputs, targets, loss_parts(design))


def coordinate_rows(design, action: torch.Tensor) -> torch.Tensor:
    """Which steps' coordinate targets the design's coordinate loss sees (action codes [N] ->
    bool [N]): what a target-range audit of the design should count."""
    return LOSSES[design.loss].coord_rows(action, GESTURE_SETS[design.gesture_codes])
