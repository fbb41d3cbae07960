"""A full disk or a read-only output folder, met by any writer of a grid: the command prints one
line naming the path, no traceback, and exits 3 (free some space and rerun) or 2 (choose a
writable --out); what is on disk stays resumable, and the same command then ends with the
records of an uninterrupted grid.

The failures are injected below the harness, where all its writers pass: the creation of a
file or folder (``os.open``: the atomic writers' temporary files and the Parquet file;
``builtins.open``: the lock file, the records' append file, the plots; ``os.mkdir``) and every
flush of a run's append file (``steps.partial.csv``). The Nth of those writes meets a full
disk: the file is made, but writing its content fails with ENOSPC (from the kernel itself
where the file is redirected to ``/dev/full``), so that the harness's clean-up runs as it
would on a real disk; a folder is not made."""

from __future__ import annotations

import builtins
import errno
import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.compare import TIMING_KEYS, TIMING_METRICS, compare_outputs
from harness.records import StepRecords
from tests.conftest import TINY_ENCODER

pytestmark = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")

DEV_FULL = "/dev/full"
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def argv(out: Path) -> list[str]:
    """The tiny grid of tests/test_worker_death.py, report included (its tables and plots
    are writers too), in this process (--jobs 1 runs the runs here, one after the other)."""
    return ["--variants", "fixed", "--encoder", TINY_ENCODER, "--synthetic-episodes", "30",
            "--vocab-size", "200", "--max-length", "48", "--jobs", "1", "--steps", "2",
            "--seeds", "2", "--no-progress", "--out", str(out)]


class Disk:
    """The disk under ``root`` as the harness's writers meet it: each write is counted in
    ``writes`` (the file or folder it is for, and "create" or "append"); the ``fail_at``-th
    (1-based) finds the disk full; with ``read_only`` every write is refused."""

    def __init__(self, root: Path, fail_at: int | None = None, read_only: bool = False):
        self.root = os.path.abspath(root)
        self.fail_at = fail_at
        self.read_only = read_only
        self.writes: list[tuple[str, str]] = []
        self.failed: Path | None = None

    def under(self, path) -> bool:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return False                     # a descriptor: opened (and counted) already
        path = os.path.abspath(os.fsdecode(path))
        return path == self.root or path.startswith(self.root + os.sep)

    def write(self, path, how: str) -> bool:
        """Count a write to ``path``; True when it is the one that finds the disk full. A
        read-only folder refuses every write (EROFS), as the kernel would."""
        if self.read_only:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        self.writes.append((target(path, self.root), how))
        if len(self.writes) != self.fail_at:
            return False
        self.failed = Path(self.root) / target(path, self.root)
        return True

    def install(self, monkeypatch) -> "Disk":
        real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir
        real_flush = StepRecords.flush

        def os_open(path, flags, mode=0o777, *, dir_fd=None):
            if dir_fd is None and flags & os.O_CREAT and self.under(path):
                if self.write(path, "create") and not os.path.lexists(path):
                    os.symlink(DEV_FULL, path)      # a temporary file that the disk cannot hold
                    flags &= ~(os.O_EXCL | NOFOLLOW)
            return real_os_open(path, flags, mode, dir_fd=dir_fd)

        def open_(file, mode="r", *args, **kwargs):
            writing = bool(set(mode) & set("wax+")) and self.under(file)
            if writing and self.write(file, "create"):
                return open_on_full_disk(file, mode, *args, **kwargs)
            return real_open(file, mode, *args, **kwargs)

        def mkdir(path, mode=0o777, *, dir_fd=None):
            # as the kernel: a folder is only made (a write) where its parent exists
            made = not os.path.isdir(path) and os.path.isdir(os.path.dirname(path))
            if dir_fd is None and self.under(path) and made:
                if self.write(path, "create"):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(path))
            return real_mkdir(path, mode, dir_fd=dir_fd)

        def flush(records):
            partial = getattr(records, "_partial", None)
            if partial is not None and records._pending and self.under(records.folder):
                if self.write(records._partial_path, "append"):
                    _fill(partial.fileno())
            return real_flush(records)

        monkeypatch.setattr(builtins, "open", open_)
        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(StepRecords, "flush", flush)
        return self


