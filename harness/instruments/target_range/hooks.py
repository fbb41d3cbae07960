"""The audit runs before the first step: it reads the data and the design, not the model."""

from __future__ import annotations

from harness.instruments.audit import target_range_audit
from harness.instruments.hooks import InstrumentHooks
from harness.instruments.target_range import AUDIT


class TargetRangeHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        run.facts[AUDIT] = target_range_audit(run.data.train, run.data.units, run.design)
