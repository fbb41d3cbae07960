"""What a step costs: step time, samples/s, non-padding tokens/s, peak memory, FLOPs of one
step and MFU; and what the probes cost, kept out of the step time and reported on its own.
The timing, FLOP and memory primitives are :mod:`harness.instruments.throughput`'s."""

from __future__ import annotations

from harness.instruments.registry import Instrument

STEP_TIME = "step_time_s"
SAMPLES_PER_S = "samples_per_s"
TOKENS_PER_S = "tokens_per_s"
PEAK_MEMORY = "peak_memory_mb"        # a record at each flush, and a fact at the end
PROBE_SECONDS = "probe/seconds"


def mfu(flops_per_step: float | None, step_seconds: float | None, peak: float | None):
    """Model FLOPs utilisation: achieved FLOP/s over the device's peak; None without a peak
    (Lightning's convention: never made up for a device whose peak is unknown)."""
    if not flops_per_step or not step_seconds or not peak:
        return None
    return flops_per_step / step_seconds / peak


def summary(steps, facts: dict) -> dict:
    row = {}
    if steps is not None and not steps.empty:
        for metric in (STEP_TIME, SAMPLES_PER_S, TOKENS_PER_S):
            values = steps.loc[steps.metric == metric, "value"]
            if len(values) > 1:
                row[metric] = float(values.iloc[1:].median())   # step 0 pays warm-up
    row["flops_per_step"] = facts.get("flops_per_step")
    row["mfu"] = mfu(facts.get("flops_per_step"), row.get(STEP_TIME), facts.get("peak_flops"))
    row["peak_memory_mb"] = facts.get("peak_memory_mb")
    row["probe_seconds"] = facts.get("probe_seconds")
    return row


INSTRUMENT = Instrument(
    name="cost",
    doc=__doc__,
    hooks="harness.instruments.cost.hooks:CostHooks",
    keys=(STEP_TIME, SAMPLES_PER_S, TOKENS_PER_S, PEAK_MEMORY, PROBE_SECONDS),
    facts=("peak_flops", "attention_implementation", "flops_per_step", "peak_memory_mb",
           "probes", "probe_seconds"),
    summary=summary,
)
