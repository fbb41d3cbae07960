"""One section per claim of the review (DESIGN.md section 4): the claim, the measurement that
answers it, and an answer worded from the numbers of this run (never written in advance)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from harness.design import AXES
from harness.instruments.gradients import PAIR_NAMES
from harness.report import analysis as A


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
        out.append(f"{row['direction']} ({row['with_fix']} against {row['without_fix']}): "
                   f"{label} {_interval(row, metric)}, verdict: {row['verdict']}{cost}.")
    return out


def _effects_rows(effects: pd.DataFrame, fixes: list[str]) -> pd.DataFrame:
    if effects.empty:
        return effects
    cols = ["fix", "direction", "with_fix", "without_fix", "verdict", "pairs", "d_step_acc",
            "d_step_acc_low", "d_step_acc_high", "d_tap_acc", "d_text_f1", "step_time_ratio"]
    return effects[effects.fix.isin(fixes)][[c for c in cols if c in effects.columns]]


def _add_effects(c: Claim, effects: pd.DataFrame, title: str,
                 metrics: tuple[str, ...] = (A.PRIMARY,)) -> None:
    """The effect of each fix that tests claim ``c`` (from the axis table, where each axis
    names its claim): a sentence per direction and metric, and one table."""
    fixes = [axis.fix for axis in AXES.values() if axis.claim == c.number]
    for fix in fixes:
        for metric in metrics:
            c.answer += effect_sentences(effects, fix, metric)
    c.tables.append((title, _effects_rows(effects, fixes)))


def build_claims(measured: dict[str, pd.DataFrame], effects: pd.DataFrame) -> list[Claim]:
    """``measured``: :func:`harness.report.analysis.claim_measurements` of the records."""
    return [claim(measured, effects) for claim in (
        _claim_coordinate_head, _claim_gradient_flow, _claim_backward, _claim_routing,
        _claim_units, _claim_interference, _claim_schedule)]


def _claim_coordinate_head(measured, effects) -> Claim:
    c = Claim(1, "LSTM coordinates are needlessly complex",
              "Replace the autoregressive LSTM coordinate head with an MLP.")
    _add_effects(c, effects, "Effect of the MLP head", ("tap_acc", "swipe_acc"))
    return c


def _claim_gradient_flow(measured, effects) -> Claim:
    c = Claim(2, "The custom loss blocks gradient flow",
              "The penalty loss has non-differentiable operations that prevent gradient flow; "
              "use standard losses.")
    table = measured["gradient_flow"]
    if not table.empty:
        by_loss = table.groupby("loss")[
            "zero coordinate gradient (share of DUAL_POINT steps)"].mean()
        parts = [f"{loss} loss: {fmt(share)}" for loss, share in by_loss.items()]
        c.answer.append("Share of DUAL_POINT steps whose coordinate-loss gradient is exactly "
                        "zero at probe steps, averaged over variants: " + "; ".join(parts) + ".")
    c.tables.append(("Gradient reaching the coordinate head", table))
    _add_effects(c, effects, "Effect of the standard loss", ("tap_acc",))
    return c


def _claim_backward(measured, effects) -> Claim:
    c = Claim(3, "Several backward passes cause gradient conflicts",
              "Multiple backward passes cause gradient conflicts and instability; use a single "
              "backward pass.")
    table = measured["backward_agreement"]
    if not table.empty:
        worst = table["rel_diff"].max()
        c.answer.append(
            f"On the same weights and batch (step 0 of each of {len(table)} runs), one backward "
            f"of the weighted total and the sum of the per-head backward passes differ by at most "
            f"{fmt(worst)} relative (largest single difference {fmt(table['max_abs_diff'].max())}): "
            + ("they compute the same gradient up to float rounding, so the number of backward "
               "passes cannot create conflicts between heads." if worst < 1e-4 else
               "they do not agree; see the table."))
    skipped = measured["nonfinite"]
    if not skipped.empty and (skipped.consequence == "skipped").any():
        c.answer.append(
            "Where a head's loss is not finite, the per-head loop skips its backward: that head's "
            "parameters then have no gradient at all (not a zero gradient), so AdamW leaves them "
            "untouched that step, where one backward would still apply momentum and weight "
            "decay. This, not a conflict, is the behavioural difference between the two.")
    c.tables.append(("Backward agreement (step 0)", table))
    _add_effects(c, effects, "Effect of a single backward")
    return c


def _claim_routing(measured, effects) -> Claim:
    c = Claim(4, "Outputs for all actions add noise",
              "Run the query head only for predicted TYPE and the coordinate head only for "
              "predicted gesture codes.")
    table = measured["routing"]
    if not table.empty:
        c.answer.append(
            f"With routing, the query head ran on {fmt(table.iloc[:, 1].mean())} and the "
            f"coordinate head on {fmt(table.iloc[:, 2].mean())} of training rows on average.")
    c.tables.append(("Rows each head ran on", table))
    _add_effects(c, effects, "Effect of routing")
    return c


def _claim_units(measured, effects) -> Claim:
    c = Claim(5, "Unnormalized coordinates make the sigmoid ineffective",
              "Divide coordinates by the screen size.")
    table = measured["target_range"]
    if not table.empty:
        for units, group in table.groupby("coord_units"):
            c.answer.append(
                f"coord_units={units}: {fmt(group.iloc[0]['DUAL_POINT targets outside (0, 1)'])} "
                f"of DUAL_POINT targets lie outside the sigmoid's (0, 1) range (largest target "
                f"{fmt(group.iloc[0]['DUAL_POINT target max'])}); among all targets the loss sees, "
                f"{fmt(group['targets outside (0, 1) among those the loss sees'].max())} at most "
                f"(the (-1, -1) of non-gesture steps is out of range in any units).")
    c.tables.append(("Target-range audit", table))
    _add_effects(c, effects, "Effect of normalized coordinates", ("tap_acc",))
    return c


def _claim_interference(measured, effects) -> Claim:
    c = Claim(6, "Shared features interfere",
              "All heads share the same encoder output; add a separate projection per head.")
    table = measured["head_conflict"]
    if not table.empty:
        rates = {p: table[f"conflict rate {p}"].mean() for p in PAIR_NAMES}
        cos = {p: table[f"cosine {p}"].mean() for p in rates}
        c.answer.append(
            "Heads' gradients on the shared encoder, mean over variants and probe steps: " +
            "; ".join(f"{p}: cosine {fmt(cos[p])}, conflicting (cosine < 0) on {fmt(rates[p])} "
                      "of probes" for p in rates) + ".")
    c.tables.append(("Head-gradient cosine and conflict rate", table))
    _add_effects(c, effects, "Effect of per-head projections")
    c.images.append("head_cosine")
    return c


def _claim_schedule(measured, effects) -> Claim:
    c = Claim(7, "Warmup, clipping and LayerNorm",
              "Add a 10-epoch warmup (LambdaLR stepped per epoch), gradient clipping at 1.0 and a "
              "LayerNorm after the encoder.")
    spans = measured["zero_lr_spans"]
    if not spans.empty:
        c.answer.append(
            f"The per-epoch warmup holds the learning rate at exactly 0 for its first epoch: "
            f"{int(spans['steps'].median())} steps, {fmt(spans['share of run'].median())} of each "
            f"such run here; it reaches the full rate only after 10 epochs.")
    clips = measured["clipping"]
    if not clips.empty:
        rate = clips[clips.clip_norm.notna()]["share of steps clipped"].mean()
        c.answer.append(f"Both designs already clip at 1.0; it changed the gradient on "
                        f"{fmt(rate)} of steps on average.")
    c.tables.append(("Clipping", clips))
    _add_effects(c, effects, "Effects of warmup, clipping and LayerNorm")
    c.images.append("lr")
    return c
