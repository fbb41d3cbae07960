"""The instrument suite attached to every run of the grid: each registered instrument's hooks
(:mod:`harness.instruments.registry`), chained in registration order, and the probe steps
they share (step 0 and every ``probe_every``), whose cost is timed as one interval."""

from __future__ import annotations

import importlib

from harness.instruments import registry
from harness.instruments.hooks import InstrumentHooks
from harness.instruments.settings import InstrumentSettings
from harness.instruments.throughput import timed
from harness.train import HookChain


def hooks_class(instrument: registry.Instrument) -> type[InstrumentHooks]:
    module, _, name = instrument.hooks.partition(":")
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, InstrumentHooks)):
        raise registry.InstrumentRegistryError(
            f"instrument {instrument.name!r}: {instrument.hooks} is not an InstrumentHooks "
            f"class")
    return cls


class Instruments(HookChain):
    def __init__(self, settings: InstrumentSettings = InstrumentSettings()):
        self.settings = settings
        super().__init__([hooks_class(i)(settings) for i in registry.instruments()
                          if i.hooks is not None])

    def probe_step(self, step: int) -> bool:
        return step == 0 or bool(self.settings.probe_every
                                 and step % self.settings.probe_every == 0)

    def after_loss(self, run, step, batch, outputs, losses) -> None:
        super().after_loss(run, step, batch, outputs, losses)
        if self.probe_step(step):
            _, seconds = timed(run.device, lambda: self.probe(run, step, batch, outputs, losses))
            for hook in self.hooks:
                hook.probed(run, step, seconds)

    def probe(self, run, step, batch, outputs, losses) -> None:
        for hook in self.hooks:
            hook.probe(run, step, batch, outputs, losses)
