"""The full simulation of issue 21: coverage and error rates of the report's own interval and
verdict rule, on score matrices from the generative model of :mod:`harness.report.simulation`
fitted to the example run's per-step scores.

    python scripts/simulate_verdicts.py                      # 4000 replications per cell
    python scripts/simulate_verdicts.py --quick              # 400, into reports/calibration-quick
    python scripts/simulate_verdicts.py --replications 8000

Writes ``table.csv`` (one row per cell) and ``README.md`` (the command, its run time and CPU,
the fitted parameters, the table) to ``--out`` (default docs/calibration). The cells:

- single: one comparison at 3, 5 and 10 seeds, true difference 0, +-margin and 0.15, in each
  scenario: coverage of the 95% interval, helps/hurts at 5% before adjustment, "equivalent";
- family: the report's 20 step-accuracy comparisons with their shared base runs, all without
  effect (null) or 6 with a real effect of 0.1 (mix), through Benjamini-Hochberg, Holm and no
  adjustment: family-wise error and false discovery rate;
- adaptive: --until-decided (3 looks, at most 20 seeds, every look at alpha / 3) for one
  comparison and for the whole family.

Every cell has its own random stream (``--seed`` and the cell's name), so a cell's numbers do
not depend on which other cells ran. The small version of this runs in the test suite
(tests/test_calibration.py).
"""

from __future__ import annotations

import argparse
import math
import platform
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from harness.report import simulation as sim  # noqa: E402
from harness.report import sequential  # noqa: E402

FAMILY_SEEDS = (3, 5, 10)
COLUMNS = ["kind", "scenario", "procedure", "seeds", "truth", "replications", "coverage",
           "false_calls", "equivalence_errors", "fwer", "fdr", "called", "equivalent",
           "tail_ratio", "mean_seeds", "seed_half", "heldout_half", "bounds", "within_bounds"]
#: The measures each kind of cell reports (the others are left empty).
MEASURES = {
    "single": ["coverage", "false_calls", "equivalence_errors", "called", "equivalent",
               "tail_ratio", "seed_half", "heldout_half"],
    "family": ["coverage", "false_calls", "equivalence_errors", "fwer", "fdr", "called",
               "equivalent", "tail_ratio"],
    "adaptive": ["coverage", "false_calls", "equivalence_errors", "called", "equivalent",
                 "mean_seeds", "seed_half", "heldout_half"],
    "adaptive family": ["coverage", "false_calls", "equivalence_errors", "fwer", "fdr",
                        "called", "equivalent", "mean_seeds"],
}


