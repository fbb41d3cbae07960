"""The report's section "Would a conflict-aware update help?" (issue 24): each design whose
``aggregator`` is not ``sum`` against the same design at ``sum`` (fixed+X against fixed,
corrected+X against corrected, or any pair of variants the grid holds that differ only
there), on every metric, with its cost per step, and what the measured conflict of the heads'
gradients says about the gains.

A pure function of the records (:class:`~harness.report.load.GridRecords`). The verdicts are
the effects table's (:func:`harness.report.analysis.effects_table`: the same paired estimator,
rule and multiplicity procedure), with the aggregator comparisons as a family of their own on
each metric: they answer another question than the review's fixes, and adding them to the
fixes' family would change the fixes' adjusted decisions.
"""

from __future__ import annotations

import math

import pandas as pd

from harness.design import AGGREGATOR_LABELS
from harness.instruments.aggregation import aggregation_table
from harness.instruments.head_gradients import conflict_key
from harness.report import analysis as A
from harness.report import multiplicity
from harness.report.load import GridRecords
from harness.report.stats import ALPHA, DEFAULT_MARGIN, HELPS
from harness.report.tables import fmt_interval
from harness.schema import PAIR_NAMES

AXIS = "aggregator"
PLAIN = "sum"
FAMILY = "aggregators"
#: Conflict on at least this share of probe steps, for some pair of heads, counts as frequent
#: in the finding's wording.
FREQUENT_CONFLICT = 0.25


def _without_axis(design: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in design.items() if k != AXIS))


def aggregator_comparisons(records: GridRecords) -> list[A.Comparison]:
    """Every variant of the grid whose aggregator is not sum, paired with the first variant
    whose design is the same but for the aggregator at sum (a design recorded without the axis
    is at sum); in grid order. A variant under a second noise stream (the placebo) is no
    base: its difference from its design's runs is noise by construction."""
    variants = [v for v in records.variants if not v.get("noise_salt")]
    plain: dict[tuple, str] = {}
    for v in variants:
        if v["design"].get(AXIS, PLAIN) == PLAIN:
            plain.setdefault(_without_axis(v["design"]), v["name"])
    out = []
    for v in variants:
        value = v["design"].get(AXIS, PLAIN)
        base = plain.get(_without_axis(v["design"]))
        if value != PLAIN and base is not None:
            out.append(A.Comparison(value, AXIS, f"{base} + aggregator", v["name"], base,
                                    base, family=FAMILY))
    return out


def conflict_rates(records: GridRecords, variant: str) -> dict[str, float]:
    """Per pair of heads: the share of the variant's probe steps (every seed) at which their
    gradients on the shared encoder had a negative cosine (the head_gradients instrument)."""
    rates = {}
    for pair in PAIR_NAMES:
        values = records.step_values(variant, conflict_key(pair))["value"].dropna()
        rates[pair] = float(values.mean()) if len(values) else math.nan
    return rates


def aggregators_table(records: GridRecords, margin: float = DEFAULT_MARGIN,
                      procedure: str = multiplicity.DEFAULT,
                      alpha: float = ALPHA) -> pd.DataFrame:
    """One row per comparison, the effects table's columns (each metric's paired difference,
    aggregator minus sum, with its interval and verdict; the step-time ratio) with the
    aggregator's value and the base's conflict rate per pair of heads."""
    found = aggregator_comparisons(records)
    if not found:
        return pd.DataFrame(columns=["aggregator", "base", "with_fix", "without_fix",
                                     "verdict", "pairs"])
    table = A.effects_table(records, margin, procedure, alpha, found=found)
    table.insert(0, "aggregator", [c.fix for c in found])
    table.insert(1, "base", [c.base for c in found])
    for pair in PAIR_NAMES:
        table[f"base conflict {pair}"] = [conflict_rates(records, c.base)[pair] for c in found]
    return table


def verdicts_by_metric(table: pd.DataFrame) -> pd.DataFrame:
    """For the page: per comparison, each metric's verdict with its difference and unadjusted
    95% interval, the cost and the base's conflict rates."""
    if table.empty:
        return pd.DataFrame()
    rows = []
    for _, r in table.iterrows():
        row = {"aggregator": AGGREGATOR_LABELS.get(r["aggregator"], r["aggregator"]),
               "against": r["base"], "seeds": r["pairs"]}
        for metric, label in A.METRICS.items():
            d = [r[f"d_{metric}{part}"] for part in ("", "_low", "_high")]
            row[label] = f"{r[f'v_{metric}']}: {fmt_interval(*d)}"
        row["step time ratio"] = r["step_time_ratio"]
        for pair in PAIR_NAMES:
            row[f"base conflict {pair}"] = r[f"base conflict {pair}"]
        rows.append(row)
    return pd.DataFrame(rows)


def conflict_findings(table: pd.DataFrame) -> list[str]:
    """One sentence per base design: how often its heads' gradients conflicted, and what the
    aggregators did to the primary metric; the wording follows the measurements, no more."""
    sentences = []
    if table.empty:
        return sentences
    primary = A.METRICS[A.PRIMARY]
    d = f"d_{A.PRIMARY}"
    for base, group in table.groupby("base", sort=False):
        rates = {pair: group[f"base conflict {pair}"].iloc[0] for pair in PAIR_NAMES}
        measured = {p: r for p, r in rates.items() if math.isfinite(r)}
        helps = group[group["verdict"] == HELPS]
        tally = ", ".join(f"{n} {word}" for word, n in group["verdict"].value_counts().items())
        if measured:
            conflict = ", ".join(f"{pair} {rate:.0%}" for pair, rate in measured.items())
            frequent = bool(max(measured.values()) >= FREQUENT_CONFLICT)
            opening = (f"In {base} the heads' gradients on the shared encoder had a negative "
                       f"cosine on this share of probe steps: {conflict}")
        else:
            frequent = None
            opening = (f"In {base} the heads' conflict was not measured (no head_gradients "
                       "records)")
        sentence = (f"{opening}. Against the plain sum, the {len(group)} aggregator(s) read "
                    f"on {primary}: {tally}")
        if group[d].notna().any():
            best = group.loc[group[d].idxmax()]
            sentence += (f"; the largest difference is {best['aggregator']}'s "
                         f"{fmt_interval(best[d], best[f'{d}_low'], best[f'{d}_high'])}")
        if helps.empty:
            if frequent is True:
                sentence += (". The conflicts were frequent, yet no aggregator that resolves "
                             "them helped: at this budget the conflict is not what limits the "
                             "design")
            elif frequent is False:
                sentence += (". The conflicts were rare, so there was little for an "
                             "aggregator to resolve, and none helped")
        else:
            sentence += f". {', '.join(helps['aggregator'])} helped"
            if frequent is True:
                sentence += "; the conflicts were frequent"
            elif frequent is False:
                sentence += ("; the conflicts were rare, so the gain may come from the "
                             "update's scale or balance rather than from resolving conflicts")
        sentences.append(sentence + ".")
    return sentences


def aggregators_section(records: GridRecords, margin: float = DEFAULT_MARGIN,
                        procedure: str = multiplicity.DEFAULT) -> dict:
    """What the template shows: the comparisons (an empty table when the grid has no
    aggregator variant), each metric's verdict, the finding sentences, and what each
    aggregated update did (the aggregation instrument's table)."""
    table = aggregators_table(records, margin, procedure)
    # "applied", not "update": the template would read the dict's update method
    return {"table": table, "by_metric": verdicts_by_metric(table),
            "findings": conflict_findings(table),
            "applied": aggregation_table(records) if not table.empty else pd.DataFrame()}
