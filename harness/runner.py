"""The grid of (variant, seed) runs: same data, batch order and shared initial weights per
seed; each run isolated; results on disk as they are produced; finished runs reused.

Output folder::

    run.json                       settings, environment, versions, command, data, variants
    summary.csv                    one row per (variant, seed): status, final metrics, cost
    steps.csv                      every run's per-step records: variant, seed, step, metric, value
    runs/<variant>/seed<k>/        status.json, steps.csv (steps.partial.csv while running),
                                   error.txt when the run failed
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from harness.config import Settings
from harness.data.prepare import prepare_data
from harness.data.tensors import EncodedData
from harness.encoders import resolve_encoder
from harness.environment import command_line, describe_environment
from harness.errors import HarnessInputError
from harness.evaluation import split_targets
from harness.io import atomic_write_csv, atomic_write_json, read_json
from harness.metrics import baseline_metrics, baseline_predictions, per_step_scores
from harness.executors import RunTask, make_executor
from harness.progress import GridProgress
from harness.records import StepRecords
from harness.instruments import Instruments
from harness.instruments.throughput import mfu
from harness.train import HookChain, Hooks, train
from variants.registry import Variant

FINISHED = ("ok", "diverged", "failed")
BASELINE_SCORES = "baseline_scores.csv"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.+=@-]{1,80}$")


def run_folder_name(variant_name: str) -> str:
    """A folder name for any variant name: the name itself when it is safe on every file
    system, else a slug plus a hash, so that distinct names never share a folder."""
    if _SAFE_NAME.match(variant_name) and variant_name not in (".", ".."):
        return variant_name
    slug = re.sub(r"[^A-Za-z0-9_.+=@-]+", "_", variant_name).strip("._")[:40] or "variant"
    return f"{slug}-{hashlib.sha256(variant_name.encode()).hexdigest()[:10]}"


@dataclass
class RunPaths:
    root: Path

    def run_dir(self, variant: str, seed: int) -> Path:
        return self.root / "runs" / run_folder_name(variant) / f"seed{seed}"

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def summary_csv(self) -> Path:
        return self.root / "summary.csv"

    @property
    def steps_csv(self) -> Path:
        return self.root / "steps.csv"


def run_fingerprint(settings: Settings, variant: Variant) -> str:
    text = settings.fingerprint() + repr(sorted(variant.design.to_dict().items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_status(run_dir: Path) -> dict | None:
    path = run_dir / "status.json"
    if not path.is_file():
        return None
    try:
        return read_json(path)
    except ValueError:
        return None      # written atomically, so only a foreign file can be unreadable


def check_reusable(status: dict | None, fingerprint: str, where: Path) -> bool:
    """True when a finished run with the same settings can be kept; an error when a finished
    run was made with other settings (mixing them would compare unlike with unlike)."""
    if not status or status.get("status") not in FINISHED:
        return False
    if status.get("fingerprint") != fingerprint:
        raise HarnessInputError(
            f"{where} holds a finished run made with different settings or design; pass "
            "--force to recompute every run, or choose another --out")
    return True


def run_one(data: EncodedData, variant: Variant, seed: int, settings: Settings, run_dir: Path,
            on_step=None, hooks: Hooks | None = None) -> dict:
    """Train one (variant, seed) in isolation; always returns a status record."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "error.txt").unlink(missing_ok=True)
    status = {"variant": variant.name, "seed": seed, "status": "running",
              "fingerprint": run_fingerprint(settings, variant),
              "design": variant.design.to_dict(), "started": time.time()}
    atomic_write_json(run_dir / "status.json", status)
    records = StepRecords(run_dir)
    device = torch.device(settings.device)
    complete = False
    try:
        # FLOPs per step are a property of the design (up to the first batch's padding): count
        # them in the grid's first seed only, not in every run.
        instruments = dataclasses.replace(
            settings.instruments,
            flops=settings.instruments.flops and seed == settings.seeds[0])
        hooks = HookChain([Instruments(instruments), hooks])
        result = train(data, variant.design, resolve_encoder(settings.encoder), settings.train,
                       seed, device, records, hooks=hooks, progress=on_step)
        status.update(status=result.status, message=result.message,
                      steps_done=result.steps_done, epochs_done=result.epochs_done,
                      diverged_at=result.diverged_at, train_seconds=result.train_seconds,
                      final=result.final, facts=result.facts)
        complete = True
    except KeyboardInterrupt:
        status.update(status="interrupted", message="interrupted by the user")
        raise
    except Exception as exc:  # isolation: one run's failure must not stop the grid
        if isinstance(exc, torch.OutOfMemoryError) and device.type == "cuda":
            torch.cuda.empty_cache()
        status.update(status="failed", message=f"{type(exc).__name__}: {exc}".strip(),
                      error_type=type(exc).__name__, final={})
        (run_dir / "error.txt").write_text(traceback.format_exc(), encoding="utf-8")
        complete = True
    finally:
        records.close(complete=complete)
        status["finished"] = time.time()
        atomic_write_json(run_dir / "status.json", status)
    return status


