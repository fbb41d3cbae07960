"""Target-range audit (the review's claim 5): which coordinate targets can the coordinate
head's sigmoid, whose range is (0, 1), never reach? Once per run, from the training split and
the design (:func:`harness.instruments.audit.target_range_audit`)."""

from __future__ import annotations

import pandas as pd

from harness.instruments.registry import Instrument, Table

AUDIT = "target_range_audit"


def summary(steps, facts: dict) -> dict:
    audit = facts.get(AUDIT) or {}
    return {"targets_outside_range": audit.get("targets_outside_range_in_loss_scope")}


def target_range_table(records) -> pd.DataFrame:
    rows = []
    for variant in records.variant_names():
        audits = [f.get(AUDIT) for (v, _), f in records.facts.items()
                  if v == variant and f.get(AUDIT)]
        if not audits:
            continue
        a = audits[0]           # a property of data and design: the same for every seed
        design = records.design(variant)
        rows.append({"variant": variant, "coord_units": design["coord_units"],
                     "loss": design["loss"],
                     "DUAL_POINT targets outside (0, 1)": a["dual_point_targets_outside_range"],
                     "targets outside (0, 1) among those the loss sees":
                         a["targets_outside_range_in_loss_scope"],
                     "non-gesture steps in the loss": a["loss_scope_non_dual_point_steps"],
                     "DUAL_POINT target max": a["dual_point_target_max"]})
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="target_range",
    doc=__doc__,
    hooks="harness.instruments.target_range.hooks:TargetRangeHooks",
    facts=(AUDIT,),
    summary=summary,
    tables={"target_range": Table(target_range_table, position=60)},
)
