"""Gradient reaching the coordinate head (the review's claim 2): at probe steps, the share of a
batch's rows whose coordinate-loss gradient with respect to that row's four outputs is exactly
zero, over all rows and over the DUAL_POINT rows alone."""

from __future__ import annotations

import math

import pandas as pd

from harness.instruments.grad_norms import group_key
from harness.instruments.registry import Instrument, Table
from harness.results import summary_column

ZERO_SHARE_ALL = "probe/coord_grad_zero_share/all"
ZERO_SHARE_DUAL_POINT = "probe/coord_grad_zero_share/dual_point"
COLUMN = "coord_grad_zero_share"


def summary(steps, facts: dict) -> dict:
    row = {}
    if steps is not None and not steps.empty:
        zero = steps.loc[steps.metric == ZERO_SHARE_DUAL_POINT, "value"]
        if len(zero):
            row[COLUMN] = float(zero.mean())
    return row


def gradient_flow_table(records) -> pd.DataFrame:
    """How much gradient reaches the coordinate head, and how often exactly none."""
    rows = []
    for variant in records.variant_names():
        design = records.design(variant)
        runs = records.runs(variant)
        coord = records.step_values(variant, group_key("coord_head"))["value"]
        rows.append({
            "variant": variant, "loss": design["loss"], "coord_units": design["coord_units"],
            "zero coordinate gradient (share of DUAL_POINT steps)":
                float(summary_column(runs, COLUMN).mean()),
            "coordinate head gradient norm (median)": float(coord.median()) if len(coord) else math.nan,
            "tap accuracy": float(summary_column(runs[runs.status == "ok"], "tap_acc").mean()),
        })
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="gradient_flow",
    doc=__doc__,
    hooks="harness.instruments.gradient_flow.hooks:GradientFlowHooks",
    keys=(ZERO_SHARE_ALL, ZERO_SHARE_DUAL_POINT),
    summary=summary,
    tables={"gradient_flow": Table(gradient_flow_table, position=50)},
)
