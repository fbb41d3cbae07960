"""The small version of the calibration simulation (issue 21; the full one is
scripts/simulate_verdicts.py, its table docs/calibration/): the report's own estimator and
verdict rule, fed score matrices from the generative model of :mod:`harness.report.simulation`
in the fitted scenario, must keep the issue's bounds, each widened by 3 Monte Carlo standard
errors at the bound. A broken bound fails with the cell, the measured value and the bound.

The fitted scenario is fitted to the example run's per-step scores
(docs/example-run/heldout_scores.csv.gz); where that file is absent, to stand-in scores drawn
from the model (:data:`~harness.report.simulation.STAND_IN`). Fixed random seeds throughout.
"""

from __future__ import annotations

import gzip
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.report import simulation as sim

ROOT = Path(__file__).resolve().parents[1]
SEED = 2021
SINGLE_REPS = 2000      # per single-comparison cell (the issue asks for at least 1000)
FAMILY_REPS = 1000      # per family cell: 20 comparisons each


@pytest.fixture(scope="module")
def fitted() -> sim.Fit:
    return sim.example_fit(ROOT / sim.EXAMPLE_SCORES) or sim.stand_in_fit()


def _broken(results) -> list[str]:
    """Lines for the bounds that do not hold: results are (cell label, rates, bounds)."""
    lines = []
    for label, rates, bounds in results:
        for bound in bounds:
            ok, text = bound.check(rates[bound.measure], rates["replications"])
            if not ok:
                lines.append(f"{label}: {text} over {rates['replications']} replications")
    return lines


# --------------------------------------------------------------------------- the model's truth

