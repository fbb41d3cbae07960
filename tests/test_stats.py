"""The paired per-step estimate, the verdict rule with its equivalence margin, and the
number of seeds that would decide."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from harness.report import stats
from harness.report.stats import (
    CRASHES, DEFAULT_MARGIN, DIVERGES, EQUIVALENT, HELPS, HURTS, NO_EFFECT, UNDECIDED, VERDICT_RULE,
    Estimate, describe_verdict, estimate, paired_per_step, projected, seeds_needed, t975, verdict,
    verdict_rule)

OK3 = ["ok"] * 3


def _sd(xs):
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def brute_force(with_fix, without_fix):
    """The definition, with explicit loops: (mean, low, high, n, seed_half, heldout_half)."""
    seeds, cols = len(with_fix), len(with_fix[0])
    scope = [i for i in range(cols)
             if all(math.isfinite(with_fix[s][i]) and math.isfinite(without_fix[s][i])
                    for s in range(seeds))]
    n_items = len(scope)
    d = [[with_fix[s][i] - without_fix[s][i] for i in scope] for s in range(seeds)]
    per_seed = [sum(row) / n_items for row in d]
    mean = sum(per_seed) / seeds
    per_step = [sum(d[s][k] for s in range(seeds)) / seeds for k in range(n_items)]
    heldout = 1.96 * _sd(per_step) / math.sqrt(n_items) if n_items > 1 else 0.0
    if seeds == 1:
        return mean, math.nan, math.nan, 1, math.nan, heldout
    seed = t975(seeds - 1) * _sd(per_seed) / math.sqrt(seeds)
    half = math.sqrt(seed ** 2 + heldout ** 2)
    return mean, max(mean - half, -1.0), min(mean + half, 1.0), seeds, seed, heldout


def _runs(rng, seeds, items, f1=False, nan_share=0.3, flip=0.2):
    """Two runs' per-step scores sharing a NaN scope: 0/1 correctness or word-F1 values."""
    base = rng.random((seeds, items)) if f1 else (rng.random((seeds, items)) < 0.6) * 1.0
    fix = base.copy()
    flips = rng.random((seeds, items)) < flip
    fix[flips] = rng.random(flips.sum()) if f1 else 1.0 - fix[flips]
    out = rng.random(items) < nan_share
    base[:, out] = np.nan
    fix[:, out] = np.nan
    return fix, base


def _close(a, b, tol=1e-12):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol


@pytest.mark.parametrize("seeds", [1, 2, 3, 5, 8, 13])
@pytest.mark.parametrize("f1", [False, True])
def test_paired_per_step_matches_brute_force(seeds, f1):
    rng = np.random.default_rng(seeds * 7 + f1)
    fix, base = _runs(rng, seeds, 53, f1=f1)
    got = paired_per_step(fix, base)
    want = brute_force(fix.tolist(), base.tolist())
    fields = (got.mean, got.low, got.high, got.n, got.seed_half, got.heldout_half)
    assert got.n == want[3]
    for g, w in zip(fields, want):
        assert _close(g, w), (fields, want)
    if seeds >= 2:
        assert got.has_interval and got.low <= got.mean <= got.high
    else:
        assert not got.has_interval and got.heldout_half > 0


def test_paired_per_step_uses_items_finite_in_both():
    rng = np.random.default_rng(1)
    fix, base = _runs(rng, 4, 40, nan_share=0.0)
    fix[2, 5] = np.nan            # one stray NaN on one side drops item 5 for every seed
    base[0, 9] = np.inf
    got = paired_per_step(fix, base)
    keep = [i for i in range(40) if i not in (5, 9)]
    want = paired_per_step(fix[:, keep], base[:, keep])
    assert got == want
    assert _close(got.mean, brute_force(fix.tolist(), base.tolist())[0])


def test_paired_per_step_edge_cases():
    empty = paired_per_step(np.zeros((0, 5)), np.zeros((0, 5)))
    assert empty.n == 0 and math.isnan(empty.mean) and math.isnan(empty.heldout_half)
    all_nan = paired_per_step(np.full((3, 4), np.nan), np.full((3, 4), np.nan))
    assert all_nan.n == 0 and math.isnan(all_nan.low)
    one_item = paired_per_step(np.array([[1.0], [1.0], [0.0]]), np.array([[0.0], [1.0], [0.0]]))
    assert one_item.heldout_half == 0.0 and one_item.n == 3
    assert _close(one_item.mean, 1 / 3)
    with pytest.raises(ValueError):
        paired_per_step(np.zeros((2, 3)), np.zeros((2, 4)))
    # a difference of scores in [0, 1] is shown within [-1, 1]
    wide = paired_per_step(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [0.0, 0.0]]))
    assert wide.low >= -1.0 and wide.high <= 1.0