class _FullFile(io.FileIO):
    """A file on a full disk: opened, read, sought and truncated as usual; every write of
    its content is answered ENOSPC, as the kernel answers it (no file name)."""

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def open_on_full_disk(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None):
    """What ``open(file, mode)`` gives on a full disk: the same layers (text, buffer, raw
    file), the raw file refusing every write. (Not /dev/full here: the lock file is
    truncated, which a device refuses with another error than a full disk's.)"""
    raw = _FullFile(file, mode.replace("b", "").replace("t", ""))
    buffered = (io.BufferedRandom if "+" in mode else io.BufferedWriter)(raw)
    if "b" in mode:
        return buffered
    return io.TextIOWrapper(buffered, encoding=encoding, errors=errors, newline=newline)


def _fill(fd: int) -> None:
    """From now on, ``fd`` writes to /dev/full: every write answered ENOSPC by the kernel."""
    full = os.open(DEV_FULL, os.O_WRONLY)
    try:
        os.dup2(full, fd)
    finally:
        os.close(full)


def target(path, root: str) -> str:
    """The record a write is for, relative to ``root``: an atomic writer's temporary file
    (``.run.json.k3j9x2ab.tmp``, ``.losses.png.tmp``) stands for the file it becomes."""
    path = Path(os.path.abspath(os.fsdecode(path)))
    name = re.sub(r"^\.(.+?)\.(\w{8}\.)?tmp$", r"\1", path.name)
    return (path.parent / name).relative_to(root).as_posix()


# --------------------------------------------------------------------------- the reference

@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """An uninterrupted grid, and every write it made, in order."""
    out = tmp_path_factory.mktemp("storage") / "whole"
    with pytest.MonkeyPatch.context() as monkeypatch:
        disk = Disk(out).install(monkeypatch)
        assert main(argv(out)) == 0
    return out, disk.writes


#: The writers a failure is tried at: (the record, create or append, which of its writes);
#: the slow ones repeat a kind of write that another case tries already.
WRITERS = [
    (".harness.lock", "create", 1),
    ("run.json", "create", 1),
    ("runs/fixed/seed0/status.json", "create", 1),      # "running"
    ("runs/fixed/seed0/steps.partial.csv", "append", 1),
    ("runs/fixed/seed0/heldout_scores.csv", "create", 1),
    ("runs/fixed/seed0/status.json", "create", 2),      # its end
    ("steps.parquet", "create", 1),
    ("plots/losses.png", "create", 1),
    ("index.html", "create", 1),
]
SLOW_WRITERS = [
    ("baseline_scores.csv", "create", 1),
    ("runs/fixed/seed0", "create", 1),                  # the run's folder
    ("runs/fixed/seed0/steps.partial.csv", "create", 1),
    ("runs/fixed/seed0/selection_scores.csv", "create", 1),
    ("runs/fixed/seed1/steps.partial.csv", "append", 2),
    ("summary.csv", "create", 1),
    ("steps.csv", "create", 1),
    ("tables/effects.csv", "create", 1),
    ("plots", "create", 1),
    ("timing.json", "create", 1),
]


def nth_write(writes, record: str, how: str, occurrence: int) -> int:
    """The 1-based number of the ``occurrence``-th write of ``record``."""
    numbers = [i for i, write in enumerate(writes, 1) if write == (record, how)]
    assert len(numbers) >= occurrence, f"the grid never writes {record} ({how}) that often"
    return numbers[occurrence - 1]


def the_error_line(err: str) -> str:
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


def named_path(line: str) -> Path:
    found = re.match(r"error: cannot write (.+?): ", line)
    assert found, line
    return Path(found.group(1))


