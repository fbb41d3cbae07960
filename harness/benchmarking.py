"""Side-by-side timing for the benchmark suite, and the ratio check CI runs on its results.

Absolute times differ between machines and drift on a shared one; a ratio of two things timed
in the same process, interleaved round by round, is what survives that. Each comparison warms
both sides up, synchronises CUDA around every measurement, and flags noise (interquartile range
over median) the way ``torch.utils.benchmark`` does. On CPU it reads the calling thread's CPU
time rather than wall time (:func:`default_clock`), which other processes cannot inflate. The
ratio it reports and CI checks is that of the two sides' fastest rounds: interference only ever
adds time, so the minimum is the least disturbed estimate of what each side costs (the ratio of
medians is kept beside it).

    python -m harness.benchmarking check RESULTS.json [--bounds benchmarks/bounds.json]

exits 1 when a ratio recorded in a pytest-benchmark JSON (``extra_info["ratio"]``) exceeds its
bound.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

BOUNDS_FILE = Path(__file__).resolve().parent.parent / "benchmarks" / "bounds.json"
NOISY = 0.2   # IQR / median above this: say the measurement is noisy


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    a_median_s: float
    b_median_s: float
    a_min_s: float
    b_min_s: float
    ratio: float            # a / b, fastest rounds
    median_ratio: float     # a / b, medians
    rounds: int
    a_noise: float
    b_noise: float

    @property
    def noisy(self) -> bool:
        return max(self.a_noise, self.b_noise) > NOISY

    def extra_info(self) -> dict:
        return {**asdict(self), "noisy": self.noisy}


def _sync(device) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def default_clock(device):
    """The calling thread's CPU time on CPU, wall time (around synchronisations) on CUDA.

    The CPU suite runs torch on one thread, and the autograd engine runs CPU backward passes
    on the calling thread, so that thread's CPU time is all the work a step does; unlike wall
    time, other processes on a shared machine cannot add to it (they still share caches and
    memory bandwidth, so it is not perfectly immune)."""
    if device is None or torch.device(device).type == "cpu":
        return time.thread_time
    return time.perf_counter


def _timed(fn, device, clock=None) -> float:
    clock = clock or default_clock(device)
    _sync(device)
    start = clock()
    fn()
    _sync(device)
    return clock() - start


def _noise(samples: list[float]) -> float:
    if len(samples) < 4:
        return 0.0
    q = statistics.quantiles(samples, n=4)
    return (q[2] - q[0]) / statistics.median(samples)


def compare(a, b, *, names=("a", "b"), rounds: int = 15, warmup: int = 2,
            device=None) -> Comparison:
    """Time ``a()`` and ``b()`` alternately for ``rounds`` rounds (the order flips every round
    so neither side always runs on a warmer cache); medians and their ratio a / b."""
    for _ in range(warmup):
        a(), b()
    times_a, times_b = [], []
    for i in range(rounds):
        if i % 2:
            times_b.append(_timed(b, device))
            times_a.append(_timed(a, device))
        else:
            times_a.append(_timed(a, device))
            times_b.append(_timed(b, device))
    ma, mb = statistics.median(times_a), statistics.median(times_b)
    fa, fb = min(times_a), min(times_b)
    return Comparison(names[0], names[1], ma, mb, fa, fb, fa / fb, ma / mb, rounds,
                      _noise(times_a), _noise(times_b))


def compare_steps(a, b, *, steps: int, names=("a", "b"), rounds: int = 10, warmup: int = 1,
                  device=None, clock=None) -> Comparison:
    """Like :func:`compare`, for two one-step callables run in blocks of ``steps`` calls (a
    block holds whatever happens only every so many steps, such as a probe or a flush).

    Every call is timed on its own, and a side's cost is the sum, over the positions of the
    block, of that position's fastest round. A burst of other work then has to hit the same
    step in every round to count, where a whole-block minimum needs one entirely undisturbed
    block per side. Medians are of whole blocks."""
    def block(fn) -> list[float]:
        return [_timed(fn, device, clock) for _ in range(steps)]

    for _ in range(warmup):
        block(a), block(b)
    per_step_a, per_step_b = [], []
    for i in range(rounds):
        if i % 2:
            per_step_b.append(block(b))
            per_step_a.append(block(a))
        else:
            per_step_a.append(block(a))
            per_step_b.append(block(b))
    totals_a, totals_b = [sum(r) for r in per_step_a], [sum(r) for r in per_step_b]
    fa = sum(min(column) for column in zip(*per_step_a))
    fb = sum(min(column) for column in zip(*per_step_b))
    ma, mb = statistics.median(totals_a), statistics.median(totals_b)
    return Comparison(names[0], names[1], ma, mb, fa, fb, fa / fb, ma / mb, rounds,
                      _noise(totals_a), _noise(totals_b))


# --------------------------------------------------------------------------- the CI check

def load_bounds(path=BOUNDS_FILE) -> dict[str, float]:
    bounds = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: float(spec["max"]) for name, spec in bounds.items()}


def check_ratios(results: dict, bounds: dict[str, float]) -> list[str]:
    """Violations: benchmarks whose recorded ratio exceeds the bound for their ratio name."""
    problems = []
    for bench in results.get("benchmarks", []):
        info = bench.get("extra_info", {})
        name, ratio = info.get("ratio_name"), info.get("ratio")
        if name in bounds and ratio is not None and ratio > bounds[name]:
            problems.append(f"{bench.get('fullname', bench.get('name'))}: {name} = "
                            f"{ratio:.3f} exceeds its bound {bounds[name]:.3f}")
    return problems


def ratio_table(results: dict) -> list[dict]:
    """One row per benchmark that recorded a ratio: for the report's cost section."""
    rows = []
    for bench in results.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "ratio" in info:
            rows.append({"benchmark": bench.get("name"), "ratio": info["ratio_name"],
                         "value": info["ratio"], "a median (s)": info.get("a_median_s"),
                         "b median (s)": info.get("b_median_s"),
                         "noisy": info.get("noisy"), "device": info.get("device")})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.benchmarking")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="fail when a recorded ratio exceeds its bound")
    check.add_argument("results", type=Path)
    check.add_argument("--bounds", type=Path, default=BOUNDS_FILE)
    check.add_argument("--csv", type=Path, default=None, help="also write the ratios as CSV")
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    rows = ratio_table(results)
    for row in rows:
        print(f"{row['benchmark']:60s} {row['ratio']:34s} {row['value']:.3f}"
              + ("  (noisy)" if row["noisy"] else ""))
    if args.csv is not None:
        import pandas as pd
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(args.csv, index=False)
    problems = check_ratios(results, load_bounds(args.bounds))
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