def test_identical_runs_are_equivalent():
    rng = np.random.default_rng(2)
    fix, _ = _runs(rng, 4, 60)
    same = paired_per_step(fix, fix.copy())
    assert same.mean == 0.0 and same.heldout_half == 0.0 and same.seed_half == 0.0
    assert same.low == 0.0 and same.high == 0.0
    assert verdict(same, ["ok"] * 4, ["ok"] * 4) == EQUIVALENT
    assert seeds_needed(same) == 4
    one = paired_per_step(fix[:1], fix[:1].copy())
    assert one.mean == 0.0 and one.heldout_half == 0.0
    assert verdict(one, ["ok"], ["ok"]) == UNDECIDED       # one seed: no interval


def test_heldout_half_does_not_shrink_with_repeated_seeds():
    rng = np.random.default_rng(3)
    fix, base = _runs(rng, 1, 379)
    one = paired_per_step(fix, base)
    for k in (2, 5, 20):
        many = paired_per_step(np.repeat(fix, k, axis=0), np.repeat(base, k, axis=0))
        assert _close(many.heldout_half, one.heldout_half)
        assert _close(many.mean, one.mean) and many.seed_half == 0.0 and many.n == k


def _est(mean, seed_half, heldout_half, n):
    half = math.hypot(seed_half, heldout_half)
    return Estimate(mean, mean - half, mean + half, n, seed_half, heldout_half)


def test_verdict_cases():
    assert verdict(_est(0.10, 0.02, 0.03, 3), OK3, OK3) == HELPS
    assert verdict(_est(-0.10, 0.02, 0.03, 3), OK3, OK3) == HURTS
    assert verdict(_est(0.01, 0.01, 0.02, 3), OK3, OK3) == EQUIVALENT
    assert verdict(_est(0.01, 0.05, 0.02, 3), OK3, OK3) == UNDECIDED
    assert verdict(_est(0.01, 0.01, 0.02, 3), OK3, OK3, margin=0.02) == UNDECIDED
    assert verdict(Estimate(0.3, math.nan, math.nan, 1), ["ok"], ["ok"]) == UNDECIDED
    assert verdict(paired_per_step(np.zeros((0, 3)), np.zeros((0, 3))), [], []) == UNDECIDED
    assert verdict(_est(0.10, 0.02, 0.03, 3), ["ok", "failed"], ["ok", "ok"]) == CRASHES
    assert verdict(_est(0.10, 0.02, 0.03, 3), ["ok", "diverged"], ["ok", "ok"]) == DIVERGES
    assert verdict(_est(0.10, 0.02, 0.03, 3), ["failed"], ["failed"]) == HELPS
    # the old positional form and the old name still work
    assert verdict(Estimate(0.1, -0.2, 0.3, 3), OK3, OK3) == NO_EFFECT == UNDECIDED
    assert verdict(estimate([0.1, 0.12, 0.11]), OK3, OK3) == HELPS


def test_estimate_fills_both_parts():
    e = estimate([0.4, 0.5, 0.6], 0.0004)
    assert _close(e.seed_half, t975(2) * 0.1 / math.sqrt(3))
    assert _close(e.heldout_half, 1.96 * 0.02)
    assert _close(e.high - e.mean, math.hypot(e.seed_half, e.heldout_half))
    one = estimate([0.5], 0.0004)
    assert one.n == 1 and math.isnan(one.seed_half) and _close(one.heldout_half, 0.0392)
    assert estimate([0.4, 0.6]).heldout_half == 0.0


def _decides(e, margin=DEFAULT_MARGIN):
    return verdict(e, [], [], margin) != UNDECIDED


