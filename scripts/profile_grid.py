#!/usr/bin/env python
"""Where the default grid's time goes: one run of a design under cProfile, grouped into the
parts of a run (forward, backward, optimizer, instruments, evaluation, record I/O), and the
heaviest operators of one training step under torch.profiler.

    python scripts/profile_grid.py [VARIANT ...]     (default: original fixed)

Prints a Markdown table per variant; benchmarks/README.md quotes its output. One thread, as a
grid worker runs; the numbers are this machine's (the CPU is printed).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.cli import resolve_epochs                      # noqa: E402
from harness.config import DEFAULT_EPOCHS, Settings          # noqa: E402
from harness.prepare import prepare_data                # noqa: E402
from harness.encoders import resolve_encoder                 # noqa: E402
from harness.environment import cpu_model                    # noqa: E402
from harness.execute import run_one                         # noqa: E402
import variants                                               # noqa: E402

#: (label, file suffix, function name): cumulative time of these functions, in this order;
#: nested ones are subtracted from their parents by the order of PARTS' "minus" lists.
PARTS = [
    ("forward + loss (training)", "harness/train.py", "forward_and_loss"),
    ("backward (the design's strategy)", "harness/backward.py", None),
    ("clip", "harness/train.py", "clip_or_measure"),
    ("optimizer step", "torch/optim/optimizer.py", "wrapper"),
    ("validation at epoch ends", "harness/train.py", "validate"),
    ("held-out scoring at the end", "harness/train.py", "score_heldout"),
    ("probes (per-head gradients)", "harness/instruments/suite.py", "probe"),
    ("per-step gradient norms", "harness/instruments/grad_norms/hooks.py", "after_backward"),
    ("FLOP count (once)", "harness/instruments/cost/hooks.py", "count_step_flops"),
    ("target-range audit (once)", "harness/instruments/audit.py", "target_range_audit"),
    ("records: flush and write", "harness/train.py", "flush_records"),
]


def _cumulative(stats: pstats.Stats, suffix: str, name: str | None) -> float:
    total = 0.0
    for (filename, _, function), (_, _, _, cumtime, _) in stats.stats.items():
        if filename.endswith(suffix) and (name is None or function == name):
            if name is None and function not in ("single_backward", "per_head_backward"):
                continue
            total += cumtime
    return total


def profile_run(variant_name: str, data, settings: Settings) -> None:
    variant = variants.get_variant(variant_name)
    profiler = cProfile.Profile()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        profiler.enable()
        status = run_one(data, variant, 0, settings, Path(scratch) / "run")
        profiler.disable()
        wall = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    print(f"\n### {variant_name}: {wall:.1f} s for {status['steps_done']} steps "
          f"({status['status']})\n")
    print("| part of the run | seconds | share |\n|---|---|---|")
    accounted = 0.0
    for label, suffix, name in PARTS:
        seconds = _cumulative(stats, suffix, name)
        # the validation and held-out scoring contain forward passes of their own, and the
        # probes sit inside forward_and_loss's caller, not inside it: no double counting
        accounted += seconds
        print(f"| {label} | {seconds:.2f} | {seconds / wall:.0%} |")
    print(f"| other (data batches, Python, setup) | {max(wall - accounted, 0):.2f} | "
          f"{max(wall - accounted, 0) / wall:.0%} |")


def top_operators(variant_name: str, data, settings: Settings, rows: int = 8) -> None:
    from torch.profiler import ProfilerActivity, profile

    from harness.records import StepRecords
    from harness.train import Hooks, start_run, train_step
    run = start_run(data, variants.get_variant(variant_name).design,
                    resolve_encoder(settings.encoder), settings.train, 0, torch.device("cpu"),
                    StepRecords(None))
    batch = data.train.batch(torch.arange(settings.train.batch_size), True)
    for step in range(3):
        train_step(run, batch, step, Hooks())
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for step in range(5):
            train_step(run, batch, step, Hooks())
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"\nHeaviest operators of a {variant_name} training step (self CPU time, 5 steps):\n")
    print("| operator | share | calls per step |\n|---|---|---|")
    for e in events[:rows]:
        print(f"| `{e.key}` | {e.self_cpu_time_total / total:.0%} | {e.count // 5} |")


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    names = argv or ["original", "fixed"]
    settings = Settings()
    started = time.perf_counter()
    data = prepare_data(settings.data, resolve_encoder(settings.encoder))
    prepare_s = time.perf_counter() - started
    settings = resolve_epochs(settings, DEFAULT_EPOCHS, len(data.train))
    print(f"CPU: {cpu_model()}, 1 thread; default settings ({settings.train.steps} steps, "
          f"batch {settings.train.batch_size}, encoder {settings.encoder}); data preparation "
          f"{prepare_s:.1f} s (once per grid)")
    for name in names:
        profile_run(name, data, settings)
    for name in names:
        top_operators(name, data, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
