"""Small statistics for few seeds: means with 95% intervals, paired differences (by seed, by
held-out step, with held-out episodes as clusters), and the rule that words a verdict from
them. The error rates of these intervals and verdicts are measured by simulation
(:mod:`harness.report.simulation`, ``scripts/simulate_verdicts.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
# scipy.special, not scipy.stats: the latter's import pulls in array backends (torch among
# them), and the report must load on a machine without torch
from scipy import optimize as _optimize
from scipy import special as _special

#: The level of every test: 95% two-sided intervals for helps/hurts, two one-sided tests at 5%
#: for equivalence (a 90% interval inside the margin).
ALPHA = 0.05


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom (infinite: the
    normal's); NaN without degrees of freedom."""
    if not (df > 0 and math.isfinite(p)):
        return math.nan
    if math.isinf(df):
        return float(_special.ndtri(p))
    return float(_special.stdtrit(df, p))


def t975(df: float) -> float:
    """The two-sided 95% quantile of Student's t (NaN for df < 1)."""
    if df < 1:
        return math.nan
    return t_quantile(0.975, df)


def _t_sf(x: float, df: float) -> float:
    """P(T > x) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(df):
        return float(_special.ndtr(-x))
    return float(_special.stdtr(df, -x))


@dataclass(frozen=True)
class Estimate:
    """A mean (or mean difference) with its 95% interval over ``n`` seeds.

    The variance of the mean has two parts: ``seed_var``, the seed-to-seed part (var(D)/S,
    which more seeds shrink), and ``heldout_var``, the held-out set's own sampling error with
    episodes as clusters and without the seed x episode interaction (which ``seed_var`` already
    holds), which more seeds do not shrink. ``interaction_var`` is what was taken out of the
    clustered variance for that interaction (it scales as 1/S, the projection needs it).

    Each part is scaled by its own Student t quantile, ``df`` = S - 1 for the seed part and
    ``heldout_df`` = E - 1 (episodes) for the held-out part, and the two scaled parts are
    combined in quadrature: half-width(q) = sqrt(t_q(S-1)^2 seed_var + t_q(E-1)^2
    heldout_var). ``seed_half`` and ``heldout_half`` are the two parts at q = 0.975. Why not
    one t with Satterthwaite's degrees of freedom: those are computed from the same noisy
    variance estimates, and rise exactly when the seed variance comes out small by chance, so
    the quantile drops when the standard error is already too small; with 3-5 seeds that made
    p-values below 0.0025 several times too frequent (measured: ``harness.report.
    simulation``), which a multiplicity procedure reading the smallest p-values cannot afford.
    Here the seed part never gets a quantile below t(S - 1). p-values and the equivalence
    test invert the same half-width, so an interval at level 1 - a excludes 0 exactly when
    ``p_value() < a``. Fields are NaN where they were not computed (no interval with one seed).
    """
    mean: float
    low: float
    high: float
    n: int
    seed_half: float = math.nan
    heldout_half: float = math.nan
    seed_var: float = math.nan
    heldout_var: float = math.nan
    df: float = math.nan
    interaction_var: float = 0.0
    episodes: int = 0
    items: int = 0
    heldout_df: float = math.inf

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.low) and math.isfinite(self.high)

    @property
    def se(self) -> float:
        """Standard error of the mean: sqrt(seed_var + heldout_var)."""
        return math.sqrt(self.seed_var + self.heldout_var)

    def excludes_zero(self) -> int:
        """+1 when the interval lies above 0, -1 below, 0 when it covers 0 or is missing."""
        if not self.has_interval:
            return 0
        return 1 if self.low > 0 else (-1 if self.high < 0 else 0)

    def half_width(self, q: float) -> float:
        """The distance from the mean to the interval's end at one-sided level ``q`` (0.975
        for the 95% interval): each part scaled by its own t quantile, then added as
        variances (negative for q < 0.5)."""
        seed_t, held_t = t_quantile(q, self.df), t_quantile(q, self.heldout_df)
        held = self.heldout_var if self.heldout_var > 0 else 0.0
        magnitude = math.sqrt(seed_t ** 2 * self.seed_var + (held_t ** 2 * held if held else 0))
        return math.copysign(magnitude, q - 0.5)

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """The two-sided interval at ``confidence`` (same centre and parts)."""
        if not self.has_interval:
            return math.nan, math.nan
        half = self.half_width(0.5 + confidence / 2)
        return max(self.mean - half, -1.0), min(self.mean + half, 1.0)

    def _one_sided_p(self, x: float) -> float:
        """The level a at which the one-sided bound mean - half_width(1 - a) reaches
        mean - x: the p-value of 'the difference is at most (mean - x)'. Monotone in x."""
        if x == 0:
            return 0.5
        if x < 0:
            return 1.0 - self._one_sided_p(-x)
        tiny = 1e-15            # the smallest level 1 - level still tells apart from 1
        if self.half_width(1 - tiny) <= x:
            return 0.0
        # on the log scale: the p-values of interest span many orders of magnitude
        root = _optimize.brentq(lambda u: self.half_width(1 - math.exp(u)) - x,
                                math.log(tiny), math.log(0.5), xtol=1e-12)
        return math.exp(root)

    def p_value(self) -> float:
        """Two-sided p-value of 'no difference' (the mean is 0): the level whose interval
        just touches 0; NaN without an interval."""
        if not self.has_interval:
            return math.nan
        if self.se == 0:
            return 1.0 if self.mean == 0 else 0.0
        return min(1.0, 2 * self._one_sided_p(abs(self.mean)))

    def equivalence_p(self, margin: float) -> float:
        """p-value of the two one-sided tests (TOST) that the true difference lies within
        ±``margin``: the larger of the two one-sided p-values; NaN without an interval."""
        if not self.has_interval:
            return math.nan
        if self.se == 0:
            return 0.0 if abs(self.mean) < margin else 1.0
        below = self._one_sided_p(self.mean + margin)     # H0: diff <= -margin
        above = self._one_sided_p(margin - self.mean)     # H0: diff >= +margin
        return max(below, above)


_EMPTY = Estimate(math.nan, math.nan, math.nan, 0)


def estimate(values, eval_var: float | None = None) -> Estimate:
    """Mean and 95% interval of finite values (one per seed): the fallback for records without
    per-step scores.

    Two parts, added as variances: seed-to-seed variation (Student t over seeds, df n - 1) and,
    when ``eval_var`` is given, the held-out set's own sampling error (every seed is scored on
    the same held-out set, so this part does not shrink with more seeds). With one seed there is
    no interval.
    """
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    n = len(x)
    if n == 0:
        return _EMPTY
    mean = float(x.mean())
    held_var = (float(eval_var) if eval_var is not None and math.isfinite(eval_var)
                and eval_var > 0 else 0.0)
    if n == 1:
        return Estimate(mean, math.nan, math.nan, 1, math.nan, 1.96 * math.sqrt(held_var),
                        math.nan, held_var)
    seed_var = float(x.var(ddof=1)) / n
    return _combined(mean, n, seed_var, held_var, 0.0, math.inf, 0, 0)


def proportion_var(p: float, n: float) -> float:
    """Sampling variance of a proportion (or of a mean of values in [0, 1], as an upper
    bound) measured on ``n`` items."""
    if not (n and n > 0 and math.isfinite(p)):
        return math.nan
    p = min(max(p, 0.0), 1.0)
    return p * (1 - p) / n


def _combined(mean: float, n: int, seed_var: float, heldout_var: float,
              interaction_var: float, episodes: float, n_episodes: int, items: int) -> Estimate:
    """The estimate from its variance parts; low/high clipped to [-1, 1], where a difference
    of two scores in [0, 1] lives."""
    df = float(n - 1) if n >= 2 else math.nan
    heldout_df = episodes - 1 if math.isfinite(episodes) else math.inf
    seed_half = t975(df) * math.sqrt(seed_var)
    heldout_half = (t_quantile(0.975, heldout_df) * math.sqrt(heldout_var) if heldout_var > 0
                    else 0.0)
    half = math.hypot(seed_half, heldout_half)
    return Estimate(mean, max(mean - half, -1.0), min(mean + half, 1.0), n, seed_half,
                    heldout_half, seed_var, heldout_var, df, interaction_var, n_episodes,
                    items, heldout_df)


def paired_per_step(with_fix, without_fix, episodes=None) -> Estimate:
    """Mean and 95% interval of a metric's difference between two runs, paired by seed and by
    held-out step, with held-out episodes as clusters.

    ``with_fix`` and ``without_fix`` are float arrays shaped (seeds, held-out items): row s of
    both is the same seed (same data order, batch order and initial weights), column i the same
    held-out step; values are per-step scores in [0, 1] (0/1 correctness, or a word F1), NaN
    where the step is outside the metric's scope. ``episodes`` gives each column's episode (None:
    each step is an episode of its own). Only items finite in both arrays for every seed are
    used, so every seed is scored on the same N items, in E episodes.

    Written out (this is the whole computation)::

        d[s][i] = with_fix[s][i] - without_fix[s][i]           # items in scope only
        D[s]    = sum(d[s][i] for i) / N                         # per-seed metric difference
        mean    = sum(D[s] for s) / S
        seed_var = var(D, ddof=1) / S                            # seed part, shrinks with S
        Y[s][e] = sum(d[s][i] for i in episode e) / N            # so that sum over e of Y = D
        Z[s][e] = Y[s][e] - D[s] * n_e / N                       # minus the seed's own shift
        r[e]    = mean(Z[s][e] for s)                            # the episode's deviation
        clustered   = E / (E - 1) * sum(r[e] ** 2)               # episode-clustered variance
        interaction = E / (E - 1) * sum(var(Z[:, e], ddof=1)) / S   # its seed x episode share
        heldout_var = max(clustered - interaction, 0)
        half = sqrt(t(0.975, S - 1) ** 2 * seed_var + t(0.975, E - 1) ** 2 * heldout_var)

    Why this way. The seed part is the usual variance of a mean over seeds: how much the
    difference moves when training is repeated. It already contains the seed x step (and seed x
    episode) interaction, the part of a step's difference that changes from seed to seed. The
    held-out part is the sampling error of the held-out set itself: a different sample of
    episodes would give a different difference even with infinitely many seeds. Steps of one
    episode share a goal and screens, so episodes, not steps, are the independent units: the
    variance is clustered by episode. Averaged over S seeds, each episode's deviation still
    holds 1/S of the interaction, which the seed part counts already, so that share (estimated
    from how the episode's deviation varies between seeds) is taken out; what is left does not
    shrink with seeds. It is never negative, so the variance is never below the seed part.

    With one seed: the mean and ``heldout_half`` (clustered, interaction not separable) only,
    no interval (low/high NaN), n=1. With no seeds or no items in scope: all NaN, n=0.
    """
    a = np.atleast_2d(np.asarray(with_fix, dtype=float))
    b = np.atleast_2d(np.asarray(without_fix, dtype=float))
    if a.shape != b.shape:
        raise ValueError(f"paired_per_step: shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 2:
        raise ValueError(f"paired_per_step: expected (seeds, items) arrays, got {a.shape}")
    seeds = a.shape[0]
    if episodes is not None and len(episodes) != a.shape[1]:
        raise ValueError(f"paired_per_step: {len(episodes)} episode ids for {a.shape[1]} items")
    scope = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0) if seeds else None
    if seeds == 0 or not scope.any():
        return _EMPTY
    d = a[:, scope] - b[:, scope]                       # (S, N)
    items = d.shape[1]
    if episodes is None:
        cluster = np.arange(items)
    else:
        _, cluster = np.unique(np.asarray(episodes, dtype=object)[scope].astype(str),
                               return_inverse=True)
    n_episodes = int(cluster.max()) + 1
    per_seed = d.mean(axis=1)                           # D_s
    mean = float(per_seed.mean())
    totals = np.zeros((seeds, n_episodes))
    np.add.at(totals, (slice(None), cluster), d)
    share = np.bincount(cluster, minlength=n_episodes) / items       # n_e / N
    z = totals / items - per_seed[:, None] * share[None, :]           # (S, E)
    inflate = n_episodes / (n_episodes - 1) if n_episodes > 1 else 0.0
    clustered = inflate * float((z.mean(axis=0) ** 2).sum())
    if seeds == 1:
        return Estimate(mean, math.nan, math.nan, 1, math.nan, 1.96 * math.sqrt(clustered),
                        math.nan, clustered, math.nan, 0.0, n_episodes, items)
    interaction = inflate * float(z.var(axis=0, ddof=1).sum()) / seeds
    heldout = max(clustered - interaction, 0.0)
    seed_var = float(per_seed.var(ddof=1)) / seeds
    episodes_df = float(n_episodes) if n_episodes > 1 else math.inf
    return _combined(mean, seeds, seed_var, heldout, interaction, episodes_df, n_episodes,
                     items)


HELPS, HURTS, EQUIVALENT, UNDECIDED, CRASHES, DIVERGES = (
    "helps", "hurts", "equivalent", "undecided", "crashes", "diverges")
NO_EFFECT = UNDECIDED          # the former name of the verdict that decides nothing

# The equivalence margin, in units of the metric (0.05 = 5 points of step accuracy). It cannot
# be much smaller: the interaction-free held-out part of a difference between two designs on
# the default 379 held-out steps (61 episodes) has a 95% half-width of about 0.02-0.04 in the
# example run (docs/example-run/effects.csv, d_step_acc_heldout_half), which no number of seeds
# shrinks, and equivalence needs the whole 90% interval inside the margin. And 0.05 is about
# the size of a change an engineer would still treat as "the same" for a design decision.
DEFAULT_MARGIN = 0.05


def verdict_rule(margin: float = DEFAULT_MARGIN, multiplicity: str = "bh") -> str:
    """The paragraph the report shows to explain how a verdict is worded."""
    m = f"{margin:g}"
    adjust = {
        "bh": ("Within each family (every metric's comparisons of the effects table is a "
               "family; the placebo stands outside) helps/hurts decisions are adjusted with "
               "Benjamini-Hochberg at a false discovery rate of 5%"),
        "holm": ("Within each family (every metric's comparisons of the effects table is a "
                 "family; the placebo stands outside) helps/hurts decisions are adjusted with "
                 "Holm's procedure at a family-wise error rate of 5%"),
        "none": "helps/hurts decisions are not adjusted for the number of comparisons",
    }[multiplicity]
    return (
        "A fix is compared with its base run by run on the same seeds, which share data, batch "
        "order and initial weights, and step by step on the same held-out steps. If any run "
        "with the fix failed where the base did not, the verdict is 'crashes'; if any diverged "
        "(non-finite weights) where the base did not, 'diverges'. Otherwise it reads the "
        "difference of the named metric (the fix's run minus the base's). Its variance has two "
        "parts: seed-to-seed variation, which more seeds shrink, and the sampling error of the "
        "held-out set with episodes as clusters (without the seed x episode interaction, which "
        "the seed part holds), which more seeds do not shrink; each part scaled by its own t "
        "quantile (S - 1 and E - 1 degrees of freedom). 'equivalent' when two one-sided tests at 5% show the difference within "
        f"±{m} (the 90% interval lies inside the margin); 'helps' / 'hurts' when the two-sided "
        "test at 5% rejects no difference (the 95% interval lies above / below zero) and it is "
        "not equivalent; a significant difference inside the margin reads 'equivalent (small "
        f"real effect)'; 'undecided' otherwise. {adjust}; intervals are shown unadjusted. An "
        "undecided verdict says about how many seeds would decide, assuming the same mean and "
        "spread, or that no number would because the held-out part alone is too wide. The "
        "coverage and error rates of this rule are measured by simulation (README).")


VERDICT_RULE = verdict_rule(DEFAULT_MARGIN)


# Both tests compare the interval's bound with the hypothesis directly (the same as p < alpha,
# the p-values being the levels at which the bounds reach it), without inverting the
# interval into a p-value: the seeds-needed projection asks them hundreds of times.

def is_equivalent(difference: Estimate, margin: float, alpha: float = ALPHA) -> bool:
    """Two one-sided tests at ``alpha``: the 1 - 2 alpha interval lies inside ±margin."""
    if not (difference.has_interval and math.isfinite(margin)):
        return False
    half = difference.half_width(1 - alpha)
    return bool(difference.mean + margin > half and margin - difference.mean > half)


def is_significant(difference: Estimate, alpha: float = ALPHA) -> bool:
    """The two-sided test of no difference at ``alpha``: the 1 - alpha interval excludes 0."""
    if not difference.has_interval:
        return False
    return bool(abs(difference.mean) > difference.half_width(1 - alpha / 2))


def decide(difference: Estimate, margin: float = DEFAULT_MARGIN, alpha: float = ALPHA,
           significant: bool | None = None, equivalence_alpha: float | None = None) -> str:
    """helps / hurts / equivalent / undecided from the interval alone. ``significant``: the
    (multiplicity-adjusted) decision of the helps/hurts test, when made outside; by default the
    test at ``alpha``. Equivalence (TOST) at ``equivalence_alpha`` (default ``alpha``) comes
    first: a significant effect inside the margin is equivalent (a small real effect)."""
    if not difference.has_interval:
        return UNDECIDED
    if is_equivalent(difference, margin, alpha if equivalence_alpha is None
                     else equivalence_alpha):
        return EQUIVALENT
    if significant is None:
        significant = is_significant(difference, alpha)
    if significant:
        return HELPS if difference.mean > 0 else HURTS
    return UNDECIDED


def verdict(difference: Estimate, fix_statuses: list[str], base_statuses: list[str],
            margin: float = DEFAULT_MARGIN, significant: bool | None = None,
            alpha: float = ALPHA) -> str:
    """crashes / diverges when the fix's runs failed / diverged more often than the base's;
    otherwise :func:`decide`."""
    if fix_statuses.count("failed") > base_statuses.count("failed"):
        return CRASHES
    if fix_statuses.count("diverged") > base_statuses.count("diverged"):
        return DIVERGES
    return decide(difference, margin, alpha, significant)


def small_real_effect(difference: Estimate, word: str, significant: bool | None = None,
                      alpha: float = ALPHA) -> bool:
    """An equivalent verdict whose difference is also significant (a real effect smaller
    than the margin)."""
    if word != EQUIVALENT:
        return False
    return bool(is_significant(difference, alpha) if significant is None else significant)


def _seed_sd(difference: Estimate) -> float:
    """The seed standard deviation behind ``seed_var`` (NaN when unknown)."""
    n = difference.n
    if n < 2 or not math.isfinite(difference.seed_var):
        return math.nan
    return math.sqrt(difference.seed_var * n)


def projected(difference: Estimate, seeds: int) -> Estimate:
    """The estimate expected with ``seeds`` seeds, assuming the observed mean, the observed
    seed standard deviation, the same interaction-free held-out part and an interaction share
    that shrinks as 1/seeds (NaN estimate if unknown)."""
    sd = _seed_sd(difference)
    if seeds < 2 or not math.isfinite(sd):
        return Estimate(difference.mean, math.nan, math.nan, max(int(seeds), 0))
    held = difference.heldout_var if math.isfinite(difference.heldout_var) else 0.0
    interaction = (difference.interaction_var * difference.n / seeds
                   if math.isfinite(difference.interaction_var) else 0.0)
    episodes = float(difference.episodes) if difference.episodes > 1 else math.inf
    return _combined(difference.mean, seeds, sd ** 2 / seeds, held, interaction, episodes,
                     difference.episodes, difference.items)


def heldout_blocks(difference: Estimate, margin: float, alpha: float = ALPHA) -> bool:
    """True when the held-out part alone (interaction-free, as with infinitely many seeds)
    is too wide for any number of seeds to decide at level ``alpha``: neither excluding zero
    nor showing equivalence."""
    held, m = difference.heldout_var, abs(difference.mean)
    if not (math.isfinite(held) and math.isfinite(m)):
        return False
    df = difference.episodes - 1 if difference.episodes > 1 else math.inf
    se = math.sqrt(held)
    two_sided = t_quantile(1 - alpha / 2, df) * se
    one_sided = t_quantile(1 - alpha, df) * se
    return two_sided >= m and one_sided >= margin - m


def seeds_needed(difference: Estimate, margin: float = DEFAULT_MARGIN,
                 max_seeds: int = 100, alpha: float = ALPHA) -> int | None:
    """The smallest number of seeds (more than now, at most ``max_seeds``) at which the
    difference would be decided at level ``alpha`` (significant, or equivalent), assuming the
    observed mean, seed standard deviation and held-out part. An already decided estimate
    returns its own n. None when it cannot be told (fewer than two seeds: no seed spread known)
    or not reachable (the held-out part alone is too wide, or more than ``max_seeds`` would be
    needed)."""
    if not difference.has_interval or not math.isfinite(_seed_sd(difference)):
        return None
    if decide(difference, margin, alpha) != UNDECIDED:
        return difference.n
    if heldout_blocks(difference, margin, alpha):
        return None
    for n in range(difference.n + 1, max_seeds + 1):
        if decide(projected(difference, n), margin, alpha) != UNDECIDED:
            return n
    return None


_COMPUTE = object()


def describe_verdict(difference: Estimate, verdict: str, margin: float = DEFAULT_MARGIN,
                     needed=_COMPUTE, max_seeds: int = 100, metric: str | None = None,
                     small_effect: bool = False, alpha: float = ALPHA) -> str:
    """One short line: the metric, the verdict, the (unadjusted 95%) interval and the seeds
    behind it, and for an undecided verdict how many seeds would decide (``needed``, computed
    at ``alpha`` when not given)."""
    head = f"{metric}: " if metric else ""
    if verdict == CRASHES:
        return head + "crashes: a run with the fix failed where the base's did not"
    if verdict == DIVERGES:
        return head + "diverges: a run with the fix diverged where the base's did not"
    d = difference
    seeds = f"{d.n} seed" + ("" if d.n == 1 else "s")
    if d.n == 0 or not math.isfinite(d.mean):
        return f"{head}{verdict}: no seed finished in both runs"
    if not d.has_interval:
        return (f"{head}{verdict}: {d.mean:+.3f} over {seeds}, no interval (needs at least "
                "two seeds)")
    word = f"equivalent (small real effect, {d.mean:+.3f})" if small_effect else verdict
    text = f"{head}{word}: {d.mean:+.3f} [{d.low:+.3f}, {d.high:+.3f}] over {seeds}"
    if verdict == HELPS:
        return text + "; lies above zero"
    if verdict == HURTS:
        return text + "; lies below zero"
    if verdict == EQUIVALENT:
        return text + f"; within ±{margin:g} by two one-sided tests"
    if needed is _COMPUTE:
        needed = seeds_needed(d, margin, max_seeds, alpha)
    if needed is not None:
        return text + f"; about {needed} seeds would decide"
    if heldout_blocks(d, margin, alpha):
        return text + (f"; not reachable with more seeds (held-out part ±{d.heldout_half:.3f} "
                       "alone exceeds what would decide)")
    return text + f"; not reachable within {max_seeds} seeds"
