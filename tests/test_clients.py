"""The records and logs as the tools people open them with read them: steps.csv and
steps.parquet through pyarrow and duckdb (NaN found as NaN, not as null or an empty field);
the HParams experiment through TensorBoard's own plugin (one session group per variant, its
seeds as sessions, every axis a column); the MLflow store's experiments; the console output
piped to a file; ``--help``; a short run's probe curves."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.results import STATUS_JSON, STEPS_CSV, RunPaths, collect

ROOT = Path(__file__).resolve().parents[1]

KEY = ["variant", "seed", "step", "metric"]


def write_run(paths: RunPaths, variant: str, seed: int, text: str) -> None:
    run_dir = paths.run_dir(variant, seed)
    run_dir.mkdir(parents=True)
    (run_dir / STATUS_JSON).write_text(json.dumps({"variant": variant, "seed": seed,
                                                   "status": "ok"}))
    (run_dir / STEPS_CSV).write_text(text, encoding="utf-8")


@pytest.fixture
def grid(tmp_path):
    """Two runs whose records hold NaN (written as ``nan`` by the trainer, and as an empty
    field by records older than that), +-inf and ordinary values."""
    paths = RunPaths(tmp_path)
    write_run(paths, "a", 0, "step,metric,value\n0,loss/total,0.5\n0,loss/query,nan\n"
                             "1,loss/total,nan\n1,loss/query,0.25\n2,grad_norm,inf\n")
    write_run(paths, "b", 1, "step,metric,value\n0,loss/total,0.75\n0,loss/query,\n"
                             "1,loss/query,-inf\n1,loss/total,1.0\n")
    collect(paths, ["a", "b"], [0, 1])
    return paths


def nan_keys_of_csv(path) -> set:
    steps = pd.read_csv(path)
    return {tuple(r) for r in steps[steps.value.isna()][KEY].itertuples(index=False)}


EXPECTED_NAN = {("a", 0, 0, "loss/query"), ("a", 0, 1, "loss/total"), ("b", 1, 0, "loss/query")}


def test_steps_csv_writes_nan_as_nan(grid):
    lines = grid.steps_csv.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "variant,seed,step,metric,value"
    assert not [line for line in lines if line.endswith(",")], "an empty value field"
    assert sum(line.endswith(",nan") for line in lines) == 3
    assert nan_keys_of_csv(grid.steps_csv) == EXPECTED_NAN


def test_pyarrow_finds_every_nan_of_steps_csv_as_nan(grid):
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    table = pq.read_table(grid.steps_parquet)
    assert table.column("value").null_count == 0
    nan = table.filter(pc.is_nan(table.column("value"))).select(KEY).to_pylist()
    assert {tuple(r[k] for k in KEY) for r in nan} == nan_keys_of_csv(grid.steps_csv)
    inf = pc.is_inf(table.column("value"))
    assert pc.sum(inf).as_py() == 2


def test_duckdb_finds_every_nan_of_steps_csv_as_nan(grid):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    for path in (grid.steps_parquet, grid.steps_csv):
        rows = con.execute(f"select {', '.join(KEY)} from '{path}' where isnan(value) "
                           "order by all").fetchall()
        assert set(rows) == EXPECTED_NAN, path
        assert con.execute(f"select count(*) from '{path}' where value is null").fetchone() \
            == (0,), path
    # an aggregate over a NaN is NaN, not the mean of the other steps
    (mean,) = con.execute(f"select avg(value) from '{grid.steps_parquet}' where "
                          "metric = 'loss/total' and variant = 'a'").fetchone()
    assert math.isnan(mean)


def test_polars_finds_every_nan_of_steps_csv_as_nan(grid):
    pl = pytest.importorskip("polars")
    # polars infers a column holding "nan" as text (it takes "NaN" as a float): a reader of
    # the CSV names the column's type, as one does for any CSV
    csv = pl.read_csv(grid.steps_csv, schema_overrides={"value": pl.Float64})
    for frame in (pl.read_parquet(grid.steps_parquet), csv):
        assert frame["value"].null_count() == 0
        nan = frame.filter(pl.col("value").is_nan()).select(KEY).rows()
        assert set(nan) == EXPECTED_NAN


def test_pandas_reads_both_files_alike(grid):
    parquet = pd.read_parquet(grid.steps_parquet)
    csv = pd.read_csv(grid.steps_csv).astype(parquet.dtypes.to_dict())
    pd.testing.assert_frame_equal(parquet, csv)
    assert parquet.value.isna().sum() == 3


# --------------------------------------------------------------------------- TensorBoard HParams

def hparams_plugin_answers(logdir: Path) -> tuple[dict, dict]:
    """The HParams plugin's /experiment and /session_groups answers, as TensorBoard's server
    gives them to its dashboard (the plugin's own WSGI routes, in this process)."""
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import hparams_plugin
    from werkzeug.test import Client

    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    context = base_plugin.TBContext(
        logdir=str(logdir), multiplexer=mux,
        data_provider=data_provider.MultiplexerDataProvider(mux, str(logdir)))
    routes = hparams_plugin.HParamsPlugin(context).get_plugin_apps()

    def ask(route, request):
        answer = Client(routes[route]).post("/", data=json.dumps(request))
        assert answer.status_code == 200, answer.data
        return json.loads(answer.data)

    experiment = ask("/experiment", {"experimentName": ""})
    groups = ask("/session_groups", {
        "experimentName": "", "startIndex": 0, "sliceSize": 1000,
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE",
                            "STATUS_RUNNING"],
        "colParams": [{"hparam": h["name"]} for h in experiment["hparamInfos"]]})
    return experiment, groups


