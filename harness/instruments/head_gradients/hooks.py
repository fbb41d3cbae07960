from __future__ import annotations

from harness.instruments.gradients import backward_agreement, head_conflict, head_gradients
from harness.instruments.head_gradients import AGREEMENT
from harness.instruments.hooks import InstrumentHooks
from harness.losses import head_weights
from harness.schema import SHARED_GROUPS


class HeadGradientsHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        groups = run.model.module_groups()
        self.shared = [p for g in SHARED_GROUPS for p in groups.get(g, [])]
        shared_ids = {id(p) for p in self.shared}
        # the shared trunk first, so that the conflict reads the first len(shared) gradients
        # whichever of the two lists the probe took them over
        self.all_params = self.shared + [p for p in run.model.parameters()
                                         if id(p) not in shared_ids]

    def probe(self, run, step, batch, outputs, losses) -> None:
        agreement = step == 0 and self.settings.agreement
        params = self.all_params if agreement else self.shared
        head_grads = head_gradients(losses, params, head_weights(run.design))
        run.records.add_many(step, head_conflict(head_grads, len(self.shared)))
        if agreement:
            run.facts[AGREEMENT] = {"step": step, **backward_agreement(
                losses, params, head_grads)}
