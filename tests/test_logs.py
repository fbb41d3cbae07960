"""--log tensorboard / --log mlflow / --export-logs and steps.parquet: every scalar of the
per-step table is found again, read back with each tool's own reader (TensorBoard's event
accumulator, MLflow's client), NaN included; the HParams session entries sit in the run
folder of the scalars, the grid's experiment at the top; events appear while a run trains.
What TensorBoard's HParams plugin and duckdb make of them: tests/test_clients.py."""

from __future__ import annotations

import json
import math
import shutil
import time

import numpy as np
import pandas as pd
import pytest

import variants
from harness import cli
from harness.config import DataSettings, Settings
from harness.encoders import resolve_encoder
from harness.errors import HarnessInputError
from harness.logs.common import design_params, require
from harness.prepare import encode_dataset
from harness.results import (STATUS_JSON, STEPS_CSV, STEPS_PARTIAL, RunPaths, collect, gather,
                             read_steps_table)
from harness.runner import run_grid
from harness.train import Hooks, TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset

pytest.importorskip("tensorboard")

# eval_every: validation rows (val/*) in a few steps; step 0 is a probe step (probe/*)
SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=6, batch_size=8, eval_every=3),
                    encoder=TINY_ENCODER, seeds=(0, 1), device="cpu")
NAMES = ("original", "fixed")


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))


class Odd(Hooks):
    """Values the formats must keep: NaN every step, and a row added after the last flush
    through the hooks (the records flush it when they close)."""

    def after_step(self, run, step):
        run.records.add(step, "test/nan", math.nan)

    def on_end(self, run):
        run.records.add(10_000, "test/after_end", 0.125)


def odd_hooks(variant, seed):
    return Odd()


# --------------------------------------------------------------------------- readers

