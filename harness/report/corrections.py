"""Why each correction of the corrected design: measured on the selection split (issue 22,
part 3).

The corrected design moves some axes away from the fixed design (``Axis.corrected``). For each
such correction this module reads a run that holds ``corrected`` and its single-correction
ablation ``corrected-<correction>`` (``run_ablation.py --variants 'corrected,corrected-*'``)
and measures two things:

- what the correction does to the task, on the **selection** split, paired by seed and
  selection step: step accuracy, the query head's typed-text F1 on TYPE steps and the
  coordinate head's tap accuracy on taps (``head_text_f1``, ``head_tap_acc``), each as
  (corrected - corrected-<correction>) with its 95% interval;
- the training symptom the correction is aimed at (:data:`SYMPTOMS`), from the training
  records of both variants (no evaluation data at all).

The committed table of such a run (``docs/corrections/corrections.csv``) is what the README's
table of corrections and the report cite; ``scripts/update_example_run.py --corrections OUT``
writes it. Nothing here reads the held-out (confirmation) split: the report's verdicts of
``corrected-*`` against ``corrected`` on that split come from the effects table, as every
other verdict does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from harness.design import corrected_axes
from harness.report.load import GridRecords
from harness.report.recommend import selection_difference

#: Where the committed table lives in a checkout (the report cites it when it is there).
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "corrections" / "corrections.csv"

#: The selection-split metrics each correction is measured on: (column, label).
METRICS = (("step_acc", "step accuracy"),
           ("head_text_f1", "typed-text F1 on TYPE steps"),
           ("head_tap_acc", "tap accuracy on taps"))


def _share(values: pd.Series, test) -> float:
    values = values.astype(float)
    return float(test(values).mean()) if len(values) else math.nan


def _probe_share(records: GridRecords, variant: str, head: str) -> float:
    """The head's share of the shared encoder's squared gradient norm, median over the
    probe steps of every seed."""
    heads = ("action", "query", "coord")
    frames = {h: records.step_values(variant, f"probe/shared_grad_norm/{h}") for h in heads}
    if any(f.empty for f in frames.values()):
        return math.nan
    keyed = {h: f.set_index(["seed", "step"]).value.astype(float) ** 2 for h, f in frames.items()}
    total = sum(keyed.values())
    share = (keyed[head] / total).replace([np.inf, -np.inf], np.nan).dropna()
    return float(share.median()) if len(share) else math.nan


@dataclass(frozen=True)
class Symptom:
    """The training symptom a correction is aimed at: a label and how to measure it on one
    variant's training records (every seed together)."""
    label: str
    measure: Callable[[GridRecords, str], float]
    percent: bool = False


def _steps(metric: str, reduce) -> Callable[[GridRecords, str], float]:
    return lambda records, variant: reduce(records.step_values(variant, metric).value)


def _per_seed_count(metric: str, test) -> Callable[[GridRecords, str], float]:
    def measure(records: GridRecords, variant: str) -> float:
        rows = records.step_values(variant, metric)
        if rows.empty:
            return math.nan
        return float(rows.groupby("seed").value.apply(
            lambda v: test(v.astype(float)).sum()).mean())
    return measure


#: One symptom per correction (keyed by ``Axis.correction``).
SYMPTOMS: dict[str, Symptom] = {
    "target_routing": Symptom(
        "training steps on which the query decoder got exactly zero gradient",
        _steps("grad_norm/query_decoder", lambda v: _share(v, lambda x: x == 0)), True),
    "step_warmup": Symptom(
        "optimizer steps at learning rate 0 (mean per run)",
        _per_seed_count("lr", lambda x: x == 0)),
    "type_rows_query": Symptom(
        "training steps with a non-finite query loss (mean per run)",
        _per_seed_count("loss/query", lambda x: ~np.isfinite(x))),
    "dual_point_mask": Symptom(
        "share of training rows the coordinate head runs on",
        _steps("routing/coord_rows", lambda v: float(v.astype(float).mean())), True),
    # teacher_forcing: none. Its training loss is computed on other decoder inputs than the
    # greedy one's, so the two losses do not compare; its measure is the typed-text F1 alone.
    "pointer_query": Symptom(
        "query loss over the last 20 training steps",
        lambda records, variant: _last_steps_mean(records, variant, "loss/query", 20)),
    "light_query": Symptom(
        "query head's share of the shared encoder's squared gradient norm (median over probes)",
        lambda records, variant: _probe_share(records, variant, "query"), True),
    "sq_distance_coords": Symptom(
        "coordinate head's share of the shared encoder's squared gradient norm (median over "
        "probes)", lambda records, variant: _probe_share(records, variant, "coord"), True),
}


