"""Routing coverage (the review's claim 4): under routing (by the predicted action, or by the
target action in training), the share of each batch's rows that the query head and the
coordinate head ran on, every step."""

from __future__ import annotations

import pandas as pd

from harness.instruments.registry import Instrument, Table

#: head -> record key; the model's outputs name the rows a routed head ran on ``<head>_rows``.
ROWS = {"query": "routing/query_rows", "coord": "routing/coord_rows"}


def routing_table(records) -> pd.DataFrame:
    rows = []
    for variant in records.variant_names():
        if records.design(variant).get("routing", "all") == "all":
            continue
        q = records.step_values(variant, ROWS["query"])["value"]
        c = records.step_values(variant, ROWS["coord"])["value"]
        rows.append({"variant": variant, "query head rows (mean share)": float(q.mean()),
                     "coordinate head rows (mean share)": float(c.mean())})
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="routing",
    doc=__doc__,
    hooks="harness.instruments.routing.hooks:RoutingHooks",
    keys=tuple(ROWS.values()),
    tables={"routing": Table(routing_table, position=70)},
)
