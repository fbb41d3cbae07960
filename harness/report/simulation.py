"""Error rates of the report's own interval and verdict rule, measured by simulation (issue 21).

Score matrices come from a generative model of held-out step scores; the project's own
estimator (:func:`harness.report.stats.paired_per_step`) and verdict rule (:func:`~harness.
report.stats.decide`, :func:`harness.report.multiplicity.rejected`, the look-by-look rule of
:mod:`harness.report.sequential`) read them exactly as the report would, and we count how
often the interval misses the truth and how often a verdict is wrong.

The model, on the logit scale, then one Bernoulli draw per score::

    score[v, s, i] = 1{U < expit(mu + delta_v + b_i + c_e + a_vs + g_ve + h_vi + eps_vsi
                                 + e_si)}

for side (variant) v, seed s, held-out step i in episode e = e(i), every term but ``mu`` and
``delta_v`` normal with mean 0:

==========  =================  ============================================================
term        :class:`Params`    what it stands for
==========  =================  ============================================================
b_i         ``step``           how hard the step is, for every side
c_e         ``episode``        how hard the episode is, for every side
a_vs        ``seed``           how well side v trained with seed s (a run's overall luck)
g_ve        ``side_episode``   side v's own gain or loss on episode e: the effect of a fix
                               varies by episode, and steps of one episode move together
h_vi        ``side_step``      the same for single steps
eps_vsi     ``noise``          seed x step noise: which steps one run gets right by chance
e_si        ``seed_step``      the part of it every side shares at the same seed (the same
                               initial weights and data order favour the same steps)
delta_v     (solved)           the side's effect, set so the true difference is the target
==========  =================  ============================================================

The held-out set (b, c, and the sides' g, h on its episodes and steps) is drawn anew in every
replication: the interval claims to cover the difference on the population of steps, not on
one fixed set. Episodes keep the sizes of the real held-out split. The true difference of two
sides is that population difference on the probability scale, E[score | v] - E[score | w];
every random term is independent and normal, so each side's mean is a one-dimensional normal
integral of the logistic, computed by quadrature (no Monte Carlo error).

The parameters are fitted to the example run's per-step scores (:func:`fit`) by matching
pairwise moments, and varied into two more scenarios (:func:`scenarios`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import optimize, special

from harness.report import multiplicity, sequential, stats

MARGIN = stats.DEFAULT_MARGIN
ALPHA = stats.ALPHA
#: The true differences of the single-comparison cells: no effect, the equivalence margin from
#: both sides (where "equivalent" is an error), and a large effect.
TRUTHS = (0.0, MARGIN, -MARGIN, 0.15)
SEED_COUNTS = (3, 5, 10)
DEFAULT_SEEDS = 5                      # the grid's default seeds: the first look
#: The seed x step noise on the logit scale. It is not identified by the data: each side
#: scores each step once per seed, so a normal term added to the logit of that one Bernoulli
#: draw is indistinguishable (up to the small difference between a logistic and a probit
#: curve) from a rescaling of the other terms. It is fixed here and the rest fitted given it.
NOISE_SD = 1.0
#: The held-out scores the fit reads (scripts/export_heldout_scores.py writes them).
EXAMPLE_SCORES = "docs/example-run/heldout_scores.csv.gz"
#: The level of Holm's first step (and Bonferroni's) in the report's family of 20: how often a
#: p-value under no effect falls below it, relative to the level, tells whether the p-values
#: hold in the tail that the multiplicity procedures read (1 for exact p-values).
TAIL_LEVEL = ALPHA / 20
#: In the family cells with real effects: how many comparisons have one, and how large.
MIX_EFFECTS, MIX_SIZE = 6, 0.10


def _normal_rule(var: float, fineness: float):
    """Nodes z and weights w with sum(w * f(z)) = E[f(Z)], Z standard normal, for f a logistic
    curve of slope sqrt(var) in z: the trapezoid rule on [-9, 9]. A normal density times a
    logistic is analytic in a strip of half-width pi / sqrt(var) around the real line, where
    the trapezoid rule converges geometrically; a step of ``fineness`` / sqrt(var) (at most
    0.5) gives about 1e-12 at fineness 0.7 and 1e-9 at 1.0, at any variance (Gauss-Hermite
    nodes, by contrast, lose accuracy as the logistic gets steep: 1e-5 at a variance of 55,
    which the example run's nearly deterministic steps need)."""
    s = math.sqrt(max(var, 0.0))
    h = min(0.5, fineness / s) if s > 0 else 0.5
    count = int(math.ceil(18.0 / h)) + 1
    z = np.linspace(-9.0, 9.0, count)
    return z, np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) * (18.0 / (count - 1))


# The truths to about 1e-12 (checked against adaptive quadrature in the tests); the fit
# matches moments known to about 1e-3 and nests two integrals, so a coarser step does.
_TRUTH_FINENESS, _FIT_FINENESS = 0.6, 1.0

