"""The review's adapted snippets run as written, once per run at step 0, on the run's own first
batch (:mod:`harness.instruments.literal`): what each did, ran or raised, beside what the
harness does instead (:mod:`harness.deviations`)."""

from __future__ import annotations

import pandas as pd

from harness.instruments.registry import Instrument, Table

FACT = "literal_checks"


def literal_checks_table(records) -> pd.DataFrame:
    """Per snippet: its outcome over the runs, the first message, and what the harness does
    instead."""
    from harness.deviations import DEVIATIONS
    by_check = {row.check: row for row in DEVIATIONS if row.check}
    seen: dict[str, list[dict]] = {}
    for (variant, seed), facts in records.facts.items():
        for name, result in (facts.get(FACT) or {}).items():
            seen.setdefault(name, []).append(result)
    rows = []
    for name, results in seen.items():
        outcomes = pd.Series([r["outcome"] for r in results]).value_counts()
        first = next((r for r in results if r.get("error")), results[0])
        row = by_check.get(name)
        rows.append({
            "snippet": name, "the review's code": first.get("code", ""),
            "outcome here": "; ".join(f"{o} in {n} of {len(results)} runs"
                                      for o, n in outcomes.items()),
            "message": first.get("error") or first.get("detail", ""),
            "batch size": first.get("batch_size"), "device": first.get("device"),
            "what the harness does instead": row.harness if row else "",
            "why": row.why if row else ""})
    return pd.DataFrame(rows)


INSTRUMENT = Instrument(
    name="literal_checks",
    doc=__doc__,
    hooks="harness.instruments.literal_checks.hooks:LiteralChecksHooks",
    facts=(FACT,),
    tables={"literal_checks": Table(literal_checks_table, position=160)},
)
