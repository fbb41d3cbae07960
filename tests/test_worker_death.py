"""A worker killed mid-grid (kill -9, as the out-of-memory killer does) takes only the run it
held: that run is recorded as failed by the machine, the other runs are trained by a new
worker, the command exits 3; the same command again retries the lost run and ends with the
records of an uninterrupted grid. Failures are classed: a design failure is a finding, kept
on rerun; a dead worker or a full disk is the machine's, retried on rerun. Workers exit with
their parent."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import variants
from harness.compare import compare_outputs
from harness.errors import RunsToRetry
from harness.executors import ProcessExecutor, RunTask, _failed_status, death_message
from harness.io import StorageError
from harness.results import DESIGN, INFRASTRUCTURE, runs_to_retry
from harness.runner import run_grid
from tests.conftest import TINY_ENCODER
# the tiny grid, its data (a fixture) and the injected design failure of the runner's tests
from tests.test_runner import SETTINGS, Boom, data  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def command(out: Path) -> list[str]:
    return [sys.executable, str(ROOT / "run_ablation.py"), "--variants", "original,fixed",
            "--seeds", "2", "--steps", "60", "--synthetic-episodes", "30",
            "--encoder", TINY_ENCODER, "--jobs", "2", "--threads", "1", "--no-progress",
            "--no-report", "--out", str(out)]


def worker_pids(parent: int) -> list[int]:
    """The grid's worker processes: spawned children of ``parent`` (not its resource
    tracker)."""
    found = []
    for task in Path(f"/proc/{parent}/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(int(pid))
    return found


def running_runs(out: Path) -> int:
    count = 0
    for path in out.glob("runs/*/seed*/status.json"):
        try:
            count += json.loads(path.read_text())["status"] == "running"
        except (ValueError, OSError, KeyError):
            pass
    return count


def test_death_message_names_the_signal():
    assert death_message(-9) == "worker died: signal 9 (SIGKILL)"
    assert death_message(3) == "worker died: exit code 3"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_kill_9_of_a_worker_then_rerun_equals_an_uninterrupted_grid(tmp_path):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    done = subprocess.run(command(whole), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr

    process = subprocess.Popen(command(cut), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    victim = None
    while time.time() < deadline and victim is None:
        pids = worker_pids(process.pid) if process.poll() is None else []
        if pids and running_runs(cut) == 2:     # both workers inside a run
            victim = pids[0]
        time.sleep(0.05)
    if victim is None:
        process.kill()
        pytest.fail("the grid never had two runs under way")
    os.kill(victim, signal.SIGKILL)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 3, stderr
    assert "Traceback" not in stderr
    assert "1 run(s) did not finish for reasons outside the design" in stderr
    assert "worker died: signal 9 (SIGKILL)" in stderr
    assert "rerun the same command" in stderr
    statuses = [json.loads(p.read_text()) for p in cut.glob("runs/*/seed*/status.json")]
    assert sorted(s["status"] for s in statuses) == ["failed", "ok", "ok", "ok"]
    lost = next(s for s in statuses if s["status"] == "failed")
    assert lost["failure"] == "infrastructure"
    assert lost["message"] == "worker died: signal 9 (SIGKILL)"

    again = subprocess.run(command(cut), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert compare_outputs(whole, cut) == []


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    process = subprocess.Popen(command(tmp_path / "out"), cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    pids = []
    while time.time() < deadline and len(pids) < 2:
        pids = worker_pids(process.pid) if process.poll() is None else []
        time.sleep(0.05)
    assert len(pids) == 2, "no two workers started"
    process.kill()
    process.wait(timeout=60)
    deadline = time.time() + 30
    while time.time() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --------------------------------------------------------------------------- in-process checks



def test_a_design_failure_is_kept_and_a_lost_run_is_retried(data, tmp_path):
    chosen = [variants.get_variant("original"), variants.get_variant("fixed")]
    run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data,
             hooks_factory=lambda v, s: Boom() if v.name == "original" else None)
    crashed = json.loads((tmp_path / "runs/original/seed0/status.json").read_text())
    assert crashed["status"] == "failed" and crashed["failure"] == DESIGN
    assert runs_to_retry(tmp_path, ["original", "fixed"], SETTINGS.seeds) == []
    # fixed seed 1 as a dead worker leaves it
    lost = RunTask(0, chosen[1], 1, tmp_path / "runs/fixed/seed1")
    _failed_status(lost, SETTINGS, death_message(-9))
    assert runs_to_retry(tmp_path, ["original", "fixed"], SETTINGS.seeds) == [
        "fixed seed1: worker died: signal 9 (SIGKILL)"]

    calls = []
    summary = run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data,
                       hooks_factory=lambda v, s: calls.append((v.name, s)))
    assert calls == [("fixed", 1)]          # the finding is kept, the lost run trained again
    assert list(summary.status) == ["failed", "ok", "failed", "ok"]
    assert runs_to_retry(tmp_path, ["original", "fixed"], SETTINGS.seeds) == []


def test_a_full_disk_stops_the_grid_and_the_run_is_retried(data, tmp_path, monkeypatch):
    from harness.records import StepRecords
    flush = StepRecords.flush

    def full(self):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.folder))

    chosen = [variants.get_variant("fixed")]
    monkeypatch.setattr(StepRecords, "flush", full)
    with pytest.raises(StorageError, match=r"cannot write .*seed0: No space left on device.*"
                                           r"free some space and rerun") as raised:
        run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data)
    assert raised.value.transient
    status = json.loads((tmp_path / "runs/fixed/seed0/status.json").read_text())
    assert status["status"] == "failed" and status["failure"] == INFRASTRUCTURE
    assert not (tmp_path / "runs/fixed/seed0/error.txt").exists()   # not a finding
    assert not (tmp_path / "runs/fixed/seed1").exists()             # the grid stopped
    monkeypatch.setattr(StepRecords, "flush", flush)
    summary = run_grid(SETTINGS, chosen, tmp_path, show_progress=False, data=data)
    assert list(summary.status) == ["ok", "ok"]


def test_a_storage_error_crosses_from_a_worker_whole():
    error = StorageError("cannot write X: No space left on device", "X", transient=True)
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.path, again.transient) == (str(error), "X", True)


def test_a_lost_run_exits_3_and_the_same_command_retries_it(tmp_path, monkeypatch, capsys):
    import harness.executors as executors
    from harness.cli import main
    real = executors.run_one

    def lose_seed_1(data, variant, seed, settings, run_dir, *args, **kwargs):
        if seed == 1:
            return _failed_status(RunTask(0, variant, seed, run_dir), settings, death_message(-9))
        return real(data, variant, seed, settings, run_dir, *args, **kwargs)

    argv = ["--variants", "fixed", "--encoder", TINY_ENCODER, "--synthetic-episodes", "30",
            "--vocab-size", "200", "--max-length", "48", "--jobs", "1", "--steps", "2",
            "--seeds", "2", "--no-report", "--no-progress", "--out", str(tmp_path)]
    monkeypatch.setattr(executors, "run_one", lose_seed_1)
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "1 run(s) did not finish for reasons outside the design" in err
    assert "fixed seed1: worker died: signal 9 (SIGKILL)" in err
    assert "rerun: python run_ablation.py --variants fixed" in err
    first = json.loads((tmp_path / "runs/fixed/seed0/status.json").read_text())["finished"]

    monkeypatch.setattr(executors, "run_one", real)
    assert main(argv) == 0
    statuses = [json.loads((tmp_path / f"runs/fixed/seed{s}/status.json").read_text())
                for s in (0, 1)]
    assert [s["status"] for s in statuses] == ["ok", "ok"]
    assert statuses[0]["finished"] == first            # the finished run was kept


class _Progress:
    def __init__(self, on_start=None):
        self.on_start, self.ended = on_start, []

    def start_run(self, index, variant, seed):
        if self.on_start:
            self.on_start(index)

    def on_step(self, index, step, losses):
        pass

    def end_run(self, index, status):
        self.ended.append(index)


def _kill_the_worker(index):
    if index == 0:
        for process in multiprocessing.active_children():
            if process.name == "harness-worker":
                os.kill(process.pid, signal.SIGKILL)


@pytest.mark.slow
def test_a_dead_worker_fails_its_run_only_and_a_new_worker_runs_the_rest(data, tmp_path):
    fixed = variants.get_variant("fixed")
    tasks = [RunTask(i, fixed, seed, tmp_path / f"seed{seed}") for i, seed in enumerate((0, 1, 2))]
    progress = _Progress(_kill_the_worker)
    statuses = list(ProcessExecutor(1, 1).run(tasks, data, SETTINGS, progress))
    by_seed = {s["seed"]: s for s in statuses}
    assert by_seed[0]["status"] == "failed" and by_seed[0]["failure"] == INFRASTRUCTURE
    assert by_seed[0]["message"] == "worker died: signal 9 (SIGKILL)"
    assert by_seed[1]["status"] == by_seed[2]["status"] == "ok"
    assert sorted(progress.ended) == [0, 1, 2]


class _KillsWhereUnpickled:
    """Data whose unpickling ends the process: every worker dies before starting a run."""

    def __reduce__(self):
        return os._exit, (7,)


@pytest.mark.slow
def test_workers_that_never_start_a_run_end_the_grid_with_exit_3(tmp_path):
    fixed = variants.get_variant("fixed")
    tasks = [RunTask(0, fixed, 0, tmp_path / "seed0")]
    with pytest.raises(RunsToRetry, match=r"4 worker processes in a row died before starting "
                                          r"a run \(worker died: exit code 7\)"):
        list(ProcessExecutor(1, 1).run(tasks, _KillsWhereUnpickled(), SETTINGS, _Progress()))
    assert not (tmp_path / "seed0").exists()      # never started: nothing recorded, retried