@dataclass(frozen=True)
class Params:
    """The generative model's parameters (standard deviations on the logit scale)."""
    mu: float
    step: float
    episode: float
    seed: float
    side_episode: float
    side_step: float
    noise: float = NOISE_SD
    seed_step: float = 0.0

    def total_var(self) -> float:
        """Variance of a score's logit around mu + delta_v: every random term's."""
        return (self.step ** 2 + self.episode ** 2 + self.seed ** 2 + self.side_episode ** 2
                + self.side_step ** 2 + self.noise ** 2 + self.seed_step ** 2)


#: Parameters of the stand-in scores (tests, and the script until the example run's file is
#: committed): chosen so that at 5 seeds the intervals' seed and held-out half-widths (about
#: 0.04 and 0.02) are near the medians of the example run's effects table (0.045 and 0.017).
STAND_IN = Params(0.2, 2.0, 1.0, 0.15, 0.3, 0.4, NOISE_SD)


def mean_score(location, var: float, fineness: float = _TRUTH_FINENESS):
    """E[expit(location + sqrt(var) Z)], Z standard normal: a side's population mean score
    (``location`` = mu + delta_v, ``var`` its random terms' total variance)."""
    nodes, weights = _normal_rule(var, fineness)
    x = np.asarray(location, dtype=float)
    values = special.expit(x[..., None] + math.sqrt(max(var, 0.0)) * nodes)
    return values @ weights


def _bisect(f, low: float, high: float, tol: float = 1e-12) -> float:
    """The root of an increasing function on [low, high] (which brackets it)."""
    for _ in range(200):
        mid = 0.5 * (low + high)
        if f(mid) < 0:
            low = mid
        else:
            high = mid
        if high - low < tol:
            break
    return 0.5 * (low + high)


def location_for(mean: float, var: float) -> float:
    """The location (logit-scale centre) at which :func:`mean_score` is ``mean``."""
    if not 0 < mean < 1:
        raise ValueError(f"a mean score must lie in (0, 1), got {mean}")
    return _bisect(lambda x: float(mean_score(x, var)) - mean, -80.0, 80.0)


def shift_for(params: Params, mean: float) -> float:
    """The side effect delta whose side has population mean score ``mean``."""
    return location_for(mean, params.total_var()) - params.mu


def base_mean(params: Params) -> float:
    """The population mean score of a side without an effect of its own (delta 0)."""
    return float(mean_score(params.mu, params.total_var()))


def shifts_for_truth(params: Params, truth: float) -> tuple[float, float]:
    """(delta_with, delta_without) of one comparison whose true difference is ``truth``: the
    side without the fix has no effect, the one with it is moved until the difference on the
    probability scale is exactly ``truth``."""
    return shift_for(params, base_mean(params) + truth), 0.0


def true_difference(params: Params, delta_with: float, delta_without: float) -> float:
    var = params.total_var()
    return float(mean_score(params.mu + delta_with, var)
                 - mean_score(params.mu + delta_without, var))


def draw_scores(rng: np.random.Generator, params: Params, episodes: np.ndarray,
                shifts, seeds: int, reps: int) -> np.ndarray:
    """Binary scores shaped (reps, sides, seeds, items): for every replication a new held-out
    set (step and episode difficulty, shared by every side), the seed x step term every side
    shares at a seed, and for each side with effect ``shifts[k]`` its seed, episode, step and
    noise terms."""
    shifts = np.asarray(shifts, dtype=float)
    sides, items = len(shifts), len(episodes)
    n_episodes = int(episodes.max()) + 1
    p = params

    def normal(sd, *shape):
        return sd * rng.standard_normal(shape) if sd > 0 else np.zeros(shape)

    shared = (normal(p.step, reps, 1, 1, items)
              + normal(p.episode, reps, 1, 1, n_episodes)[..., episodes]
              + normal(p.seed_step, reps, 1, seeds, items))
    own = (normal(p.side_episode, reps, sides, 1, n_episodes)[..., episodes]
           + normal(p.side_step, reps, sides, 1, items))
    logit = (p.mu + shifts[None, :, None, None] + shared + own
             + normal(p.seed, reps, sides, seeds, 1) + normal(p.noise, reps, sides, seeds, items))
    return rng.random(logit.shape) < special.expit(logit)


def episode_codes(episodes) -> np.ndarray:
    """Episode ids (any labels) as integer codes 0..E-1."""
    _, codes = np.unique(np.asarray(episodes).astype(str), return_inverse=True)
    return codes.reshape(-1)


def stand_in_episodes(rng: np.random.Generator, count: int = 61, steps: int = 379,
                      low: int = 2, high: int = 12) -> np.ndarray:
    """A held-out split's episode codes with ``count`` episodes of ``low``..``high`` steps
    summing to ``steps``: a stand-in for the real split where its file is absent."""
    if not count * low <= steps <= count * high:
        raise ValueError("no split with these sizes")
    sizes = rng.integers(low, high + 1, count)
    while sizes.sum() != steps:
        k = rng.integers(count)
        step = 1 if sizes.sum() < steps else -1
        if low <= sizes[k] + step <= high:
            sizes[k] += step
    return np.repeat(np.arange(count), sizes)


