"""Read from the flushed records, so that finding a NaN never synchronises the step."""

from __future__ import annotations

import math

from harness.backward import TERMS
from harness.instruments.hooks import InstrumentHooks
from harness.instruments.nonfinite import COUNTS, EVENTS
from harness.schema import GRAD_NORM, loss_key

MAX_EVENTS = 200


class NonfiniteHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        self.events: list[dict] = []
        self.event_counts: dict[str, int] = {}
        self.skipped_at: dict[int, list[str]] = {}

    def after_backward(self, run, step, batch, outputs, losses, skipped) -> None:
        if skipped:
            self.skipped_at[step] = list(skipped)

    def after_flush(self, run, rows) -> None:
        wanted = {*map(loss_key, TERMS), GRAD_NORM}
        by_step: dict[int, dict[str, float]] = {}
        for step, metric, value in rows:
            if metric in wanted:
                by_step.setdefault(step, {})[metric] = value
        for step in sorted(by_step):
            values = by_step[step]
            for term in TERMS:
                value = values.get(loss_key(term))
                if value is None or math.isfinite(value):
                    continue
                if term in self.skipped_at.get(step, []):
                    consequence = "skipped"
                elif math.isfinite(values.get(GRAD_NORM, math.nan)):
                    consequence = "survived"
                else:
                    consequence = "propagated"
                key = f"{term}:{consequence}"
                self.event_counts[key] = self.event_counts.get(key, 0) + 1
                if len(self.events) < MAX_EVENTS:
                    self.events.append({"step": step, "term": term, "value": value,
                                        "consequence": consequence})
            self.skipped_at.pop(step, None)
        run.facts[EVENTS] = self.events
        run.facts[COUNTS] = dict(self.event_counts)