@pytest.mark.slow
def test_hparams_one_session_group_per_variant_and_every_axis_a_column(tmp_path):
    pytest.importorskip("tensorboard")
    import variants
    from harness.config import DataSettings, Settings
    from harness.design import AXES
    from harness.encoders import resolve_encoder
    from harness.logs.common import design_params
    from harness.prepare import encode_dataset
    from harness.runner import run_grid
    from harness.train import TrainSettings
    from tests.conftest import TINY_ENCODER, toy_dataset

    settings = Settings(data=DataSettings(vocab_size=200, max_length=32),
                        train=TrainSettings(steps=2, batch_size=8), encoder=TINY_ENCODER,
                        seeds=(0, 1), device="cpu")
    data = encode_dataset(toy_dataset(), settings.data, resolve_encoder(TINY_ENCODER))
    # original's recorded design leaves out the axes the review does not have; corrected's
    # names them: the experiment must still have a column for each
    chosen = [variants.get_variant(n) for n in ("original", "corrected")]
    assert len(chosen[0].design.to_dict()) < len(chosen[1].design.to_dict())
    run_grid(settings, chosen, tmp_path, show_progress=False, data=data, logs=("tensorboard",))

    experiment, answer = hparams_plugin_answers(tmp_path / "tensorboard")
    infos = {h["name"]: h for h in experiment["hparamInfos"]}
    assert set(infos) == {"variant", "seed", *AXES}
    # the seed: TensorBoard's integer domain (discrete whole numbers; its only number type is
    # float64), not a free float column
    assert infos["seed"]["domainDiscrete"] == [0, 1]
    assert infos["variant"]["domainDiscrete"] == ["corrected", "original"]
    assert "heldout/step_acc" in {m["name"]["tag"] for m in experiment["metricInfos"]}

    groups = {g["name"]: g for g in answer["sessionGroups"]}
    assert set(groups) == {"original", "corrected"}
    for variant in chosen:
        group = groups[variant.name]
        assert sorted(s["name"] for s in group["sessions"]) == [
            f"{variant.name}/seed0", f"{variant.name}/seed1"]
        expected = design_params(variant.name, 0, variant.design.to_dict())
        assert set(group["hparams"]) == set(expected) == set(infos)
        for name, value in expected.items():
            if name != "seed":
                assert group["hparams"][name] == value, (variant.name, name)
        assert group["hparams"]["seed"] in (0, 1)
        assert all(s["status"] == "STATUS_SUCCESS" for s in group["sessions"])
        # the plugin's metric columns come from the sessions' own scalars
        assert "heldout/step_acc" in {m["name"]["tag"] for m in group["metricValues"]}


