from __future__ import annotations

from harness.instruments.hooks import InstrumentHooks
from harness.instruments.routing import ROWS


class RoutingHooks(InstrumentHooks):
    def after_loss(self, run, step, batch, outputs, losses) -> None:
        for head, key in ROWS.items():
            rows = outputs.get(f"{head}_rows")
            if rows is not None:     # None: this design runs every head on every row
                run.records.add(step, key, rows.float().mean())
