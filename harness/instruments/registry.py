"""The instruments' declarations, readable without torch: what each writes and which summary
columns it contributes. (Being split into one declared unit per instrument.)"""

from __future__ import annotations

import pandas as pd


def mfu(flops_per_step: float | None, step_seconds: float | None, peak: float | None):
    """Model FLOPs utilisation: achieved FLOP/s over the device's peak; None without a peak."""
    if not flops_per_step or not step_seconds or not peak:
        return None
    return flops_per_step / step_seconds / peak


def summary_columns(steps: pd.DataFrame | None, facts: dict) -> dict:
    row = {}
    if steps is not None and not steps.empty:
        for metric in ("step_time_s", "samples_per_s", "tokens_per_s"):
            values = steps.loc[steps.metric == metric, "value"]
            if len(values) > 1:
                row[metric] = float(values.iloc[1:].median())   # step 0 pays warm-up
        zero = steps.loc[steps.metric == "probe/coord_grad_zero_share/dual_point", "value"]
        if len(zero):
            row["coord_grad_zero_share"] = float(zero.mean())
        clipped = steps.loc[steps.metric == "clipped", "value"]
        if len(clipped):
            row["clip_rate"] = float(clipped.mean())
    row["flops_per_step"] = facts.get("flops_per_step")
    row["mfu"] = mfu(facts.get("flops_per_step"), row.get("step_time_s"), facts.get("peak_flops"))
    row["peak_memory_mb"] = facts.get("peak_memory_mb")
    row["probe_seconds"] = facts.get("probe_seconds")
    agreement = facts.get("backward_agreement") or {}
    row["backward_max_abs_diff"] = agreement.get("max_abs_diff")
    row["backward_rel_diff"] = agreement.get("rel_diff")
    audit = facts.get("target_range_audit") or {}
    row["targets_outside_range"] = audit.get("targets_outside_range_in_loss_scope")
    row["nonfinite_losses"] = sum((facts.get("nonfinite_counts") or {}).values())
    return row