#: The fit's moments (harness.report.simulation.fit), in words.
MOMENTS = {
    "side_step": "same variant, same step, different seeds",
    "side_episode": "same variant, same episode, other steps and seeds",
    "side_seed": "same variant, same seed, other episodes",
    "side_apart": "same variant, other seeds and episodes",
    "pair_step": "compared pair, same step, different seeds",
    "pair_episode": "compared pair, same episode, other steps and seeds",
    "pair_apart": "compared pair, other seeds and episodes",
    "pair_step_same_seed": "compared pair, same step, same seed",
    "pair_seed": "compared pair, same seed, other episodes",
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def row(kind, scenario, procedure, seeds, truth, tally, bounds) -> dict:
    rates = tally.rates()
    ok, text = sim.checked(rates, bounds) if bounds else (True, "")
    out = {"kind": kind, "scenario": scenario, "procedure": procedure, "seeds": seeds,
           "truth": truth, "replications": rates["replications"], "bounds": text,
           "within_bounds": ok if bounds else ""}
    out.update({m: rates[m] for m in MEASURES[kind]})
    return out


def cells(params: dict, episodes, family, reps: int, seed: int):
    """Every cell as (replications it draws, a function that runs it and returns its rows)."""
    one = sim.single_family()
    for name, p in params.items():
        for seeds in sim.SEED_COUNTS:
            for truth in sim.TRUTHS:
                def run(tick, p=p, name=name, seeds=seeds, truth=truth):
                    tally = sim.single_cell(p, episodes, truth, seeds, reps,
                                            sim.cell_rng(seed, "single", name, seeds, truth),
                                            progress=tick)
                    return [row("single", name, "", seeds, f"{truth:g}", tally,
                                sim.single_bounds(seeds, truth))]
                yield reps, run
    for name, p in params.items():
        for kind, effects in (("null", 0), ("mix", sim.MIX_EFFECTS)):
            shifts, truths = sim.family_shifts(p, family, effects)
            for seeds in FAMILY_SEEDS:
                def run(tick, p=p, name=name, seeds=seeds, kind=kind, shifts=shifts,
                        truths=truths):
                    tallies = sim.family_cell(p, episodes, family, truths, shifts, seeds, reps,
                                              sim.cell_rng(seed, "family", name, seeds, kind),
                                              progress=tick)
                    return [row("family", name, proc, seeds, kind, t,
                                sim.family_bounds(kind, proc)) for proc, t in tallies.items()]
                yield reps, run
    for name, p in params.items():
        for truth in sim.TRUTHS:
            def run(tick, p=p, name=name, truth=truth):
                tallies = sim.adaptive_cell(p, episodes, one, [truth],
                                            sim.shifts_for_truth(p, truth), reps,
                                            sim.cell_rng(seed, "adaptive", name, truth),
                                            procedures=("none",), progress=tick)
                return [row("adaptive", name, "none", f"{sim.DEFAULT_SEEDS}+", f"{truth:g}",
                            tallies["none"], sim.adaptive_single_bounds(truth))]
            yield reps, run
    for name, p in params.items():
        for kind, effects in (("null", 0), ("mix", sim.MIX_EFFECTS)):
            shifts, truths = sim.family_shifts(p, family, effects)

            def run(tick, p=p, name=name, kind=kind, shifts=shifts, truths=truths):
                tallies = sim.adaptive_cell(p, episodes, family, truths, shifts, reps,
                                            sim.cell_rng(seed, "adaptive family", name, kind),
                                            procedures=("bh", "holm"), progress=tick)
                return [row("adaptive family", name, proc, f"{sim.DEFAULT_SEEDS}+", kind, t,
                            sim.family_bounds(kind, proc)) for proc, t in tallies.items()]
            yield reps, run


def markdown(frame: pd.DataFrame) -> str:
    """A plain markdown table (numbers to 4 places, empty cells blank)."""
    def cell(value):
        if isinstance(value, float):
            return "" if math.isnan(value) else f"{value:.4f}"
        return str(value)
    lines = ["| " + " | ".join(frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in values) + " |"
              for values in frame.itertuples(index=False)]
    return "\n".join(lines)


def example_halves() -> str:
    """The medians (and ranges) of the example run's step-accuracy half-widths."""
    path = ROOT / "docs/example-run/effects.csv"
    columns = ["d_step_acc_seed_half", "d_step_acc_heldout_half"]
    try:
        effects = pd.read_csv(path)[columns].dropna()
    except (OSError, KeyError):
        return "docs/example-run/effects.csv has no half-widths"
    parts = [f"{name.split('_')[-2]} half-width median {effects[name].median():.3f} "
             f"({effects[name].min():.3f}-{effects[name].max():.3f})" for name in columns]
    return f"docs/example-run/effects.csv, {len(effects)} comparisons at 5 seeds: " + \
        ", ".join(parts)


def halves_table(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[(table["kind"] == "single") & (table["seeds"] == 5) & (table["truth"] == "0")]
    return rows[["scenario", "seed_half", "heldout_half"]].reset_index(drop=True)


def readme(table: pd.DataFrame, fit: sim.Fit, source: str, scenarios: dict, command: str,
           wall: float, cpu: float, reps: int) -> str:
    params = pd.DataFrame([{"scenario": k, **{f: getattr(p, f) for f in
                                                ("mu", "step", "episode", "seed",
                                                 "side_episode", "side_step", "noise",
                                                 "seed_step")}}
                           for k, p in scenarios.items()])
    shown = table.drop(columns=["bounds"]).copy()
    broken = table[table["within_bounds"].astype(str) == "False"]
    family_size, looks = sim.report_family().size, sequential.LOOKS
    moments = pd.DataFrame([{"pairs of scores": text, "share both right": fit.moments[key],
                             "logit covariance": fit.moments.get(f"cov_{key}", math.nan)}
                            for key, text in MOMENTS.items() if key in fit.moments])
    return f"""# Calibration of the report's intervals and verdicts (issue 21)

Made by

    {command}

in {wall / 60:.1f} minutes ({cpu / 60:.1f} min of CPU time) on one core of an {cpu_model()},
{reps} replications per cell. `table.csv` holds every number below; the small version of this
simulation runs in the test suite (`tests/test_calibration.py`).

## What is simulated

Score matrices come from the generative model of `harness/report/simulation.py` (logit scale,
then one Bernoulli draw per score): step and episode difficulty shared by both sides of a
comparison, a per-seed effect of each side, each side's own effect varying by episode and by
step, seed x step noise, episodes of the held-out split's sizes ({len(fit.episodes)} steps in
{int(fit.episodes.max()) + 1} episodes). The held-out set is drawn anew in every replication;
the true difference is the population difference of the two sides' mean scores on the
probability scale, computed by quadrature, and each side's effect is solved so that it is
exactly the target. The project's own `paired_per_step`, `decide`, `multiplicity.rejected`
and `sequential.run_looks` / `seeds_wanted` read the scores.

## Fitted parameters

Source: {source}. Standard deviations on the logit scale (`mu` the logit-scale centre, where
a side's mean score is the compared variants' average); the noise is fixed, not fitted (one
binary score per seed and step cannot tell it from the Bernoulli draw), and only the other
terms' size relative to it and to each other shows in the scores. Where steps are nearly
deterministic (a step a variant gets right with one seed it gets right with almost every
seed, and its compared variant mostly too) the terms are large against the noise. The fit
pools each kind of pair over the variants or compared pairs (`harness.report.simulation.fit`). The moments matched, and the covariance of the two scores' logits that
gives each (the last row is not fitted: were it above the row "compared pair, other seeds
and episodes", the two sides of a pair would share a per-seed effect, which the model leaves
out and which a paired difference cancels):

{markdown(moments)}

One data set of this size pins the seed term well but splits the shared variance between
steps and episodes, and the side terms between episodes and steps, only roughly: refitting 16
stand-in data sets drawn from known parameters gave standard deviations of the estimates of
0.15 (step), 0.32 (episode), 0.03 (seed), 0.20 (side_episode), 0.21 (side_step) and 0.12
(seed_step, whose true value there was 0). The two other scenarios cover what that leaves
open.

The interval parts these parameters give, at 5 seeds and a true difference of 0 (means over the
replications), against the example run's comparisons ({example_halves()}):

{markdown(halves_table(table))}

Pooled moments follow the comparisons whose sides differ most: in the example run the fitted
scenario's two parts come out at about twice the median comparison's, their ratio (the shape
the interval's coverage depends on) about the same.

Scenarios: *fitted*; *episodes*: the side x episode term at {sim.SCALE:g} times the fitted one
(at least {sim.EPISODE_FLOOR}), so the held-out part dominates; *seeds*: the per-seed term at
{sim.SCALE:g} times (at least {sim.SEED_FLOOR}), so the seed part dominates.

{markdown(params)}

## Columns

- kind: *single* one comparison at fixed seeds; *family* the report's {family_size}
  step-accuracy comparisons with their shared base runs; *adaptive* --until-decided
  ({looks} looks, at most {sequential.MAX_SEEDS} seeds, every look at alpha / {looks}),
  starting at {sim.DEFAULT_SEEDS} seeds (`5+`), for one comparison or the whole family.
- truth: the true difference (single, adaptive); *null* every comparison 0, *mix*
  {sim.MIX_EFFECTS} comparisons at {sim.MIX_SIZE:g} and the rest 0 (family).
- coverage: share of 95% intervals holding the truth (per comparison; adaptive: the interval
  the verdict rests on).
- false_calls: share of comparisons called helps/hurts although the truth is 0 or of the other
  sign (single: the unadjusted test at 5%; family: after the procedure; adaptive: the verdict
  word). called: share of comparisons called helps/hurts at all.
- equivalence_errors: share of "equivalent" where |truth| >= the margin {sim.MARGIN:g}.
  equivalent: share of "equivalent" at all.
- fwer: share of reports with at least one false call; fdr: mean share of false calls among a
  report's calls (0 without calls).
- tail_ratio: how often a comparison without effect has a p-value below {sim.TAIL_LEVEL:g}
  (alpha / 20, the level of Holm's first step in the family), divided by {sim.TAIL_LEVEL:g}: 1
  for exact p-values, above 1 where the p-values are too small in the tail the multiplicity
  procedures read (single: {sim.TAIL_LEVEL:g} x the replications is only a few events, so it is
  rough; family: per comparison, 20 times as many).
- mean_seeds: seeds per comparison; seed_half, heldout_half: mean parts of the 95% half-width.
- bounds: the issue's bounds for the cell, each widened by 3 Monte Carlo standard errors at the
  bound.

## Bounds broken

A broken bound is a finding about the report's estimator or verdict rule
(`harness/report/stats.py`, `multiplicity.py`, `sequential.py`), not about the bound: the
bounds are the issue's, widened only by 3 Monte Carlo standard errors.

{"None." if broken.empty else markdown(broken[["kind", "scenario", "procedure", "seeds",
                                                "truth", "bounds"]])}

## Table

{markdown(shown)}
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replications", type=int, default=None,
                        help="replications per cell (default 4000; --quick 400)")
    parser.add_argument("--quick", action="store_true",
                        help="400 replications, written to reports/calibration-quick")
    parser.add_argument("--seed", type=int, default=21, help="random seed (default 21)")
    parser.add_argument("--scores", default=str(ROOT / sim.EXAMPLE_SCORES),
                        help="the per-step scores the fit reads (export_heldout_scores.py)")
    parser.add_argument("--stand-in", action="store_true",
                        help="fit stand-in scores drawn from the model (when --scores is absent)")
    parser.add_argument("--out", default=None, help="folder for table.csv and README.md")
    args = parser.parse_args(argv)
    reps = args.replications or (400 if args.quick else 4000)
    out = Path(args.out or (ROOT / ("reports/calibration-quick" if args.quick
                                    else "docs/calibration")))
    started, cpu_started = time.monotonic(), time.process_time()
    fit = None if args.stand_in else sim.example_fit(args.scores)
    if fit is None:
        if not args.stand_in:
            parser.error(f"{args.scores} not found: export it with "
                         "scripts/export_heldout_scores.py, or pass --stand-in")
        fit, source = sim.stand_in_fit(args.seed), "stand-in scores drawn from the model " \
            f"with {sim.STAND_IN} (NOT the example run: its file was absent)"
    else:
        source = f"`{Path(args.scores).resolve().relative_to(ROOT)}`" \
            if Path(args.scores).resolve().is_relative_to(ROOT) else f"`{args.scores}`"
        source += (f", {len(fit.variant_mu)} variants in {len(fit.pairs)} compared pairs, "
                   f"{fit.seeds} seeds")
    scenarios = sim.scenarios(fit.params)
    family = sim.report_family()
    plan = list(cells(scenarios, fit.episodes, family, reps, args.seed))
    rows = []
    with tqdm(total=sum(n for n, _ in plan), unit="rep", smoothing=0.05) as bar:
        for _, run in plan:
            rows.extend(run(bar.update))
    table = pd.DataFrame(rows, columns=COLUMNS)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "table.csv", index=False, float_format="%.5f")
    command = "python scripts/simulate_verdicts.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    (out / "README.md").write_text(readme(table, fit, source, scenarios, command.strip(),
                                          time.monotonic() - started,
                                          time.process_time() - cpu_started, reps))
    broken = table[table["within_bounds"].astype(str) == "False"]
    print(f"{len(table)} rows, {len(broken)} with a bound broken -> {out}")
    for _, r in broken.iterrows():
        print(f"  {r['kind']} {r['scenario']} {r['procedure']} seeds {r['seeds']} "
              f"truth {r['truth']}: {r['bounds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
