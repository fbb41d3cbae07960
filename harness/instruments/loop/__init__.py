"""Not an instrument: what the training loop records on its own (:func:`harness.train.record_step`,
validation, held-out scoring, the epoch schedulers), declared like one so that the summary and
the question "who writes this key" find it the same way. Its report tables (clipping, spans at
learning rate zero, scheduler events) are the report's own (:mod:`harness.report.analysis`)."""

from __future__ import annotations

from harness.instruments.registry import Instrument
from harness.schema import (CLIPPED, GRAD_NORM, HEADS, LOSS_TERMS, LR, heldout_key, loss_key,
                            skipped_key, val_key)


def summary(steps, facts: dict) -> dict:
    row = {}
    if steps is not None and not steps.empty:
        clipped = steps.loc[steps.metric == CLIPPED, "value"]
        if len(clipped):
            row["clip_rate"] = float(clipped.mean())
    return row


INSTRUMENT = Instrument(
    name="loop",
    doc="The training loop's own records: losses, learning rate, global gradient norm and "
        "clipping, skipped backward passes, validation and held-out metrics.",
    keys=(*map(loss_key, LOSS_TERMS), LR, GRAD_NORM, CLIPPED, *map(skipped_key, HEADS),
          val_key("*"), heldout_key("*")),
    facts=("scheduler_events",),
    summary=summary,
)