# --------------------------------------------------------------------------- the report's pairs

class _Names:
    """The one thing :func:`harness.report.analysis.comparisons` reads from records."""

    def __init__(self, names):
        self._names = list(names)

    def variant_names(self):
        return self._names


@dataclass(frozen=True)
class Family:
    """The comparisons of one multiplicity family: ``pairs[j]`` = (with side, without side),
    indices into ``sides``; a side shared by several pairs is one set of runs, as in the
    report (the original and fixed designs are the base of ten comparisons each)."""
    sides: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    names: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.pairs)


def report_family(variant_names=None) -> Family:
    """The report's step-accuracy family, as :func:`harness.report.analysis.comparisons`
    builds it from the variant names (default: the grid's ``--variants all``); the placebo
    stands outside it."""
    from harness.report.analysis import comparisons   # the report's own pairing
    if variant_names is None:
        import variants
        variant_names = [v.name for v in variants.select_variants("all")]
    found = [c for c in comparisons(_Names(variant_names)) if c.family == "effects"]
    sides = list(dict.fromkeys(name for c in found for name in (c.with_fix, c.without_fix)))
    return Family(tuple(sides),
                  tuple((sides.index(c.with_fix), sides.index(c.without_fix)) for c in found),
                  tuple(f"{c.fix} ({c.direction})" for c in found))


def single_family() -> Family:
    return Family(("with", "without"), ((0, 1),), ("one comparison",))


