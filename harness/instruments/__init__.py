"""Instruments: measurements taken inside the training step, attached at the loop's named
points (:class:`harness.train.Hooks`) so that the bare and the instrumented step are the same
code. Each is one unit, ``harness/instruments/<name>/``, declared and registered in
:mod:`harness.instruments.registry`; :class:`harness.instruments.suite.Instruments` (torch)
attaches them all. This package imports no torch: the summary and the report read the
declarations."""

from harness.instruments.settings import InstrumentSettings

__all__ = ["InstrumentSettings"]
