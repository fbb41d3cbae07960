"""The report's opening section: what this run's records say, in sentences generated from its
measurements (never written in advance). A finding whose evidence is not in the records is
left out, so a partial grid gets fewer findings, not wrong ones.

Each finding names its numbers and links to the table or plot they come from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.design import AXES
from harness.report import analysis as A
from harness.report import multiplicity
from harness.report.load import GridRecords
from harness.report.recommend import recommend, rule_text
from harness.report.stats import (CRASHES, DEFAULT_MARGIN, DIVERGES, EQUIVALENT, HELPS, HURTS,
                                  UNDECIDED, Estimate)

#: The order of the sections; a section without findings is not shown.
SECTIONS = ("What breaks the original design", "What breaks the fixed design",
            "The review's fixes, one at a time", "What the fixes cost",
            "The best design measured", "Recommended design")

#: A coordinate loss "dominates" when it supplies at least this share of the squared gradient
#: norm on the shared encoder (the three heads' shares add up to 1).
DOMINANT_SHARE = 0.5
#: A head is "starved" when its gradient is exactly zero on at least this share of steps.
STARVED_SHARE = 0.5


@dataclass(frozen=True)
class Finding:
    section: str
    text: str
    link: str      # the id of the report element that holds the evidence


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if math.isfinite(x) else "n/a"


def _span(values, fmt=_pct) -> str:
    """"40%" for one value (or equal ones), "40%-60%" for a range."""
    lo, hi = min(values), max(values)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}-{fmt(hi)}"


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _interval(e: Estimate, signed: bool = True) -> str:
    sign = "+" if signed else ""
    if not math.isfinite(e.mean):
        return "n/a"
    if not e.has_interval:
        return f"{e.mean:{sign}.3f} (no interval)"
    return f"{e.mean:{sign}.3f} [{e.low:{sign}.3f}, {e.high:{sign}.3f}]"


def _names(variants) -> str:
    variants = list(dict.fromkeys(variants))
    if len(variants) <= 4:
        return ", ".join(variants)
    return ", ".join(variants[:3]) + f" and {len(variants) - 3} more"


# --------------------------------------------------------------------------- the designs

def coordinate_dominance(records: GridRecords, variant: str) -> dict | None:
    """For one variant: the coordinate loss's share of the squared gradient norm on the shared
    encoder (median over probe steps and seeds), and the median global gradient norm before
    clipping; None without probe records."""
    norms = {t: records.step_values(variant, f"probe/shared_grad_norm/{t}")
             for t in ("action", "query", "coord")}
    if any(frame.empty for frame in norms.values()):
        return None
    keyed = {t: f.set_index(["seed", "step"])["value"] for t, f in norms.items()}
    joined = pd.DataFrame(keyed).dropna()
    energy = (joined ** 2).sum(axis=1)
    share = (joined["coord"] ** 2 / energy.where(energy > 0)).dropna()
    ratio = (joined["coord"] / joined["action"].where(joined["action"] > 0)).dropna()
    grad = records.step_values(variant, "grad_norm")["value"].dropna()
    if share.empty or grad.empty:
        return None
    return {"share": float(share.median()), "ratio": float(ratio.median()) if len(ratio)
            else math.nan, "grad_norm": float(grad.median()),
            "clip_norm": records.design(variant).get("clip_norm")}


def _unit_mismatch(records: GridRecords, measured: dict, variant: str) -> str | None:
    """The sigmoid's (0, 1) against the coordinate targets (the target-range audit of
    ``measured``), and the loss sizes that follow."""
    audits = measured.get("target_range", pd.DataFrame())
    audit = audits[audits.variant == variant] if not audits.empty else audits
    losses = {t: records.step_values(variant, f"loss/{t}")["value"].dropna()
              for t in ("action", "coord")}
    if audit.empty or any(v.empty for v in losses.values()):
        return None
    outside = audit.iloc[0]["DUAL_POINT targets outside (0, 1)"]
    if outside is None or not outside > 0:
        return None
    return (f"{variant}: its coordinate head ends in a sigmoid, whose outputs lie in (0, 1), "
            f"but {_pct(outside)} of its DUAL_POINT targets lie outside that range (largest "
            f"{audit.iloc[0]['DUAL_POINT target max']:.4g}): the coordinate loss is "
            f"{losses['coord'].median():.3g} (median over steps) against "
            f"{losses['action'].median():.3g} for the action loss, and no prediction can "
            f"bring it down.")


def _original_findings(records: GridRecords, measured: dict) -> list[Finding]:
    out = []
    names = records.variant_names()
    if "original" not in names:
        return out
    section = SECTIONS[0]
    units = _unit_mismatch(records, measured, "original")
    if units:
        out.append(Finding(section, units, "claim-5"))
    dom = coordinate_dominance(records, "original")
    if dom is not None:
        clip = dom["clip_norm"]
        scale = (f"; clipping at {clip:g} then scales every head's gradient by about "
                 f"{clip / dom['grad_norm']:.2g} on a typical step"
                 if clip and dom["grad_norm"] > clip else "")
        if dom["share"] >= DOMINANT_SHARE:
            text = (f"original: the coordinate loss dominates the gradient. On the shared "
                    f"encoder it supplies {_pct(dom['share'])} of the squared gradient norm "
                    f"(median over probe steps; its gradient is {dom['ratio']:.3g}x the action "
                    f"head's), and the global gradient norm before clipping is "
                    f"{dom['grad_norm']:.3g} (median){scale}.")
        else:
            text = (f"original: the coordinate loss supplies {_pct(dom['share'])} of the squared "
                    f"gradient norm on the shared encoder (median over probe steps); the global "
                    f"gradient norm before clipping is {dom['grad_norm']:.3g} (median){scale}.")
        out.append(Finding(section, text, "claim-6"))
        if "original+normalized_coords" in names:
            fixed_units = coordinate_dominance(records, "original+normalized_coords")
            if fixed_units is not None:
                out.append(Finding(section, (
                    f"With coordinates divided by the screen size (original+normalized_coords) "
                    f"that share is {_pct(fixed_units['share'])} and the median gradient norm "
                    f"{fixed_units['grad_norm']:.3g}."), "claim-5"))
    base = _baseline_comparison(records, "original", "step_acc")
    if base is not None:
        out.append(Finding(section, (
            f"original's AitW step accuracy against the trivial baseline on the same held-out "
            f"steps: {_interval(base)}."), "summary"))
    return out


def zero_lr_findings(measured: dict) -> list[Finding]:
    spans = measured.get("zero_lr_spans", pd.DataFrame())
    if spans.empty:
        return []
    first = spans[spans["first step"] == 0]
    if first.empty:
        return []
    steps = int(first["steps"].median())
    share = float(first["share of run"].median())
    variants = list(first.variant.unique())
    return [Finding(SECTIONS[1], (
        f"The per-epoch warmup holds the learning rate at exactly 0 for the whole first epoch: "
        f"steps 0-{steps - 1} ({steps} steps, {_pct(share)} of each run) in "
        f"{_n(len(variants), 'variant')}: {_names(variants)}. Nothing is learned in that epoch."),
        "zero-lr-table")]


def starvation_findings(records: GridRecords, measured: dict) -> list[Finding]:
    """Heads routed by the predicted action: how often their gradient is exactly zero (the
    rows they ran on come from the routing table of ``measured``)."""
    routing = measured.get("routing", pd.DataFrame())
    rows = []
    for _, row in routing.iterrows():
        # the routing table has every routed variant; routing by the target in training
        # (corrected) runs the decoder on every TYPE row and is not what this finding is about
        if records.design(row.variant).get("routing") != "predicted":
            continue
        grad = records.step_values(row.variant, "grad_norm/query_decoder")["value"].dropna()
        if len(grad):
            rows.append((row.variant, float((grad == 0).mean()),
                         float(row["query head rows (mean share)"])))
    if not rows:
        return []
    starved = [r for r in rows if r[1] >= STARVED_SHARE]
    shares = [r[1] for r in rows]
    ran = [r[2] for r in rows if math.isfinite(r[2])]
    if starved:
        text = (f"Routing by the predicted action starves the query decoder: its gradient is "
                f"exactly zero on {_span(shares)} of training steps in "
                f"the {_n(len(rows), 'variant')} that route ({_names(r[0] for r in rows)}), because "
                f"it runs only on rows predicted TYPE ({_pct(np.mean(ran)) if ran else 'n/a'} of "
                f"rows on average).")
    else:
        text = (f"Under routing by the predicted action the query decoder's gradient is exactly "
                f"zero on {_span(shares)} of training steps ({_n(len(rows), 'variant')}).")
    return [Finding(SECTIONS[1], text, "claim-4")]


def nonfinite_findings(records: GridRecords) -> list[Finding]:
    """Non-finite losses, and learning-rate cuts that NaN validation losses caused."""
    out = []
    by_term: dict[str, list] = {}
    for (variant, _), facts in records.facts.items():
        for key, count in (facts.get("nonfinite_counts") or {}).items():
            term, consequence = key.split(":")
            by_term.setdefault(term, []).append((variant, count, consequence))
    for term, hits in sorted(by_term.items()):
        variants = [v for v, _, _ in hits]
        counts = [c for _, c, _ in hits]
        consequences = sorted({c for _, _, c in hits})
        out.append(Finding(SECTIONS[1], (
            f"The {term} loss is not finite on {_span(counts, str)} training steps per run in "
            f"{_n(len(set(variants)), 'variant')} ({_names(variants)}); what happened to it: "
            f"{', '.join(consequences)} (skipped: not back-propagated; survived: "
            f"back-propagated with a finite gradient; propagated: the gradient became "
            f"non-finite)."), "nonfinite-table"))
    cuts, undone, nan_evals = [], [], []
    for (variant, seed), facts in records.facts.items():
        for event in facts.get("scheduler_events") or []:
            if event.get("scheduler") == "ReduceLROnPlateau" and not event.get(
                    "val_loss_finite", True):
                (undone if event.get("undone_by_warmup") else cuts).append(
                    (variant, seed, event["epoch"]))
    for variant in records.variant_names():
        losses = records.step_values(variant, "val/val_loss")["value"]
        if len(losses) and losses.isna().any():
            nan_evals.append((variant, float(losses.isna().mean())))
    if nan_evals:
        out.append(Finding(SECTIONS[1], (
            f"The validation loss that ReduceLROnPlateau reads is NaN at "
            f"{_span([s for _, s in nan_evals])} of epoch ends in "
            f"{_n(len(nan_evals), 'variant')} ({_names(v for v, _ in nan_evals)}): a NaN never "
            f"counts as an improvement."), "scheduler-table"))
    if cuts:
        epochs = sorted({e for _, _, e in cuts})
        out.append(Finding(SECTIONS[1], (
            f"NaN validation losses made ReduceLROnPlateau cut the learning rate 10x in "
            f"{_n(len({(v, s) for v, s, _ in cuts}), 'run')} of "
            f"{_n(len({v for v, _, _ in cuts}), 'variant')} ({_names(v for v, _, _ in cuts)}), "
            f"at the end of epoch {', '.join(map(str, epochs))} (epochs counted from 0)."),
            "scheduler-table"))
    if undone:
        out.append(Finding(SECTIONS[1], (
            f"In {_n(len({(v, s) for v, s, _ in undone}), 'run')} with the per-epoch warmup "
            f"({_names(v for v, _, _ in undone)}) such a cut was undone at once: LambdaLR "
            f"rewrites the learning rate after the plateau scheduler at every epoch end."),
            "scheduler-table"))
    return out


def agreement_findings(measured: dict) -> list[Finding]:
    table = measured.get("backward_agreement", pd.DataFrame())
    if table.empty:
        return []
    worst = float(table["rel_diff"].max())
    if worst < 1e-4:
        text = (f"One backward of the weighted total and one backward per head give the same "
                f"gradient on the same weights and batch: the largest relative difference over "
                f"{_n(len(table), 'run')} is {worst:.1e}, float rounding. The number of backward "
                f"passes cannot create gradient conflicts.")
    else:
        text = (f"One backward and per-head backward passes differ on the same weights and "
                f"batch: relative difference up to {worst:.2e} over {_n(len(table), 'run')}.")
    return [Finding(SECTIONS[2], text, "claim-3")]


# --------------------------------------------------------------------------- the fixes

def _is_noop(row) -> bool:
    return (row["d_step_acc"] == 0 and row.get("d_step_acc_low") == 0
            and row.get("d_step_acc_high") == 0)


def _family_text(effects: pd.DataFrame) -> str:
    """'a family of N comparisons, adjusted by ...' from the effects table's columns."""
    if "multiplicity" not in effects or effects.empty:
        return "each comparison tested on its own"
    return multiplicity.describe(str(effects["multiplicity"].iloc[0]),
                                 int(effects["family_size"].iloc[0]))


