"""The ``loss`` axis: the original penalty loss and the review's standard loss.

Both return ``{"action", "query", "coord", "total"}`` as 0-d tensors; ``total`` is the weighted
sum with the head weights both designs use. Flaws of either design are reproduced, not
repaired: the standard query loss is NaN on a batch without TYPE steps (every target is the
ignored padding id 0), and its coordinate mask includes codes 5, 6, 7, 10 and 11, whose
targets are the (-1, -1) of "no point".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from harness.axes import AxisRegistry
from harness.model.agent import GESTURE_CODES

HEAD_WEIGHTS = {"action": 1.0, "query": 0.5, "coord": 2.0}

#: Penalty loss constants (DESIGN.md section 3).
TAP_DISTANCE = 0.04          # touch-lift distance at or under which a gesture is a tap
TAP_TOLERANCE = 0.10         # predicted tap centre this close to the true one costs nothing
MISMATCH_FACTOR = 10.0       # tap predicted for a swipe or the reverse


def weighted_total(action, query, coord) -> torch.Tensor:
    return (HEAD_WEIGHTS["action"] * action + HEAD_WEIGHTS["query"] * query
            + HEAD_WEIGHTS["coord"] * coord)


def _action_and_query(outputs: dict, targets: dict) -> tuple[torch.Tensor, torch.Tensor]:
    action = F.cross_entropy(outputs["action_logits"], targets["action"])
    logits = outputs["query_logits"]
    query = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                            targets["query_labels"].reshape(-1), ignore_index=0)
    return action, query


def _coordinate_targets(targets: dict) -> torch.Tensor:
    return torch.cat([targets["touch"], targets["lift"]], dim=-1)   # [B, 4]


# --------------------------------------------------------------------------- standard (fixed)

def standard_loss(outputs: dict, targets: dict) -> dict:
    """The review's ``ADCLoss``: CE, CE(ignore_index=0), Huber on the gesture-masked rows."""
    action, query = _action_and_query(outputs, targets)
    gesture = torch.isin(targets["action"],
                         torch.tensor(GESTURE_CODES, device=targets["action"].device))
    if gesture.any():
        coord = F.huber_loss(outputs["coordinates"][gesture], _coordinate_targets(targets)[gesture])
    else:
        coord = torch.tensor(0.0, device=targets["action"].device)
    return {"action": action, "query": query, "coord": coord,
            "total": weighted_total(action, query, coord)}


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


def penalty_loss(outputs: dict, targets: dict) -> dict:
    """The original loss: both cross-entropies set to 0 when NaN, plus the coordinate penalty."""
    action, query = _action_and_query(outputs, targets)
    action, query = _zero_if_nan(action), _zero_if_nan(query)
    coord = coordinate_penalty(outputs, targets)
    return {"action": action, "query": query, "coord": coord,
            "total": weighted_total(action, query, coord)}


# --------------------------------------------------------------------------- the axis

@dataclass(frozen=True)
class DesignLoss:
    """One value of the ``loss`` axis: the loss function and the rows whose coordinate targets
    its coordinate term sees (what the target-range audit counts), defined together so that
    the audit cannot disagree with the loss."""

    compute: Callable[[dict, dict], dict]
    coord_rows: Callable[[torch.Tensor], torch.Tensor]   # action codes [N] -> bool [N]

    def __call__(self, outputs: dict, targets: dict) -> dict:
        return self.compute(outputs, targets)


def every_row(action: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(action, dtype=torch.bool)


def gesture_rows(action: torch.Tensor) -> torch.Tensor:
    return torch.isin(action, torch.tensor(GESTURE_CODES, device=action.device))


LOSSES = AxisRegistry("loss")
LOSSES.register("penalty", DesignLoss(penalty_loss, coord_rows=every_row))
LOSSES.register("standard", DesignLoss(standard_loss, coord_rows=gesture_rows))
LOSSES.check()
