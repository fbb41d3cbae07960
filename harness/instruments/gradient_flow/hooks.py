from __future__ import annotations

from harness import actions
from harness.instruments.gradient_flow import ZERO_SHARE_ALL, ZERO_SHARE_DUAL_POINT
from harness.instruments.gradients import zero_coordinate_gradient_rows
from harness.instruments.hooks import InstrumentHooks


class GradientFlowHooks(InstrumentHooks):
    def probe(self, run, step, batch, outputs, losses) -> None:
        zero = zero_coordinate_gradient_rows(losses, outputs)
        dual_point = batch["action"] == actions.DUAL_POINT
        run.records.add(step, ZERO_SHARE_ALL, zero.float().mean())
        if bool(dual_point.any()):
            run.records.add(step, ZERO_SHARE_DUAL_POINT, zero[dual_point].float().mean())
