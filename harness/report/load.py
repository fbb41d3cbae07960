"""Read an output folder's records (what training wrote) for analysis; nothing is recomputed
from models, so a report can be rebuilt at any time, also over a partial or failed grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.errors import HarnessInputError
from harness.io import read_json
from harness.runner import RunPaths, read_status, read_steps


@dataclass
class GridRecords:
    root: Path
    run: dict                       # run.json
    summary: pd.DataFrame           # one row per (variant, seed), status "missing" included
    steps: pd.DataFrame             # long: variant, seed, step, metric, value
    facts: dict = field(default_factory=dict)     # (variant, seed) -> status["facts"]
    errors: dict = field(default_factory=dict)    # (variant, seed) -> error text
    variants: list[dict] = field(default_factory=list)

    @property
    def seeds(self) -> list[int]:
        return list(self.run["settings"]["seeds"])

    def variant_names(self) -> list[str]:
        return [v["name"] for v in self.variants]

    def design(self, variant: str) -> dict:
        return next(v["design"] for v in self.variants if v["name"] == variant)

    def metric(self, name: str) -> pd.DataFrame:
        return self.steps[self.steps.metric == name]


def load_records(root) -> GridRecords:
    """The records of an output folder. Runs listed in run.json but absent on disk come back
    with status ``missing``; runs still in progress with what they flushed so far."""
    root = Path(root)
    paths = RunPaths(root)
    if not paths.run_json.is_file():
        raise HarnessInputError(f"{root}: no run.json here; --report-only takes the output "
                                "folder of an earlier run")
    run = read_json(paths.run_json)
    variants = run.get("variants", [])
    rows, frames, facts, errors = [], [], {}, {}
    from harness.runner import summary_row
    for seed in run["settings"]["seeds"]:
        for variant in variants:
            name = variant["name"]
            run_dir = paths.run_dir(name, seed)
            status = read_status(run_dir) or {"variant": name, "seed": seed, "status": "missing"}
            if status.get("status") == "running":
                status = {**status, "status": "interrupted"}
            steps = read_steps(run_dir)
            if steps is not None and not steps.empty:
                frames.append(steps.assign(variant=name, seed=seed))
            rows.append(summary_row(status, steps))
            facts[(name, seed)] = status.get("facts") or {}
            if (run_dir / "error.txt").is_file():
                errors[(name, seed)] = (run_dir / "error.txt").read_text(encoding="utf-8")
    columns = ["variant", "seed", "step", "metric", "value"]
    steps_all = (pd.concat(frames, ignore_index=True)[columns] if frames
                 else pd.DataFrame(columns=columns))
    return GridRecords(root, run, pd.DataFrame(rows), steps_all, facts, errors, variants)
