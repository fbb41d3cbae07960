"""Record the default run's wall time beside the previous code's, run on the same machine.

The 15-minute limit of the default run holds on the slower machine of this kind (a 2-core AMD
EPYC), which a session may not have. What a session can measure is the ratio of the new code's
wall time to the previous code's, both run one after the other on its own machine; applied to
the last wall time measured on the AMD EPYC, that ratio projects the new code's time there.
This script writes the inputs and the projection to ``docs/example-run/time_check.json``;
``scripts/update_example_run.py`` renders the README's sentence from it.

Usage::

    python scripts/time_check.py NEW OLD --old-commit SHA [--amd-seconds S --amd-source TEXT]

``NEW`` and ``OLD`` are output folders of ``python run_ablation.py --variants all`` at the new
and the previous commit (their ``timing.json`` files are read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "example-run" / "time_check.json"
#: The last default run measured on the 2-core AMD EPYC (commit 61c7d1f's docs/example-run:
#: 21 variants, no placebo) and the placebo's estimated cost there (5 runs of the fixed design,
#: 35.5 ms a step, 5 x 180 steps, two at a time), as the README stated at 900e8e0.
AMD_SECONDS = 829.0
AMD_SOURCE = ("commit 61c7d1f's docs/example-run (21 variants, before the placebo), plus about "
              "30 s for the placebo's five runs")
PLACEBO_SECONDS = 30.0


def read_timing(folder: Path) -> dict:
    path = Path(folder) / "timing.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"error: {path} is missing: is {folder} an output folder of "
                         f"`python run_ablation.py --variants all`?") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("new", type=Path)
    p.add_argument("old", type=Path)
    p.add_argument("--old-commit", required=True)
    p.add_argument("--amd-seconds", type=float, default=AMD_SECONDS + PLACEBO_SECONDS)
    p.add_argument("--amd-source", default=AMD_SOURCE)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    new, old = read_timing(args.new), read_timing(args.old)
    if new.get("cpu_model") != old.get("cpu_model"):
        raise SystemExit(f"error: the two runs ran on different CPUs ({new.get('cpu_model')!r}, "
                         f"{old.get('cpu_model')!r}); the ratio needs one machine")
    ratio = new["total_seconds"] / old["total_seconds"]
    record = {"cpu_model": new.get("cpu_model"), "cores": new.get("cores"),
              "new_seconds": new["total_seconds"], "new_command": new.get("command"),
              "old_seconds": old["total_seconds"], "old_commit": args.old_commit,
              "ratio": round(ratio, 4), "amd_seconds": args.amd_seconds,
              "amd_source": args.amd_source,
              "amd_projected_seconds": round(args.amd_seconds * ratio, 1)}
    args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