def family_shifts(params: Params, family: Family, effects: int = 0,
                  size: float = MIX_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Each side's effect and each comparison's true difference: no effect anywhere, except
    in the first ``effects`` comparisons whose one side is their own (not a shared base), taken
    alternately from the two directions, where that side is moved until the comparison's true
    difference is ``size``. Returns (shifts per side, truth per comparison)."""
    use = np.zeros(len(family.sides), dtype=int)
    for w, wo in family.pairs:
        use[w] += 1
        use[wo] += 1
    own_with = [j for j, (w, wo) in enumerate(family.pairs) if use[w] == 1 and use[wo] > 1]
    own_without = [j for j, (w, wo) in enumerate(family.pairs) if use[wo] == 1 and use[w] > 1]
    chosen = [j for pair in zip(own_with, own_without) for j in pair][:effects]
    if len(chosen) < effects:
        raise ValueError(f"the family has no {effects} comparisons with a side of their own")
    shifts = np.zeros(len(family.sides))
    base = base_mean(params)
    for j in chosen:
        w, wo = family.pairs[j]
        if use[w] == 1:
            shifts[w] = shift_for(params, base + size)
        else:
            shifts[wo] = shift_for(params, base - size)
    var = params.total_var()
    means = mean_score(params.mu + shifts, var)
    truths = np.array([means[w] - means[wo] for w, wo in family.pairs])
    # exactly 0 where both sides have no effect: the comparisons whose error is a false call
    truths[[j for j, (w, wo) in enumerate(family.pairs) if shifts[w] == shifts[wo]]] = 0.0
    return shifts, truths


# --------------------------------------------------------------------------- the fit

@dataclass(frozen=True)
class Fit:
    """What :func:`fit` found: the parameters, each variant's own mu, the matched moments
    (and covariances solved, ``cov_*``), and the held-out split's episode codes."""
    params: Params
    variant_mu: dict
    moments: dict
    episodes: np.ndarray
    seeds: int
    pairs: tuple


def _scores_cube(frame: pd.DataFrame, metric: str):
    """(variants, seeds, items) array of one metric, the variants' names and the items'
    episodes; every variant must have every seed and item."""
    frame = frame.sort_values(["variant", "seed", "item"])
    names = list(dict.fromkeys(frame["variant"]))
    seeds = sorted(frame["seed"].unique())
    items = sorted(frame["item"].unique())
    if len(frame) != len(names) * len(seeds) * len(items):
        raise ValueError("the scores must hold every item for every variant and seed")
    cube = frame[metric].to_numpy(dtype=float).reshape(len(names), len(seeds), len(items))
    if not np.isin(cube, (0.0, 1.0)).all():
        raise ValueError(f"{metric}: the fit reads binary per-step scores (0 or 1)")
    by_item = frame.drop_duplicates("item").set_index("item")["episode"].loc[items]
    return cube, names, episode_codes(by_item.to_numpy())


def _locations(shares, var: float, tol: float = 1e-10) -> np.ndarray:
    """Each :func:`location_for` of ``shares`` at once (bisection on the whole vector)."""
    target = np.clip(np.asarray(shares, dtype=float), 1e-6, 1 - 1e-6)
    low, high = np.full(target.shape, -80.0), np.full(target.shape, 80.0)
    while (high - low).max() > tol:
        mid = 0.5 * (low + high)
        below = mean_score(mid, var, _FIT_FINENESS) < target
        low, high = np.where(below, mid, low), np.where(below, high, mid)
    return 0.5 * (low + high)


def _pair_moment(mu1, mu2, var: float, cov: float) -> float:
    """Mean over pairs of P(both scores are 1) when their logits are normal with means mu1,
    mu2, variance ``var`` each and covariance ``cov`` (negative allowed): what a shared term
    of variance ``cov`` does to how often two scores are both right."""
    cov = min(max(cov, -var), var)
    inner = var - abs(cov)
    nodes, weights = _normal_rule(abs(cov), _FIT_FINENESS)
    outer = math.sqrt(abs(cov)) * nodes                    # the shared part, at each node
    m1 = mean_score(np.asarray(mu1, dtype=float)[:, None] + outer, inner, _FIT_FINENESS)
    m2 = mean_score(np.asarray(mu2, dtype=float)[:, None] + math.copysign(1.0, cov) * outer,
                    inner, _FIT_FINENESS)
    return float(((m1 * m2) @ weights).mean())


def _solve_cov(observed: float, mu1, mu2, var: float) -> float:
    """The covariance at which the model's P(both 1) equals the observed share (the ends of
    [-var, var] when the share lies outside what the model can give)."""
    if _pair_moment(mu1, mu2, var, -var) >= observed:
        return -var
    if _pair_moment(mu1, mu2, var, var) <= observed:
        return var
    return optimize.brentq(lambda c: _pair_moment(mu1, mu2, var, c) - observed, -var, var,
                           xtol=1e-10)


def _observed_moments(y: np.ndarray, codes: np.ndarray, pairs) -> dict:
    """Shares of score pairs that are both 1, by what the two scores share. y: (variants,
    seeds, items) 0/1; pairs: (v, w) index pairs the report compares. Ordered pairs of
    distinct scores, counted by inclusion-exclusion from sums: per variant ("side_*") and per
    compared pair ("pair_*")."""
    _, seeds, items = y.shape
    onehot = np.zeros((items, int(codes.max()) + 1))
    onehot[np.arange(items), codes] = 1.0
    sizes = onehot.sum(axis=0)
    within = float((sizes * (sizes - 1)).sum())     # ordered step pairs inside an episode
    across = float(items ** 2 - (sizes ** 2).sum())  # ordered step pairs across episodes
    diff_seeds = seeds * (seeds - 1)

    def counts(a, b):
        """For score arrays a, b (groups, seeds, items): sums of a x b over pairs of scores
        that share: the step (different seeds), the episode (different steps and seeds),
        the seed (different episodes), nothing (different seeds and episodes)."""
        ta, tb = a @ onehot, b @ onehot                      # (G, S, E)
        ka, kb = a.sum(axis=1), b.sum(axis=1)               # (G, N)
        cross = (a * b).sum(axis=1)                          # (G, N) same seed and step
        ea, eb = ta.sum(axis=1), tb.sum(axis=1)              # (G, E)
        pa, pb = ta.sum(axis=2), tb.sum(axis=2)              # (G, S)
        same_seed_episode = (ta * tb).sum(axis=(1, 2))       # same seed, same episode
        step = (ka * kb).sum(axis=1) - cross.sum(axis=1)
        episode = ((ea * eb).sum(axis=1) - same_seed_episode
                   - ((ka * kb) @ onehot).sum(axis=1) + cross.sum(axis=1))
        seed = (pa * pb).sum(axis=1) - same_seed_episode
        apart = (pa.sum(axis=1) * pb.sum(axis=1) - (pa * pb).sum(axis=1)
                 - (ea * eb).sum(axis=1) + same_seed_episode)
        return {"step": step / (diff_seeds * items), "episode": episode / (diff_seeds * within),
                "seed": seed / (seeds * across), "apart": apart / (diff_seeds * across),
                "step_same_seed": cross.sum(axis=1) / (seeds * items)}

    v, w = np.array(pairs).T
    side = counts(y, y)
    pair = counts(y[v], y[w])
    out = {f"side_{k}": val for k, val in side.items() if k != "step_same_seed"}
    out.update({f"pair_{k}": val for k, val in pair.items()})
    return out


_FITTED_KINDS = ("side_step", "side_episode", "side_seed", "side_apart", "pair_step",
                 "pair_episode", "pair_apart", "pair_step_same_seed")


def fit(frame: pd.DataFrame, pairs=None, metric: str = "step_acc",
        noise: float = NOISE_SD) -> Fit:
    """The model's parameters from per-step scores (columns variant, seed, item, episode and
    ``metric``, binary), by matching moments.

    Two binary scores are both 1 more often the more latent terms they share. For each kind of
    pair of scores the share that are both 1 is counted, and the covariance of their logits
    that gives that share is solved for (a bivariate normal integral of two logistic curves,
    by quadrature). The kinds, and what the two scores share:

    ====================================================  ===================================
    same side, same step, different seeds                 step, episode, side-episode,
                                                          side-step
    same side, same episode, other steps and seeds        episode, side-episode
    same side, same seed, other episodes                  seed
    same side, other seeds and episodes                   nothing (the baseline)
    the two sides of a compared pair, same step,          step, episode
    different seeds
    the pair, same episode, other steps and seeds         episode
    the pair, other seeds and episodes                    nothing (the baseline)
    the pair, same step, same seed                        step, episode, seed-step
    ====================================================  ===================================

    Each variance follows by difference. The baselines matter: each variant's mu is solved
    from its own mean score on this one held-out set, so even "nothing shared" pairs come out
    with a small covariance (the sampling error of that mean), which every other kind carries
    too and the difference removes. Step and episode are what the two sides of a comparison
    share (a pair differs by one fix, so much of how a design does on a step is common to
    both); the side terms are what they do not. ``noise`` is fixed (:data:`NOISE_SD`), and
    the total variance that the means and covariances depend on is solved for (the parts
    must add up to it). ``mu`` puts a side's mean score at the compared variants' average.
    ``pairs``: (with, without) variant names; default: every comparison of the report's
    family among the frame's variants.
    """
    cube, names, codes = _scores_cube(frame, metric)
    if pairs is None:
        family = report_family(names)
        pairs = tuple((family.sides[w], family.sides[wo]) for w, wo in family.pairs)
    pairs = tuple(pairs)
    index = {name: k for k, name in enumerate(names)}
    pair_idx = [(index[a], index[b]) for a, b in pairs]
    used = sorted({k for pair in pair_idx for k in pair})
    observed = _observed_moments(cube, codes, pair_idx)
    share = cube.mean(axis=(1, 2))
    first, second = [a for a, _ in pair_idx], [b for _, b in pair_idx]

    # Pooled moments: each kind's share over every variant (side_*) or compared pair
    # (pair_*). A typical comparison's terms would be medians over the pairs, but a term's
    # median over pairs is not the typical pair's term: the medians of the example run's
    # pairs give a held-out part half the median pair's, while the pooled moments give both
    # parts of the interval about twice the median pair's with their ratio (about 3 to 1)
    # kept, which is what the estimator's coverage depends on.
    pooled = {k: float(np.mean(v[used] if k.startswith("side_") else v))
              for k, v in observed.items()}

    def components(var: float):
        """Each variance part, the covariances and the variants' mu, at a total variance."""
        mu = _locations(share, var)
        side, pair = (mu[used], mu[used]), (mu[first], mu[second])
        cov = {k: _solve_cov(pooled[k], *(side if k.startswith("side_") else pair), var)
               for k in _FITTED_KINDS}
        # unclipped parts in the differences: each contrast identifies its own term whatever
        # the sign of the others (the example run's steps of one episode are, if anything,
        # less alike than steps of different episodes: a negative episode part)
        episode = cov["pair_episode"] - cov["pair_apart"]
        step = cov["pair_step"] - cov["pair_episode"]
        parts = {"step": step, "episode": episode,
                 "seed": cov["side_seed"] - cov["side_apart"],
                 "side_episode": cov["side_episode"] - cov["side_apart"] - episode,
                 "side_step": cov["side_step"] - cov["side_episode"] - step,
                 "seed_step": cov["pair_step_same_seed"] - cov["pair_step"]}
        return {k: max(v, 0.0) for k, v in parts.items()}, cov, mu

    def excess(var: float) -> float:
        """The total variance the parts add up to, less the one assumed: 0 at the fit."""
        return sum(components(var)[0].values()) + noise ** 2 - var

    # excess > 0 at the noise alone; the total variance grows until the parts fit inside it
    low, high = noise ** 2 + 1e-9, max(2 * noise ** 2, 1.0)
    while excess(high) > 0:
        low, high = high, 2 * high
        if high > 1e5:
            raise RuntimeError("the fit's total variance does not settle: the scores are "
                               "more nearly deterministic than the model can be")
    var = optimize.brentq(excess, low, high, xtol=1e-7)
    parts, cov, mu = components(var)
    # the centre: where a side's mean score is the compared variants' average (a mean of
    # their logit-scale centres would be dragged far out by a variant that nearly always
    # fails, as the example run's original-clipping does)
    centre = location_for(float(share[used].mean()), var)
    params = Params(centre, *(math.sqrt(parts[k]) for k in
                              ("step", "episode", "seed", "side_episode", "side_step")),
                    noise, math.sqrt(parts["seed_step"]))
    return Fit(params, {names[k]: float(mu[k]) for k in used},
               {**pooled, **{f"cov_{k}": v for k, v in cov.items()}}, codes,
               cube.shape[1], pairs)


def read_scores(path) -> pd.DataFrame:
    """The per-step scores the fit reads (scripts/export_heldout_scores.py writes them)."""
    return pd.read_csv(path)


def example_fit(path) -> Fit | None:
    """The fit of the example run's per-step scores at ``path``; None when the file is
    absent."""
    from pathlib import Path
    return fit(read_scores(path)) if Path(path).is_file() else None


def stand_in_fit(seed: int = 21) -> Fit:
    """The fit of stand-in scores drawn from :data:`STAND_IN` (a fixed random seed): what
    the fitted scenario is while the example run's file is absent."""
    return fit(stand_in_frame(np.random.default_rng(seed), STAND_IN))


def stand_in_frame(rng: np.random.Generator, params: Params, variant_names=None,
                   seeds: int = DEFAULT_SEEDS, episodes=None, spread: float = 0.3
                   ) -> pd.DataFrame:
    """Per-step scores drawn from the model itself, shaped like the example run's (every
    variant of the report's family, each with its own mu: ``params.mu`` plus a normal of sd
    ``spread``): what the fit reads, for tests and until the real file is committed."""
    if variant_names is None:
        variant_names = list(report_family().sides)
    codes = stand_in_episodes(rng) if episodes is None else episodes
    shifts = spread * rng.standard_normal(len(variant_names))
    y = draw_scores(rng, params, codes, shifts, seeds, 1)[0]      # (V, S, N)
    v, s, i = np.meshgrid(np.arange(len(variant_names)), np.arange(seeds),
                          np.arange(len(codes)), indexing="ij")
    return pd.DataFrame({"variant": np.asarray(variant_names)[v.ravel()], "seed": s.ravel(),
                         "item": i.ravel(), "episode": [f"ep{c:03d}" for c in codes[i.ravel()]],
                         "step_acc": y.ravel().astype(float)})


# --------------------------------------------------------------------------- scenarios

#: How far the two other scenarios move the fitted parameters: the term that carries them
#: gets three times its fitted standard deviation, and at least the floor, so that the
#: scenario differs from the fitted one even where the fit finds that term near zero.
SCALE = 3.0
EPISODE_FLOOR, SEED_FLOOR = 0.6, 0.6


def scenarios(fitted: Params) -> dict[str, Params]:
    """fitted: the example run's parameters; episodes: the fix's effect carried by episodes
    (a large side x episode term, so the held-out part of the interval dominates); seeds:
    seed effects dominate (a large per-seed term, so the seed part dominates)."""
    return {
        "fitted": fitted,
        "episodes": replace(fitted, side_episode=max(SCALE * fitted.side_episode,
                                                     EPISODE_FLOOR)),
        "seeds": replace(fitted, seed=max(SCALE * fitted.seed, SEED_FLOOR)),
    }


# --------------------------------------------------------------------------- replications

def cell_rng(seed: int, *key) -> np.random.Generator:
    """An independent, reproducible stream for one cell: the same numbers whatever cells run
    before it or how many replications it has in batches."""
    label = "/".join(str(k) for k in key).encode()
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(label)]))


