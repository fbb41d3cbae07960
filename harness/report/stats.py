"""Small statistics for few seeds: means with Student-t 95% intervals, paired differences
(by seed and by held-out step), and the rule that words a verdict from them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Two-sided 95% Student-t quantiles by degrees of freedom (no SciPy dependency for one table).
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
         9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000}


def t975(df: int) -> float:
    if df < 1:
        return math.nan
    if df in _T975:
        return _T975[df]
    known = sorted(_T975)
    if df > known[-1]:
        return 1.96
    upper = min(k for k in known if k > df)    # conservative: the next smaller df's quantile
    lower = max(k for k in known if k < df)
    return _T975[lower] if lower else _T975[upper]


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% interval over ``n`` seeds.

    ``seed_half`` and ``heldout_half`` are the two parts of the interval's half-width (combined
    in quadrature): the Student-t part from seed-to-seed variation, and the part from the
    held-out set's own sampling error. Either is NaN where it was not computed (for example
    ``seed_half`` with one seed).
    """
    mean: float
    low: float
    high: float
    n: int
    seed_half: float = math.nan
    heldout_half: float = math.nan

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.low) and math.isfinite(self.high)

    def excludes_zero(self) -> int:
        """+1 when the interval lies above 0, -1 below, 0 when it covers 0 or is missing."""
        if not self.has_interval:
            return 0
        return 1 if self.low > 0 else (-1 if self.high < 0 else 0)


_EMPTY = Estimate(math.nan, math.nan, math.nan, 0)