def same(a: float, b: float) -> bool:
    """Equal within float32 rounding (TensorBoard keeps float32), NaN equal to NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return np.float32(a) == np.float32(b)


def records_by_run(steps: pd.DataFrame) -> dict:
    return {(v, int(s)): {(int(a), m): float(x) for a, m, x in zip(g.step, g.metric, g.value)}
            for (v, s), g in steps.groupby(["variant", "seed"])}


def tensorboard_run(folder):
    """(scalars {(step, tag): value}, hparams {name: value}, session status) of one folder."""
    from tensorboard.backend.event_processing.event_accumulator import (SCALARS,
                                                                        EventAccumulator)
    from tensorboard.plugins.hparams import metadata
    from tensorboard.plugins.hparams.api_pb2 import Status
    acc = EventAccumulator(str(folder), size_guidance={SCALARS: 0})
    acc.Reload()
    scalars = {}
    for tag in acc.Tags()["scalars"]:
        for event in acc.Scalars(tag):
            assert (event.step, tag) not in scalars, f"{folder}: {tag} twice at {event.step}"
            scalars[(event.step, tag)] = event.value
    content = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    hparams, status = {}, None
    if metadata.SESSION_START_INFO_TAG in content:
        start = metadata.parse_session_start_info_plugin_data(
            content[metadata.SESSION_START_INFO_TAG])
        hparams = {k: (v.string_value if v.HasField("string_value") else v.number_value)
                   for k, v in start.hparams.items()}
    if metadata.SESSION_END_INFO_TAG in content:
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        status = Status.Name(end.status)
    experiment = (metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
                  if metadata.EXPERIMENT_TAG in content else None)
    return scalars, hparams, status, experiment


def mlflow_runs(root) -> dict:
    """{(variant, seed): (params, {(step, key): value}, status, parent id)}, and the parent."""
    from mlflow.tracking import MlflowClient

    from harness.logs.mlflow_store import EXPERIMENT, tracking_uri
    client = MlflowClient(tracking_uri=tracking_uri(root))
    experiment = client.get_experiment_by_name(EXPERIMENT)
    out, parents = {}, []
    for run in client.search_runs([experiment.experiment_id], max_results=1000):
        if run.data.tags.get("harness.role") == "grid":
            parents.append(run)
            continue
        variant, seed = json.loads(run.data.tags["harness.run"])
        values = {}
        for key in run.data.metrics:
            for metric in client.get_metric_history(run.info.run_id, key):
                assert (metric.step, key) not in values
                values[(metric.step, key)] = metric.value
        out[(variant, seed)] = (run.data.params, values, run.info.status,
                                run.data.tags.get("mlflow.parentRunId"))
    assert len(parents) == 1, f"{len(parents)} grid runs in the store"
    return out, parents[0], client


def assert_same_scalars(expected: dict, found: dict, where: str) -> None:
    assert found.keys() == expected.keys(), (
        f"{where}: missing {sorted(expected.keys() - found.keys())[:5]}, "
        f"extra {sorted(found.keys() - expected.keys())[:5]}")
    wrong = [(k, expected[k], found[k]) for k in expected if not same(expected[k], found[k])]
    assert not wrong, f"{where}: {wrong[:5]}"


def expected_hparams(variant: str, seed: int) -> dict:
    params = design_params(variant, seed, variants.get_variant(variant).design.to_dict())
    return {k: float(v) if k == "seed" else v for k, v in params.items()}


def check_tensorboard(root, steps: pd.DataFrame) -> dict:
    paths = RunPaths(root)
    found = {}
    for (variant, seed), expected in records_by_run(steps).items():
        folder = paths.tensorboard_dir(variant, seed)
        scalars, hparams, status, experiment = tensorboard_run(folder)
        assert_same_scalars(expected, scalars, str(folder))
        # the design of this run, in the folder that holds its scalars
        assert hparams == expected_hparams(variant, seed), folder
        assert status == "STATUS_SUCCESS"
        assert experiment is None, f"{folder}: the experiment is the grid's, at the top"
        found[(variant, seed)] = (scalars, hparams)
    # one experiment for the grid, beside the runs' folders
    scalars, _, _, experiment = tensorboard_run(root / "tensorboard")
    assert not scalars
    assert {h.name for h in experiment.hparam_infos} >= {"variant", "seed", "clip_norm"}
    assert "heldout/step_acc" in {m.name.tag for m in experiment.metric_infos}
    return found


def check_mlflow(root, steps: pd.DataFrame) -> None:
    runs, parent, _ = mlflow_runs(root)
    expected_runs = records_by_run(steps)
    assert runs.keys() == expected_runs.keys()
    for key, expected in expected_runs.items():
        params, values, status, parent_id = runs[key]
        assert_same_scalars(expected, values, f"mlflow {key}")
        # MLflow keeps float64: not only within float32 rounding, exactly
        assert all(values[k] == v for k, v in expected.items() if not math.isnan(v))
        assert params == {k: str(v) for k, v in design_params(
            key[0], key[1], variants.get_variant(key[0]).design.to_dict()).items()}
        assert status == "FINISHED" and parent_id == parent.info.run_id


# --------------------------------------------------------------------------- end to end

@pytest.mark.slow
def test_every_scalar_in_tensorboard_and_mlflow_live_and_exported(data, tmp_path):
    pytest.importorskip("mlflow")
    chosen = [variants.get_variant(n) for n in NAMES]
    out = tmp_path / "grid"
    summary = run_grid(SETTINGS, chosen, out, show_progress=False, data=data,
                       hooks_factory=odd_hooks, logs=("tensorboard", "mlflow"))
    assert list(summary.status) == ["ok"] * 4

    steps = read_steps_table(out)
    csv = pd.read_csv(out / STEPS_CSV)
    pd.testing.assert_frame_equal(steps, csv.astype(steps.dtypes.to_dict()))
    assert steps.value.isna().sum() >= 4 * SETTINGS.train.steps      # test/nan at least
    assert {"test/after_end", "val/val_loss", "lr", "loss/total"} <= set(steps.metric)
    assert steps.metric.str.startswith("probe/cosine/").any()
    assert steps.metric.str.startswith("grad_norm/").any()
    assert steps.metric.str.startswith("heldout/").any()

    live = check_tensorboard(out, steps)
    check_mlflow(out, steps)

    # --export-logs from the records alone writes the same (into a copy: MLflow keeps the
    # first store's database open for the life of the process)
    records_only = tmp_path / "copy"
    shutil.copytree(out, records_only, ignore=shutil.ignore_patterns("tensorboard", "mlflow"))
    out = records_only
    (out / "index.html").write_text("<html>report</html>", encoding="utf-8")
    (out / "plots").mkdir()
    (out / "plots" / "loss.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert cli.main(["--export-logs", str(out), "--log", "tensorboard", "--log", "mlflow"]) == 0
    exported = check_tensorboard(out, steps)
    assert exported.keys() == live.keys()
    for key, (scalars, hparams) in live.items():
        assert_same_scalars(scalars, exported[key][0], f"exported {key}")
        assert hparams == exported[key][1]
    check_mlflow(out, steps)
    _, parent, client = mlflow_runs(out)
    report = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    assert report == {"report/index.html", "report/plots"}
    assert [a.path for a in client.list_artifacts(parent.info.run_id, "report/plots")] == [
        "report/plots/loss.png"]
    assert "settings" not in parent.data.params and parent.data.params["train.steps"] == "6"

    # exporting again adds no duplicate
    assert cli.main(["--export-logs", str(out), "--log", "mlflow"]) == 0
    runs, _, _ = mlflow_runs(out)
    assert len(runs) == 4


class WatchEvents(Hooks):
    """At step ``at`` of a training run, waits (up to a timeout) for the events of the steps
    before it to be readable in the run's TensorBoard folder."""

    def __init__(self, folder, status_file, at: int, timeout: float = 30.0):
        self.folder, self.status_file, self.at, self.timeout = folder, status_file, at, timeout
        self.seen_steps: set = set()
        self.status_then = None

    def after_step(self, run, step):
        if step != self.at:
            return
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and not self.seen_steps:
            if self.folder.is_dir():
                scalars, _, _, _ = tensorboard_run(self.folder)
                self.seen_steps = {s for s, tag in scalars if tag == "loss/total"}
            time.sleep(0.5)
        self.status_then = json.loads(self.status_file.read_text())["status"]


