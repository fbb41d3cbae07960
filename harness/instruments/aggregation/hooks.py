"""Reads what the design's aggregated backward did (:class:`harness.backward.AggregatedBackward`);
at a probe step it asks that backward for the Gramian of the very Jacobian it aggregates, so
the measures describe the update that was applied, not a recomputation of it."""

from __future__ import annotations

import itertools

from harness.backward import update_measures
from harness.instruments.aggregation import (UPDATE_COSINE, gramian_key, left_out_key,
                                             share_key, weight_key)
from harness.instruments.hooks import InstrumentHooks
from harness.schema import HEADS


class AggregationHooks(InstrumentHooks):
    def on_start(self, run) -> None:
        self.active = getattr(run.design, "aggregator", "sum") != "sum"
        self.probing = False

    def probe(self, run, step, batch, outputs, losses) -> None:
        if self.active:
            run.backward.measure = True
            self.probing = True

    def after_backward(self, run, step, batch, outputs, losses, skipped) -> None:
        if not self.active:
            return
        last = run.backward.last
        run.records.add_many(step, {left_out_key(h): float(h in last.left_out) for h in HEADS})
        if not self.probing:
            return
        self.probing = False
        if last.gramian is not None:
            run.records.add_many(step, {
                gramian_key(f"{a}-{b}"): float(last.gramian[i, j])
                for (i, a), (j, b) in itertools.combinations_with_replacement(
                    enumerate(HEADS), 2)})
            measures = update_measures(last.gramian, last.kept, last.weights)
            if "cosine" in measures:
                run.records.add(step, UPDATE_COSINE, measures["cosine"])
            run.records.add_many(step, {share_key(h): measures.get(h, 0.0) for h in HEADS})
        if last.weights is not None:
            run.records.add_many(step, {weight_key(h): float(w)
                                        for h, w in zip(last.kept, last.weights)})