def verdict_findings(effects: pd.DataFrame, margin: float) -> list[Finding]:
    if effects.empty or "verdict" not in effects:
        return []
    is_placebo = (effects["family"] == "placebo" if "family" in effects
                  else pd.Series(False, index=effects.index))
    placebo, effects = effects[is_placebo], effects[~is_placebo]
    out = []
    label = lambda r: f"{r['fix']} ({r['direction']})"
    interval = lambda r: (f"{r['d_step_acc']:+.3f} [{r['d_step_acc_low']:+.3f}, "
                          f"{r['d_step_acc_high']:+.3f}]" if math.isfinite(r["d_step_acc_low"])
                          else f"{r['d_step_acc']:+.3f}")
    small = lambda r: bool(r.get("small_step_acc", False))
    within = f"within +-{margin:g}"
    family = _family_text(effects)
    groups = [(HELPS, ("helps", "help")), (HURTS, ("hurts", "hurt")),
              (EQUIVALENT, (f"is equivalent ({within}, two one-sided tests at 5%)",
                            f"are equivalent ({within}, two one-sided tests at 5%)")),
              (CRASHES, ("crashes", "crash")), (DIVERGES, ("diverges", "diverge"))]
    for word, verb in groups:
        rows = [r for _, r in effects.iterrows() if r["verdict"] == word and
                not (word == EQUIVALENT and _is_noop(r))]
        if rows:
            out.append(Finding(SECTIONS[2], (
                f"Step accuracy: {_n(len(rows), 'fix comparison')} {verb[len(rows) > 1]} "
                f"(difference with its unadjusted 95% interval; decisions from {family}): "
                + "; ".join(f"{label(r)} {interval(r)}"
                            + (f", a small real effect ({r['d_step_acc']:+.3f})" if small(r)
                               else "") for r in rows) + "."),
                "effects-table"))
    noops = [r for _, r in effects.iterrows() if _is_noop(r)]
    if noops:
        out.append(Finding(SECTIONS[2], (
            "No-ops (not one held-out prediction changed, on any seed): "
            + "; ".join(label(r) for r in noops) + "."), "effects-table"))
    undecided = [r for _, r in effects.iterrows() if r["verdict"] == UNDECIDED]
    if undecided:
        parts = []
        for r in undecided:
            needed = r.get("seeds_needed")
            if r["pairs"] < 2:
                more = "needs at least two seeds for an interval"
            elif needed == needed and needed:
                more = f"about {int(needed)} seeds would decide"
            else:
                more = "not reachable with more seeds"
            parts.append(f"{label(r)} {interval(r)}, {more}")
        out.append(Finding(SECTIONS[2], (
            f"Step accuracy: {_n(len(undecided), 'comparison')} undecided at this budget "
            f"(seeds projected at the level the multiplicity procedure would need): "
            + "; ".join(parts) + "."), "effects-table"))
    out.extend(placebo_findings(placebo, margin))
    return out


