"""The grid of (variant, seed) runs: same data, batch order and shared initial weights per
seed; each run isolated; results on disk as they are produced (layout: :mod:`harness.results`);
finished runs reused."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
import torch

from harness.config import Settings
from harness.prepare import prepare_data
from harness.data.fingerprint import data_identity
from harness.data.tensors import EncodedData, episode_column
from harness.encoders import resolve_encoder
from harness.environment import command_line, describe_environment
from harness.evaluation import split_targets
from harness.executors import RunTask, make_executor
from harness.io import atomic_write_csv, atomic_write_json
from harness.lock import locks_output
from harness.logs.common import require as require_logs
from harness.metrics import baseline_metrics, baseline_scores
from harness.progress import GridProgress
from harness.results import (RunPaths, check_reusable, collect, planned_runs, read_status,
                             run_fingerprint)
from variants.registry import Variant

# --------------------------------------------------------------------------- the grid

@locks_output("out")   # one writer per output folder (harness.lock)
def run_grid(settings: Settings, variants: list[Variant], out: Path, *, force: bool = False,
             show_progress: bool = True, hooks_factory=None, data: EncodedData | None = None,
             jobs: int = 1, threads: int | None = None, executor: str = "local",
             ray_address: str | None = None, logs=(),
             seeds_by_variant: dict[str, list[int]] | None = None) -> pd.DataFrame:
    """Train every (variant, seed) not already finished in ``out``, holding its lock (a run
    the machine lost is trained again, one whose design failed is kept); return the summary.
    ``logs``: targets of :mod:`harness.logs` ("tensorboard", "mlflow") that get every run,
    reused ones included. ``seeds_by_variant``: each variant's own seeds instead of the
    settings' (``--until-decided`` adds seeds to some variants only)."""
    planned = seeds_by_variant if seeds_by_variant is not None else settings.seeds
    logs = require_logs(logs)     # a missing extra fails here, before any training
    paths = RunPaths(Path(out))
    paths.root.mkdir(parents=True, exist_ok=True)
    spec = resolve_encoder(settings.encoder)
    data = data or prepare_data(settings.data, spec)
    # Which runs are kept is decided before anything is written: a folder holding runs of
    # other settings or other data is refused with its run.json and baseline scores intact.
    identity = data_identity(data)
    by_name = {v.name: v for v in variants}
    plan = []
    for name, seed in planned_runs([v.name for v in variants], planned):
        run_dir = paths.run_dir(name, seed)
        reused = not force and check_reusable(read_status(run_dir),
                                              run_fingerprint(settings, by_name[name]),
                                              run_dir, identity)
        plan.append((by_name[name], seed, run_dir, reused))

    train_targets = split_targets(data.train, data.units)
    heldout_targets = split_targets(data.heldout, data.units)
    baselines = baseline_metrics(train_targets, heldout_targets)
    # Each held-out (and selection) step's score of the trivial baseline: the report and the
    # search compare runs with it step by step, as they compare two variants.
    scored = [(data.heldout, paths.baseline_scores)]
    if data.selection is not data.heldout:
        scored.append((data.selection, paths.baseline_selection_scores))
    for split, path in scored:
        atomic_write_csv(path, pd.DataFrame(
            {"item": range(len(split)), "episode": episode_column(split),
             **baseline_scores(train_targets, split_targets(split, data.units))}))
    atomic_write_json(paths.run_json, {
        "settings": settings.to_dict(),
        "fingerprint": settings.fingerprint(),
        "command": command_line(),
        "environment": describe_environment(settings.device),
        "execution": {"executor": executor, "jobs": jobs,
                      "threads_per_run": threads or torch.get_num_threads()},
        "encoder": spec.describe(),
        "data": {**data.description, "fingerprint": identity},
        "baselines": baselines,
        # the same baselines on the selection split, what choices compare with
        "selection_baselines": baseline_metrics(train_targets, split_targets(data.selection,
                                                                             data.units)),
        "variants": [v.to_dict() for v in variants],
        "written": time.time(),
    })

    tensorboard = "tensorboard" in logs
    store = None
    if "mlflow" in logs:
        from harness.logs.mlflow_store import MlflowStore
        store = MlflowStore(paths.root)
        store.open_grid()
    todo = []
    for variant, seed, run_dir, reused in plan:
        events = paths.tensorboard_dir(variant.name, seed) if tensorboard else None
        if reused:
            if events is not None:
                _reused_run_events(run_dir, events, variant, seed)
            continue
        todo.append(RunTask(len(todo), variant, seed, run_dir, events))

    progress = GridProgress(len(todo), settings.train.steps, enabled=show_progress)
    try:
        # Each run's own folder is complete when it finishes; the grid-wide tables are
        # rebuilt once at the end (or on interruption), not after every run: rebuilding them
        # reads every run folder, which made the grid quadratic in its number of runs.
        # nothing to train (every run reused): no worker processes to start
        statuses = make_executor(jobs, threads, executor, ray_address).run(
            todo, data, settings, progress, hooks_factory) if todo else ()
        for status in statuses:
            if store is not None:
                # in this process, as each run ends: the store's only writer
                _log_safely(store, paths, by_name[status["variant"]], status["seed"])
    finally:
        progress.close()
        summary, _ = collect(paths, [v.name for v in variants], planned)
    if store is not None:
        try:
            store.sync([v.to_dict() for v in variants], planned)   # reused runs too
            store.log_records()
            store.close_grid()
        except Exception as exc:  # the records are complete; the store can be rebuilt
            print(f"warning: the MLflow store is incomplete ({type(exc).__name__}: {exc}); "
                  f"python run_ablation.py --export-logs {paths.root} --log mlflow writes it "
                  "from the records", file=sys.stderr)
    return summary


def _reused_run_events(run_dir: Path, events: Path, variant: Variant, seed: int) -> None:
    """A finished run kept from an earlier invocation that logged no events: write them
    from its records, so that every run of the grid is in TensorBoard."""
    from harness.logs.tensorboard import export_run, has_events
    if has_events(events):
        return
    try:
        export_run(run_dir, events, variant.name, seed, variant.design.to_dict())
    except Exception as exc:  # the records are the result; a log is a copy of them
        print(f"warning: no TensorBoard events for {variant.name} seed {seed} "
              f"({type(exc).__name__}: {exc}); --export-logs writes them later",
              file=sys.stderr)


def _log_safely(store, paths: RunPaths, variant: Variant, seed: int) -> None:
    try:
        store.log_run(paths.run_dir(variant.name, seed), variant.name, seed,
                      variant.design.to_dict())
    except Exception as exc:  # the records are the result; a log is a copy of them
        print(f"warning: {variant.name} seed {seed} not in the MLflow store "
              f"({type(exc).__name__}: {exc}); it is retried when the grid ends, and "
              "--export-logs writes it later", file=sys.stderr)
