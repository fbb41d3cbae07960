"""What a conflict-aware update does (issue 24), in the designs whose ``aggregator`` is not
``sum``; a ``sum`` design records nothing here, so its records are as they were.

Every step: which heads were left out of the Jacobian (no graph, a zero or a non-finite
gradient on the shared encoder). At probe steps: the Gramian of the heads' gradients on the
shared encoder (the heads' inner products; every aggregator's weights are a function of it),
the cosine between the aggregated update and the plain sum of the same gradients, and each
head's share of the aggregated update (its weighted gradient's component along the update, as
a fraction of the update's squared norm: the shares sum to 1, and a negative share pulls
against the update). The head_gradients instrument measures the conflict itself (the pairwise
cosines), in every design.
"""

from __future__ import annotations

import itertools
import math

import pandas as pd

from harness.instruments.registry import Instrument, Table
from harness.schema import HEADS

#: The Gramian's entries, upper triangle with the diagonal ("action-action", "action-query",
#: ...): the squared norms and the inner products of the heads' shared gradients.
GRAMIAN_PAIRS = tuple(f"{a}-{b}" for a, b in itertools.combinations_with_replacement(HEADS, 2))
UPDATE_COSINE = "probe/update_cosine"


def left_out_key(head: str) -> str:
    return f"aggregation/left_out/{head}"


def gramian_key(pair: str) -> str:
    return f"probe/gramian/{pair}"


def share_key(head: str) -> str:
    return f"probe/update_share/{head}"


def weight_key(head: str) -> str:
    return f"probe/aggregator_weight/{head}"


def _mean(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.mean()) if len(values) else math.nan


def aggregation_table(records) -> pd.DataFrame:
    """Per variant that aggregates: the mean cosine between its update and the plain sum over
    probe steps, each head's mean share of the update, and the share of steps each head was
    left out of the Jacobian."""
    rows = []
    for variant in records.variant_names():
        aggregator = records.design(variant).get("aggregator", "sum")
        if aggregator == "sum":
            continue
        row = {"variant": variant, "aggregator": aggregator,
               "update cosine to sum": _mean(records.step_values(variant, UPDATE_COSINE)["value"])}
        for head in HEADS:
            row[f"share {head}"] = _mean(records.step_values(variant, share_key(head))["value"])
        for head in HEADS:
            row[f"left out {head}"] = _mean(records.step_values(variant,
                                                                left_out_key(head))["value"])
        rows.append(row)
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="aggregation",
    doc=__doc__,
    hooks="harness.instruments.aggregation.hooks:AggregationHooks",
    keys=(*map(left_out_key, HEADS), *map(gramian_key, GRAMIAN_PAIRS), UPDATE_COSINE,
          *map(share_key, HEADS), *map(weight_key, HEADS)),
    tables={"aggregation": Table(aggregation_table, position=45)},
)