def placebo_findings(placebo: pd.DataFrame, margin: float) -> list[Finding]:
    """The noise floor: the fixed design under a second noise stream against fixed. It should
    read equivalent or undecided; anything else is an alarm (about 5% of reports by chance)."""
    if placebo.empty:
        return []
    r = placebo.iloc[0]
    if not math.isfinite(r["d_step_acc_low"]):
        return []
    interval = f"{r['d_step_acc']:+.3f} [{r['d_step_acc_low']:+.3f}, {r['d_step_acc_high']:+.3f}]"
    if r["verdict"] in (EQUIVALENT, UNDECIDED):
        text = (f"Noise floor: the fixed design against itself under a second noise stream "
                f"(dropout and batch order salted; same data and initial weights), step "
                f"accuracy {interval}: {r['verdict']}, as a comparison with no real difference "
                f"should read.")
    else:
        text = (f"ALARM, noise floor: the fixed design against itself under a second noise "
                f"stream reads '{r['verdict']}' ({interval}) although nothing differs but "
                f"dropout and batch order. About 5% of reports show this by chance; if it "
                f"repeats, the intervals are too narrow for this data and the verdicts above "
                f"should not be trusted.")
    return [Finding(SECTIONS[2], text, "effects-table")]


def sequential_findings(records: GridRecords, effects: pd.DataFrame) -> list[Finding]:
    """``--until-decided``: which comparisons got more seeds, how many, why, and how each
    ended; and the level every look was tested at, the price of looking more than once."""
    record = records.sequential
    if not record:
        return []
    looks = record["looks"]
    planned, level = int(record["looks_planned"]), float(record["level"])
    ended = {f"{r['fix']} ({r['direction']})": r for _, r in effects.iterrows()}
    parts = []
    for j, look in enumerate(looks[1:], start=2):
        for entry in look.get("added", []):
            r = ended.get(entry["comparison"])
            if entry["to"] <= entry["from"]:
                parts.append(f"{entry['comparison']}: no seeds added at look {j}, "
                             f"{entry['why']}")
                continue
            if r is not None and r["decided_at_look"] == r["decided_at_look"]:
                end = f"decided at look {int(r['decided_at_look'])}: {r['verdict']}"
            else:
                end = f"still {r['verdict'] if r is not None else 'undecided'}"
            parts.append(f"{entry['comparison']}: {entry['from']} -> {entry['to']} seeds at "
                         f"look {j} ({entry['why']}; {end})")
    head = (f"Seeds added where they decide (--until-decided {record['budget_minutes']:g} "
            f"min): {len(looks)} of {planned} planned looks made, every look tested at "
            f"{level:.2%} (5% / {planned}) so that looking {planned} times keeps the error "
            f"rates; a comparison keeps the verdict of the first look that decided it; "
            f"stopped: {record.get('stopped', 'interrupted')}.")
    text = head + (" " + "; ".join(parts) + "." if parts else " No comparison got more seeds.")
    return [Finding(SECTIONS[2], text, "effects-table")]