@pytest.mark.slow
def test_events_appear_while_the_run_trains(data, tmp_path):
    settings = Settings(data=SETTINGS.data, train=TrainSettings(steps=30, batch_size=8),
                        encoder=TINY_ENCODER, seeds=(0,), device="cpu")
    paths = RunPaths(tmp_path)
    watch = WatchEvents(paths.tensorboard_dir("fixed", 0),
                        paths.run_dir("fixed", 0) / STATUS_JSON, at=20)
    run_grid(settings, [variants.get_variant("fixed")], tmp_path, show_progress=False,
             data=data, hooks_factory=lambda variant, seed: watch, logs=("tensorboard",))
    assert watch.status_then == "running"
    assert watch.seen_steps and max(watch.seen_steps) < 20
    scalars, _, _, _ = tensorboard_run(watch.folder)
    assert {s for s, tag in scalars if tag == "loss/total"} == set(range(30))


@pytest.mark.slow
def test_worker_processes_write_their_runs_events(data, tmp_path):
    chosen = [variants.get_variant(n) for n in NAMES]
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data, jobs=2, threads=1,
             logs=("tensorboard",))
    check_tensorboard(tmp_path, read_steps_table(tmp_path))


@pytest.mark.slow
def test_under_ray_the_driver_writes_the_events(data, tmp_path):
    pytest.importorskip("ray")
    chosen = [variants.get_variant(n) for n in NAMES]
    # the executor starts a local Ray instance and stops it at the end
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data, threads=1,
             executor="ray", logs=("tensorboard",))
    check_tensorboard(tmp_path, read_steps_table(tmp_path))


def test_a_reused_run_gets_its_events_from_its_records(data, tmp_path):
    chosen = [variants.get_variant("fixed")]
    settings = Settings(data=SETTINGS.data, train=TrainSettings(steps=2, batch_size=8),
                        encoder=TINY_ENCODER, seeds=(0,), device="cpu")
    run_grid(settings, chosen, tmp_path, show_progress=False, data=data)
    assert not (tmp_path / "tensorboard").exists()
    calls = []
    run_grid(settings, chosen, tmp_path, show_progress=False, data=data, logs=("tensorboard",),
             hooks_factory=lambda variant, seed: calls.append(seed))
    assert calls == []          # not trained again
    check_tensorboard(tmp_path, read_steps_table(tmp_path))


