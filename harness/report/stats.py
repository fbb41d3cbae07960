"""Small statistics for few seeds: means with Student-t 95% intervals, paired differences,
and the rule that words a verdict from them."""

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
    mean: float
    low: float
    high: float
    n: int

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.low) and math.isfinite(self.high)

    def excludes_zero(self) -> int:
        """+1 when the interval lies above 0, -1 below, 0 when it covers 0 or is missing."""
        if not self.has_interval:
            return 0
        return 1 if self.low > 0 else (-1 if self.high < 0 else 0)


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
        return Estimate(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1)
    seeds = t975(n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    held_out = 1.96 * math.sqrt(eval_var) if eval_var and math.isfinite(eval_var) else 0.0
    half = math.hypot(seeds, held_out)
    return Estimate(mean, mean - half, mean + half, n)


def proportion_var(p: float, n: float) -> float:
    """Sampling variance of a proportion (or of a mean of values in [0, 1], as an upper
    bound) measured on ``n`` items."""
    if not (n and n > 0 and math.isfinite(p)):
        return math.nan
    p = min(max(p, 0.0), 1.0)
    return p * (1 - p) / n


HELPS, HURTS, NO_EFFECT, CRASHES, DIVERGES = (
    "helps", "hurts", "no measurable effect at this budget", "crashes", "diverges")

VERDICT_RULE = (
    "A fix is compared with its base run by run on the same seeds, which share data, batch "
    "order and initial weights. If any run with the fix failed where the base did not, the "
    "verdict is 'crashes'; if any diverged (non-finite weights) where the base did not, "
    "'diverges'. Otherwise the verdict reads the paired differences of the primary metric (AitW "
    "step accuracy, the fix's run minus the base's): 'helps' when the whole 95% interval of the "
    "mean difference lies above zero, 'hurts' when it lies below, and 'no measurable effect at "
    "this budget' when it covers zero or when fewer than two seeds finished in both (no "
    "interval). The interval combines seed-to-seed variation (Student t over seeds) with the "
    "sampling error of the held-out set, which every seed shares, so two seeds that happen to "
    "agree exactly do not make a small difference look certain. More seeds or steps narrow the "
    "seed part, a larger held-out set the other; the verdict says nothing about budgets that "
    "were not run.")


def verdict(difference: Estimate, fix_statuses: list[str], base_statuses: list[str]) -> str:
    if fix_statuses.count("failed") > base_statuses.count("failed"):
        return CRASHES
    if fix_statuses.count("diverged") > base_statuses.count("diverged"):
        return DIVERGES
    sign = difference.excludes_zero()
    return HELPS if sign > 0 else (HURTS if sign < 0 else NO_EFFECT)
