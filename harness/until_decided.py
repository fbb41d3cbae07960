"""``--until-decided MINUTES``: seeds added where they decide, in looks planned in advance.

The grid first runs the default seeds (look 1). Then, at most ``LOOKS - 1`` times, the
report's own effects table is read (every look tested at alpha / K, :mod:`harness.report.
sequential`), and each undecided step-accuracy comparison whose projected seed count (at the
level one more rejection in its family would need, at most ``MAX_SEEDS``) fits in the time
left gets that many seeds: the same new seeds on both of its sides, a shared base trained once
for every comparison that needs it. Comparisons are taken cheapest first. The plan of every
look is written to ``sequential.json`` before it is trained, so an interrupted run resumes
the same look, and the report re-reads the looks from it: grid and report decide alike.

Seeds are numbered on from the default ones (default 0-4: the sixth seed is 5 on every
variant), so two sides with n seeds always share their seeds.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from harness.budget import estimated_report_seconds
from harness.errors import HarnessInputError
from harness.io import atomic_write_json
from harness.lock import locks_output
from harness.report import multiplicity
from harness.report.analysis import effects_table
from harness.report.load import load_records
from harness.report.sequential import LOOKS, MAX_SEEDS
from harness.report.stats import ALPHA, DEFAULT_MARGIN, UNDECIDED
from harness.results import (FINISHED, RunPaths, read_sequential, read_status,
                             sequential_seeds, summary_column)

#: Wall seconds per run assumed when no run of this invocation was timed yet (every run of
#: the first look reused): a default run on 2 cores takes 8-15 s.
FALLBACK_RUN_SECONDS = 15.0


def seed_pool(default: list[int], max_seeds: int) -> list[int]:
    """The seeds in the order they are given out: the default ones, then the next integers."""
    extra = max_seeds - len(default)
    start = max(default) + 1 if default else 0
    return list(default) + list(range(start, start + max(extra, 0)))


def _plan_record(settings, minutes: float, looks: int, max_seeds: int, margin: float,
                 procedure: str) -> dict:
    return {"looks_planned": looks, "max_seeds": max_seeds, "budget_minutes": minutes,
            "alpha": ALPHA, "level": ALPHA / looks, "margin": margin,
            "multiplicity": procedure, "default_seeds": list(settings.seeds), "looks": []}


def _check_resumable(record: dict, plan: dict, path: Path) -> None:
    """A rerun continues an earlier ``--until-decided`` only under the same plan: changing K,
    the seed cap, the margin or the procedure after looking would undo the error control."""
    keys = ("looks_planned", "max_seeds", "margin", "multiplicity", "default_seeds")
    changed = [k for k in keys if record.get(k) != plan[k]]
    if changed:
        raise HarnessInputError(
            f"{path}: this folder holds an --until-decided run planned with "
            + ", ".join(f"{k}={record.get(k)!r}" for k in changed)
            + "; rerun with the same options, or use another --out (a plan changed after "
            "looking at the data would not keep its error rates)")


def _seconds_per_run(records, timed: list[tuple[float, int]], jobs: int,
                     variants: list[str]) -> dict[str, float]:
    """Projected wall seconds of one more run of each variant: the wall time per run of the
    looks trained so far, shared out by each variant's median step time."""
    summary = records.summary
    step_time = {}
    for name in variants:
        rows = summary[(summary.variant == name) & (summary.status == "ok")]
        values = summary_column(rows, "step_time_s").dropna()
        step_time[name] = float(values.median()) if len(values) else math.nan
    known = [t for t in step_time.values() if math.isfinite(t)]
    mean_step = sum(known) / len(known) if known else math.nan
    wall, runs = sum(t for t, _ in timed), sum(n for _, n in timed)
    per_run = wall / runs if runs else FALLBACK_RUN_SECONDS / max(jobs, 1)
    return {name: per_run * (step_time[name] / mean_step
                             if math.isfinite(step_time[name]) and mean_step > 0 else 1.0)
            for name in variants}