# --------------------------------------------------------------------------- Parquet

def write_run(paths: RunPaths, variant: str, seed: int, status: str, name: str, text: str):
    run_dir = paths.run_dir(variant, seed)
    run_dir.mkdir(parents=True)
    (run_dir / STATUS_JSON).write_text(json.dumps({"variant": variant, "seed": seed,
                                                   "status": status}))
    (run_dir / name).write_text(text, encoding="utf-8")


def test_parquet_keeps_nan_and_inf_and_partial_runs(tmp_path):
    paths = RunPaths(tmp_path)
    write_run(paths, "a", 0, "ok", STEPS_CSV,
              "step,metric,value\n0,loss/total,0.5\n0,lr,\n1,grad_norm,inf\n1,x,-inf\n")
    # an interrupted run whose last line was being written: cut inside a number
    write_run(paths, "b", 0, "running", STEPS_PARTIAL,
              "step,metric,value\n0,loss/total,0.25\n0,lr,nan\n1,loss/total,0.12")
    summary, steps = collect(paths, ["a", "b", "c"], [0])
    assert list(summary.status) == ["ok", "running", "missing"]
    back = pd.read_parquet(paths.steps_parquet)
    pd.testing.assert_frame_equal(back, steps)
    assert list(back.columns) == ["variant", "seed", "step", "metric", "value"]
    assert str(back.step.dtype) == "int64" and str(back.value.dtype) == "float64"
    b = back[back.variant == "b"]
    assert list(b.metric) == ["loss/total", "lr"] and math.isnan(b.value.iloc[1])
    a = back[back.variant == "a"].value.tolist()
    assert a[0] == 0.5 and math.isnan(a[1]) and a[2] == math.inf and a[3] == -math.inf
    pd.testing.assert_frame_equal(read_steps_table(tmp_path), back)


def test_an_empty_grid_has_a_parquet_table_with_the_full_schema(tmp_path):
    paths = RunPaths(tmp_path)
    collect(paths, ["a"], [0])
    back = pd.read_parquet(paths.steps_parquet)
    assert back.empty and list(back.columns) == ["variant", "seed", "step", "metric", "value"]
    assert str(back.seed.dtype) == "int64" and str(back.value.dtype) == "float64"
    assert gather(paths, ["a"], [0]).steps.empty


# --------------------------------------------------------------------------- checksums

def test_the_fast_checksum_is_tensorboards_own():
    pytest.importorskip("crc32c")
    import random

    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c
    from tensorboard.summary.writer import record_writer

    from harness.logs.tensorboard import _fast_checksums
    _fast_checksums()
    assert record_writer.masked_crc32c is not masked_crc32c
    rng = random.Random(0)
    for n in (0, 1, 3, 8, 255, 1500, 70_000):
        data = rng.randbytes(n)
        assert record_writer.masked_crc32c(data) == masked_crc32c(data), n


# --------------------------------------------------------------------------- errors

def test_a_missing_package_names_its_extra(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("tensorboard", "alembic")
                        else real(name, *a))
    with pytest.raises(HarnessInputError, match=r"pip install -e '\.\[tensorboard\]'"):
        require(["tensorboard"])
    with pytest.raises(HarnessInputError, match=r"alembic.*'\.\[mlflow\]'"):
        require(["mlflow"])
    with pytest.raises(HarnessInputError, match="unknown log target 'wandb'"):
        require(["wandb"])


def test_export_logs_names_what_is_missing(tmp_path, capsys):
    assert cli.main(["--export-logs", str(tmp_path), "--log", "tensorboard"]) == 2
    assert f"{tmp_path / 'run.json'}: no such file" in capsys.readouterr().err
    (tmp_path / "run.json").write_text("{}")
    assert cli.main(["--export-logs", str(tmp_path)]) == 2
    assert "needs at least one --log target" in capsys.readouterr().err
    assert cli.main(["--export-logs", str(tmp_path), "--log", "tensorboard"]) == 2
    assert "not a run.json written by the harness" in capsys.readouterr().err
