"""Tables for people rather than for programs: the report's effect of each fix as a reader
reads it (what was fixed, which way, the verdict with its metric, split and adjustment, the
difference with its interval, how many seeds, what it costs), one short line per row. The full frame, every
column, stays in ``tables/effects.csv``, linked beside it.

A cell carries its text and, for numbers, the exact value the page sorts by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.report.analysis import METRICS, PRIMARY
from harness.report.multiplicity import LABELS

#: Header of the difference column: the interval is the comparison's own, not widened for
#: the number of fixes compared (the verdict column says whether its decision was adjusted).
DIFFERENCE = "difference [unadjusted 95% interval]"


@dataclass(frozen=True)
class Cell:
    text: str
    value: float | None = None      # the number behind the text: what sorting reads
    css: str = ""


@dataclass
class ReaderTable:
    columns: list[str]
    numeric: list[bool]             # per column: right-aligned, sorted by value
    rows: list[list[Cell]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


def fmt(value, digits: int = 3, signed: bool = False) -> str:
    """``0.662``; ``+0.012`` when signed; ``n/a`` for NaN or missing (never ``-0.000``)."""
    x = _number(value)
    if not math.isfinite(x):
        return "n/a"
    x = round(x, digits) + 0.0
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def fmt_interval(mean, low, high) -> str:
    """``+0.088 [+0.036, +0.140]``; ``+0.012 [n/a]`` without an interval; ``n/a`` without
    a mean: the README's effects table writes them the same way."""
    if fmt(mean) == "n/a":
        return "n/a"
    if fmt(low) == "n/a" or fmt(high) == "n/a":
        return f"{fmt(mean, signed=True)} [n/a]"
    return (f"{fmt(mean, signed=True)} [{fmt(low, signed=True)}, "
            f"{fmt(high, signed=True)}]")


def metric_label(metric: str) -> str:
    return METRICS.get(metric, metric)


def procedure_name(procedure: str) -> str:
    """``Benjamini-Hochberg`` for ``bh``: the procedure's name without its error rate."""
    return LABELS.get(procedure, procedure).split(" (")[0]


def effects_for_readers(effects: pd.DataFrame) -> ReaderTable:
    """The effects frame (``harness.report.analysis.effects_table``) as the report shows it.

    The verdict says on which metric (``metric``; step accuracy where the frame does not
    say), on which split (``split``) and after which multiplicity adjustment
    (``multiplicity``; the placebo, outside every family, says "none"). What every row shares
    is said once, in the column's header, so that a row stays one short line beside the
    forest plot; what differs is said in the row. A verdict that the adjustment changed
    says what it was before (``verdict_unadjusted``). An ``--until-decided`` grid adds the
    look that decided (``decided_at_look``)."""
    if effects.empty:
        return ReaderTable([], [])
    has = lambda column: column in effects.columns and effects[column].notna().any()
    rows = [row for _, row in effects.iterrows()]
    metric_of = lambda row: _text(row.get("metric")) or PRIMARY
    one_metric = _shared(metric_of(row) for row in rows)
    one_split = _shared(_text(row.get("split")) for row in rows) if has("split") else ""
    procedures = [_text(row.get("multiplicity")) for row in rows] if has("multiplicity") else []
    adjusted_by = _shared(p for p in procedures if p not in ("", "none"))
    header = "verdict"
    if one_metric:
        header += f" on {metric_label(one_metric)}"
    if one_split:
        header += f", {one_split} split"
    if adjusted_by:
        header += f" ({procedure_name(adjusted_by)}-adjusted)"
    columns, numeric = ["fix", "direction", header], [False, False, False]
    split_column = has("split") and not one_split
    if split_column:
        columns.append("judged on")
        numeric.append(False)
    looks = has("decided_at_look")
    if looks:
        columns.append("decided at look")
        numeric.append(True)
    columns += [DIFFERENCE, "seeds", "cost (step time ratio)"]
    numeric += [True, True, True]
    table = ReaderTable(columns, numeric)
    for row in rows:
        metric = metric_of(row)
        table.rows.append(_effect_cells(row, metric, one_metric, adjusted_by, split_column,
                                        looks))
    return table


def _effect_cells(row, metric: str, one_metric: str, adjusted_by: str, split_column: bool,
                  looks: bool) -> list[Cell]:
    verdict = _text(row.get("verdict")) or "n/a"
    shown = verdict if one_metric else f"{verdict} on {metric_label(metric)}"
    procedure = _text(row.get("multiplicity"))
    unadjusted = _text(row.get("verdict_unadjusted"))
    if adjusted_by and procedure in ("", "none"):
        shown += " (not adjusted)"
    elif procedure not in ("", "none", adjusted_by):
        shown += f" ({procedure_name(procedure)}-adjusted)"
    elif unadjusted and unadjusted != verdict:
        shown += f" (unadjusted: {unadjusted})"
    cells = [Cell(_text(row.get("fix"))), Cell(_text(row.get("direction"))),
             Cell(shown, css=verdict)]
    if split_column:
        cells.append(Cell(_text(row.get("split")) or "n/a"))
    if looks:
        look = _finite(row.get("decided_at_look"))
        cells.append(Cell("not decided" if look is None else str(int(look)), look))
    mean = row.get(f"d_{metric}")
    cells.append(Cell(fmt_interval(mean, row.get(f"d_{metric}_low"),
                                   row.get(f"d_{metric}_high")), _finite(mean)))
    seeds = _finite(row.get("pairs"))
    cells.append(Cell("n/a" if seeds is None else str(int(seeds)), seeds))
    ratio = _finite(row.get("step_time_ratio"))
    cells.append(Cell("n/a" if ratio is None else f"{ratio:.2f}x", ratio))
    return cells


def _shared(values) -> str:
    """The one value every row has, else "" (rows differ, or none says)."""
    found = set(values)
    return found.pop() if len(found) == 1 and "" not in found else ""


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _finite(value) -> float | None:
    x = _number(value)
    return x if math.isfinite(x) else None


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)
