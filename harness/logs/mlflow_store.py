"""MLflow: the grid in a local store inside the output folder, ``<out>/mlflow/``.

The store is a SQLite file (``mlflow.db``) with the artifacts beside it (``artifacts/``).
Not MLflow's file store: MLflow 3 keeps that in maintenance mode and refuses to open it
unless ``MLFLOW_ALLOW_FILE_STORE`` is set, and its thousands of small files per run are slow
to write and to copy; SQLite is one file, needs no server to write or read, and is what
``mlflow ui`` opens with ``--backend-store-uri sqlite:///...``.

One experiment, ``ablation``; in it one parent run for the grid (its settings as params; the
report's HTML, PNGs and tables, run.json, summary.csv and steps.parquet as artifacts) and one
child run per (variant, seed): variant, seed and one param per design axis, every per-step
record as a metric at its step, the run's status as MLflow status and tag.

Only the driver process writes, as each run ends, from the run's records on disk: one writer
for the SQLite file whatever the executor (worker processes, Ray tasks on other nodes), and
no cost inside the training step. ``--export-logs`` calls the same :meth:`MlflowStore.log_run`.
A run already in the store is rewritten only when its records changed (its ``finished``
time); the older entry is deleted. MLflow stores NaN as NaN, but +-inf as +-1.797e308.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from harness.errors import HarnessInputError
from harness.io import read_json
from harness.logs.common import design_params, require, step_wall_times
from harness.results import (MLFLOW_DIR, RunPaths, listed_runs, planned_runs, read_status,
                             read_steps)

EXPERIMENT = "ablation"
DB_FILE = "mlflow.db"
ARTIFACTS = "artifacts"
ROLE_TAG = "harness.role"            # "grid" (the parent) or "run"
RUN_TAG = "harness.run"              # a child's [variant, seed], as JSON
FINISHED_TAG = "harness.finished"    # the records' finished time: changed -> rewrite
STATUS_TAG = "harness.status"
FINGERPRINT_TAG = "harness.fingerprint"
PARENT_TAG = "mlflow.parentRunId"    # MLflow's own: nests the runs under the grid in the UI

_RUN_STATUS = {"ok": "FINISHED", "diverged": "FAILED", "failed": "FAILED",
               "interrupted": "KILLED"}


def tracking_uri(root: Path) -> str:
    return f"sqlite:///{(Path(root) / MLFLOW_DIR / DB_FILE).resolve()}"


def open_command(root: Path) -> str:
    return f"mlflow ui --backend-store-uri {tracking_uri(root)}"


def ui_hint() -> str:
    """Where ``mlflow ui`` comes from: the full package, of the version that wrote the store
    (the server checks the store's schema version against its own)."""
    from importlib.metadata import PackageNotFoundError, version
    for name in ("mlflow", "mlflow-skinny"):
        try:
            return f"the UI is in the full package: pip install 'mlflow=={version(name)}'"
        except PackageNotFoundError:
            continue
    return "the UI is in the full package: pip install mlflow"


def _quiet() -> None:
    # Creating the tables logs every schema migration at INFO; the harness says once where
    # the store is instead.
    for name in ("mlflow.store.db.utils", "mlflow.store.db", "alembic",
                 "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _create_store(root: Path) -> None:
    """A new store whose artifact root is inside the output folder. A store that the client
    creates puts its "Default" experiment's artifacts under ``./mlruns`` of whatever
    directory the harness was started from; MLflow's own SQL store takes the root as an
    argument (``mlflow server --default-artifact-root`` passes the same)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    artifacts = (Path(root) / MLFLOW_DIR / ARTIFACTS).resolve()
    SqlAlchemyStore(tracking_uri(root), artifacts.as_uri())


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


def _flatten(prefix: str, value, out: dict) -> dict:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
    return out


class MlflowStore:
    """The store of one output folder, opened (and created) in this process."""

    def __init__(self, root: Path):
        require(["mlflow"])
        _quiet()
        from mlflow.tracking import MlflowClient

        self.root = Path(root)
        folder = self.root / MLFLOW_DIR
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / DB_FILE).is_file():
            _create_store(self.root)
        self.client = MlflowClient(tracking_uri=tracking_uri(self.root))
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        if experiment is not None:
            self.experiment_id = experiment.experiment_id
        else:
            self.experiment_id = self.client.create_experiment(
                EXPERIMENT, artifact_location=(folder / ARTIFACTS).resolve().as_uri())
        self.parent_id = None
        self.children: dict[str, object] = {}
        for run in self._active_runs():
            role = run.data.tags.get(ROLE_TAG)
            if role == "grid":
                self.parent_id = run.info.run_id
            elif role == "run":
                self.children[run.data.tags.get(RUN_TAG)] = run

    def _active_runs(self) -> list:
        runs, token = [], None
        while True:
            page = self.client.search_runs([self.experiment_id], max_results=1000,
                                           page_token=token)
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    # ----------------------------------------------------------------------- the grid

    def open_grid(self) -> str:
        """The parent run of this output folder's grid, created when missing. Runs made with
        other settings (``--force`` with a changed setting) go with their parent: the records
        they came from have been replaced."""
        run_json = read_json(RunPaths(self.root).run_json)
        fingerprint = str(run_json.get("fingerprint"))
        if self.parent_id is not None:
            parent = self.client.get_run(self.parent_id)
            if parent.data.tags.get(FINGERPRINT_TAG) != fingerprint:
                for child in self.children.values():
                    self.client.delete_run(child.info.run_id)
                self.client.delete_run(self.parent_id)
                self.parent_id, self.children = None, {}
        if self.parent_id is None:
            settings = dict(run_json.get("settings") or {})
            seeds = settings.pop("seeds", None)
            settings.pop("instruments", None)   # the fingerprint leaves them out too
            parent = self.client.create_run(
                self.experiment_id, start_time=_ms(run_json.get("written")),
                run_name=self.root.resolve().name,
                tags={ROLE_TAG: "grid", FINGERPRINT_TAG: fingerprint})
            self.parent_id = parent.info.run_id
            from mlflow.entities import Param
            params = _flatten("", settings, {})
            self.client.log_batch(self.parent_id,
                                  params=[Param(k, v[:6000]) for k, v in params.items()])
            seeds_text = json.dumps(seeds)
        else:
            seeds_text = json.dumps((run_json.get("settings") or {}).get("seeds"))
        self.client.set_tag(self.parent_id, "harness.seeds", seeds_text)
        self.client.update_run(self.parent_id, status="RUNNING")
        return self.parent_id

    def close_grid(self, status: str = "FINISHED") -> None:
        if self.parent_id is not None:
            self.client.set_terminated(self.parent_id, status=status)

    def log_records(self) -> None:
        """The report (when built) and the grid-wide records, as the parent's artifacts."""
        root = self.root
        for name in ("run.json", "summary.csv", "steps.parquet", "timing.json"):
            if (root / name).is_file():
                self.client.log_artifact(self.parent_id, str(root / name), "records")
        if (root / "index.html").is_file():
            self.client.log_artifact(self.parent_id, str(root / "index.html"), "report")
        for folder in ("plots", "tables"):
            if (root / folder).is_dir():
                self.client.log_artifacts(self.parent_id, str(root / folder),
                                          f"report/{folder}")

    # ----------------------------------------------------------------------- one run

    def log_run(self, run_dir: Path, variant: str, seed: int,
                design: dict | None = None) -> bool:
        """One (variant, seed) from its records; False when it has none, or when the store
        already holds these records."""
        from mlflow.entities import Metric, Param

        status = read_status(run_dir)
        if status is None:
            return False
        key = json.dumps([variant, int(seed)])
        finished = repr(status.get("finished"))
        state = status.get("status")
        old = self.children.get(key)
        if old is not None:
            if state != "running" and old.data.tags.get(FINISHED_TAG) == finished:
                return False
            self.client.delete_run(old.info.run_id)
        steps = read_steps(run_dir)
        run = self.client.create_run(
            self.experiment_id, start_time=_ms(status.get("started")),
            run_name=f"{variant}/seed{seed}",
            tags={PARENT_TAG: self.parent_id or self.open_grid(), ROLE_TAG: "run",
                  RUN_TAG: key, FINISHED_TAG: finished, STATUS_TAG: str(state),
                  "harness.message": str(status.get("message") or "")[:5000]})
        params = design_params(variant, seed, status.get("design") or design or {})
        metrics = []
        if steps is not None and len(steps):
            step_list = steps["step"].tolist()
            times = step_wall_times(status, step_list)
            metrics = [Metric(metric, float(value), _ms(t), int(step)) for step, metric, value, t
                       in zip(step_list, steps["metric"].tolist(), steps["value"].tolist(),
                              times)]
        self.client.log_batch(run.info.run_id, metrics=metrics,
                              params=[Param(k, str(v)) for k, v in params.items()])
        if state in _RUN_STATUS:
            self.client.set_terminated(run.info.run_id, status=_RUN_STATUS[state],
                                       end_time=_ms(status.get("finished")))
        self.children[key] = self.client.get_run(run.info.run_id)
        return True

    def sync(self, variants: list[dict], seeds) -> int:
        """Every listed run whose records are not in the store yet; returns how many.
        ``seeds`` as :func:`harness.results.planned_runs` takes them."""
        self.open_grid()
        paths = RunPaths(self.root)
        designs = {variant["name"]: variant.get("design") for variant in variants}
        written = 0
        for name, seed in planned_runs(list(designs), seeds):
            written += self.log_run(paths.run_dir(name, seed), name, seed, designs[name])
        return written


def export_mlflow(root: Path) -> int:
    """``--export-logs OUT --log mlflow``: the whole output folder into its store."""
    root = Path(root)
    variants, seeds = listed_runs(root)
    store = MlflowStore(root)
    written = store.sync(variants, seeds)
    store.log_records()
    store.close_grid()
    return written


def log_report(root: Path) -> None:
    """After the report is built: attach it to the grid's parent run."""
    store = MlflowStore(root)
    if store.parent_id is None:
        raise HarnessInputError(f"{root / MLFLOW_DIR}: no grid in this store yet")
    store.log_records()