def _batches(reps: int, per_rep_cells: int, budget: int = 2_000_000):
    """Replication counts per batch, each batch at most ``budget`` scores (memory)."""
    size = max(1, budget // max(per_rep_cells, 1))
    done = 0
    while done < reps:
        yield min(size, reps - done)
        done += min(size, reps - done)


@dataclass
class Tally:
    """Counts of one cell. A call is a rejection of 'no difference'; it is false when the
    truth is 0 or of the other sign. "equivalent" is an error when |truth| >= the margin.
    Family cells count per report: any false call (family-wise error), and the share of calls
    that are false (its mean is the false discovery rate)."""
    reps: int = 0
    comparisons: int = 0          # comparison-replications (reps x family size)
    covered: int = 0
    called: int = 0
    false_calls: int = 0
    equivalent: int = 0
    equivalence_errors: int = 0
    boundary_comparisons: int = 0  # comparison-replications with |truth| >= margin
    reports_with_false_call: int = 0
    false_share_sum: float = 0.0
    nulls: int = 0                # comparison-replications with truth 0
    tail: int = 0                 # of those, p-values below TAIL_LEVEL
    seeds_sum: int = 0
    seed_half_sum: float = 0.0
    heldout_half_sum: float = 0.0

    def add(self, estimates, calls, words, truths, margin: float = MARGIN) -> None:
        """One replication: the family's estimates, which were called (helps/hurts tests
        rejected), the verdict words, the truths."""
        self.reps += 1
        false = 0
        for est, call, word, truth in zip(estimates, calls, words, truths):
            self.comparisons += 1
            self.covered += bool(est.has_interval and est.low <= truth <= est.high)
            self.seeds_sum += est.n
            self.seed_half_sum += est.seed_half
            self.heldout_half_sum += est.heldout_half
            null = truth == 0
            if null:
                self.nulls += 1
                self.tail += bool(est.p_value() < TAIL_LEVEL)
            wrong = bool(call) and (null or (est.mean > 0) != (truth > 0))
            self.called += bool(call)
            self.false_calls += wrong
            false += wrong
            beyond = abs(truth) >= margin - 1e-12
            self.boundary_comparisons += beyond
            self.equivalent += word == stats.EQUIVALENT
            self.equivalence_errors += beyond and word == stats.EQUIVALENT
        made = int(np.count_nonzero(calls))
        self.reports_with_false_call += false > 0
        self.false_share_sum += false / made if made else 0.0

    def rates(self) -> dict:
        def share(count, total):
            return float(count / total) if total else math.nan
        return {"replications": int(self.reps),
                "coverage": share(self.covered, self.comparisons),
                "called": share(self.called, self.comparisons),
                "false_calls": share(self.false_calls, self.comparisons),
                "equivalent": share(self.equivalent, self.comparisons),
                "equivalence_errors": share(self.equivalence_errors,
                                            self.boundary_comparisons),
                "fwer": share(self.reports_with_false_call, self.reps),
                "fdr": share(self.false_share_sum, self.reps),
                "tail_ratio": share(self.tail, self.nulls * TAIL_LEVEL),
                "mean_seeds": share(self.seeds_sum, self.comparisons),
                "seed_half": share(self.seed_half_sum, self.comparisons),
                "heldout_half": share(self.heldout_half_sum, self.comparisons)}


def _estimate(scores: np.ndarray, pair, seeds: int, episodes) -> stats.Estimate:
    """The report's estimate of one comparison from its two sides' first ``seeds`` seeds."""
    w, wo = pair
    return stats.paired_per_step(scores[w, :seeds], scores[wo, :seeds], episodes)


def single_cell(params: Params, episodes: np.ndarray, truth: float, seeds: int, reps: int,
                rng: np.random.Generator, margin: float = MARGIN, progress=None) -> Tally:
    """One comparison, fixed seeds: coverage of its 95% interval, helps/hurts at 5% before
    any adjustment, and :func:`~harness.report.stats.decide`'s "equivalent"."""
    shifts = shifts_for_truth(params, truth)
    tally = Tally()
    for batch in _batches(reps, 2 * seeds * len(episodes)):
        scores = draw_scores(rng, params, episodes, shifts, seeds, batch)
        for rep in scores:
            est = _estimate(rep, (0, 1), seeds, episodes)
            word = stats.decide(est, margin)
            tally.add([est], [stats.is_significant(est)], [word], [truth], margin)
        if progress is not None:
            progress(batch)
    return tally


def family_cell(params: Params, episodes: np.ndarray, family: Family, truths, shifts,
                seeds: int, reps: int, rng: np.random.Generator,
                procedures=multiplicity.PROCEDURES, margin: float = MARGIN,
                progress=None) -> dict[str, Tally]:
    """A whole report's family at fixed seeds, every side's runs drawn once per replication
    and shared by its comparisons: the calls that survive each multiplicity procedure."""
    tallies = {procedure: Tally() for procedure in procedures}
    for batch in _batches(reps, len(family.sides) * seeds * len(episodes)):
        scores = draw_scores(rng, params, episodes, shifts, seeds, batch)
        for rep in scores:
            estimates = [_estimate(rep, pair, seeds, episodes) for pair in family.pairs]
            p = [e.p_value() for e in estimates]
            for procedure in procedures:
                calls = multiplicity.rejected(p, procedure, ALPHA)
                words = [stats.decide(e, margin, ALPHA, bool(c))
                         for e, c in zip(estimates, calls)]
                tallies[procedure].add(estimates, calls, words, truths, margin)
        if progress is not None:
            progress(batch)
    return tallies


def _grow_sides(family: Family, have: list[int], wanted, max_seeds: int) -> list[int]:
    """The seeds each side has at the next look: every undecided comparison that the
    projection says more seeds would decide gets them, the same new seeds on both of its
    sides; a side shared by several comparisons gets the largest count any of them wants
    (the --until-decided policy with time to spare)."""
    target = list(have)
    for (w, wo), n in zip(family.pairs, wanted):
        if n is None:
            continue
        n = min(n, max_seeds)
        target[w], target[wo] = max(target[w], n), max(target[wo], n)
    return target


def adaptive_cell(params: Params, episodes: np.ndarray, family: Family, truths, shifts,
                  reps: int, rng: np.random.Generator, procedures=("bh", "holm"),
                  start: int = DEFAULT_SEEDS, looks: int = sequential.LOOKS,
                  max_seeds: int = sequential.MAX_SEEDS, margin: float = MARGIN,
                  progress=None) -> dict[str, Tally]:
    """``--until-decided`` (no time limit): look 1 at ``start`` seeds; then, up to ``looks``
    looks, the undecided comparisons get the seeds :func:`~harness.report.sequential.
    seeds_wanted` projects; every look tests at alpha / K inside the procedure
    (:func:`~harness.report.sequential.run_looks`), and a comparison keeps the first look's
    verdict that decided it. Each side's runs are drawn at ``max_seeds`` seeds once; a side
    with n seeds uses the first n, so the seeds added for two comparisons are the same runs.
    Calls are the verdicts helps/hurts (a significant difference inside the margin reads
    equivalent and is no call); the estimate counted is the one the verdict rests on."""
    tallies = {procedure: Tally() for procedure in procedures}
    families = ["effects"] * family.size
    level = sequential.look_level(ALPHA, looks)
    for batch in _batches(reps, len(family.sides) * max_seeds * len(episodes)):
        scores = draw_scores(rng, params, episodes, shifts, max_seeds, batch)
        for rep in scores:
            made = {}      # (comparison, seeds) -> estimate: the procedures share the runs

            def estimate(j, n):
                if (j, n) not in made:
                    made[j, n] = _estimate(rep, family.pairs[j], n, episodes)
                return made[j, n]

            for procedure in procedures:
                by_look = []
                have = [start] * len(family.sides)
                for look in range(1, looks + 1):
                    by_look.append([estimate(j, min(have[w], have[wo]))
                                    for j, (w, wo) in enumerate(family.pairs)])
                    state = sequential.run_looks(by_look, families, margin, procedure,
                                                 ALPHA, looks)
                    if look == looks:
                        break
                    wanted = sequential.seeds_wanted(by_look[-1], families, state.verdicts,
                                                     margin, procedure, level, max_seeds)
                    grown = _grow_sides(family, have, wanted, max_seeds)
                    if grown == have:
                        break            # nothing more to learn: later looks would repeat
                    have = grown
                final = [by_look[(at or len(by_look)) - 1][k]
                         for k, at in enumerate(state.decided_at)]
                calls = [w in (stats.HELPS, stats.HURTS) for w in state.verdicts]
                tallies[procedure].add(final, calls, state.verdicts, truths, margin)
        if progress is not None:
            progress(batch)
    return tallies


# --------------------------------------------------------------------------- bounds

def mc_se(rate: float, reps: int) -> float:
    """Monte Carlo standard error of a share ``rate`` over ``reps`` replications."""
    return math.sqrt(rate * (1 - rate) / reps) if reps else math.nan


@dataclass(frozen=True)
class Bound:
    """One bound of the issue: ``measure`` at least ``low`` and/or at most ``high``, each
    widened by ``widen`` Monte Carlo standard errors (at the bound) for the replications'
    own noise."""
    measure: str
    low: float | None = None
    high: float | None = None

    def check(self, value: float, reps: int, widen: float = 3.0) -> tuple[bool, str]:
        parts, ok = [], True
        if self.low is not None:
            edge = self.low - widen * mc_se(self.low, reps)
            ok &= value >= edge
            parts.append(f">= {self.low:g} (widened {edge:.4f})")
        if self.high is not None:
            edge = self.high + widen * mc_se(self.high, reps)
            ok &= value <= edge
            parts.append(f"<= {self.high:g} (widened {edge:.4f})")
        return bool(ok), f"{self.measure} {value:.4f} " + " and ".join(parts)


def single_bounds(seeds: int, truth: float, margin: float = MARGIN) -> list[Bound]:
    """The issue's bounds for one comparison at fixed seeds: coverage in [0.93, 0.975] at 5
    and 10 seeds (at least 0.92 at 3) at truths 0, the margin and 0.15; false helps/hurts
    at most 5% at truth 0; "equivalent" at most alpha at |truth| = margin."""
    out = []
    if truth >= 0:        # the issue names 0, +margin and 0.15
        out.append(Bound("coverage", 0.92) if seeds < 5 else Bound("coverage", 0.93, 0.975))
    if truth == 0:
        out.append(Bound("false_calls", high=ALPHA))
    if abs(abs(truth) - margin) < 1e-12:
        out.append(Bound("equivalence_errors", high=ALPHA))
    return out


def family_bounds(kind: str, procedure: str) -> list[Bound]:
    """Global null: the chance of any false call per report at most 5% (bh and holm); with
    real effects: the false discovery rate (bh) or family-wise error (holm) at most 5%."""
    if procedure == "none":
        return []
    if kind == "null":
        return [Bound("fwer", high=ALPHA)]
    return [Bound("fdr" if procedure == "bh" else "fwer", high=ALPHA)]


def adaptive_single_bounds(truth: float, margin: float = MARGIN) -> list[Bound]:
    """Part 2's bounds for one comparison seeded until decided (from 5 seeds: the coverage
    bounds of 5 seeds, for the interval the verdict rests on)."""
    out = [Bound("coverage", 0.93, 0.975)] if truth >= 0 else []
    if truth == 0:
        out.append(Bound("false_calls", high=ALPHA))
    if abs(abs(truth) - margin) < 1e-12:
        out.append(Bound("equivalence_errors", high=ALPHA))
    return out


def checked(rates: dict, bounds: list[Bound], widen: float = 3.0) -> tuple[bool, str]:
    """All bounds of one cell: (every one holds, a line listing each with ok / BROKEN)."""
    results = [b.check(rates[b.measure], rates["replications"], widen) for b in bounds]
    text = "; ".join(f"{line}: {'ok' if ok else 'BROKEN'}" for ok, line in results)
    return all(ok for ok, _ in results), text


__all__ = ["Params", "Family", "Fit", "Tally", "Bound", "TRUTHS", "SEED_COUNTS", "MARGIN",
           "NOISE_SD", "EXAMPLE_SCORES", "TAIL_LEVEL", "STAND_IN", "mean_score",
           "location_for", "shift_for", "shifts_for_truth", "true_difference", "draw_scores",
           "episode_codes", "stand_in_episodes", "report_family", "single_family",
           "family_shifts", "fit", "read_scores", "stand_in_frame", "example_fit",
           "stand_in_fit", "scenarios", "cell_rng", "single_cell", "family_cell",
           "adaptive_cell", "mc_se", "single_bounds", "family_bounds",
           "adaptive_single_bounds", "checked"]