def cost_findings(effects: pd.DataFrame, flops: pd.Series | None = None,
                  threshold: float = 0.10) -> list[Finding]:
    """What each fix costs: FLOPs per training step (exact, counted once per variant) and the
    measured step time (median over runs; two runs share the CPU, so it is noisier)."""
    if effects.empty or "step_time_ratio" not in effects:
        return []
    flops = flops if flops is not None else pd.Series(dtype=float)

    def flops_ratio(r) -> float:
        a, b = flops.get(r["with_fix"]), flops.get(r["without_fix"])
        return a / b if a and b and math.isfinite(a) and math.isfinite(b) else math.nan

    rows = []
    for _, r in effects.iterrows():
        if r.get("family") == "placebo":     # the same design: no cost to speak of
            continue
        time_ratio, work_ratio = r["step_time_ratio"], flops_ratio(r)
        moved = [x for x in (time_ratio, work_ratio) if math.isfinite(x)]
        if moved and max(abs(x - 1) for x in moved) >= threshold:
            rows.append((r, time_ratio, work_ratio))
    if not rows:
        return []
    rows.sort(key=lambda t: -max(abs(math.log(x)) for x in (t[1], t[2]) if math.isfinite(x)))
    parts = []
    for r, time_ratio, work_ratio in rows:
        cost = [f"{work_ratio:.2f}x the FLOPs"] if math.isfinite(work_ratio) else []
        cost += [f"{time_ratio:.2f}x the step time"] if math.isfinite(time_ratio) else []
        parts.append(f"{r['fix']} ({r['direction']}) {', '.join(cost)}")
    return [Finding(SECTIONS[3], (
        "A training step with the fix over one without it (FLOPs of the first training step, "
        "counted once per variant: with routing by the predicted action they depend on what "
        "the untrained model predicts; step time the median over runs, measured with two runs "
        f"sharing the CPU; changes under {_pct(threshold)} in both left out): "
        + "; ".join(parts) + "."),
        "cost-choices-table")]


