"""Target-range audit (the review's claim 5): which coordinate targets can the coordinate
head's sigmoid output, whose range is (0, 1), never reach?"""

from __future__ import annotations

import torch

from harness import actions
from harness.data.tensors import EncodedSplit, design_targets
from harness.data.types import Units
from harness.losses import coordinate_rows


def target_range_audit(split: EncodedSplit, units: Units, design) -> dict:
    """Shares of coordinate targets outside [0, 1], in the design's units, over the steps the
    design's coordinate loss sees (as the loss declares them: every step for the penalty loss,
    the gesture-masked codes for the standard loss) and over the DUAL_POINT steps alone."""
    coord_units = design.coord_units
    targets = design_targets({"touch": split.touch, "lift": split.lift, "boxes": split.boxes},
                             units, coord_units)
    values = torch.cat([targets["touch"], targets["lift"]], dim=1)       # [N, 4]
    outside = (values < 0) | (values > 1)
    dual_point = split.action == actions.DUAL_POINT
    # the rows the loss itself declares its coordinate term sees, so the two cannot disagree
    in_scope = coordinate_rows(design, split.action)
    share = lambda rows: float(outside[rows].float().mean()) if bool(rows.any()) else float("nan")
    return {
        "loss_scope_steps": int(in_scope.sum()),
        "loss_scope_non_dual_point_steps": int((in_scope & ~dual_point).sum()),
        "targets_outside_range_in_loss_scope": share(in_scope),
        "dual_point_targets_outside_range": share(dual_point),
        "dual_point_target_min": float(values[dual_point].min()) if bool(dual_point.any()) else None,
        "dual_point_target_max": float(values[dual_point].max()) if bool(dual_point.any()) else None,
        "output_range": [0.0, 1.0],
    }
