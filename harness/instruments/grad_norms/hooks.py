from __future__ import annotations

from harness.instruments.grad_norms import group_key
from harness.instruments.gradients import group_norms
from harness.instruments.hooks import InstrumentHooks


class GradNormsHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        self.groups = run.model.module_groups()

    def after_backward(self, run, step, batch, outputs, losses, skipped) -> None:
        run.records.add_many(step, {group_key(g): n for g, n in group_norms(self.groups).items()})