# --------------------------------------------------------------------------- the best design

def _baseline_comparison(records: GridRecords, variant: str, metric: str) -> Estimate | None:
    e = A.against_baseline(records, variant, metric)
    return e if math.isfinite(e.mean) else None


# Each head on its own target rows, whatever action is predicted: the end-to-end text F1 scores
# the typed text only where TYPE is predicted, and the majority-action baseline never predicts
# it, so its text F1 is 0 by construction; on the TYPE rows it types the most frequent text.
HEAD_METRICS = (("action head", "action_acc", "action accuracy"),
                ("coordinate head", "head_tap_acc", "tap accuracy on taps"),
                ("typed-text head", "head_text_f1", "typed-text word F1 on TYPE steps"))


def ranked_complete(summary: pd.DataFrame) -> pd.DataFrame:
    """Variants whose every run finished ok, best step accuracy first (empty if none)."""
    if summary.empty or A.PRIMARY not in summary:
        return summary.iloc[0:0]
    complete = summary[(summary.runs_ok > 0) & (summary.runs_failed == 0)
                       & (summary.runs_diverged == 0)].dropna(subset=[A.PRIMARY])
    return complete.sort_values(A.PRIMARY, ascending=False)


def best_findings(records: GridRecords, summary: pd.DataFrame) -> list[Finding]:
    ranked = ranked_complete(summary)
    if ranked.empty:
        return []
    best = ranked.iloc[0]
    section = SECTIONS[4]
    low, high = best[A.PRIMARY + "_low"], best[A.PRIMARY + "_high"]
    bounds = (f" [{low:.3f}, {high:.3f}]" if math.isfinite(low) and math.isfinite(high)
              else " (one seed: no interval)")
    text = (f"Best measured design: {best.variant}, AitW step accuracy "
            f"{best[A.PRIMARY]:.3f}{bounds} over {_n(int(best.runs_ok), 'seed')}.")
    if len(ranked) > 1:
        second = ranked.iloc[1]
        d = A.paired_difference(records, best.variant, second.variant, A.PRIMARY)
        text += (f" Against the runner-up {second.variant} (paired by seed and held-out "
                 f"step): {_interval(d)}"
                 + (", a clear lead." if d.has_interval and d.low > 0 else
                    ", not a clear lead: the interval includes zero." if d.has_interval
                    else "."))
    out = [Finding(section, text, "summary")]
    heads = []
    for head, metric, label in HEAD_METRICS:
        e = _baseline_comparison(records, best.variant, metric)
        if e is None:
            continue
        if e.has_interval and e.low > 0:
            verdict = "above the trivial baseline"
        elif e.has_interval and e.high < 0:
            verdict = "below the trivial baseline"
        else:
            verdict = "not distinguishable from the trivial baseline at this budget"
        heads.append(f"{head} ({label}) {_interval(e)}: {verdict}")
    if heads:
        out.append(Finding(section, (
            f"{best.variant} against the trivial baseline on the same held-out steps (paired "
            f"difference, 95% interval): " + "; ".join(heads) + "."), "summary"))
    return out


