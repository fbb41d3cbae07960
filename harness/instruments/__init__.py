"""Instruments: measurements taken inside the training step, attached at the loop's named
points (:class:`harness.train.Hooks`) so that the bare and the instrumented step are the same
code. :class:`Instruments` composes them; each lives in its own module."""

from harness.instruments.suite import InstrumentSettings, Instruments

__all__ = ["InstrumentSettings", "Instruments"]
