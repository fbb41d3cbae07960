"""``--export-logs OUT``: the log targets of an output folder, written from its records."""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessInputError
from harness.logs.common import TARGETS, require


def export_logs(root: Path, targets) -> list[str]:
    """``--export-logs``: write every listed run of ``root`` to each target from its records;
    returns one line per target saying where it went and how to open it."""
    from harness.results import RunPaths, gather, listed_runs, write_steps_parquet
    root = Path(root)
    targets = require(targets)
    if not targets:
        raise HarnessInputError("--export-logs needs at least one --log target: "
                                + ", ".join(f"--log {t}" for t in TARGETS))
    variants, seeds = listed_runs(root)
    paths = RunPaths(root)
    lines = []
    if not paths.steps_parquet.is_file():
        # folders written before the Parquet table existed
        write_steps_parquet(paths.steps_parquet,
                            gather(paths, [v["name"] for v in variants], seeds).steps)
        lines.append(f"parquet: {paths.steps_parquet}")
    if "tensorboard" in targets:
        from harness.logs.tensorboard import export_tensorboard, open_command
        n = export_tensorboard(root)
        lines.append(f"tensorboard: {n} runs written -> {open_command(root)}")
    if "mlflow" in targets:
        from harness.logs.mlflow_store import export_mlflow, open_command, ui_hint
        n = export_mlflow(root)
        lines.append(f"mlflow: {n} runs written, those already in the store kept -> "
                     f"{open_command(root)}  ({ui_hint()})")
    return lines
