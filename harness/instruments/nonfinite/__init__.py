"""Non-finite losses and what became of each: skipped (the per-head strategy did not
back-propagate it), survived (back-propagated, the gradient stayed finite) or propagated (the
gradient became non-finite). Counted per (term, consequence); the first events kept."""

from __future__ import annotations

import pandas as pd

from harness.instruments.registry import Instrument, Table

EVENTS = "nonfinite_events"
COUNTS = "nonfinite_counts"      # "<term>:<consequence>" -> count


def summary(steps, facts: dict) -> dict:
    return {"nonfinite_losses": sum((facts.get(COUNTS) or {}).values())}


def nonfinite_table(records) -> pd.DataFrame:
    rows = []
    for (variant, seed), facts in records.facts.items():
        for key, count in (facts.get(COUNTS) or {}).items():
            term, consequence = key.split(":")
            steps = [e["step"] for e in facts.get(EVENTS, [])
                     if e["term"] == term and e["consequence"] == consequence]
            rows.append({"variant": variant, "seed": seed, "loss term": term,
                         "consequence": consequence, "count": count,
                         "first steps": ", ".join(map(str, steps[:8]))
                                        + (" ..." if len(steps) > 8 else "")})
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="nonfinite",
    doc=__doc__,
    hooks="harness.instruments.nonfinite.hooks:NonfiniteHooks",
    facts=(EVENTS, COUNTS),
    summary=summary,
    tables={"nonfinite": Table(nonfinite_table, position=90)},
)
