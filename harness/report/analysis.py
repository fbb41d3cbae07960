"""From records to the report's tables: per-variant summary with intervals, the effect of each
fix in both directions, the measurements behind each claim of the review, and anomalies. The
instruments' own tables are declared with them (:mod:`harness.instruments.registry`); this
module gathers them with those of the training loop's records.

Every function is a pure function of :class:`~harness.report.load.GridRecords`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.design import AXES
from harness.io import read_json
from harness.results import SEARCH_JSON, summary_column
from harness.instruments import registry
from harness.report.load import GridRecords
from harness.report import multiplicity, sequential
from harness.report.stats import (ALPHA, DEFAULT_MARGIN, UNDECIDED, Estimate, decide,
                                   describe_verdict, estimate, paired_per_step, proportion_var, seeds_needed,
                                   small_real_effect, verdict)
from harness.schema import GRAD_NORM, LR

PRIMARY = "step_acc"
#: Held-out (confirmation) metrics, scored once at the end of each run, shown in the summary
#: and effect tables, with their labels.
METRICS = {
    "step_acc": "step accuracy",
    "action_acc": "action accuracy",
    "tap_acc": "tap accuracy",
    "swipe_acc": "swipe accuracy",
    "text_em": "typed text exact match",
    "text_f1": "typed text word F1",
}
#: Each head on its own target rows whatever action is predicted (harness.metrics.head_scores),
#: shown in the summary beside a trivial baseline that can score there; not (yet) in the
#: effects table and its verdicts.
HEAD_METRICS = {
    "head_text_f1": "text head: word F1 on TYPE steps",
    "head_tap_acc": "coordinate head: taps",
    "head_swipe_acc": "coordinate head: swipes",
}
COST = {"step_time_s": "step time (s)", "samples_per_s": "samples/s",
        "tokens_per_s": "tokens/s", "peak_memory_mb": "peak memory (MB)", "mfu": "MFU"}
#: The held-out count each metric is a fraction of (from task_metrics' n/... columns).
DENOMINATOR = {"step_acc": "n_steps", "action_acc": "n_steps", "tap_acc": "n/taps",
               "swipe_acc": "n/swipes", "text_em": "n/TYPE", "text_f1": "n/TYPE",
               "head_text_f1": "n/TYPE", "head_tap_acc": "n/taps", "head_swipe_acc": "n/swipes"}
HIGHER_IS_BETTER = {**{m: True for m in (*METRICS, *HEAD_METRICS)}, "step_time_s": False,
                    "samples_per_s": True, "tokens_per_s": True, "peak_memory_mb": False,
                    "mfu": True}


def _nanmean(values) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


# --------------------------------------------------------------------------- summary

def ok_seeds(records: GridRecords, *variants: str, within=None) -> list:
    """Seeds on which every one of ``variants`` finished ok, in grid order (only those in
    ``within``, when given: one look's seeds)."""
    s = records.summary
    common = None
    for variant in variants:
        ok = set(s[(s.variant == variant) & (s.status == "ok")].seed)
        common = ok if common is None else common & ok
    if within is not None:
        common = (common or set()) & set(within)
    return [seed for seed in records.seeds if seed in (common or set())]


def metric_estimate(records: GridRecords, variant: str, metric: str) -> Estimate:
    """A variant's final held-out metric over the seeds that finished: the mean with a 95%
    interval from seed-to-seed variation and the held-out set's sampling error, the latter
    from the per-step scores (or, for records without them, a proportion's variance)."""
    seeds = ok_seeds(records, variant)
    scores = records.score_matrix(variant, seeds, metric) if seeds else None
    if scores is not None:
        return paired_per_step(scores, np.where(np.isfinite(scores), 0.0, np.nan),
                               records.episodes(variant, seeds))
    ok = records.runs(variant)
    ok = ok[ok.status == "ok"]
    values = summary_column(ok, metric)
    counts = summary_column(ok, DENOMINATOR[metric])
    eval_var = _nanmean([proportion_var(p, n) for p, n in zip(values, counts)])
    return estimate(values, eval_var)


def summary_table(records: GridRecords) -> pd.DataFrame:
    """One row per variant: run counts by status, each metric's mean and 95% interval over the
    seeds that finished, and cost (medians over runs)."""
    rows = []
    for variant in records.variant_names():
        runs = records.runs(variant)
        row = {"variant": variant}
        for status in ("ok", "diverged", "failed", "interrupted", "missing"):
            row[f"runs_{status}"] = int((runs.status == status).sum())
        for metric in (*METRICS, *HEAD_METRICS):
            est = metric_estimate(records, variant, metric)
            row[metric] = est.mean
            # a fraction's interval is shown within [0, 1], where the fraction lives
            row[f"{metric}_low"] = max(est.low, 0.0) if math.isfinite(est.low) else est.low
            row[f"{metric}_high"] = min(est.high, 1.0) if math.isfinite(est.high) else est.high
        for metric in COST:
            values = summary_column(runs, metric).dropna()
            row[metric] = float(values.median()) if len(values) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def best_variants(table: pd.DataFrame, max_ties: int = 3) -> dict[str, set[str]]:
    """For each metric, the variant(s) with the best mean; nothing is marked when more than
    ``max_ties`` variants share it (a tie that wide is a floor or a ceiling, not a winner)."""
    best = {}
    for metric, higher in HIGHER_IS_BETTER.items():
        if metric not in table or table[metric].isna().all():
            continue
        target = table[metric].max() if higher else table[metric].min()
        winners = set(table.loc[table[metric] == target, "variant"])
        if len(winners) <= max_ties:
            best[metric] = winners
    return best


# --------------------------------------------------------------------------- effects

@dataclass(frozen=True)
class Comparison:
    fix: str
    axis: str
    direction: str      # "original + fix" or "fixed - fix"
    with_fix: str       # the variant that has the fix
    without_fix: str    # the variant that lacks it
    base: str           # the variant that is the reference of this direction
    #: the multiplicity family its helps/hurts decisions are adjusted in: "effects" for the
    #: report's comparisons, "placebo" for the noise floor, which stands outside
    family: str = "effects"


#: The placebo comparison: the fixed design under a second noise stream against fixed
PLACEBO, PLACEBO_BASE = "placebo", "fixed"


def comparisons(records: GridRecords) -> list[Comparison]:
    """Pairs of registered variants that differ by one fix, in both directions, for every axis
    the two designs disagree on (and shared axes with another value, such as clipping)."""
    names = set(records.variant_names())
    out = []
    for axis in AXES.values():
        if axis.original != axis.fixed:
            pairs = [("original + fix", f"original+{axis.fix}", "original", "original"),
                     ("fixed - fix", "fixed", f"fixed-{axis.fix}", "fixed")]
        elif len(axis.choices) > 1:
            pairs = [("original - shared choice", "original", f"original-{axis.fix}", "original"),
                     ("fixed - shared choice", "fixed", f"fixed-{axis.fix}", "fixed")]
        else:
            continue
        for direction, with_fix, without_fix, base in pairs:
            if with_fix in names and without_fix in names:
                out.append(Comparison(axis.fix, axis.name, direction, with_fix, without_fix, base))
    # The corrections that are not in the review, each taken out of the corrected design.
    for axis in AXES.values():
        if axis.corrected != axis.fixed:
            with_fix, without_fix = "corrected", f"corrected-{axis.correction}"
            if with_fix in names and without_fix in names:
                out.append(Comparison(axis.correction, axis.name, "corrected - correction",
                                      with_fix, without_fix, "corrected"))
    # The review's normalization read literally (points only) against the harness's reading
    # (boxes divided too): what that choice changes (harness.deviations).
    literal, harness_reading = "original+normalized_points_only", "original+normalized_coords"
    if literal in names and harness_reading in names:
        out.append(Comparison("boxes_normalized", "coord_units", "harness - literal",
                              harness_reading, literal, literal))
    # The corrected design against the review's two designs: what the recommendation rests on.
    for other in ("original", "fixed"):
        if "corrected" in names and other in names:
            out.append(Comparison("corrected", "(design)", f"corrected vs {other}",
                                  "corrected", other, other))
    if PLACEBO in names and PLACEBO_BASE in names:
        out.append(Comparison(PLACEBO, "(noise)", "placebo vs fixed", PLACEBO, PLACEBO_BASE,
                              PLACEBO_BASE, family="placebo"))
    return out


def paired_difference(records: GridRecords, with_fix: str, without_fix: str,
                      metric: str, within=None) -> Estimate:
    """Mean and 95% interval of (with fix - without fix) over the seeds where both finished
    (of those in ``within``, when given), paired by seed and, from the per-step held-out
    scores, by held-out step (:func:`~harness.report.stats.paired_per_step`). Records without
    per-step scores fall back to the per-seed differences and an independent-samples held-out
    term."""
    seeds = ok_seeds(records, with_fix, without_fix, within=within)
    a = records.score_matrix(with_fix, seeds, metric) if seeds else None
    b = records.score_matrix(without_fix, seeds, metric) if seeds else None
    if a is not None and b is not None and a.shape == b.shape:
        return paired_per_step(a, b, records.episodes(with_fix, seeds))
    s = records.summary
    fa = s[(s.variant == with_fix) & (s.status == "ok")].set_index("seed")
    fb = s[(s.variant == without_fix) & (s.status == "ok")].set_index("seed")
    if metric not in fa.columns or metric not in fb.columns:
        return estimate([])
    count = DENOMINATOR.get(metric)
    eval_var = math.nan
    if count in fa.columns and count in fb.columns and len(seeds):
        eval_var = _nanmean([proportion_var(fa.loc[s, metric], fa.loc[s, count])
                             + proportion_var(fb.loc[s, metric], fb.loc[s, count])
                             for s in seeds])
    est = estimate((fa.loc[seeds, metric] - fb.loc[seeds, metric]).tolist(), eval_var)
    if not est.has_interval:
        return est
    return dataclasses.replace(est, low=max(est.low, -1.0), high=min(est.high, 1.0))


def against_baseline(records: GridRecords, variant: str, metric: str) -> Estimate:
    """(variant - trivial baseline) on the same held-out steps, paired per step; NaN when the
    records hold no per-step scores."""
    seeds = ok_seeds(records, variant)
    a = records.score_matrix(variant, seeds, metric) if seeds else None
    base = records.baseline_scores
    if a is None or base is None or metric not in base or len(base) != a.shape[1]:
        return estimate([])
    return paired_per_step(a, np.tile(base[metric].to_numpy(dtype=float), (len(a), 1)),
                           records.episodes(variant, seeds))


def _median(records: GridRecords, variant: str, metric: str) -> float:
    values = summary_column(records.runs(variant), metric).dropna()
    return float(values.median()) if len(values) else math.nan


def family_decisions(estimates: list[Estimate], families: list[str], procedure: str,
                     alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """For each comparison, whether its helps/hurts test stays significant after the
    multiplicity procedure of its family, and the p-value it would need (the level the
    seeds-needed projection aims at)."""
    return multiplicity.by_family([e.p_value() for e in estimates], families, procedure,
                                  alpha)


@dataclass
class MetricDecisions:
    """One metric's comparisons as the effects table words them: the estimate each verdict
    rests on, its (multiplicity-adjusted) helps/hurts decision, the p-value one more rejection
    would need, the level every test was made at, and the look that decided it (sequential
    grids only)."""
    estimates: list[Estimate]
    significant: np.ndarray
    needed: np.ndarray
    level: float
    decided_at: list[int | None]


def _fixed_design_decisions(records, found, metric, families, procedure, alpha,
                            margin) -> MetricDecisions:
    diffs = [paired_difference(records, c.with_fix, c.without_fix, metric) for c in found]
    significant, needed = family_decisions(diffs, families, procedure, alpha)
    return MetricDecisions(diffs, significant, needed, alpha, [None] * len(found))


def _sequential_decisions(records, found, metric, families, procedure, alpha,
                          margin) -> MetricDecisions:
    """An ``--until-decided`` grid: every look tested at alpha / K (K planned looks), each
    comparison over the seeds both sides had at that look; a comparison keeps the verdict
    of the first look that decided it (:mod:`harness.report.sequential`, the rule the
    simulation measures)."""
    level = alpha / int(records.sequential["looks_planned"])
    by_look = []          # each look: (estimates, significant, needed, verdicts)
    for look in records.look_seeds():
        diffs = [paired_difference(records, c.with_fix, c.without_fix, metric,
                                   within=set(look.get(c.with_fix, ()))
                                   & set(look.get(c.without_fix, ()))) for c in found]
        sig, need = family_decisions(diffs, families, procedure, level)
        words = [decide(d, margin, level, bool(s), equivalence_alpha=level)
                 for d, s in zip(diffs, sig)]
        by_look.append((diffs, sig, need, words))
    decided_at = sequential.first_decided([words for *_, words in by_look], len(found))
    # the deciding look's estimate and test, else the last look's
    kept = [by_look[(j or len(by_look)) - 1] for j in decided_at]
    chosen = [look[0][k] for k, look in enumerate(kept)]
    significant = np.array([look[1][k] for k, look in enumerate(kept)], dtype=bool)
    needed = np.array([look[2][k] for k, look in enumerate(kept)], dtype=float)
    return MetricDecisions(chosen, significant, needed, level, decided_at)


def effects_table(records: GridRecords, margin: float = DEFAULT_MARGIN,
                  procedure: str = multiplicity.DEFAULT, alpha: float = ALPHA,
                  found: list[Comparison] | None = None) -> pd.DataFrame:
    """The effect of each fix, worded as "what adding the fix does", in both directions, on
    every metric, with its verdict adjusted for multiplicity: each metric's comparisons are a
    family of their own (the placebo stands outside every family). In an ``--until-decided``
    grid every look is tested at alpha / K and the first deciding look's verdict is kept.
    ``found``: other comparisons than the fixes' (:func:`comparisons`), judged by the same
    rule (the aggregators' section, :mod:`harness.report.aggregators`)."""
    found = comparisons(records) if found is None else found
    if not found:   # no pair of variants differing by one fix was run
        return pd.DataFrame(columns=["fix", "axis", "direction", "with_fix", "without_fix",
                                     "verdict", "pairs"])
    statuses = lambda v: list(records.runs(v).status)
    families = [c.family for c in found]
    decide_metric = (_sequential_decisions if records.sequential is not None
                     else _fixed_design_decisions)
    decisions = {m: decide_metric(records, found, m, families, procedure, alpha, margin)
                 for m in METRICS}
    max_seeds = int((records.sequential or {}).get("max_seeds", 100))
    rows = []
    for k, c in enumerate(found):
        fix_statuses, base_statuses = statuses(c.with_fix), statuses(c.without_fix)
        row = {"fix": c.fix, "axis": c.axis, "direction": c.direction,
               "with_fix": c.with_fix, "without_fix": c.without_fix, "family": c.family}
        for metric in METRICS:
            made = decisions[metric]
            d, significant, level = made.estimates[k], made.significant[k], made.needed[k]
            word = verdict(d, fix_statuses, base_statuses, margin, bool(significant),
                           made.level)
            row[f"d_{metric}"], row[f"d_{metric}_low"], row[f"d_{metric}_high"] = (
                d.mean, d.low, d.high)
            row[f"d_{metric}_p"] = d.p_value()
            row[f"v_{metric}"] = word
            row[f"small_{metric}"] = small_real_effect(d, word, bool(significant))
            if metric == PRIMARY:
                needed = (seeds_needed(d, margin, max_seeds, alpha=level)
                          if word == UNDECIDED else None)
                row.update({
                    "metric": metric, "verdict": word,
                    "verdict_unadjusted": verdict(d, fix_statuses, base_statuses, margin,
                                                  alpha=alpha),
                    "multiplicity": procedure if c.family != "placebo" else "none",
                    "family_size": (multiplicity.family_size(
                        [e.p_value() for e, f in zip(made.estimates, families)
                         if f == c.family])),
                    "test_level": made.level,
                    "decided_at_look": (made.decided_at[k] if made.decided_at[k] is not None
                                        else math.nan),
                    "split": "held-out", "pairs": d.n,
                    "seeds_needed": needed if needed is not None else math.nan,
                    "level_needed": level,
                    "d_step_acc_seed_half": d.seed_half,
                    "d_step_acc_heldout_half": d.heldout_half,
                    "d_step_acc_df": d.df, "episodes": d.episodes,
                    "d_step_acc_equivalence_p": d.equivalence_p(margin),
                    "verdict_detail": describe_verdict(
                        d, word, margin, needed, max_seeds, metric=METRICS[metric],
                        small_effect=row[f"small_{metric}"], alpha=level)})
        t_with, t_without = (_median(records, c.with_fix, "step_time_s"),
                             _median(records, c.without_fix, "step_time_s"))
        row["step_time_ratio"] = t_with / t_without if t_without else math.nan
        m_with, m_without = (_median(records, c.with_fix, "peak_memory_mb"),
                             _median(records, c.without_fix, "peak_memory_mb"))
        row["d_peak_memory_mb"] = m_with - m_without
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- claims

def per_variant_fact(records: GridRecords, path: tuple[str, ...]) -> pd.DataFrame:
    """A run-level fact (status.json "facts") for every run: variant, seed, value."""
    rows = []
    for (variant, seed), facts in records.facts.items():
        value = facts
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        rows.append({"variant": variant, "seed": seed, "value": value})
    return pd.DataFrame(rows)


def flops_by_variant(records: GridRecords) -> pd.Series:
    """FLOPs per training step, median over a variant's runs (variants in grid order)."""
    flops = per_variant_fact(records, ("flops_per_step",))
    if flops.empty:
        return pd.Series(dtype=float, name="FLOPs per step")
    flops["value"] = pd.to_numeric(flops["value"])     # None (not counted) -> NaN
    return flops.groupby("variant", sort=False)["value"].median().rename("FLOPs per step")


def clip_table(records: GridRecords) -> pd.DataFrame:
    rows = []
    for variant in records.variant_names():
        runs = records.runs(variant)
        norm = records.step_values(variant, GRAD_NORM)["value"]
        rows.append({"variant": variant, "clip_norm": records.design(variant)["clip_norm"],
                     "share of steps clipped": float(summary_column(runs, "clip_rate").mean()),
                     "global gradient norm (median, before clipping)":
                         float(norm.median()) if len(norm) else math.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- anomalies

def deviations_table() -> pd.DataFrame:
    from harness.deviations import DEVIATIONS
    return pd.DataFrame([{"where": d.place, "the code as written": d.literal,
                          "the harness": d.harness, "why": d.why, "measured in": d.measured,
                          "implemented in": d.function} for d in DEVIATIONS])


def scheduler_events_table(records: GridRecords) -> pd.DataFrame:
    """Every learning-rate change the epoch schedulers made, with its cause."""
    rows = []
    for (variant, seed), facts in records.facts.items():
        for event in facts.get("scheduler_events") or []:
            rows.append({"variant": variant, "seed": seed, **event})
    columns = ["variant", "seed", "epoch", "step", "scheduler", "cause", "val_loss",
               "lr_before", "lr_after", "undone_by_warmup"]
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return frame[columns]


def failed_runs(records: GridRecords) -> pd.DataFrame:
    s = records.summary
    bad = s[s.status.isin(["failed", "diverged", "interrupted", "missing"])]
    return bad[[c for c in ("variant", "seed", "status", "message", "steps_done", "diverged_at")
                if c in bad.columns]].reset_index(drop=True)


def zero_lr_spans(records: GridRecords) -> pd.DataFrame:
    """Spans of consecutive steps at learning rate 0 (the per-epoch warmup's first epoch)."""
    rows = []
    for (variant, seed), frame in records.metric(LR).groupby(["variant", "seed"], sort=False):
        steps = frame.sort_values("step")
        zero = steps[steps.value == 0].step.to_numpy()
        if len(zero):
            breaks = np.flatnonzero(np.diff(zero) != 1)
            starts = np.r_[zero[0], zero[breaks + 1]]
            ends = np.r_[zero[breaks], zero[-1]]
            for a, b in zip(starts, ends):
                rows.append({"variant": variant, "seed": seed, "first step": int(a),
                             "last step": int(b), "steps": int(b - a + 1),
                             "share of run": (b - a + 1) / len(steps)})
    return pd.DataFrame(rows)


#: Tables of the training loop's own records and facts; every other measurement table is an
#: instrument's (:func:`harness.instruments.registry.tables`).
LOOP_TABLES = {"clipping": clip_table, "zero_lr_spans": zero_lr_spans,
               "scheduler_events": scheduler_events_table}


def claim_measurements(records: GridRecords) -> dict[str, pd.DataFrame]:
    """The measurements the claims are answered from, computed once for both the claim
    sections and the CSV tables (keys are the tables' file names without ``.csv``): every
    registered instrument's tables, and those of the training loop's own records."""
    measured = {name: table.build(records) for name, table in registry.tables().items()}
    for name, build in LOOP_TABLES.items():
        if name in measured:
            raise registry.InstrumentRegistryError(
                f"an instrument's table is named {name!r}, as one of the report's own")
        measured[name] = build(records)
    return measured


# --------------------------------------------------------------------------- --search

#: What a search.json without "metric" (before --search-metric) maximised.
PRIMARY_SEARCH_METRIC = "step_acc"


def _search_json(root) -> dict | None:
    path = Path(root) / SEARCH_JSON
    return read_json(path) if path.is_file() else None


def search_path(root) -> pd.DataFrame | None:
    """The greedy search's path (``search.json``): every round's candidates with their paired
    gain in the search's metric (column ``metric``: step accuracy unless ``--search-metric``
    said otherwise) over that round's design, on the selection split, on the screening seed(s)
    (``screen_d``) and, for the finalists, on every seed with its interval (``d``); the one
    kept; the leave-one-out checks. None when the folder holds no search."""
    search = _search_json(root)
    if search is None:
        return None
    metric = search.get("metric", PRIMARY_SEARCH_METRIC)
    rows = []
    for number, round_ in enumerate(search.get("rounds", []), start=1):
        chosen = (round_.get("chosen") or {}).get("variant")
        for c in round_.get("candidates", []):
            rows.append({"round": str(number), "from": round_["current"], "axis": c["axis"],
                         "value": c["value"],
                         "screen_d": _search_d(c, "screen_d_step_acc", "screen_d"),
                         "finalist": c.get("finalist", True),
                         "d": _search_d(c, "d_step_acc", "d"),
                         "low": c["low"], "high": c["high"],
                         "kept": c["variant"] == chosen})
    for c in search.get("leave_one_out", []):
        rows.append({"round": "leave-one-out", "from": c["without"], "axis": c["axis"],
                     "value": c["value"], "screen_d": None, "finalist": True,
                     "d": _search_d(c, "d_step_acc", "d"), "low": c["low"],
                     "high": c["high"], "kept": not c["removed"]})
    frame = pd.DataFrame(rows, columns=["round", "from", "axis", "value", "screen_d",
                                        "finalist", "d", "low", "high", "kept"])
    for column in ("screen_d", "d", "low", "high"):
        frame[column] = pd.to_numeric(frame[column])
    frame.insert(4, "metric", metric)
    return frame


def _search_d(row: dict, step_acc_name: str, name: str):
    """A search.json difference: the step-accuracy name (every search before
    ``--search-metric``, and the default metric), else the metric-neutral one."""
    value = row.get(step_acc_name)
    return value if value is not None else row.get(name)


def search_confirmation(root) -> pd.DataFrame | None:
    """The search's choices on the selection split beside their confirmation on fresh seeds on
    the held-out split (``search.json`` "confirmation"): each kept change, the final design
    against ``original`` and against ``corrected``, in the search's metric. The gap between the
    two columns is the winner's curse. None for a search without a confirmation."""
    search = _search_json(root)
    confirmation = (search or {}).get("confirmation")
    if not confirmation:
        return None
    row = lambda comparison, selection, confirmed: {
        "comparison": comparison,
        **{f"selection_{k}": (selection or {}).get(k) for k in ("d", "low", "high")},
        "selection_seeds": (selection or {}).get("seeds"),
        **{f"confirmation_{k}": (confirmed or {}).get(k) for k in ("d", "low", "high")},
        "confirmation_seeds": (confirmed or {}).get("seeds")}
    rows = [row(f"{c['from']} + {c['axis']}={c['value']}"
                + (" (dropped by leave-one-out)" if c.get("dropped_by_leave_one_out") else ""),
                c.get("selection"), c.get("confirmation"))
            for c in confirmation.get("kept_changes", [])]
    final = search["final"]["variant"]
    rows.append(row(f"{final} - original", None, confirmation.get("final_against_original")))
    against = search.get("against_corrected") or {}
    rows.append(row(f"{final} - corrected",
                    against.get("selection"), against.get("confirmation")))
    frame = pd.DataFrame(rows)
    numeric = [c for c in frame.columns if c != "comparison"]
    frame[numeric] = frame[numeric].apply(pd.to_numeric)
    return frame


def search_final(root) -> dict | None:
    search = _search_json(root)
    return None if search is None else {**search["final"], "rounds": len(search["rounds"]),
                                        "seconds": search.get("seconds"),
                                        "screening": search.get("screening"),
                                        "seeds": search.get("seeds"),
                                        "metric": search.get("metric", PRIMARY_SEARCH_METRIC),
                                        "confirmation_seeds": (search.get("confirmation")
                                                               or {}).get("seeds"),
                                        "against_corrected": search.get("against_corrected")}
