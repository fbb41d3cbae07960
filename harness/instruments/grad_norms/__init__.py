"""Each module group's gradient norm (:data:`harness.schema.MODULE_GROUPS`), every step, after
the design's backward and before clipping."""

from __future__ import annotations

import pandas as pd

from harness.instruments.registry import Instrument, Plot, Table
from harness.schema import MODULE_GROUPS

PREFIX = "grad_norm/"


def group_key(group: str) -> str:
    return PREFIX + group


def zero_gradient_groups(records) -> pd.DataFrame:
    """Module groups whose gradient norm was exactly zero on most steps of a run."""
    rows = []
    frame = records.steps[records.steps.metric.str.startswith(PREFIX)]
    for (variant, seed, metric), g in frame.groupby(["variant", "seed", "metric"], sort=False):
        share = float((g.value == 0).mean())
        if share >= 0.5:
            rows.append({"variant": variant, "seed": seed, "group": metric.split("/", 1)[1],
                         "share of steps with zero gradient": share})
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="grad_norms",
    doc=__doc__,
    hooks="harness.instruments.grad_norms.hooks:GradNormsHooks",
    keys=tuple(map(group_key, MODULE_GROUPS)),
    tables={"zero_gradient_groups": Table(zero_gradient_groups, position=120)},
    plots={"grad_norms": Plot(tuple((group_key(g), g) for g in MODULE_GROUPS),
                              "gradient norm per module group, before clipping",
                              caption="Gradient norm per module group", position=20, log=True,
                              smooth=True)},
)
