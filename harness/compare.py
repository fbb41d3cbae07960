"""Are two output folders the same results? For changes made only for speed or structure.

Compares every run's records (``runs/<variant>/seed<k>/steps.csv`` and ``status.json``) of two
output folders value by value, exactly, leaving out what is allowed to differ between two
executions of the same computation: timings, peak memory, probe seconds, timestamps and
environment fields. Everything else (losses, gradient norms, learning rates, held-out metrics,
per-step held-out scores, instrument facts) must be bit-identical; NaN equals NaN.

``python -m harness.compare A B`` prints the differences and exits 1 when there are any;
``scripts/compare_commits.sh REV_A REV_B`` runs the quick grid at two commits on this machine
and compares them (no golden files: results differ across CPUs).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

#: Per-step metrics that measure the machine, not the computation.
TIMING_METRICS = {"step_time_s", "samples_per_s", "tokens_per_s", "peak_memory_mb",
                  "probe/seconds"}
#: status.json keys (at any depth) that measure the machine or the clock.
TIMING_KEYS = {"started", "finished", "train_seconds", "peak_memory_mb", "probe_seconds",
               "seconds", "wall_seconds",
               # checksums of the run's files, steps.csv with its step times included; the
               # files' values are compared one by one instead
               "files"}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _read_table(path: Path) -> dict[tuple[str, str], str]:
    """A CSV as cells, exact text (no float round trip): the long step records as
    (step, metric) -> value, timing metrics left out; any other table (per-step held-out
    scores) as (row number, column) -> value."""
    out = {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        long_form = {"step", "metric", "value"} <= set(reader.fieldnames or ())
        for number, row in enumerate(reader):
            if long_form:
                if row["metric"] not in TIMING_METRICS:
                    out[(row["step"], row["metric"])] = row["value"]
            else:
                out.update({(str(number), column): value for column, value in row.items()})
    return out


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _diff_json(a, b, where: str, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{where}.{key}: only in {'B' if key not in a else 'A'}")
            else:
                _diff_json(a[key], b[key], f"{where}.{key}", out, limit)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            _diff_json(x, y, f"{where}[{i}]", out, limit)
    elif not _same(a, b):
        out.append(f"{where}: {a!r} != {b!r}")


def run_folders(root: Path) -> dict[str, Path]:
    """``variant/seedK`` -> run folder, for every run with a status.json."""
    runs = Path(root) / "runs"
    return {f"{p.parent.parent.name}/{p.parent.name}": p.parent
            for p in sorted(runs.glob("*/seed*/status.json"))}


def compare_outputs(a: Path, b: Path, limit: int = 50) -> list[str]:
    """Differences between two output folders' records, at most ``limit`` of them; empty when
    every record other than timings is identical."""
    out: list[str] = []
    runs_a, runs_b = run_folders(a), run_folders(b)
    for key in sorted(set(runs_a) ^ set(runs_b)):
        out.append(f"{key}: run only in {'A' if key in runs_a else 'B'}")
    for key in sorted(set(runs_a) & set(runs_b)):
        for name in sorted({p.name for p in runs_a[key].iterdir()}
                           | {p.name for p in runs_b[key].iterdir()}):
            pa, pb = runs_a[key] / name, runs_b[key] / name
            if not (pa.is_file() and pb.is_file()):
                out.append(f"{key}/{name}: only in {'A' if pa.is_file() else 'B'}")
            elif name.endswith(".csv"):
                sa, sb = _read_table(pa), _read_table(pb)
                for k in sorted(set(sa) | set(sb)):
                    if sa.get(k) != sb.get(k):
                        out.append(f"{key}/{name} row {k[0]} {k[1]}: "
                                   f"{sa.get(k)} != {sb.get(k)}")
                        if len(out) >= limit:
                            return out
            elif name.endswith(".json"):
                ja = _strip(json.loads(pa.read_text(encoding="utf-8")))
                jb = _strip(json.loads(pb.read_text(encoding="utf-8")))
                _diff_json(ja, jb, f"{key}/{name}", out, limit)
            if len(out) >= limit:
                return out
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = p.parse_args(argv)
    differences = compare_outputs(args.a, args.b)
    n = len(run_folders(args.a))
    if differences:
        print("\n".join(differences))
        print(f"records differ ({len(differences)} difference(s) shown)")
        return 1
    print(f"records identical except timings: {n} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