def test_seeds_needed_reachable():
    # observed: +0.04 with a large seed spread over 3 seeds, small held-out part
    sd = 0.05
    e = _est(0.04, t975(2) * sd / math.sqrt(3), 0.01, 3)
    assert not _decides(e)
    n = seeds_needed(e)
    assert n is not None and 3 < n <= 100

    def at(k):     # the interval at k seeds, computed here from the assumptions
        return _est(0.04, t975(k - 1) * sd / math.sqrt(k), 0.01, k)

    assert _decides(at(n)) and not _decides(at(n - 1))
    assert projected(e, n) == at(n)
    # it decides by excluding zero here (0.04 + half > margin)
    assert verdict(at(n), [], []) == HELPS
    # the same case decided by equivalence when the mean is small
    small = _est(0.005, t975(2) * sd / math.sqrt(3), 0.01, 3)
    k = seeds_needed(small)
    assert k is not None and verdict(projected(small, k), [], []) == EQUIVALENT
    assert verdict(projected(small, k - 1), [], []) == UNDECIDED
    # a cap below what is needed gives None
    assert seeds_needed(e, max_seeds=n - 1) is None
    # decided already: its own n; one seed: unknown
    assert seeds_needed(_est(0.2, 0.02, 0.01, 4)) == 4
    assert seeds_needed(Estimate(0.2, math.nan, math.nan, 1, math.nan, 0.01)) is None
    assert "about %d seeds would decide" % n in describe_verdict(e, UNDECIDED, DEFAULT_MARGIN, n)
    assert describe_verdict(e, UNDECIDED) == describe_verdict(e, UNDECIDED, DEFAULT_MARGIN, n)


def test_seeds_needed_unreachable_by_heldout_part():
    # held-out part 0.045 alone: covers zero around +0.03 and exceeds 0.05 - 0.03
    e = _est(0.03, 0.02, 0.045, 5)
    assert verdict(e, [], []) == UNDECIDED
    assert seeds_needed(e) is None
    text = describe_verdict(e, UNDECIDED, DEFAULT_MARGIN, None)
    assert "not reachable with more seeds" in text and "±0.045" in text
    # brute check: no number of seeds up to 1000 decides
    assert not any(_decides(projected(e, k)) for k in range(6, 1001))
    # with a wider margin the same estimate can become reachable
    assert seeds_needed(e, margin=0.1) is not None


def test_describe_verdict_wording():
    assert describe_verdict(_est(0.10, 0.02, 0.03, 3), HELPS, 0.05, 3).startswith(
        "helps: +0.100 [+0.064, +0.136] over 3 seeds")
    eq = describe_verdict(_est(0.01, 0.01, 0.02, 3), EQUIVALENT, 0.05, 3)
    assert eq.startswith("equivalent: +0.010 [") and eq.endswith("lies within ±0.05")
    assert "hurts: -0.100" in describe_verdict(_est(-0.10, 0.02, 0.03, 3), HURTS, 0.05, 3)
    assert "no interval" in describe_verdict(Estimate(0.3, math.nan, math.nan, 1), UNDECIDED,
                                             0.05, None)
    assert describe_verdict(_est(0.1, 0.02, 0.03, 3), CRASHES, 0.05, None).startswith("crashes")


def test_verdict_rule_text():
    assert VERDICT_RULE == verdict_rule(DEFAULT_MARGIN)
    assert "±0.05" in VERDICT_RULE and "±0.1" in verdict_rule(0.1)
    for word in ("helps", "hurts", "equivalent", "undecided", "crashes", "diverges", "seeds"):
        assert word in VERDICT_RULE
    assert stats.DEFAULT_MARGIN == 0.05


def test_random_verdicts_agree_with_interval():
    """On random paired runs, the verdict is exactly what the interval says."""
    rnd = random.Random(4)
    rng = np.random.default_rng(4)
    for _ in range(40):
        seeds = rnd.randint(2, 6)
        fix, base = _runs(rng, seeds, rnd.randint(5, 80), flip=rnd.random() * 0.5)
        e = paired_per_step(fix, base)
        v = verdict(e, [], [])
        if e.low > 0:
            assert v == HELPS
        elif e.high < 0:
            assert v == HURTS
        elif -DEFAULT_MARGIN <= e.low and e.high <= DEFAULT_MARGIN:
            assert v == EQUIVALENT
        else:
            assert v == UNDECIDED
            n = seeds_needed(e)
            if n is not None:
                assert n > e.n and _decides(projected(e, n))
                assert not _decides(projected(e, n - 1)) or n - 1 == e.n
