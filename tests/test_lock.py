"""One writer per output folder: a second process is refused at once with the holder named,
a lock left by a killed process is taken over, and the first command's records are intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.compare import compare_outputs
from harness.lock import LOCK_FILE, OutputLocked, output_lock, read_holder
from tests.conftest import TINY_ENCODER

ROOT = Path(__file__).resolve().parent.parent

HOLD = """
import sys, time
from harness.lock import output_lock
with output_lock(sys.argv[1], command="holder-command"):
    print("locked", flush=True)
    time.sleep(120)
"""


def hold_in_another_process(folder: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_process_is_refused_with_the_holder_named(tmp_path):
    holder = hold_in_another_process(tmp_path)
    try:
        with pytest.raises(OutputLocked, match=rf"in use by another process: pid "
                                               rf"{holder.pid} on .* \(holder-command\)"):
            with output_lock(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    holder = hold_in_another_process(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert read_holder(tmp_path)["pid"] == holder.pid       # still readable, and stale
    notes = []
    with output_lock(tmp_path, command="mine", warn=notes.append):
        assert read_holder(tmp_path)["pid"] == os.getpid()
    assert len(notes) == 1 and f"pid {holder.pid}" in notes[0] and "taking the lock over" \
        in notes[0]
    assert read_holder(tmp_path) is None        # a clean exit leaves no holder behind
    with output_lock(tmp_path, warn=notes.append):
        pass
    assert len(notes) == 1                      # nothing stale the second time


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with output_lock(tmp_path):
        with output_lock(tmp_path / "." ):
            assert read_holder(tmp_path)["pid"] == os.getpid()
        assert read_holder(tmp_path)["pid"] == os.getpid()   # the outer one still holds
    assert (tmp_path / LOCK_FILE).is_file() and read_holder(tmp_path) is None


def test_report_only_on_a_missing_folder_locks_nothing(tmp_path):
    with output_lock(tmp_path / "absent", create=False):
        pass
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("option", ["--report-only", "--export-logs", "--out"])
def test_the_cli_is_refused_with_the_holder_named(tmp_path, capsys, option):
    from harness.cli import main
    holder = hold_in_another_process(tmp_path)
    try:
        assert main([option, str(tmp_path), "--variants", "fixed", "--no-progress"]) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"is in use by another process: pid {holder.pid}" in err and "holder-command" in err
    assert "Traceback" not in err and "data:" not in err


def command(out: Path) -> list[str]:
    # long enough (two runs of a few seconds each) that the second command, started when the
    # first holds the lock, reaches the lock while the first still trains
    return [sys.executable, str(ROOT / "run_ablation.py"), "--variants", "fixed",
            "--seeds", "2", "--steps", "400", "--synthetic-episodes", "30",
            "--encoder", TINY_ENCODER, "--jobs", "1", "--threads", "1", "--no-progress",
            "--no-report", "--out", str(out)]


@pytest.mark.slow
def test_two_commands_on_one_out(tmp_path):
    lone, shared = tmp_path / "lone", tmp_path / "shared"
    first = subprocess.Popen(command(shared), cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while read_holder(shared) is None and time.time() < deadline:
        time.sleep(0.05)
    started = time.perf_counter()
    second = subprocess.run(command(shared), cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    refused_after = time.perf_counter() - started
    assert second.returncode == 2, second.stderr
    assert "Traceback" not in second.stderr
    assert f"is in use by another process: pid {first.pid}" in second.stderr
    assert "run_ablation.py" in second.stderr               # the holder's command
    assert "data:" not in second.stderr                     # refused before preparing data
    assert refused_after < 60
    _, stderr = first.communicate(timeout=600)
    assert first.returncode == 0, stderr

    alone = subprocess.run(command(lone), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert alone.returncode == 0, alone.stderr
    assert compare_outputs(lone, shared) == []
