"""One section per claim of the review (DESIGN.md section 4): the claim, the measurement that
answers it, and an answer worded from the numbers of this run (never written in advance).

What each section holds is declared in :data:`harness.review.CLAIMS`; :func:`build_claims` is
the only code that assembles sections. The one thing that cannot be data is how a measurement
is put into words, since each table is read differently: that is a sentence function per
measurement, registered with :func:`answers`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from harness import review
from harness.design import AXES
from harness.report import analysis as A
from harness.schema import PAIR_NAMES


@dataclass
class Claim:
    number: int
    title: str
    review_says: str
    answer: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


def fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _interval(row, metric: str) -> str:
    mean, low, high = row[f"d_{metric}"], row[f"d_{metric}_low"], row[f"d_{metric}_high"]
    if not math.isfinite(mean):
        return "n/a (no pair of finished runs)"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:+.3f} (one seed: no interval)"
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def effect_sentences(effects: pd.DataFrame, fix: str, metric: str = A.PRIMARY) -> list[str]:
    """How adding ``fix`` changed ``metric``, in each direction measured, with the verdict."""
    label = A.METRICS.get(metric, metric)
    out = []
    for _, row in effects[effects.fix == fix].iterrows():
        ratio = row["step_time_ratio"]
        cost = (f"; its step takes {ratio:.2f}x the time" if math.isfinite(ratio) else "")
        # the verdict quoted is the quoted metric's own (adjusted within that metric's family)
        word = row.get(f"v_{metric}", row["verdict"] if metric == A.PRIMARY else None)
        if word is None or (isinstance(word, float) and not math.isfinite(word)):
            word = "not tested"
        if row.get(f"small_{metric}", False):
            word = f"equivalent (small real effect, {row[f'd_{metric}']:+.3f})"
        out.append(f"{row['direction']} ({row['with_fix']} against {row['without_fix']}): "
                   f"{label} {_interval(row, metric)} (unadjusted 95% interval), "
                   f"{label} verdict: {word}{cost}.")
    return out


def _effects_rows(effects: pd.DataFrame, fixes: list[str]) -> pd.DataFrame:
    if effects.empty:
        return effects
    cols = ["fix", "direction", "with_fix", "without_fix", "verdict", "pairs", "d_step_acc",
            "d_step_acc_low", "d_step_acc_high", "d_tap_acc", "d_text_f1", "step_time_ratio"]
    return effects[effects.fix.isin(fixes)][[c for c in cols if c in effects.columns]]


def build_claims(measured: dict[str, pd.DataFrame], effects: pd.DataFrame) -> list[Claim]:
    """``measured``: :func:`harness.report.analysis.claim_measurements` of the records."""
    # review.CLAIMS is read at call time, not imported by name, so that the table is the one
    # thing to change (or, in tests, to replace) for a claim to appear.
    return [_section(declared, measured, effects) for declared in review.CLAIMS]


def _section(declared: review.ReviewClaim, measured: dict[str, pd.DataFrame],
             effects: pd.DataFrame) -> Claim:
    c = Claim(declared.number, declared.title, declared.review_says)
    for key in declared.answered_from:
        table = measured[key]
        # An empty measurement says nothing; the template words the absence of any answer.
        if not table.empty:
            c.answer += ANSWERS[key](table)
    c.tables += [(shown.caption, measured[shown.measurement]) for shown in declared.shown]
    fixes = [axis.fix for axis in AXES.values() if axis.claim == declared.number]
    for fix in fixes:
        for metric in declared.effect_metrics or (A.PRIMARY,):
            c.answer += effect_sentences(effects, fix, metric)
    c.tables.append((declared.effects_caption, _effects_rows(effects, fixes)))
    c.images += declared.images
    return c


# --------------------------------------------------------------------------- sentences

#: measurement key of ``claim_measurements`` -> the sentences it gives, from a non-empty table.
ANSWERS: dict[str, Callable[[pd.DataFrame], list[str]]] = {}


def answers(measurement: str):
    def register(sentences: Callable[[pd.DataFrame], list[str]]):
        if measurement in ANSWERS:
            raise ValueError(f"two sentence functions for the measurement {measurement!r}")
        ANSWERS[measurement] = sentences
        return sentences
    return register


@answers("gradient_flow")
def _gradient_flow(table: pd.DataFrame) -> list[str]:
    column = "zero coordinate gradient (share of DUAL_POINT steps)"
    by_loss = table.groupby("loss")[column].mean()
    parts = [f"{loss} loss: {fmt(share)}" for loss, share in by_loss.items()]
    return ["Share of DUAL_POINT steps whose coordinate-loss gradient is exactly zero at probe "
            "steps, averaged over variants: " + "; ".join(parts) + "."]


@answers("backward_agreement")
def _backward_agreement(table: pd.DataFrame) -> list[str]:
    worst, largest = table["rel_diff"].max(), table["max_abs_diff"].max()
    return [f"On the same weights and batch (step 0 of each of {len(table)} runs), one backward "
            f"of the weighted total and the sum of the per-head backward passes differ by at most "
            f"{fmt(worst)} relative (largest single difference {fmt(largest)}): "
            + ("they compute the same gradient up to float rounding, so the number of backward "
               "passes cannot create conflicts between heads." if worst < 1e-4 else
               "they do not agree; see the table.")]


@answers("nonfinite")
def _nonfinite(table: pd.DataFrame) -> list[str]:
    if not (table.consequence == "skipped").any():
        return []
    return ["Where a head's loss is not finite, the per-head loop skips its backward: that head's "
            "parameters then have no gradient at all (not a zero gradient), so AdamW leaves them "
            "untouched that step, where one backward would still apply momentum and weight "
            "decay. This, not a conflict, is the behavioural difference between the two."]


@answers("routing")
def _routing(table: pd.DataFrame) -> list[str]:
    return [f"With routing, the query head ran on {fmt(table.iloc[:, 1].mean())} and the "
            f"coordinate head on {fmt(table.iloc[:, 2].mean())} of training rows on average."]


@answers("target_range")
def _target_range(table: pd.DataFrame) -> list[str]:
    return [f"coord_units={units}: {fmt(group.iloc[0]['DUAL_POINT targets outside (0, 1)'])} "
            f"of DUAL_POINT targets lie outside the sigmoid's (0, 1) range (largest target "
            f"{fmt(group.iloc[0]['DUAL_POINT target max'])}); among all targets the loss sees, "
            f"{fmt(group['targets outside (0, 1) among those the loss sees'].max())} at most "
            f"(the (-1, -1) of non-gesture steps is out of range in any units)."
            for units, group in table.groupby("coord_units")]


@answers("head_conflict")
def _head_conflict(table: pd.DataFrame) -> list[str]:
    rates = {p: table[f"conflict rate {p}"].mean() for p in PAIR_NAMES}
    cos = {p: table[f"cosine {p}"].mean() for p in rates}
    return ["Heads' gradients on the shared encoder, mean over variants and probe steps: " +
            "; ".join(f"{p}: cosine {fmt(cos[p])}, conflicting (cosine < 0) on {fmt(rates[p])} "
                      "of probes" for p in rates) + "."]


@answers("zero_lr_spans")
def _zero_lr_spans(spans: pd.DataFrame) -> list[str]:
    return [f"The per-epoch warmup holds the learning rate at exactly 0 for its first epoch: "
            f"{int(spans['steps'].median())} steps, {fmt(spans['share of run'].median())} of each "
            f"such run here; it reaches the full rate only after 10 epochs."]


@answers("clipping")
def _clipping(clips: pd.DataFrame) -> list[str]:
    rate = clips[clips.clip_norm.notna()]["share of steps clipped"].mean()
    return [f"Both designs already clip at 1.0; it changed the gradient on {fmt(rate)} of steps "
            f"on average."]