def _last_steps_mean(records: GridRecords, variant: str, metric: str, n: int) -> float:
    rows = records.step_values(variant, metric)
    if rows.empty:
        return math.nan
    last = rows.groupby("seed").apply(
        lambda f: f[f.step > f.step.max() - n].value.astype(float).mean(), include_groups=False)
    return float(np.nanmean(last)) if len(last) else math.nan


def measure(records: GridRecords) -> pd.DataFrame:
    """One row per correction whose two variants are both in the records: the selection-split
    differences (corrected - corrected-<correction>) and the symptom in each variant."""
    names = set(records.variant_names())
    rows = []
    for axis in corrected_axes():
        ablation = f"corrected-{axis.correction}"
        if "corrected" not in names or ablation not in names:
            continue
        row = {"correction": axis.correction, "axis": axis.name,
               "fixed_value": str(axis.fixed), "corrected_value": str(axis.corrected),
               "ablation": ablation}
        for metric, _ in METRICS:
            d = selection_difference(records, "corrected", ablation, metric)
            ok = d is not None and math.isfinite(d.mean)
            row[f"{metric}_diff"] = d.mean if ok else math.nan
            row[f"{metric}_low"] = d.low if ok and d.has_interval else math.nan
            row[f"{metric}_high"] = d.high if ok and d.has_interval else math.nan
            row["seeds"] = d.n if ok else 0
        symptom = SYMPTOMS.get(axis.correction)
        if symptom is not None:
            row["symptom"] = symptom.label
            row["symptom_percent"] = symptom.percent
            row["symptom_without"] = symptom.measure(records, ablation)
            row["symptom_corrected"] = symptom.measure(records, "corrected")
        rows.append(row)
    return pd.DataFrame(rows)


def _number(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _value(v, percent: bool) -> str:
    v = _number(v)
    if not math.isfinite(v):
        return "n/a"
    return f"{100 * v:.1f}%" if percent else f"{v:.3g}"


def _difference(row, metric: str) -> str:
    mean, low, high = (_number(row.get(f"{metric}_{k}")) for k in ("diff", "low", "high"))
    if not math.isfinite(mean):
        return "n/a"
    if not math.isfinite(low):
        return f"{mean:+.3f}"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def support(row) -> str:
    """What the selection split says of a correction, in a few words: the metrics whose whole
    interval lies above zero ("gain in ..."), below ("loss in ..."), or none of them."""
    row = dict(row)
    def bound(metric, side):
        return _number(row.get(f"{metric}_{side}"))
    gains = [label for metric, label in METRICS if bound(metric, "low") > 0]
    losses = [label for metric, label in METRICS if bound(metric, "high") < 0]
    parts = []
    if gains:
        parts.append("gain in " + ", ".join(gains))
    if losses:
        parts.append("loss in " + ", ".join(losses))
    if parts:
        return "; ".join(parts)
    has_symptom = isinstance(row.get("symptom"), str) and bool(row["symptom"])
    return "no task gain measured" + (" (the symptom only)" if has_symptom else "")


def evidence(row) -> str:
    """The measured reason of one correction, as one sentence (a row of :func:`measure` or of
    the committed CSV)."""
    row = dict(row)
    parts = [f"{label} {_difference(row, metric)}" for metric, label in METRICS]
    text = (f"on the selection split, corrected minus {row['ablation']} over "
            f"{int(_number(row.get('seeds') or 0))} seeds: " + "; ".join(parts))
    if isinstance(row.get("symptom"), str) and row["symptom"]:   # '' or NaN: no symptom
        percent = str(row.get("symptom_percent")).lower() in ("true", "1")
        text += (f". {row['symptom'][:1].upper()}{row['symptom'][1:]}: "
                 f"{_value(row['symptom_without'], percent)} without the correction, "
                 f"{_value(row['symptom_corrected'], percent)} with it")
    return text


def read_committed(path: Path | None = None) -> pd.DataFrame | None:
    """The committed table (None when this is not a checkout that has it)."""
    try:
        return pd.read_csv(COMMITTED if path is None else path)
    except FileNotFoundError:
        return None
