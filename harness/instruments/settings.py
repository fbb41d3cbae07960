"""What the instrument suite measures in a run: plain data, so that the run settings
(:mod:`harness.config`) hold it without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InstrumentSettings:
    probe_every: int = 25      # 0: probes only at step 0
    agreement: bool = True     # one backward against per-head backward passes, at step 0
    flops: bool = True         # count FLOPs of one step (FlopCounterMode) at the start
    literal: bool = True       # run the review's adapted snippets as written, at step 0
