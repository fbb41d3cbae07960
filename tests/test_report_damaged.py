"""--report-only on a damaged output folder (issue 23, part 6): every file of a tiny grid's
folder damaged in each of several ways; the report names each unreadable file, counts its run
as missing, and never drops a run silently or prints a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from harness.cli import main
from harness.errors import HarnessInputError
from harness.report.load import load_records
from tests.conftest import TINY_ENCODER

VARIANTS = ("original", "fixed")


def _garbled(path: Path) -> None:
    path.write_bytes(b'\x00,"unterminated\n1,2,3,4,5,6,7\nnot a table\x01\n')


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:max(1, len(data) // 2)])


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"\xff\xfe\xfa" + path.read_bytes())


def _folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _last_line_cut(path: Path) -> None:
    """The file cut at a line end: the last record is gone, every line left is whole."""
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))


DAMAGES = {"deleted": Path.unlink, "empty": lambda p: p.write_bytes(b""),
           "truncated": _truncated, "garbled": _garbled, "not-utf8": _not_utf8,
           "folder": _folder, "last-line-cut": _last_line_cut}
RUN_FILES = ("status.json", "steps.csv", "heldout_scores.csv", "selection_scores.csv")


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    out = tmp_path_factory.mktemp("grid")
    argv = ["--variants", ",".join(VARIANTS), "--encoder", TINY_ENCODER,
            "--synthetic-episodes", "30", "--vocab-size", "200", "--max-length", "48",
            "--jobs", "1", "--steps", "3", "--seeds", "2", "--no-report", "--no-progress",
            "--out", str(out)]
    assert main(argv) == 0
    return out


def _damaged_copy(grid: Path, tmp_path: Path, relative: str, damage: str) -> Path:
    folder = tmp_path / "damaged"
    shutil.copytree(grid, folder)
    DAMAGES[damage](folder / relative)
    return folder


@pytest.mark.parametrize("damage", DAMAGES)
@pytest.mark.parametrize("name", RUN_FILES)
def test_a_damaged_run_file_makes_its_run_missing_and_is_named(grid, tmp_path, name, damage):
    relative = f"runs/fixed/seed1/{name}"
    folder = _damaged_copy(grid, tmp_path, relative, damage)
    records = load_records(folder)
    status = records.summary.set_index(["variant", "seed"]).status
    assert status[("fixed", 1)] == "missing"
    # the other runs are intact
    assert (status.drop(("fixed", 1)) == "ok").all()
    if name == "status.json" and damage == "deleted":
        assert records.unreadable == []       # no record at all: missing, and counted so
        return
    assert len(records.unreadable) == 1, records.unreadable
    assert records.unreadable[0].startswith(str(folder / relative)), records.unreadable
    assert ("fixed", 1) not in records.scores and ("fixed", 1) not in records.selection_scores


@pytest.mark.parametrize("damage", [d for d in DAMAGES if d != "deleted"])
def test_a_damaged_baseline_is_named_and_left_out(grid, tmp_path, damage):
    folder = _damaged_copy(grid, tmp_path, "baseline_scores.csv", damage)
    records = load_records(folder)
    assert records.baseline_scores is None
    assert len(records.unreadable) == 1 and "baseline_scores.csv" in records.unreadable[0]
    assert (records.summary.status == "ok").all()


@pytest.mark.parametrize("damage", [d for d in DAMAGES if d != "deleted"])
def test_a_damaged_run_json_is_an_error_naming_it(grid, tmp_path, damage):
    folder = _damaged_copy(grid, tmp_path, "run.json", damage)
    with pytest.raises(HarnessInputError, match=r"run\.json"):
        load_records(folder)


@pytest.mark.parametrize("relative,damage", [
    ("runs/fixed/seed1/heldout_scores.csv", "deleted"),
    ("runs/original/seed0/steps.csv", "garbled"),
    ("runs/original/seed0/status.json", "not-utf8"),
    ("baseline_scores.csv", "empty"),
    ("run.json", "truncated"),
    ("summary.csv", "garbled"),
    ("steps.parquet", "garbled"),
])
def test_report_only_names_each_unreadable_file_without_a_traceback(grid, tmp_path, capsys,
                                                                   relative, damage):
    folder = _damaged_copy(grid, tmp_path, relative, damage)
    code = main(["--report-only", str(folder), "--no-progress"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if relative == "run.json":
        assert code == 2
        assert f"error: {folder / relative}: unreadable" in captured.err
        return
    assert code == 0, captured.err
    html = (folder / "index.html").read_text(encoding="utf-8")
    if relative in ("summary.csv", "steps.parquet"):      # rebuilt from the run folders
        assert "could not be read" not in html
        return
    assert f"warning: {folder / relative}: unreadable" in captured.err
    assert 'id="unreadable"' in html and str(folder / relative) in html
    if relative.startswith("runs/"):
        assert "its run counts as missing" in captured.err
        assert "This report covers an incomplete grid: 1 run(s) missing" in html
        by_variant = pd.read_csv(folder / "tables/summary_by_variant.csv")
        variant = relative.split("/")[1]
        assert int(by_variant.set_index("variant").loc[variant, "runs_ok"]) == 1

@pytest.mark.parametrize("name,content", [
    ("search.json", b'{"rounds": [{"candidates": 5}]}'),
    ("search.json", b"\xff not json"),
    ("sequential.json", b'{"looks": "x"}'),
])
def test_a_damaged_grid_wide_record_is_an_error_naming_it(grid, tmp_path, name, content):
    from harness.report import build_report
    folder = tmp_path / "damaged"
    shutil.copytree(grid, folder)
    (folder / name).write_bytes(content)
    with pytest.raises(HarnessInputError, match=name.replace(".", r"\.")):
        build_report(folder)


def test_a_damaged_benchmarks_table_leaves_its_section_out(grid, tmp_path):
    from harness.report import build_report
    folder = tmp_path / "damaged"
    shutil.copytree(grid, folder)
    (folder / "benchmarks.csv").write_bytes(b"\x00\x01,\"\n")
    assert build_report(folder).is_file()


def test_a_run_lost_to_the_machine_is_interrupted_in_the_report_not_a_crash(grid, tmp_path):
    import json
    folder = tmp_path / "lost"
    shutil.copytree(grid, folder)
    path = folder / "runs/fixed/seed1/status.json"
    status = json.loads(path.read_text())
    status.update(status="failed", failure="infrastructure",
                  message="worker died: signal 9 (SIGKILL)", final={})
    path.write_text(json.dumps(status))
    records = load_records(folder)
    by_run = records.summary.set_index(["variant", "seed"]).status
    assert by_run[("fixed", 1)] == "interrupted"
    assert records.unreadable == []