# --------------------------------------------------------------------------- tables

SUMMARY_FIRST = ["variant", "seed", "status", "message", "steps_done", "epochs_done",
                 "diverged_at", "train_seconds"]


def summary_row(status: dict, steps: pd.DataFrame | None) -> dict:
    """One row of summary.csv: status, final validation metrics, cost and instrument facts."""
    row = {k: status.get(k) for k in SUMMARY_FIRST}
    row.update({k: v for k, v in (status.get("final") or {}).items()})
    facts = status.get("facts") or {}
    if steps is not None and not steps.empty:
        for metric in ("step_time_s", "samples_per_s", "tokens_per_s"):
            values = steps.loc[steps.metric == metric, "value"]
            if len(values) > 1:
                row[metric] = float(values.iloc[1:].median())   # step 0 pays warm-up
        zero = steps.loc[steps.metric == "probe/coord_grad_zero_share/dual_point", "value"]
        if len(zero):
            row["coord_grad_zero_share"] = float(zero.mean())
        clipped = steps.loc[steps.metric == "clipped", "value"]
        if len(clipped):
            row["clip_rate"] = float(clipped.mean())
    row["flops_per_step"] = facts.get("flops_per_step")
    row["mfu"] = mfu(facts.get("flops_per_step"), row.get("step_time_s"), facts.get("peak_flops"))
    row["peak_memory_mb"] = facts.get("peak_memory_mb")
    row["probe_seconds"] = facts.get("probe_seconds")
    agreement = facts.get("backward_agreement") or {}
    row["backward_max_abs_diff"] = agreement.get("max_abs_diff")
    row["backward_rel_diff"] = agreement.get("rel_diff")
    audit = facts.get("target_range_audit") or {}
    row["targets_outside_range"] = audit.get("targets_outside_range_in_loss_scope")
    row["nonfinite_losses"] = sum((facts.get("nonfinite_counts") or {}).values())
    return row


def read_steps(run_dir: Path) -> pd.DataFrame | None:
    """A run's step records: the final file, else what a running or interrupted run has
    flushed so far (a line being written at this moment is skipped, not an error)."""
    if (run_dir / "steps.csv").is_file():
        return pd.read_csv(run_dir / "steps.csv")
    partial = run_dir / "steps.partial.csv"
    if not partial.is_file():
        return None
    try:
        steps = pd.read_csv(partial, on_bad_lines="skip")
    except pd.errors.EmptyDataError:
        return None
    steps["value"] = pd.to_numeric(steps["value"], errors="coerce")
    return steps.dropna(subset=["step"])


STEP_COLUMNS = ["variant", "seed", "step", "metric", "value"]


@dataclass
class Gathered:
    summary: pd.DataFrame              # one row per (variant, seed), status "missing" included
    steps: pd.DataFrame                # every run's records, long form
    statuses: dict                     # (variant, seed) -> status.json as read


def gather(paths: RunPaths, variant_names: list[str], seeds) -> Gathered:
    """Read every (variant, seed) run folder: what ``summary.csv``, ``steps.csv`` and the
    report are built from. A run with no folder is status ``missing``; a run that was still
    running when its process died is ``interrupted``."""
    rows, frames, statuses = [], [], {}
    for seed in seeds:
        for name in variant_names:
            run_dir = paths.run_dir(name, seed)
            status = read_status(run_dir) or {"variant": name, "seed": seed, "status": "missing"}
            steps = read_steps(run_dir)
            if steps is not None and not steps.empty:
                frames.append(steps.assign(variant=name, seed=seed)[STEP_COLUMNS])
            rows.append(summary_row(status, steps))
            statuses[(name, seed)] = status
    steps_all = (pd.concat(frames, ignore_index=True) if frames
                 else pd.DataFrame(columns=STEP_COLUMNS))
    return Gathered(pd.DataFrame(rows), steps_all, statuses)