def test_tensorboard_still_calls_the_checksum_the_harness_swaps(tmp_path, monkeypatch):
    """The fast checksum replaces ``record_writer.masked_crc32c`` (TensorBoard's own is pure
    Python); should TensorBoard stop calling it through that name, the swap would silently do
    nothing and the cost bound of tests/benchmarks/test_log_cost.py would be what fails."""
    pytest.importorskip("tensorboard")
    from tensorboard.summary.writer import record_writer

    from harness.logs.tensorboard import RunEvents
    events = RunEvents(tmp_path)        # installs the swap
    calls = []
    swapped = record_writer.masked_crc32c
    monkeypatch.setattr(record_writer, "masked_crc32c",
                        lambda data: calls.append(len(data)) or swapped(data))
    events.scalars([(0, "loss/total", 0.5), (1, "loss/total", 0.25)])
    events.close()
    assert calls, "TensorBoard's record writer no longer calls record_writer.masked_crc32c"


# --------------------------------------------------------------------------- MLflow

def test_the_mlflow_default_experiment_keeps_its_artifacts_in_the_output_folder(tmp_path,
                                                                                  monkeypatch):
    pytest.importorskip("mlflow")
    from harness.logs.mlflow_store import MlflowStore
    out, elsewhere = tmp_path / "out", tmp_path / "started-here"
    out.mkdir()
    elsewhere.mkdir()
    (out / "run.json").write_text(json.dumps({"variants": [], "settings": {"seeds": [0]}}))
    monkeypatch.chdir(elsewhere)
    store = MlflowStore(out)
    experiments = {e.name: e.artifact_location for e in store.client.search_experiments()}
    assert set(experiments) == {"Default", "ablation"}
    inside = (out / "mlflow").resolve().as_uri()
    for name, location in experiments.items():
        assert location.startswith(inside), (name, location)
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- the console

@pytest.mark.slow
def test_piped_output_has_no_carriage_return_and_a_line_per_finished_run(tmp_path):
    log = tmp_path / "log.txt"
    with open(log, "wb") as handle:      # a file, as `... > log.txt 2>&1`: not a terminal
        done = subprocess.run(
            [sys.executable, "run_ablation.py", "--quick", "--variants", "original,fixed",
             "--steps", "3", "--seeds", "2", "--no-report", "--jobs", "1",
             "--out", str(tmp_path / "out")],
            cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, timeout=600,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    text = log.read_bytes().decode("utf-8")
    assert done.returncode == 0, text
    assert "\r" not in text
    finished = re.findall(r"^run (\d)/4 (\S+) seed(\d): (\w+)", text, re.M)
    assert sorted((v, s) for _, v, s, _ in finished) == [
        ("fixed", "0"), ("fixed", "1"), ("original", "0"), ("original", "1")]
    assert [n for n, *_ in finished] == ["1", "2", "3", "4"]
    assert {status for *_, status in finished} == {"ok"}


def test_help_says_each_default_once(monkeypatch):
    from harness.cli import build_parser
    monkeypatch.setenv("COLUMNS", "100")       # argparse wraps at the terminal's width
    text = build_parser().format_help()
    options = re.split(r"\n(?=  -)", text)
    repeated = [o for o in options if len(re.findall(r"\(default", o)) > 1]
    assert not repeated, repeated
    assert "(default: None)" not in text and "(default: False)" not in text
    assert re.search(r"--seeds SEEDS\s+a count, list or range \(default \d+\)\n", text)
    assert re.search(r"--threads THREADS\s+CPU threads per run \(0: cores / jobs\) "
                     r"\(default: 0\)\n", text)


# --------------------------------------------------------------------------- plots

class OneProbePoint:
    """The records the report's curves read, for a run that probed once (step 0)."""
    run = {"settings": {"train": {"steps": 5}}}

    def variant_names(self):
        return ["original", "fixed"]

    def step_values(self, variant, metric):
        return pd.DataFrame({"seed": [0], "step": [0], "value": [0.25]})


def test_a_curve_of_one_point_is_drawn_as_a_marker(tmp_path, monkeypatch):
    from harness.report import plots
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig) or path)
    assert plots.curve_grid(OneProbePoint(), [("probe/cosine/action~coords", "cosine")],
                            tmp_path / "cosine.png") is not None
    lines = [line for ax in drawn[0].axes for line in ax.get_lines()]
    assert len(lines) == 2
    assert all(line.get_marker() == "o" and len(line.get_xdata()) == 1 for line in lines)