def plan_next_look(effects, have: dict[str, list[int]], pool: list[int],
                   seconds: dict[str, float], seconds_left: float) -> tuple[dict, list[dict]]:
    """Which comparisons get seeds in the next look: the undecided step-accuracy comparisons
    with a projected seed count, cheapest first (runs not already planned for a shared side),
    while the projected time fits in ``seconds_left``. Returns the new seeds per variant and
    one entry per comparison chosen (and per one left out for time)."""
    target = {name: len(seeds) for name, seeds in have.items()}
    wanted = effects[(effects["family"] == "effects") & (effects["verdict"] == UNDECIDED)]
    wanted = wanted[wanted["seeds_needed"].notna()]

    def extra_cost(row) -> float:
        n = int(row["seeds_needed"])
        return sum(max(0, n - target[side]) * seconds[side]
                   for side in {row["with_fix"], row["without_fix"]})

    entries, spent = [], 0.0
    for _, row in sorted(wanted.iterrows(), key=lambda item: extra_cost(item[1])):
        n = min(int(row["seeds_needed"]), len(pool))
        cost = extra_cost(row)
        name = f"{row['fix']} ({row['direction']})"
        before = min(target[row["with_fix"]], target[row["without_fix"]])
        if cost <= 0:
            entries.append({"comparison": name, "from": before, "to": n,
                            "why": "its sides already get the seeds for another comparison"})
            continue
        if spent + cost > seconds_left:
            entries.append({"comparison": name, "from": before, "to": before,
                            "why": f"projected to decide at {n} seeds, but the "
                                   f"{cost / 60:.1f} min it needs do not fit in the "
                                   f"{(seconds_left - spent) / 60:.1f} min left"})
            continue
        spent += cost
        for side in (row["with_fix"], row["without_fix"]):
            target[side] = max(target[side], n)
        entries.append({"comparison": name, "from": before, "to": n,
                        "why": f"projected to decide at {n} seeds (p below "
                               f"{row['level_needed']:.4f}, the level one more decision in "
                               f"its family needs at this look)"})
    new = {name: pool[len(have[name]):target[name]] for name in have
           if target[name] > len(have[name])}
    return new, entries


@locks_output("out")   # one writer per output folder (harness.lock)
def run_until_decided(settings, chosen, out: Path, grid: dict, run_grid, minutes: float, *,
                      looks: int = LOOKS, max_seeds: int = MAX_SEEDS,
                      margin: float = DEFAULT_MARGIN, procedure: str = multiplicity.DEFAULT,
                      log=print):
    """The default seeds, then up to ``looks - 1`` looks that add seeds where the projection
    says they decide within ``minutes`` of wall time (counted from this call). Returns the
    last look's summary."""
    started = time.monotonic()
    if not (math.isfinite(minutes) and minutes > 0):
        raise HarnessInputError(f"--until-decided takes a positive number of minutes, got "
                                f"{minutes}")
    default = list(settings.seeds)
    if len(default) < 2:
        raise HarnessInputError("--until-decided needs at least 2 default seeds (an interval "
                                "and a seed spread to project from)")
    if max_seeds < len(default):
        raise HarnessInputError(f"--until-decided: at most {max_seeds} seeds, but "
                                f"{len(default)} default seeds were given")
    paths = RunPaths(Path(out))
    plan = _plan_record(settings, minutes, looks, max_seeds, margin, procedure)
    record = read_sequential(paths.root) if paths.sequential_json.is_file() else None
    if record is not None:
        _check_resumable(record, plan, paths.sequential_json)
        record["budget_minutes"] = minutes
    else:
        record = plan
        record["looks"].append({"seeds": {v.name: default for v in chosen}, "added": []})
    paths.root.mkdir(parents=True, exist_ok=True)
    atomic_write_json(paths.sequential_json, record)
    pool = seed_pool(default, max_seeds)
    jobs = grid.get("jobs") or 1
    timed: list[tuple[float, int]] = []

    def train_looks_so_far():
        seeds = sequential_seeds(record)
        before = time.monotonic()
        trained_before = _finished_runs(paths, seeds)
        summary = run_grid(settings, chosen, out, seeds_by_variant=seeds, **grid)
        trained = _finished_runs(paths, seeds) - trained_before
        if trained:
            timed.append((time.monotonic() - before, trained))
        return summary

    summary = train_looks_so_far()
    while len(record["looks"]) < looks:
        records = load_records(out)
        effects = effects_table(records, margin, procedure)
        have = {name: [s for s in pool if s in seeds]
                for name, seeds in sequential_seeds(record).items()}
        seconds = _seconds_per_run(records, timed, jobs, list(have))
        reserve = estimated_report_seconds(sum(len(s) for s in have.values()))
        left = minutes * 60 - (time.monotonic() - started) - reserve
        new, entries = plan_next_look(effects, have, pool, seconds, left)
        if not new:
            record["stopped"] = ("no undecided comparison can be decided in the time left"
                                 if entries else "nothing left undecided that more seeds "
                                 "could decide")
            record["stopped_entries"] = entries
            break
        record["looks"].append({"seeds": new, "added": entries})
        atomic_write_json(paths.sequential_json, record)
        look = len(record["looks"])
        log(f"until-decided: look {look} of {looks}: "
            + "; ".join(f"{e['comparison']} {e['from']} -> {e['to']} seeds" for e in entries
                        if e["to"] > e["from"])
            + f" ({sum(len(s) for s in new.values())} runs, {left / 60:.1f} min left)")
        summary = train_looks_so_far()
    else:
        record["stopped"] = f"all {looks} planned looks made"
    atomic_write_json(paths.sequential_json, record)
    return summary


def _finished_runs(paths: RunPaths, seeds: dict[str, list[int]]) -> int:
    count = 0
    for name, values in seeds.items():
        for seed in values:
            status = read_status(paths.run_dir(name, seed))
            count += bool(status and status.get("status") in FINISHED)
    return count