# --------------------------------------------------------------------------- recommended

def in_review(design: dict) -> bool:
    """A design that uses only values of the user's code and the review (an axis missing from
    a design's record is at its original value)."""
    return all(axis.reason_not_in_review(design.get(name, axis.original)) is None
               for name, axis in AXES.items())


def _difference_text(records: GridRecords, best: str, other: str) -> str:
    d = A.paired_difference(records, best, other, A.PRIMARY)
    if not math.isfinite(d.mean):
        return f"against {other}: no pair of finished runs"
    if d.has_interval and d.low > 0:
        word = "better"
    elif d.has_interval and d.high < 0:
        word = "worse"
    else:
        word = "not distinguishable" if d.has_interval else "one seed, no interval"
    return f"against {other} {_interval(d)} ({word})"


def _step_cost(records: GridRecords, summary: pd.DataFrame, best: str, flops: pd.Series,
               others: list[str]) -> str:
    times = summary.set_index("variant")["step_time_s"] if "step_time_s" in summary else None
    t = times.get(best) if times is not None else None
    if t is None or not math.isfinite(t):
        return ""
    parts = [f"{t * 1000:.0f} ms per training step (median)"]
    for other in others:
        o = times.get(other)
        if o is not None and math.isfinite(o) and o > 0:
            parts.append(f"{t / o:.2f}x {other}'s")
    def finite(v) -> bool:
        return v is not None and math.isfinite(v) and v > 0
    f_best = flops.get(best) if flops is not None else None
    ratios = [f"{f_best / flops[o]:.2f}x {o}'s" for o in others
              if finite(f_best) and finite(flops.get(o))]
    text = "Cost: " + ", ".join(parts)
    if ratios:
        text += "; FLOPs of its first step " + ", ".join(ratios)
    return text + " (step times from worker processes sharing the CPU are noisy; the " \
                  "benchmarks are the clean cost numbers)."


