"""What each aggregator of the ``aggregator`` axis costs (issue 24): a training step of the
corrected design with the aggregator over the same step with the plain sum, in lockstep
(:func:`harness.benchmarking.compare_steps`), on the same weights and batches. The corrected
design routes by the target action in training, so the steps hold every head's Jacobian row
that the data calls for (the fixed design's predicted routing often leaves heads out, which
would make the aggregation look cheaper than it is where it matters). Bounds:
benchmarks/bounds.json, ``<aggregator>_over_sum_step``.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torchjd")

from harness.benchmarking import compare_steps                   # noqa: E402
from harness.design import AGGREGATOR_LABELS, CORRECTED          # noqa: E402
from harness.train import Hooks                                  # noqa: E402
from tests.benchmarks.test_costs import (BATCH, DEVICES, batch_of, data,  # noqa: E402,F401
                                         make_run, record, rounds, step_fn)

#: Steps per block: five batches, so that a position in the block sees the same batch (and the
#: same set of heads) in every round, on both sides.
BLOCK = 5


@pytest.mark.parametrize("value", list(AGGREGATOR_LABELS))
@pytest.mark.parametrize("device,precision", DEVICES)
def test_step_aggregator_over_sum(benchmark, data, device, precision, value):  # noqa: F811
    batches = [batch_of(data, device, start=i * BATCH) for i in range(BLOCK)]
    aggregated = step_fn(make_run(data, CORRECTED.replace(aggregator=value), device,
                                  precision), batches, Hooks())
    plain = step_fn(make_run(data, CORRECTED, device, precision), batches, Hooks())
    c = compare_steps(aggregated, plain, steps=BLOCK, names=(value, "sum"), device=device,
                      rounds=rounds(benchmark, 10), warmup=1)
    record(benchmark, c, f"{value}_over_sum_step", device=device, precision=precision,
           batch=BATCH, steps_per_block=BLOCK)
    benchmark.pedantic(aggregated, rounds=1 if benchmark.disabled else 5, iterations=1)