def test_quadrature_is_exact_enough():
    """A side's mean score agrees with adaptive quadrature to far below any Monte Carlo
    error, up to the total logit variance of the example run's fit (near 280: its steps are
    nearly deterministic)."""
    from scipy import integrate, special

    def density(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    for location, var in [(0.3, 0.5), (-1.0, 6.0), (2.0, 12.0), (0.3, 30.0), (-5.0, 280.0)]:
        exact = integrate.quad(lambda z: special.expit(location + math.sqrt(var) * z)
                               * density(z), -12, 12, epsabs=1e-15, epsrel=1e-13,
                               limit=4000, points=[-location / math.sqrt(var)])[0]
        assert abs(float(sim.mean_score(location, var)) - exact) < 1e-10


def test_truth_is_the_population_difference(fitted):
    """The side effect solved for a target difference gives that difference: by quadrature to
    1e-9, by Monte Carlo over the latent terms (common random numbers), and as the mean of
    the scores the generator draws (the estimator's target)."""
    p = fitted.params
    rng = np.random.default_rng(SEED)
    z = rng.standard_normal(400_000) * math.sqrt(p.total_var())
    for target in (0.0, sim.MARGIN, -sim.MARGIN, 0.15):
        shifts = sim.shifts_for_truth(p, target)
        assert abs(sim.true_difference(p, *shifts) - target) < 1e-9
        diff = (1 / (1 + np.exp(-(p.mu + shifts[0] + z)))) - (1 / (1 + np.exp(-(p.mu + z))))
        se = diff.std() / math.sqrt(len(z))
        assert abs(diff.mean() - target) < max(4 * se, 1e-4)
    shifts = sim.shifts_for_truth(p, 0.15)
    scores = sim.draw_scores(rng, p, fitted.episodes, shifts, 5, 1500)
    per_rep = (scores[:, 0].astype(float) - scores[:, 1]).mean(axis=(1, 2))
    se = per_rep.std(ddof=1) / math.sqrt(len(per_rep))
    assert abs(per_rep.mean() - 0.15) < 4 * se


def test_fit_recovers_the_parameters_of_stand_in_scores():
    """Scores drawn from known parameters (22 variants x 5 seeds x 379 steps, like the example
    run) are fitted back within what one such data set can tell: about 3 sd of the estimates
    over 16 data sets. The seed term is sharp; one held-out set of 61 episodes splits the
    shared variance between steps and episodes, and the side terms between episodes and
    steps, only roughly (sd 0.16 and 0.32 for the step and episode sd, 0.2 for each side
    term), so those are checked as sums."""
    frame = sim.stand_in_frame(np.random.default_rng(SEED), sim.STAND_IN)
    assert list(frame.columns) == ["variant", "seed", "item", "episode", "step_acc"]
    assert frame.groupby("variant").size().nunique() == 1 and frame["item"].nunique() == 379
    found, true = sim.fit(frame).params, sim.STAND_IN
    assert abs(found.seed - true.seed) < 0.08
    assert abs((found.step ** 2 + found.episode ** 2) - (true.step ** 2 + true.episode ** 2)) < 1.1
    assert abs((found.side_episode ** 2 + found.side_step ** 2)
               - (true.side_episode ** 2 + true.side_step ** 2)) < 0.35
    assert found.noise == sim.NOISE_SD


def test_the_family_is_the_reports():
    """20 step-accuracy comparisons; original and fixed are each the shared base (one set of
    runs) of ten of them."""
    family = sim.report_family()
    assert family.size == 20
    uses = pd.Series([family.sides[k] for pair in family.pairs for k in pair]).value_counts()
    assert uses["original"] == 10 and uses["fixed"] == 10 and uses["corrected"] == 2
    shifts, truths = sim.family_shifts(sim.STAND_IN, family, sim.MIX_EFFECTS)
    assert (np.abs(truths - sim.MIX_SIZE) < 1e-9).sum() == sim.MIX_EFFECTS
    assert (truths == 0).sum() == family.size - sim.MIX_EFFECTS


# --------------------------------------------------------------------------- the bounds

def test_single_comparison_keeps_the_bounds(fitted):
    """Coverage in [0.93, 0.975] at 5 and 10 seeds, at least 0.92 at 3, at true differences
    0, the margin and 0.15; false helps/hurts at 5% (unadjusted) at most 5% at truth 0;
    "equivalent" at most 5% at a true difference of +-margin."""
    results = []
    for seeds in sim.SEED_COUNTS:
        for truth in sim.TRUTHS:
            tally = sim.single_cell(fitted.params, fitted.episodes, truth, seeds, SINGLE_REPS,
                                    sim.cell_rng(SEED, "single", seeds, truth))
            results.append((f"fitted, {seeds} seeds, truth {truth:+g}", tally.rates(),
                            sim.single_bounds(seeds, truth)))
    broken = _broken(results)
    assert not broken, "bounds broken:\n" + "\n".join(broken)


def test_report_family_keeps_the_multiplicity_bounds(fitted):
    """The report's 20 comparisons with shared base runs at 5 seeds. No effect anywhere: a
    false helps/hurts in at most 5% of reports (bh and holm). Six real effects: false
    discovery rate (bh) and family-wise error (holm) at most 5%."""
    family = sim.report_family()
    results = []
    for kind, effects in (("null", 0), ("mix", sim.MIX_EFFECTS)):
        shifts, truths = sim.family_shifts(fitted.params, family, effects)
        tallies = sim.family_cell(fitted.params, fitted.episodes, family, truths, shifts, 5,
                                  FAMILY_REPS, sim.cell_rng(SEED, "family", kind),
                                  procedures=("bh", "holm"))
        results += [(f"family {kind}, {proc}", t.rates(), sim.family_bounds(kind, proc))
                    for proc, t in tallies.items()]
    broken = _broken(results)
    assert not broken, "bounds broken:\n" + "\n".join(broken)


def test_adaptive_seeding_keeps_the_single_comparison_bounds(fitted):
    """--until-decided for one comparison (5 seeds, then up to 3 looks at alpha / 3, at most
    20 seeds): false helps/hurts at truth 0 and "equivalent" at +-margin at most 5%."""
    one = sim.single_family()
    results = []
    for truth in (0.0, sim.MARGIN, -sim.MARGIN):
        tallies = sim.adaptive_cell(fitted.params, fitted.episodes, one, [truth],
                                    sim.shifts_for_truth(fitted.params, truth), FAMILY_REPS,
                                    sim.cell_rng(SEED, "adaptive", truth), procedures=("none",))
        rates = tallies["none"].rates()
        assert rates["mean_seeds"] > 5          # seeds were added
        results.append((f"adaptive, truth {truth:+g}", rates, sim.adaptive_single_bounds(truth)))
    broken = _broken(results)
    assert not broken, "bounds broken:\n" + "\n".join(broken)


@pytest.mark.slow
def test_adaptive_seeding_keeps_the_multiplicity_bounds(fitted):
    """--until-decided over the report's family, base runs shared and extended as needed:
    the bounds of the fixed-seed family."""
    family = sim.report_family()
    results = []
    for kind, effects in (("null", 0), ("mix", sim.MIX_EFFECTS)):
        shifts, truths = sim.family_shifts(fitted.params, family, effects)
        tallies = sim.adaptive_cell(fitted.params, fitted.episodes, family, truths, shifts,
                                    FAMILY_REPS, sim.cell_rng(SEED, "adaptive family", kind))
        results += [(f"adaptive family {kind}, {proc}", t.rates(),
                     sim.family_bounds(kind, proc)) for proc, t in tallies.items()]
    broken = _broken(results)
    assert not broken, "bounds broken:\n" + "\n".join(broken)


def test_a_bound_check_can_fail():
    """The widened bound: 3 Monte Carlo standard errors at the bound, not more."""
    bound = sim.Bound("coverage", 0.93, 0.975)
    edge = 0.93 - 3 * math.sqrt(0.93 * 0.07 / 2000)
    assert bound.check(edge + 1e-6, 2000)[0] and not bound.check(edge - 1e-6, 2000)[0]
    assert not sim.Bound("fwer", high=0.05).check(0.075, 1000)[0]


def test_sides_grow_as_the_policy_says():
    """A side shared by several comparisons gets the most any of them wants; no side more
    than the cap; decided or unreachable comparisons ask for nothing."""
    family = sim.Family(("a", "base", "b", "c"), ((0, 1), (2, 1), (3, 1)), ("a", "b", "c"))
    assert sim._grow_sides(family, [5, 5, 5, 5], [9, None, 25], 20) == [9, 20, 5, 20]


# --------------------------------------------------------------------------- the export

def test_export_writes_what_the_fit_reads(tmp_path):
    """scripts/export_heldout_scores.py: one compressed CSV (variant, seed, item, episode,
    step_acc) from a grid folder, runs that did not end ok left out."""
    grid = tmp_path / "grid"
    episodes = ["e1", "e1", "e2"]
    (grid / "runs").mkdir(parents=True)
    (grid / "run.json").write_text(json.dumps(
        {"settings": {"seeds": [0, 1]}, "variants": [{"name": "original"},
                                                     {"name": "original+x y"}]}))
    from harness.results import RunPaths
    paths = RunPaths(grid)
    for k, variant in enumerate(["original", "original+x y"]):
        for seed in (0, 1):
            run = paths.run_dir(variant, seed)
            run.mkdir(parents=True)
            status = "ok" if (k, seed) != (1, 1) else "failed"
            (run / "status.json").write_text(json.dumps({"variant": variant, "seed": seed,
                                                         "status": status}))
            pd.DataFrame({"item": [0, 1, 2], "episode": episodes,
                          "step_acc": [1.0, float(seed), 0.0], "tap_acc": [np.nan] * 3}
                         ).to_csv(run / "heldout_scores.csv", index=False)
    out = tmp_path / "first" / "scores.csv.gz"
    done = subprocess.run([sys.executable, str(ROOT / "scripts/export_heldout_scores.py"),
                           str(grid), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with gzip.open(out, "rt") as handle:
        frame = pd.read_csv(handle)
    assert list(frame.columns) == ["variant", "seed", "item", "episode", "step_acc"]
    assert len(frame) == 3 * 3 and set(frame["variant"]) == {"original", "original+x y"}
    assert frame[frame.variant == "original"]["step_acc"].tolist() == [1, 0, 0, 1, 1, 0]
    assert "left out" in done.stdout
    # the same records give the same bytes (no time stamp in the gzip header; it holds the
    # file's name, the same here)
    again = tmp_path / "second" / "scores.csv.gz"
    subprocess.run([sys.executable, str(ROOT / "scripts/export_heldout_scores.py"), str(grid),
                    "--out", str(again)], check=True, capture_output=True)
    assert again.read_bytes() == out.read_bytes()