def _richer_text(records: GridRecords, chosen: str, richer) -> str:
    """What each richer design within the margin adds over the chosen one on the held-out
    typed text and taps (confirmation data: read after the choice, never by it)."""
    parts = []
    for c in richer:
        adds = []
        for metric, label in (("head_text_f1", "typed-text F1 on TYPE steps"),
                              ("head_tap_acc", "tap accuracy on taps")):
            d = A.paired_difference(records, c.variant, chosen, metric)
            adds.append(f"{label} {_interval(d)}" if math.isfinite(d.mean)
                        else f"{label} n/a")
        parts.append(f"{c.variant} ({_n(c.changes, 'change')}): " + ", ".join(adds))
    return ("What each richer design within the margin adds over it on the held-out split "
            "(paired difference, 95% interval): " + "; ".join(parts) + ".")


def recommended_findings(records: GridRecords, summary: pd.DataFrame,
                         flops: pd.Series | None = None,
                         margin: float = DEFAULT_MARGIN) -> list[Finding]:
    """The simplest design as good as the best, chosen by :mod:`harness.report.recommend` on
    the selection split only; then its confirmation (held-out) comparisons against the
    original and the fixed design, what each richer design within the margin adds on typed
    text and taps, and its cost per step. Without selection scores: no recommendation, and a
    sentence saying why (never a fall-back to the held-out split)."""
    rec = recommend(records, margin)
    if rec.chosen is None:
        if rec.without_selection:
            return [Finding(SECTIONS[5], (
                f"No recommendation: the rule ({rule_text(margin)}) needs each run's "
                f"selection scores, and {rec.reason}."), "summary")]
        return []
    chosen = rec.candidate(rec.chosen)
    names = set(records.variant_names())
    within = [c for c in rec.candidates if c.within]
    text = (f"Recommended: {chosen.variant} ({_n(chosen.changes, 'change')} from the original "
            f"design), by the rule: {rule_text(margin)}; {len(within)} of "
            f"{_n(len(rec.candidates), 'measured design')} "
            f"{'is' if len(within) == 1 else 'are'} within the margin. "
            f"Selection step accuracy {chosen.selection_mean:.3f}; ")
    if chosen.variant == rec.best:
        text += "it is the best on the selection split itself."
    else:
        text += (f"against the best on the selection split, {rec.best} "
                 f"({rec.candidate(rec.best).selection_mean:.3f}): "
                 f"{_interval(chosen.to_best)}.")
    if rec.without_selection:
        text += (f" Left out for lack of selection scores: {_names(rec.without_selection)}.")
    comparisons = [v for v in ("original", "fixed") if v in names and v != chosen.variant]
    if comparisons:
        text += (" Confirmation (held-out step accuracy, paired by seed and step; read only "
                 "after the choice): "
                 + "; ".join(_difference_text(records, chosen.variant, o) for o in comparisons)
                 + ".")
    richer = rec.richer
    if richer:
        text += " " + _richer_text(records, chosen.variant, richer)
    cost = _step_cost(records, summary, chosen.variant, flops,
                      [o for o in ("original", "fixed") if o in names and o != chosen.variant])
    if cost:
        text += " " + cost
    return [Finding(SECTIONS[5], text, "summary")]


# --------------------------------------------------------------------------- all of them

def build_findings(records: GridRecords, summary: pd.DataFrame, effects: pd.DataFrame,
                   measured: dict, margin: float) -> list[Finding]:
    findings = (_original_findings(records, measured) + zero_lr_findings(measured)
                + starvation_findings(records, measured) + nonfinite_findings(records)
                + agreement_findings(measured) + verdict_findings(effects, margin)
                + sequential_findings(records, effects)
                + cost_findings(effects, A.flops_by_variant(records))
                + best_findings(records, summary)
                + recommended_findings(records, summary, A.flops_by_variant(records),
                                       margin))
    order = {s: i for i, s in enumerate(SECTIONS)}
    return sorted(findings, key=lambda f: order[f.section])


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    return pd.DataFrame([{"section": f.section, "text": f.text, "link": f.link}
                         for f in findings], columns=["section", "text", "link"])


def grouped(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    return [(s, [f for f in findings if f.section == s]) for s in SECTIONS
            if any(f.section == s for f in findings)]
