"""Side-by-side timing for the benchmark suite, and the ratio check CI runs on its results.

Absolute times differ between machines and drift on a shared one; a ratio of two things timed
in the same process, interleaved round by round, is what survives that. Each comparison warms
both sides up, synchronises CUDA around every measurement, and flags noise (interquartile range
over median) the way ``torch.utils.benchmark`` does. The ratio :func:`compare` reports is
that of the two sides' fastest rounds: interference from other work on the machine only ever
adds time, so the minimum is the least disturbed estimate of what each side costs (the ratio
of medians is kept beside it). :func:`compare_steps`, used where CI checks a bound, runs the
two sides in lockstep and reports the ratio of medians, which proved steadier here.

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
    ratio: float            # the checked ratio a / b: fastest rounds (compare), medians
                            # of lockstep blocks (compare_steps)
    median_ratio: float     # a / b, medians
    rounds: int
    a_noise: float
    b_noise: float

    @property
    def noisy(self) -> bool:
        return max(self.a_noise, self.b_noise) > NOISY

    def extra_info(self) -> dict:
        return {**asdict(self), "noisy": self.noisy}


def _timed(fn, device, clock=None) -> float:
    """Seconds of ``fn()`` by ``clock`` (wall time by default, around synchronisations on
    CUDA). Not the thread's CPU time, although other processes cannot inflate that: it misses
    whatever a step waits for (a sleep, I/O, a lock), and a slowed instrument must show."""
    # Imported here: the package pulls in the whole training stack, which `check` never needs.
    from harness.instruments.throughput import timed
    return timed(torch.device(device or "cpu"), fn, clock or time.perf_counter)[1]


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
    """Like :func:`compare`, for two one-step callables over blocks of ``steps`` steps each (a
    block holds whatever happens only every so many steps, such as a probe or a flush).

    The two sides step in lockstep (a step of one, then the same step of the other, the order
    flipping every round), so that a burst of other work on a shared machine lands on both
    sides of a round; the ratio is that of the medians of the block totals, which drops the
    rounds that a burst hit on one side only. Measured here on the instrumented-over-bare
    step: fastest-round ratios spread from 1.02 to 1.13 over repeated runs, median ratios
    from 1.04 to 1.06."""
    def block(first, second) -> tuple[float, float]:
        total_first = total_second = 0.0
        for _ in range(steps):
            total_first += _timed(first, device, clock)
            total_second += _timed(second, device, clock)
        return total_first, total_second

    for _ in range(warmup):
        block(a, b)
    totals_a, totals_b = [], []
    for i in range(rounds):
        if i % 2:
            total_b, total_a = block(b, a)
        else:
            total_a, total_b = block(a, b)
        totals_a.append(total_a)
        totals_b.append(total_b)
    ma, mb = statistics.median(totals_a), statistics.median(totals_b)
    return Comparison(names[0], names[1], ma, mb, min(totals_a), min(totals_b), ma / mb,
                      ma / mb, rounds, _noise(totals_a), _noise(totals_b))


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
