"""--executor ray on a local Ray instance (loopback only): the same records as a local run,
and a task whose worker dies is retried once, then recorded as failed."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import variants
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.encoders import resolve_encoder
from harness.executors import RayExecutor, run_remote
from harness.progress import GridProgress
from harness.results import RunPaths
from harness.runner import run_grid
from harness.executors import RunTask
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset
from tests.test_executors import comparable

ray = pytest.importorskip("ray")
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow

SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=4, batch_size=8), encoder=TINY_ENCODER,
                    seeds=(0, 1), device="cpu")


@pytest.fixture(scope="module")
def local_ray():
    # workers import this module to run dies_for_fixed: give them the test paths
    paths = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": paths}})
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data():
    return encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))


def test_ray_equals_local(local_ray, data, tmp_path):
    chosen = [variants.get_variant("original"), variants.get_variant("fixed")]
    local = run_grid(SETTINGS, chosen, tmp_path / "local", show_progress=False, data=data,
                     jobs=1, threads=1)
    remote = run_grid(SETTINGS, chosen, tmp_path / "ray", show_progress=False, data=data,
                      threads=1, executor="ray")
    assert list(remote.status) == ["ok"] * 4
    pd.testing.assert_frame_equal(comparable(tmp_path / "local"), comparable(tmp_path / "ray"))
    metrics = ["variant", "seed", "action_acc", "step_acc", "val_loss"]
    pd.testing.assert_frame_equal(local[metrics], remote[metrics])
    assert (tmp_path / "ray" / "runs" / "fixed" / "seed1" / "steps.csv").is_file()


ATTEMPTS_FILE = "attempts.txt"


def dies_for_fixed(data, settings, task):
    """A Ray task whose worker process dies on the run of 'fixed' (and counts its attempts)."""
    if task.variant.name == "fixed":
        with open(task.run_dir.parent / ATTEMPTS_FILE, "a") as handle:
            handle.write("x")
        os._exit(1)
    return run_remote(data, settings, task)


def test_a_lost_task_is_retried_once_then_recorded_as_failed(local_ray, data, tmp_path):
    paths = RunPaths(tmp_path)
    tasks = [RunTask(i, variants.get_variant(name), 0, paths.run_dir(name, 0))
             for i, name in enumerate(("original", "fixed"))]
    for task in tasks:
        task.run_dir.mkdir(parents=True)
    executor = RayExecutor(threads=1, task_fn=dies_for_fixed)
    statuses = {s["variant"]: s for s in executor.run(tasks, data, SETTINGS,
                                                      GridProgress(2, 4, enabled=False))}
    assert statuses["original"]["status"] == "ok"
    assert statuses["fixed"]["status"] == "failed"
    assert "Ray task failed twice" in statuses["fixed"]["message"]
    assert (tasks[1].run_dir.parent / ATTEMPTS_FILE).read_text() == "xx"   # tried twice
    assert (tasks[0].run_dir / "steps.csv").is_file()