def grid_tables_differ(a: Path, b: Path) -> list[str]:
    """The grid-wide tables (summary.csv, steps.csv, steps.parquet) of two output folders,
    compared value by value, timings left out."""
    out = []
    timing = TIMING_KEYS | TIMING_METRICS
    summary = [pd.read_csv(root / "summary.csv") for root in (a, b)]
    summary = [s.drop(columns=[c for c in s.columns if c in timing]) for s in summary]
    if not summary[0].equals(summary[1]):
        out.append("summary.csv differs")
    for read in (pd.read_csv, pd.read_parquet):
        name = "steps.csv" if read is pd.read_csv else "steps.parquet"
        steps = [read(root / name) for root in (a, b)]
        steps = [s[~s.metric.isin(timing)].reset_index(drop=True) for s in steps]
        if not steps[0].equals(steps[1]):
            out.append(f"{name} differs")
    return out


def leftovers(out: Path) -> list[Path]:
    """Temporary files that a failed write left behind (they would hold the space that the
    user is asked to free)."""
    return sorted(p for p in out.rglob(".*.tmp"))


# --------------------------------------------------------------------------- disk full

def test_the_writers_tried_are_those_of_the_grid(whole):
    _, writes = whole
    for record, how, occurrence in WRITERS + SLOW_WRITERS:
        nth_write(writes, record, how, occurrence)


@pytest.mark.parametrize("record, how, occurrence", [
    *(pytest.param(*w, id=f"{w[0]}-{w[1]}{w[2]}") for w in WRITERS),
    *(pytest.param(*w, id=f"{w[0]}-{w[1]}{w[2]}", marks=pytest.mark.slow) for w in SLOW_WRITERS)])
def test_a_full_disk_at_any_write_exits_3_and_the_rerun_completes(
        whole, tmp_path, monkeypatch, capsys, record, how, occurrence):
    reference, writes = whole
    out = tmp_path / "cut"
    with monkeypatch.context() as patched:
        disk = Disk(out, fail_at=nth_write(writes, record, how, occurrence)).install(patched)
        assert main(argv(out)) == 3
    assert disk.failed == out / record
    line = the_error_line(capsys.readouterr().err)
    assert "No space left on device" in line and "free some space and rerun" in line, line
    named = named_path(line)     # the record, or the run folder that holds it
    assert named.is_relative_to(out), line
    assert disk.failed.is_relative_to(named) or f"({disk.failed})" in line, line
    assert leftovers(out) == []

    assert main(argv(out)) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert compare_outputs(reference, out) == []
    assert grid_tables_differ(reference, out) == []


# --------------------------------------------------------------------------- read-only

#: Where the read-only folder is: (the folder made read-only, the folder to make first, the
#: path that cannot be written, which the message must name), relative to the test's folder;
#: the output folder is "out".
READ_ONLY = {
    "the output folder": ("out", "out", "out/.harness.lock"),
    "the folder it is to be made in": (".", None, "out"),
    "its runs folder": ("out/runs", "out/runs", "out/runs/fixed"),
}


@pytest.mark.parametrize("where", READ_ONLY)
def test_a_read_only_folder_exits_2_naming_the_path_and_then_completes(
        whole, tmp_path, monkeypatch, capsys, where):
    reference, _ = whole
    read_only, made, named = READ_ONLY[where]
    root = tmp_path / "read-only"
    out = root / "out"
    (root / (made or ".")).mkdir(parents=True)
    with monkeypatch.context() as patched:
        Disk(root / read_only, read_only=True).install(patched)
        assert main(argv(out)) == 2
    line = the_error_line(capsys.readouterr().err)
    assert "Read-only file system" in line and "choose a writable --out" in line, line
    assert named_path(line) == root / named or f"({root / named})" in line, line

    assert main(argv(out)) == 0
    assert compare_outputs(reference, out) == []
    assert grid_tables_differ(reference, out) == []
