from __future__ import annotations

from harness.instruments.hooks import InstrumentHooks
from harness.instruments.literal import literal_checks
from harness.instruments.literal_checks import FACT


class LiteralChecksHooks(InstrumentHooks):
    def probe(self, run, step, batch, outputs, losses) -> None:
        # inside the probe: the snippets' cost stays out of the step time
        if step == 0 and self.settings.literal:
            run.facts[FACT] = literal_checks(run.model, batch, outputs)
