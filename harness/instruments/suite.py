"""The instrument suite attached to every run of the grid.

Every step: each module group's gradient norm (before clipping), routing coverage, step time,
samples/s, non-padding tokens/s, peak memory. Probe steps (step 0 and every ``probe_every``):
each head's gradient on the shared trunk (encoder and post-encoder norm), their norms and
pairwise cosines, and the share of steps whose coordinate gradient is exactly zero; probe cost
is timed and kept out of the step time. Once per run: FLOPs per step, the target-range audit,
one-backward against per-head agreement (at step 0), and non-finite events with their
consequence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from harness import actions
from harness.backward import BACKWARDS, TERMS
from harness.instruments.audit import target_range_audit
from harness.instruments.literal import literal_checks
from harness.instruments.gradients import (backward_agreement, group_norms, head_conflict,
                                           head_gradients, zero_coordinate_gradient_rows)
from harness.instruments.throughput import (StepTimer, count_flops, peak_flops, peak_memory_mb,
                                            reset_peak_memory, timed)
from harness.seeding import batch_order
from harness.train import Hooks

SHARED_GROUPS = ("encoder", "post_norm")   # what every head's gradient flows through
MAX_EVENTS = 200


@dataclass(frozen=True)
class InstrumentSettings:
    probe_every: int = 25      # 0: probes only at step 0
    agreement: bool = True     # one backward against per-head backward passes, at step 0
    flops: bool = True         # count FLOPs of one step (FlopCounterMode) at the start
    literal: bool = True       # run the review's adapted snippets as written, at step 0


class Instruments(Hooks):
    def __init__(self, settings: InstrumentSettings = InstrumentSettings()):
        self.settings = settings

    # ------------------------------------------------------------------ once per run
    def on_start(self, run) -> None:
        groups = run.model.module_groups()
        shared = [p for g in SHARED_GROUPS for p in groups.get(g, [])]
        shared_ids = {id(p) for p in shared}
        self.groups = groups
        self.shared = shared
        self.all_params = shared + [p for p in run.model.parameters() if id(p) not in shared_ids]
        self.timer = StepTimer(run.device)
        self.pending_sizes: list[tuple[int, int, torch.Tensor]] = []
        self.events: list[dict] = []
        self.event_counts: dict[str, int] = {}
        self.skipped_at: dict[int, list[str]] = {}
        self.probe_seconds = 0.0
        self.probes = 0
        reset_peak_memory(run.device)
        run.facts["target_range_audit"] = target_range_audit(
            run.data.train, run.data.units, run.design.coord_units, run.design.loss)
        run.facts["peak_flops"] = peak_flops(run.device, run.settings.precision)
        run.facts["attention_implementation"] = getattr(
            run.model.encoder.config, "_attn_implementation", None)
        if self.settings.flops:
            run.facts["flops_per_step"] = self._count_flops(run)

    def _count_flops(self, run) -> int:
        """FLOPs of one training step (forward, loss, the design's backward) on the first
        batch, without touching the run: RNG forked, gradients cleared afterwards."""
        index = batch_order(len(run.data.train), run.seed, 0)[:run.settings.batch_size]
        batch = {k: v.to(run.device)
                 for k, v in run.data.train.batch(index, run.settings.trim_padding).items()}
        devices = [run.device] if run.device.type == "cuda" else []

        def one_step():
            _, losses = run.forward_and_loss(batch)
            BACKWARDS[run.design.backward](losses)

        with torch.random.fork_rng(devices=devices):
            run.model.train()
            flops = count_flops(one_step)
        run.optimizer.zero_grad(set_to_none=True)
        return flops

    # ------------------------------------------------------------------ every step
    def on_step_start(self, run, step, batch) -> None:
        self.timer.start()
        self.pending_sizes.append((step, batch["input_ids"].shape[0],
                                   batch["attention_mask"].sum()))

    def after_loss(self, run, step, batch, outputs, losses) -> None:
        for name, rows in (("query", outputs.get("query_rows")),
                           ("coord", outputs.get("coord_rows"))):
            if rows is not None:
                run.records.add(step, f"routing/{name}_rows", rows.float().mean())
        if step == 0 or (self.settings.probe_every and step % self.settings.probe_every == 0):
            _, seconds = timed(run.device, lambda: self._probe(run, step, batch, outputs, losses))
            self.timer.exclude(seconds)
            self.probe_seconds += seconds
            self.probes += 1
            run.records.add(step, "probe/seconds", seconds)

    def _probe(self, run, step, batch, outputs, losses) -> None:
        if step == 0 and self.settings.literal:
            run.facts["literal_checks"] = literal_checks(run.model, batch, outputs)
        agreement = step == 0 and self.settings.agreement
        params = self.all_params if agreement else self.shared
        head_grads = head_gradients(losses, params)
        run.records.add_many(step, head_conflict(head_grads, len(self.shared)))
        zero = zero_coordinate_gradient_rows(losses, outputs)
        dual_point = batch["action"] == actions.DUAL_POINT
        run.records.add(step, "probe/coord_grad_zero_share/all", zero.float().mean())
        if bool(dual_point.any()):
            run.records.add(step, "probe/coord_grad_zero_share/dual_point",
                            zero[dual_point].float().mean())
        if agreement:
            run.facts["backward_agreement"] = {"step": step, **backward_agreement(
                losses, params, head_grads)}

    def after_backward(self, run, step, batch, outputs, losses, skipped) -> None:
        norms = group_norms(self.groups)
        run.records.add_many(step, {f"grad_norm/{g}": n for g, n in norms.items()})
        if skipped:
            self.skipped_at[step] = list(skipped)

    def after_step(self, run, step) -> None:
        self.timer.stop(step)

    # ------------------------------------------------------------------ at flush points
    def before_flush(self, run) -> None:
        sizes = {step: (samples, tokens) for step, samples, tokens in self.pending_sizes}
        self.pending_sizes.clear()
        last = None
        for step, seconds in self.timer.collect():
            samples, tokens = sizes[step]
            tokens = float(tokens)
            run.records.add_many(step, {
                "step_time_s": seconds,
                "samples_per_s": samples / seconds if seconds > 0 else math.nan,
                "tokens_per_s": tokens / seconds if seconds > 0 else math.nan,
            })
            last = step
        if last is not None:
            run.records.add(last, "peak_memory_mb", peak_memory_mb(run.device))

    def after_flush(self, run, rows) -> None:
        """Classify each non-finite loss term by what happened to it: skipped (the per-head
        strategy did not back-propagate it), survived (back-propagated, gradients stayed
        finite) or propagated (gradients became non-finite)."""
        by_step: dict[int, dict[str, float]] = {}
        for step, metric, value in rows:
            if metric.startswith("loss/") or metric == "grad_norm":
                by_step.setdefault(step, {})[metric] = value
        for step in sorted(by_step):
            values = by_step[step]
            for term in TERMS:
                value = values.get(f"loss/{term}")
                if value is None or math.isfinite(value):
                    continue
                if term in self.skipped_at.get(step, []):
                    consequence = "skipped"
                elif math.isfinite(values.get("grad_norm", math.nan)):
                    consequence = "survived"
                else:
                    consequence = "propagated"
                key = f"{term}:{consequence}"
                self.event_counts[key] = self.event_counts.get(key, 0) + 1
                if len(self.events) < MAX_EVENTS:
                    self.events.append({"step": step, "term": term, "value": value,
                                        "consequence": consequence})
            self.skipped_at.pop(step, None)
        run.facts["nonfinite_events"] = self.events
        run.facts["nonfinite_counts"] = dict(self.event_counts)

    def on_end(self, run) -> None:
        run.facts["probes"] = self.probes
        run.facts["probe_seconds"] = self.probe_seconds
        run.facts["peak_memory_mb"] = peak_memory_mb(run.device)