def collect(paths: RunPaths, variants: list[Variant], seeds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild ``summary.csv`` and ``steps.csv`` from the run folders."""
    found = gather(paths, [v.name for v in variants], seeds)
    atomic_write_csv(paths.summary_csv, found.summary)
    atomic_write_csv(paths.steps_csv, found.steps)
    return found.summary, found.steps


# --------------------------------------------------------------------------- the grid

def run_grid(settings: Settings, variants: list[Variant], out: Path, *, force: bool = False,
             show_progress: bool = True, hooks_factory=None, data: EncodedData | None = None,
             jobs: int = 1, threads: int | None = None, executor: str = "local",
             ray_address: str | None = None) -> pd.DataFrame:
    """Train every (variant, seed) not already finished in ``out``; return the summary."""
    paths = RunPaths(Path(out))
    paths.root.mkdir(parents=True, exist_ok=True)
    spec = resolve_encoder(settings.encoder)
    data = data or prepare_data(settings.data, spec)
    train_targets = split_targets(data.train, data.units)
    heldout_targets = split_targets(data.heldout, data.units)
    baselines = baseline_metrics(train_targets, heldout_targets)
    baseline = baseline_predictions(train_targets, len(data.heldout))
    # Each held-out step's score of the trivial baseline: the report compares runs with it
    # step by step, as it compares two variants.
    atomic_write_csv(paths.root / BASELINE_SCORES, pd.DataFrame(
        {"item": range(len(data.heldout)), **per_step_scores(baseline, heldout_targets)}))
    atomic_write_json(paths.run_json, {
        "settings": settings.to_dict(),
        "fingerprint": settings.fingerprint(),
        "command": command_line(),
        "environment": describe_environment(settings.device),
        "execution": {"executor": executor, "jobs": jobs,
                      "threads_per_run": threads or torch.get_num_threads()},
        "encoder": spec.describe(),
        "data": data.description,
        "baselines": baselines,
        "variants": [v.to_dict() for v in variants],
        "written": time.time(),
    })

    todo = []
    for seed in settings.seeds:
        for variant in variants:
            run_dir = paths.run_dir(variant.name, seed)
            if not force and check_reusable(read_status(run_dir),
                                            run_fingerprint(settings, variant), run_dir):
                continue
            todo.append(RunTask(len(todo), variant, seed, run_dir))

    progress = GridProgress(len(todo), settings.train.steps, enabled=show_progress)
    try:
        # Each run's own folder is complete when it finishes; the grid-wide tables are
        # rebuilt once at the end (or on interruption), not after every run: rebuilding them
        # reads every run folder, which made the grid quadratic in its number of runs.
        for _ in make_executor(jobs, threads, executor, ray_address).run(
                todo, data, settings, progress, hooks_factory):
            pass
    finally:
        progress.close()
        summary, _ = collect(paths, variants, settings.seeds)
    return summary


def format_summary(summary: pd.DataFrame, baselines: dict | None = None) -> str:
    """A plain-text table: one line per variant, means over its finished seeds."""
    metrics = ["action_acc", "step_acc", "tap_acc", "swipe_acc", "text_em"]
    present = [m for m in metrics if m in summary.columns]
    lines = []
    header = f"{'variant':30s} {'runs':>9s} " + " ".join(f"{m:>10s}" for m in present)
    lines.append(header)
    lines.append("-" * len(header))
    for variant, group in summary.groupby("variant", sort=False):
        counts = group["status"].value_counts()
        runs = ",".join(f"{counts[s]}{s[0]}" for s in counts.index)
        values = " ".join(f"{_mean(group, m):>10s}" for m in present)
        lines.append(f"{variant[:30]:30s} {runs:>9s} {values}")
    if baselines:
        values = " ".join(f"{_fmt(baselines.get('baseline/' + m)):>10s}" for m in present)
        lines.append(f"{'(trivial baseline)':30s} {'':>9s} {values}")
    lines.append("runs: o = ok, d = diverged, f = failed, m = missing; metrics: mean over ok "
                 "runs of the final validation")
    return "\n".join(lines)


def _mean(group: pd.DataFrame, metric: str) -> str:
    ok = group[group["status"] == "ok"][metric].dropna()
    return _fmt(ok.mean()) if len(ok) else "-"


def _fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.3f}"
