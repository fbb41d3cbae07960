"""Every run's per-step held-out scores of a grid, in one compressed CSV: what the calibration
simulation's fit reads (:func:`harness.report.simulation.fit`).

    python scripts/export_heldout_scores.py reports/ablation \\
        --out docs/example-run/heldout_scores.csv.gz

Reads run.json (the variants and seeds) and each run's heldout_scores.csv
(runs/<variant>/seed<k>/); runs that did not end ok, or wrote no scores, are left out and
named. Columns: variant, seed, item, episode and the metric (default step_acc). The gzip
header carries no time stamp, so the same records give the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from harness.io import read_json  # noqa: E402
from harness.results import RunPaths, read_heldout_scores  # noqa: E402


def gather(root: Path, metric: str) -> tuple[pd.DataFrame, list[str]]:
    """The long table of every run's scores, and the runs left out."""
    paths = RunPaths(root)
    run = read_json(paths.run_json)
    names = [v["name"] for v in run.get("variants", [])]
    seeds = list(run["settings"]["seeds"])
    frames, missing = [], []
    for name in names:
        for seed in seeds:
            scores = read_heldout_scores(paths.run_dir(name, seed))
            if scores is None or metric not in scores or "episode" not in scores:
                missing.append(f"{name} seed {seed}")
                continue
            frames.append(pd.DataFrame({"variant": name, "seed": seed,
                                        "item": scores["item"], "episode": scores["episode"],
                                        metric: scores[metric]}))
    if not frames:
        raise SystemExit(f"{root}: no run with held-out scores of {metric}")
    return pd.concat(frames, ignore_index=True), missing


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("grid", type=Path, help="a grid's output folder (holds run.json)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "docs/example-run/heldout_scores.csv.gz")
    parser.add_argument("--metric", default="step_acc")
    args = parser.parse_args(argv)
    frame, missing = gather(args.grid, args.metric)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False, float_format="%g",
                 compression={"method": "gzip", "mtime": 0})
    print(f"{len(frame)} scores of {frame['variant'].nunique()} variants x "
          f"{frame['seed'].nunique()} seeds x {frame['item'].nunique()} steps -> {args.out}")
    if missing:
        print(f"{len(missing)} runs left out (not ok, or no scores): " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
