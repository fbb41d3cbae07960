"""The paired per-step estimate (episodes as clusters, the interaction counted once), the
verdict rule (two one-sided tests for equivalence, helps/hurts at 5%), multiplicity, and the
number of seeds that would decide."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from harness.report import multiplicity, stats
from harness.report.stats import (
    CRASHES, DEFAULT_MARGIN, DIVERGES, EQUIVALENT, HELPS, HURTS, NO_EFFECT, UNDECIDED, VERDICT_RULE,
    Estimate, describe_verdict, estimate, paired_per_step, projected, seeds_needed, t975, verdict,
    verdict_rule)

OK3 = ["ok"] * 3


def _var(xs):
    m = sum(xs) / len(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def brute_force(with_fix, without_fix, episodes):
    """The definition in paired_per_step's docstring, with explicit loops:
    (mean, seed_var, heldout_var, interaction, df, low, high)."""
    S, cols = len(with_fix), len(with_fix[0])
    scope = [i for i in range(cols)
             if all(math.isfinite(with_fix[s][i]) and math.isfinite(without_fix[s][i])
                    for s in range(S))]
    N = len(scope)
    d = {(s, i): with_fix[s][i] - without_fix[s][i] for s in range(S) for i in scope}
    D = [sum(d[s, i] for i in scope) / N for s in range(S)]
    mean = sum(D) / S
    keys = sorted({str(episodes[i]) for i in scope})
    E = len(keys)
    size = {e: sum(1 for i in scope if str(episodes[i]) == e) for e in keys}
    Z = {(s, e): sum(d[s, i] for i in scope if str(episodes[i]) == e) / N - D[s] * size[e] / N
         for s in range(S) for e in keys}
    r = {e: sum(Z[s, e] for s in range(S)) / S for e in keys}
    clustered = E / (E - 1) * sum(r[e] ** 2 for e in keys)
    interaction = E / (E - 1) * sum(_var([Z[s, e] for s in range(S)]) for e in keys) / S
    heldout = max(clustered - interaction, 0.0)
    seed_var = _var(D) / S
    half = math.sqrt(scipy_stats.t.ppf(0.975, S - 1) ** 2 * seed_var
                     + scipy_stats.t.ppf(0.975, E - 1) ** 2 * heldout)
    return mean, seed_var, heldout, interaction, S - 1, max(mean - half, -1), min(mean + half, 1)


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


def _close(a, b, tol=1e-10):
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tol * max(1.0, abs(b))


@pytest.mark.parametrize("seeds", [2, 3, 5, 8])
@pytest.mark.parametrize("f1", [False, True])
def test_paired_per_step_matches_brute_force(seeds, f1):
    rng = np.random.default_rng(seeds * 7 + f1)
    fix, base = _runs(rng, seeds, 53, f1=f1)
    episodes = np.repeat(np.arange(12), 5)[:53]
    got = paired_per_step(fix, base, episodes)
    want = brute_force(fix.tolist(), base.tolist(), episodes.tolist())
    fields = (got.mean, got.seed_var, got.heldout_var, got.interaction_var, got.df, got.low,
              got.high)
    for g, w in zip(fields, want):
        assert _close(g, w), (fields, want)
    assert got.n == seeds and got.low <= got.mean <= got.high
    assert _close(math.hypot(got.seed_half, got.heldout_half), got.high - got.mean) or \
        got.high == 1 or got.low == -1


def test_without_episodes_each_step_is_its_own_cluster():
    rng = np.random.default_rng(11)
    fix, base = _runs(rng, 4, 40, nan_share=0.0)
    assert paired_per_step(fix, base) == paired_per_step(fix, base, [f"e{i}" for i in range(40)])


def test_paired_per_step_uses_items_finite_in_both():
    rng = np.random.default_rng(1)
    fix, base = _runs(rng, 4, 40, nan_share=0.0)
    episodes = np.arange(40) // 4
    fix[2, 5] = np.nan            # one stray NaN on one side drops item 5 for every seed
    base[0, 9] = np.inf
    got = paired_per_step(fix, base, episodes)
    keep = [i for i in range(40) if i not in (5, 9)]
    assert got == paired_per_step(fix[:, keep], base[:, keep], episodes[keep])


def test_paired_per_step_edge_cases():
    empty = paired_per_step(np.zeros((0, 5)), np.zeros((0, 5)))
    assert empty.n == 0 and math.isnan(empty.mean) and math.isnan(empty.heldout_half)
    all_nan = paired_per_step(np.full((3, 4), np.nan), np.full((3, 4), np.nan))
    assert all_nan.n == 0 and math.isnan(all_nan.low)
    one_item = paired_per_step(np.array([[1.0], [1.0], [0.0]]), np.array([[0.0], [1.0], [0.0]]))
    assert one_item.heldout_var == 0.0 and one_item.n == 3 and _close(one_item.mean, 1 / 3)
    with pytest.raises(ValueError, match="shapes differ"):
        paired_per_step(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="3 episode ids for 4 items"):
        paired_per_step(np.zeros((2, 4)), np.zeros((2, 4)), ["a", "b", "c"])
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


def test_heldout_part_does_not_shrink_with_repeated_seeds():
    """Identical seeds have no interaction: the held-out part is the clustered variance."""
    rng = np.random.default_rng(3)
    fix, base = _runs(rng, 1, 379)
    episodes = np.arange(379) // 6
    one = paired_per_step(fix, base, episodes)
    for k in (2, 5, 20):
        many = paired_per_step(np.repeat(fix, k, axis=0), np.repeat(base, k, axis=0), episodes)
        assert _close(many.heldout_var, one.heldout_var) and many.interaction_var < 1e-20
        assert _close(many.mean, one.mean) and many.seed_half == 0.0 and many.n == k


def test_interaction_is_not_counted_twice():
    """Pure seed x step noise (no systematic per-step effect): the held-out part is about 0,
    so the interval is the seed part's, and it shrinks with seeds (the old estimator kept a
    held-out part of about 0.02 at any number of seeds)."""
    rng = np.random.default_rng(5)
    halves = []
    for seeds in (3, 10, 40):
        base = (rng.random((seeds, 379)) < 0.6) * 1.0
        fix = base.copy()
        flips = rng.random(base.shape) < 0.15          # independent per seed and step
        fix[flips] = 1 - fix[flips]
        e = paired_per_step(fix, base, np.arange(379) // 6)
        # the interaction share is taken out; what is left is estimation noise around 0
        assert e.heldout_half < 0.01 and e.interaction_var > 2 * e.heldout_var
        halves.append(e.high - e.mean)
    assert halves[0] > halves[1] > halves[2]


def test_episode_effect_widens_the_heldout_part():
    """A fix whose effect is shared by an episode's steps: clustering by episode gives a wider
    held-out part than treating the steps as independent."""
    rng = np.random.default_rng(6)
    episodes = np.arange(378) // 6
    effect = np.repeat(rng.choice([-1.0, 1.0], 63) * (rng.random(63) < 0.3), 6)
    base = np.tile((rng.random(378) < 0.5) * 1.0, (5, 1))
    fix = np.clip(base + effect, 0, 1)
    clustered = paired_per_step(fix, base, episodes)
    steps = paired_per_step(fix, base)
    assert clustered.heldout_var > 2 * steps.heldout_var


def _est(mean, seed_var, heldout_var, n, episodes=61):
    return stats._combined(mean, n, seed_var, heldout_var, 0.0, float(episodes), episodes, 379)


def test_verdict_cases():
    assert verdict(_est(0.10, 0.0001, 0.0002, 3), OK3, OK3) == HELPS
    assert verdict(_est(-0.10, 0.0001, 0.0002, 3), OK3, OK3) == HURTS
    assert verdict(_est(0.01, 0.00001, 0.00002, 3), OK3, OK3) == EQUIVALENT
    assert verdict(_est(0.01, 0.001, 0.0001, 3), OK3, OK3) == UNDECIDED
    assert verdict(_est(0.01, 0.00001, 0.00002, 3), OK3, OK3, margin=0.015) == UNDECIDED
    assert verdict(Estimate(0.3, math.nan, math.nan, 1), ["ok"], ["ok"]) == UNDECIDED
    assert verdict(paired_per_step(np.zeros((0, 3)), np.zeros((0, 3))), [], []) == UNDECIDED
    assert verdict(_est(0.10, 0.0001, 0.0002, 3), ["ok", "failed"], ["ok", "ok"]) == CRASHES
    assert verdict(_est(0.10, 0.0001, 0.0002, 3), ["ok", "diverged"], ["ok", "ok"]) == DIVERGES
    assert verdict(_est(0.10, 0.0001, 0.0002, 3), ["failed"], ["failed"]) == HELPS
    assert NO_EFFECT == UNDECIDED
    assert verdict(estimate([0.1, 0.12, 0.11]), OK3, OK3) == HELPS
    # an adjusted decision overrides the test at 5%: not significant after adjustment
    assert verdict(_est(0.10, 0.0001, 0.0002, 3), OK3, OK3, significant=False) == UNDECIDED


def test_small_real_effect_is_equivalent_not_helps():
    """A significant difference whose 90% interval lies inside the margin: equivalent."""
    e = _est(0.02, 0.000004, 0.000004, 5)
    assert e.low > 0 and stats.is_significant(e)
    assert verdict(e, ["ok"] * 5, ["ok"] * 5) == EQUIVALENT
    assert stats.small_real_effect(e, EQUIVALENT)
    text = describe_verdict(e, EQUIVALENT, metric="step accuracy", small_effect=True)
    assert text.startswith("step accuracy: equivalent (small real effect, +0.020)")
    assert "two one-sided tests" in text


def test_equivalence_is_tost_at_five_percent():
    e = _est(0.01, 0.0002, 0.0001, 5)
    low90, high90 = e.interval(0.90)
    assert stats.is_equivalent(e, 0.05) == (low90 > -0.05 and high90 < 0.05)
    # each p-value is the level at which the matching interval bound reaches the hypothesis
    p_eq = e.equivalence_p(0.05)
    low, high = e.interval(1 - 2 * p_eq)
    assert _close(min(low + 0.05, 0.05 - high), 0.0, tol=1e-8)
    p = e.p_value()
    assert _close(min(abs(b) for b in e.interval(1 - p)), 0.0, tol=1e-8)


def test_p_values_and_intervals_agree_and_parts_keep_their_own_t():
    """An interval at level 1 - a excludes 0 exactly when p < a; with no held-out part the
    test is Student's t over seeds; with no seed spread, t(E - 1) over episodes; both parts:
    never less wide than either part alone at its own quantile."""
    seeds_only = _est(0.03, 0.0002, 0.0, 4)
    t = seeds_only.mean / math.sqrt(seeds_only.seed_var)
    assert _close(seeds_only.p_value(), 2 * scipy_stats.t.sf(t, 3), tol=1e-8)
    both = _est(0.03, 0.0002, 0.0001, 4)
    for a in (0.2, 0.05, 0.01, 0.001):
        low, high = both.interval(1 - a)
        assert (low > 0) == (both.p_value() < a)
    half = both.high - both.mean
    assert half >= scipy_stats.t.ppf(0.975, 3) * math.sqrt(both.seed_var) - 1e-12
    # a seed spread far smaller than the held-out part does not buy a normal quantile for it
    small_seed = _est(0.03, 1e-9, 0.0001, 4)
    assert small_seed.df == 3 and small_seed.heldout_df == small_seed.episodes - 1


def test_estimate_fills_both_parts():
    e = estimate([0.4, 0.5, 0.6], 0.0004)
    assert _close(e.seed_var, 0.01 / 3) and _close(e.heldout_var, 0.0004)
    assert _close(e.high - e.mean, math.hypot(e.seed_half, e.heldout_half))
    one = estimate([0.5], 0.0004)
    assert one.n == 1 and math.isnan(one.seed_half) and _close(one.heldout_half, 0.0392)
    assert estimate([0.4, 0.6]).heldout_half == 0.0


def _decides(e, margin=DEFAULT_MARGIN, alpha=0.05):
    return stats.decide(e, margin, alpha) != UNDECIDED


def test_seeds_needed_reachable():
    e = _est(0.04, 0.05 ** 2 / 3, 0.00003, 3)
    assert not _decides(e)
    n = seeds_needed(e)
    assert n is not None and 3 < n <= 100
    assert _decides(projected(e, n)) and not _decides(projected(e, n - 1))
    assert verdict(projected(e, n), [], []) == HELPS
    small = _est(0.005, 0.05 ** 2 / 3, 0.00003, 3)
    k = seeds_needed(small)
    assert k is not None and verdict(projected(small, k), [], []) == EQUIVALENT
    assert verdict(projected(small, k - 1), [], []) == UNDECIDED
    assert seeds_needed(e, max_seeds=n - 1) is None
    assert seeds_needed(_est(0.2, 0.0001, 0.0001, 4)) == 4
    assert seeds_needed(Estimate(0.2, math.nan, math.nan, 1, math.nan, 0.01)) is None
    assert "about %d seeds would decide" % n in describe_verdict(e, UNDECIDED, DEFAULT_MARGIN, n)
    # a stricter level (a multiplicity procedure's) needs more seeds
    assert seeds_needed(e, alpha=0.005) > n


def test_seeds_needed_unreachable_by_heldout_part():
    # held-out part alone (sd 0.023): covers zero around +0.03 and reaches past 0.05 - 0.03
    e = _est(0.03, 0.0001, 0.023 ** 2, 5)
    assert verdict(e, [], []) == UNDECIDED and seeds_needed(e) is None
    text = describe_verdict(e, UNDECIDED, DEFAULT_MARGIN, None)
    assert "not reachable with more seeds" in text
    assert not any(_decides(projected(e, k)) for k in range(6, 400, 7))
    assert seeds_needed(e, margin=0.1) is not None


def test_describe_verdict_wording():
    text = describe_verdict(_est(0.10, 0.0001, 0.0002, 3), HELPS, 0.05, 3, metric="tap accuracy")
    assert text.startswith("tap accuracy: helps: +0.100 [") and "over 3 seeds" in text
    assert "hurts: -0.100" in describe_verdict(_est(-0.10, 0.0001, 0.0002, 3), HURTS, 0.05, 3)
    assert "no interval" in describe_verdict(Estimate(0.3, math.nan, math.nan, 1), UNDECIDED,
                                             0.05, None)
    assert describe_verdict(_est(0.1, 0.0001, 0.0002, 3), CRASHES, 0.05, None).startswith(
        "crashes")


def test_verdict_rule_text():
    assert VERDICT_RULE == verdict_rule(DEFAULT_MARGIN)
    assert "±0.05" in VERDICT_RULE and "±0.1" in verdict_rule(0.1)
    for word in ("helps", "hurts", "equivalent", "undecided", "crashes", "diverges", "seeds",
                 "Benjamini-Hochberg", "two one-sided tests", "episodes"):
        assert word in VERDICT_RULE
    assert "Holm" in verdict_rule(0.05, "holm")
    assert stats.DEFAULT_MARGIN == 0.05


def test_random_verdicts_agree_with_tests():
    rnd = random.Random(4)
    rng = np.random.default_rng(4)
    for _ in range(40):
        seeds = rnd.randint(2, 6)
        items = rnd.randint(5, 80)
        fix, base = _runs(rng, seeds, items, flip=rnd.random() * 0.5)
        e = paired_per_step(fix, base, np.arange(items) // 3)
        v = verdict(e, [], [])
        low90, high90 = e.interval(0.90)
        if -DEFAULT_MARGIN < low90 and high90 < DEFAULT_MARGIN:
            assert v == EQUIVALENT
        elif e.low > 0:
            assert v == HELPS
        elif e.high < 0:
            assert v == HURTS
        else:
            assert v == UNDECIDED


# --------------------------------------------------------------------------- multiplicity

def test_benjamini_hochberg_and_holm():
    p = [0.01, 0.04, 0.03, 0.005, math.nan]
    assert multiplicity.rejected(p, "bh").tolist() == [True, True, True, True, False]
    assert multiplicity.rejected(p, "holm").tolist() == [True, False, False, True, False]
    assert multiplicity.rejected(p, "none").tolist() == [True, True, True, True, False]
    # BH is a step-up: 0.045 alone would fail at 1 x 0.05 / 3, but not with two smaller ones
    assert multiplicity.rejected([0.001, 0.02, 0.045], "bh").tolist() == [True, True, True]
    assert multiplicity.rejected([0.001, 0.02, 0.045], "holm").tolist() == [True, True, True]
    assert multiplicity.rejected([0.001, 0.03, 0.045], "holm").tolist() == [True, False, False]
    assert multiplicity.family_size(p) == 4
    with pytest.raises(ValueError, match="expected one of bh, holm, none"):
        multiplicity.rejected(p, "bonferoni")


def test_level_for_one_more():
    p = [0.001, 0.2, 0.3, 0.4]
    assert _close(multiplicity.level_for_one_more(p, 1, "holm"), 0.05 / 3)
    assert _close(multiplicity.level_for_one_more(p, 1, "bh"), 0.05 * 2 / 4)
    assert multiplicity.level_for_one_more(p, 1, "none") == 0.05


def test_direct_tests_agree_with_the_p_values():
    """is_significant / is_equivalent compare bounds directly; they must say what p < alpha
    says, on both sides of every level."""
    rng = np.random.default_rng(5)
    for _ in range(200):
        e = _est(rng.normal(0, 0.05), rng.uniform(0, 0.002), rng.uniform(0, 0.001),
                 int(rng.integers(2, 12)))
        for alpha in (0.05, 0.0167, 0.0025):
            assert stats.is_significant(e, alpha) == (e.p_value() < alpha)
            assert stats.is_equivalent(e, 0.05, alpha) == (e.equivalence_p(0.05) < alpha)
