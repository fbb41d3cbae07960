"""What an instrument's hooks are: the training loop's attachment points, and two that the
suite adds for the probe steps every instrument shares."""

from __future__ import annotations

from harness.instruments.settings import InstrumentSettings
from harness.train import Hooks


class InstrumentHooks(Hooks):
    """Built by the suite with the run's :class:`InstrumentSettings`, one per run."""

    def __init__(self, settings: InstrumentSettings):
        self.settings = settings

    def probe(self, run, step: int, batch: dict, outputs: dict, losses: dict) -> None:
        """At a probe step, right after the loss: measurements too costly for every step.
        Every instrument's probe runs inside one timed interval that the step time leaves
        out (:class:`harness.instruments.suite.Instruments`)."""

    def probed(self, run, step: int, seconds: float) -> None:
        """After the probes of ``step``, with what they took together."""