def estimate(values, eval_var: float | None = None) -> Estimate:
    """Mean and 95% interval of finite values (one per seed).

    Two sources of uncertainty, combined in quadrature: seed-to-seed variation (Student t over
    seeds) and, when ``eval_var`` is given, the held-out set's own sampling error (normal
    approximation; every seed is scored on the same held-out set, so this part does not shrink
    with more seeds). With one seed there is no interval.
    """
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return _EMPTY
    mean = float(x.mean())
    held_out = (1.96 * math.sqrt(eval_var)
                if eval_var is not None and math.isfinite(eval_var) and eval_var > 0 else 0.0)
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1, math.nan, held_out)
    seeds = t975(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    half = math.hypot(seeds, held_out)
    return Estimate(mean, mean - half, mean + half, n, seeds, held_out)


def proportion_var(p: float, n: float) -> float:
    """Sampling variance of a proportion (or of a mean of values in [0, 1], as an upper
    bound) measured on ``n`` items."""
    if not (n and n > 0 and math.isfinite(p)):
        return math.nan
    p = min(max(p, 0.0), 1.0)
    return p * (1 - p) / n


def _interval(mean: float, seed_half: float, heldout_half: float, n: int) -> Estimate:
    """The estimate with both parts combined; low/high clipped to [-1, 1], where a difference
    of two scores in [0, 1] lives."""
    half = math.hypot(seed_half, heldout_half)
    return Estimate(mean, max(mean - half, -1.0), min(mean + half, 1.0), n,
                    seed_half, heldout_half)


def paired_per_step(with_fix, without_fix) -> Estimate:
    """Mean and 95% interval of a metric's difference between two runs, paired by seed and by
    held-out step.

    ``with_fix`` and ``without_fix`` are float arrays shaped (seeds, held-out items): row s of
    both is the same seed (same data order, batch order and initial weights), column i the same
    held-out step; values are per-step scores in [0, 1] (0/1 correctness, or a word F1), NaN
    where the step is outside the metric's scope. Only items finite in both arrays for every
    seed are used, so every seed is scored on the same N items.

    Written out with loops (this is the whole computation)::

        d[s][i] = with_fix[s][i] - without_fix[s][i]            # items in scope only
        D[s]    = sum(d[s][i] for i) / N                          # per-seed metric difference
        mean    = sum(D[s] for s) / S
        seed_half    = t975(S - 1) * sd(D, ddof=1) / sqrt(S)
        dbar[i]      = sum(d[s][i] for s) / S                     # per-step difference
        heldout_half = 1.96 * sd(dbar, ddof=1) / sqrt(N)          # 0 when N == 1
        half = hypot(seed_half, heldout_half); low, high = mean -/+ half, clipped to [-1, 1]

    Why two parts. The seed part is the usual Student-t interval over seeds: how much the
    difference moves when training is repeated with another seed. It shrinks as seeds are
    added. The held-out part is the sampling error of the held-out set itself: the runs are
    scored on one finite sample of steps, and a different sample of N steps would give a
    different difference even with infinitely many seeds. Every seed is scored on the same
    steps, so this part is computed from the seed-averaged per-step differences ``dbar`` and
    does not shrink with more seeds (repeating rows leaves it unchanged). It is paired per step:
    a step both runs get right (or both wrong) adds nothing, so two runs that agree on most
    steps get a narrow interval, unlike treating the two scores as independent proportions.

    With one seed: the mean and ``heldout_half`` only, no interval (low/high NaN), n=1. With no
    seeds or no items in scope: all NaN, n=0.
    """
    a = np.atleast_2d(np.asarray(with_fix, dtype=float))
    b = np.atleast_2d(np.asarray(without_fix, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"paired_per_step: shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"paired_per_step: expected (seeds, items) arrays, got {a.shape}")
    seeds = a.shape[0]
    scope = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0) if seeds else None
    if seeds == 0 or not scope.any():
        return _EMPTY
    d = a[:, scope] - b[:, scope]                       # (S, N)
    items = d.shape[1]
    per_seed = d.mean(axis=1)                           # D_s
    per_step = d.mean(axis=0)                           # dbar_i
    mean = float(per_seed.mean())
    heldout = 1.96 * float(per_step.std(ddof=1)) / math.sqrt(items) if items > 1 else 0.0
    if seeds == 1:
        return Estimate(mean, math.nan, math.nan, 1, math.nan, heldout)
    seed = t975(seeds - 1) * float(per_seed.std(ddof=1)) / math.sqrt(seeds)
    return _interval(mean, seed, heldout, seeds)


HELPS, HURTS, EQUIVALENT, UNDECIDED, CRASHES, DIVERGES = (
    "helps", "hurts", "equivalent", "undecided", "crashes", "diverges")
NO_EFFECT = UNDECIDED          # the former name of the verdict that decides nothing

# The equivalence margin, in units of the metric (0.05 = 5 points of step accuracy). It cannot
# be much smaller: with 379 held-out steps, a paired difference between two runs that disagree
# on ~15% of steps has a held-out half-width of about 1.96 * sqrt(0.15 / 379) ~= 0.04, which
# no number of seeds shrinks, so a margin below ~0.04 could rarely be shown even with infinitely
# many seeds. And 0.05 is about the size of a change an engineer would still treat as "the
# same" when making a design decision on this task.
DEFAULT_MARGIN = 0.05


def verdict_rule(margin: float = DEFAULT_MARGIN) -> str:
    """The paragraph the report shows to explain how a verdict is worded."""
    m = f"{margin:g}"
    return (
        "A fix is compared with its base run by run on the same seeds, which share data, batch "
        "order and initial weights, and step by step on the same held-out steps. If any run "
        "with the fix failed where the base did not, the verdict is 'crashes'; if any diverged "
        "(non-finite weights) where the base did not, 'diverges'. Otherwise it reads the 95% "
        "interval of the mean difference of the primary metric (AitW step accuracy, the fix's "
        "run minus the base's). The interval has two parts, combined in quadrature: "
        "seed-to-seed variation (Student t over seeds), which more seeds shrink, and the "
        "sampling error of the held-out set, from the per-step differences, which every seed "
        "shares and more seeds do not shrink. 'helps' when the whole interval lies above zero, "
        "'hurts' when below, 'equivalent' when it lies within "
        f"±{m} (the margin, in units of the metric: changes this small count as the same), "
        "and 'undecided' otherwise, including when fewer than two seeds finished in both (no "
        "interval). An undecided verdict says about how many seeds would decide, assuming the "
        "same mean and spread, or that no number would because the held-out part alone is too "
        "wide; the verdict says nothing about budgets that were not run.")


VERDICT_RULE = verdict_rule(DEFAULT_MARGIN)


def _interval_verdict(low: float, high: float, margin: float) -> str:
    if low > 0:
        return HELPS
    if high < 0:
        return HURTS
    if low >= -margin and high <= margin:
        return EQUIVALENT
    return UNDECIDED


def verdict(difference: Estimate, fix_statuses: list[str], base_statuses: list[str],
            margin: float = DEFAULT_MARGIN) -> str:
    """crashes / diverges when the fix's runs failed / diverged more often than the base's;
    otherwise helps (interval above 0), hurts (below 0), equivalent (within ±margin) or
    undecided (anything else, or no interval)."""
    if fix_statuses.count("failed") > base_statuses.count("failed"):
        return CRASHES
    if fix_statuses.count("diverged") > base_statuses.count("diverged"):
        return DIVERGES
    if not difference.has_interval:
        return UNDECIDED
    return _interval_verdict(difference.low, difference.high, margin)


def _seed_sd(difference: Estimate) -> float:
    """The seed standard deviation behind ``seed_half`` (NaN when unknown)."""
    n = difference.n
    if n < 2 or not math.isfinite(difference.seed_half):
        return math.nan
    return difference.seed_half * math.sqrt(n) / t975(n - 1)


def projected(difference: Estimate, seeds: int) -> Estimate:
    """The estimate expected with ``seeds`` seeds, assuming the observed mean, the observed
    seed standard deviation and the same held-out half-width (NaN estimate if unknown)."""
    sd = _seed_sd(difference)
    if seeds < 2 or not math.isfinite(sd):
        return Estimate(difference.mean, math.nan, math.nan, max(int(seeds), 0))
    heldout = difference.heldout_half if math.isfinite(difference.heldout_half) else 0.0
    return _interval(difference.mean, t975(seeds - 1) * sd / math.sqrt(seeds), heldout, seeds)


def _heldout_blocks(difference: Estimate, margin: float) -> bool:
    """True when the held-out part alone is too wide for any number of seeds to decide."""
    h, m = difference.heldout_half, abs(difference.mean)
    return math.isfinite(h) and math.isfinite(m) and h >= max(m, margin - m)


def seeds_needed(difference: Estimate, margin: float = DEFAULT_MARGIN,
                 max_seeds: int = 100) -> int | None:
    """The smallest number of seeds (more than now, at most ``max_seeds``) at which the interval
    would decide (exclude zero, or lie within ±margin), assuming the observed mean, seed
    standard deviation and held-out half-width. An already decided estimate returns its own n.
    None when it cannot be told (fewer than two seeds: no seed spread known) or not reachable
    (the held-out part alone is too wide, or more than ``max_seeds`` would be needed)."""
    if not difference.has_interval or not math.isfinite(_seed_sd(difference)):
        return None
    if _interval_verdict(difference.low, difference.high, margin) != UNDECIDED:
        return difference.n
    if _heldout_blocks(difference, margin):
        return None
    for n in range(difference.n + 1, max_seeds + 1):
        p = projected(difference, n)
        if _interval_verdict(p.low, p.high, margin) != UNDECIDED:
            return n
    return None


_COMPUTE = object()


def describe_verdict(difference: Estimate, verdict: str, margin: float = DEFAULT_MARGIN,
                     needed=_COMPUTE, max_seeds: int = 100) -> str:
    """One short line: the verdict, the interval and the seeds behind it, and for an undecided
    verdict how many seeds would decide (``needed``, computed when not given)."""
    if verdict == CRASHES:
        return "crashes: a run with the fix failed where the base's did not"
    if verdict == DIVERGES:
        return "diverges: a run with the fix diverged where the base's did not"
    d = difference
    seeds = f"{d.n} seed" + ("" if d.n == 1 else "s")
    if d.n == 0 or not math.isfinite(d.mean):
        return f"{verdict}: no seed finished in both runs"
    if not d.has_interval:
        return f"{verdict}: {d.mean:+.3f} over {seeds}, no interval (needs at least two seeds)"
    text = f"{verdict}: {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] over {seeds}"
    if verdict == HELPS:
        return text + "; lies above zero"
    if verdict == HURTS:
        return text + "; lies below zero"
    if verdict == EQUIVALENT:
        return text + f"; lies within ±{margin:g}"
    if needed is _COMPUTE:
        needed = seeds_needed(d, margin, max_seeds)
    if needed is not None:
        return text + f"; about {needed} seeds would decide"
    if _heldout_blocks(d, margin):
        return text + (f"; not reachable with more seeds (held-out part ±{d.heldout_half:.3f} "
                       "alone exceeds what would decide)")
    return text + f"; not reachable within {max_seeds} seeds"
