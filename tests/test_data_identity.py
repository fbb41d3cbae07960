"""The data is part of a run's identity (issue 23, part 3): each run records a content
fingerprint of what was read and of the prepared splits; a rerun on changed data is refused,
naming the change, before anything is written, unless --force."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from harness.cli import main
from harness.data.fingerprint import data_identity
from harness.encoders import resolve_encoder
from harness.prepare import encode_dataset
from harness.results import describe_data_change
from tests.conftest import TINY_ENCODER, toy_dataset
from tests.test_runner import SETTINGS


def _argv(data, out, *extra):
    return ["--data", str(data), "--variants", "fixed", "--encoder", TINY_ENCODER,
            "--vocab-size", "200", "--max-length", "48", "--jobs", "1", "--steps", "2",
            "--seeds", "1", "--heldout-fraction", "0.3", "--val-fraction", "0",
            "--selection-fraction", "0.2", "--no-report", "--no-progress",
            "--out", str(out), *extra]


@pytest.fixture(scope="module")
def user_json(tmp_path_factory):
    """A folder of user JSON: the synthetic data set exported by the CLI."""
    folder = tmp_path_factory.mktemp("exported")
    assert main(["--synthetic-episodes", "40", "--export-data", str(folder)]) == 0
    return folder


def _copy(folder, tmp_path, name="data"):
    target = tmp_path / name
    shutil.copytree(folder, target)
    return target


def _episodes_file(folder):
    files = [p for p in folder.glob("*.json") if p.name != "dataset.json"]
    assert len(files) == 1, files
    return files[0]


def _status(out):
    return json.loads((out / "runs/fixed/seed0/status.json").read_text())


def test_each_run_and_run_json_record_the_data_identity(user_json, tmp_path):
    data = _copy(user_json, tmp_path)
    assert main(_argv(data, tmp_path / "out")) == 0
    recorded = _status(tmp_path / "out")["data"]
    run_json = json.loads((tmp_path / "out/run.json").read_text())
    assert run_json["data"]["fingerprint"] == recorded
    assert set(recorded) == {"fingerprint", "read", "splits", "vocabulary"}
    assert set(recorded["splits"]) == {"train", "val", "selection", "heldout"}
    assert recorded["read"]["steps"] == run_json["data"]["steps"]
    assert len(recorded["fingerprint"]) == 16


def test_removed_episodes_are_refused_naming_the_change_and_nothing_is_written(user_json,
                                                                                tmp_path, capsys):
    data, out = _copy(user_json, tmp_path), tmp_path / "out"
    assert main(_argv(data, out)) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    episodes_file = _episodes_file(data)
    episodes = json.loads(episodes_file.read_text())      # {episode id: [steps]}
    assert len(episodes) == 40
    kept = dict(list(episodes.items())[:-3])
    episodes_file.write_text(json.dumps(kept))
    capsys.readouterr()

    assert main(_argv(data, out)) == 2
    err = capsys.readouterr().err
    assert "holds a finished run trained on other data" in err
    removed = sum(len(v) for v in episodes.values()) - sum(len(v) for v in kept.values())
    assert f"{227 - removed} steps in 37 episodes read now, 227 in 40 then" in err, err
    assert "the training split has" in err
    assert "--force" in err
    assert "Traceback" not in err
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".harness.lock"}
    assert {p: b for p, b in before.items() if p.name != ".harness.lock"} == after

    assert main(_argv(data, out, "--force")) == 0
    assert _status(out)["data"]["read"]["episodes"] == 37


def test_the_same_counts_with_other_content_are_refused(user_json, tmp_path, capsys):
    data, out = _copy(user_json, tmp_path), tmp_path / "out"
    assert main(_argv(data, out)) == 0
    episodes_file = _episodes_file(data)
    text = episodes_file.read_text()
    # one typed text changed: same steps, same episodes, other content
    changed = text.replace('"Goal:', '"Goal: please', 1)
    assert changed != text
    episodes_file.write_text(changed)
    capsys.readouterr()
    assert main(_argv(data, out)) == 2
    err = capsys.readouterr().err
    assert "the same" in err and "with other content" in err


def test_unchanged_data_keeps_the_runs(user_json, tmp_path):
    data, out = _copy(user_json, tmp_path), tmp_path / "out"
    assert main(_argv(data, out)) == 0
    finished = _status(out)["finished"]
    assert main(_argv(data, out)) == 0
    assert _status(out)["finished"] == finished


def test_runs_recorded_before_the_fingerprint_are_refused_saying_why(user_json, tmp_path,
                                                                     capsys):
    data, out = _copy(user_json, tmp_path), tmp_path / "out"
    assert main(_argv(data, out)) == 0
    path = out / "runs/fixed/seed0/status.json"
    status = json.loads(path.read_text())
    del status["data"]
    path.write_text(json.dumps(status))
    capsys.readouterr()
    assert main(_argv(data, out)) == 2
    err = capsys.readouterr().err
    assert "recorded before runs recorded a fingerprint of their data" in err
    assert "--force" in err


def test_the_identity_is_a_function_of_the_content():
    spec = resolve_encoder(TINY_ENCODER)
    one = data_identity(encode_dataset(toy_dataset(), SETTINGS.data, spec))
    two = data_identity(encode_dataset(toy_dataset(), SETTINGS.data, spec))
    assert one == two
    dataset = toy_dataset()
    last = dataset.steps[-1]
    dataset.steps[-1] = dataclasses.replace(last, prompt=last.prompt + " changed")
    three = data_identity(encode_dataset(dataset, SETTINGS.data, spec))
    assert three["fingerprint"] != one["fingerprint"]
    assert describe_data_change(one, three) != "the data fingerprint differs"


def test_the_read_fingerprint_sees_a_change_no_split_uses():
    settings = dataclasses.replace(SETTINGS.data, train_size=20)
    spec = resolve_encoder(TINY_ENCODER)
    dataset = toy_dataset()
    base = encode_dataset(dataset, settings, spec)
    used = {e for name in ("train", "val", "selection", "heldout")
            for e in getattr(base, name).episodes}
    unused = [i for i, s in enumerate(dataset.steps) if s.episode not in used]
    assert unused, "train_size=20 must leave some episodes out of every split"
    step = dataset.steps[unused[0]]
    dataset.steps[unused[0]] = dataclasses.replace(step, prompt=step.prompt + " changed")
    changed = encode_dataset(dataset, settings, spec)
    one, two = data_identity(base), data_identity(changed)
    assert one["splits"] == two["splits"] and one["vocabulary"] == two["vocabulary"]
    assert one["read"]["sha256"] != two["read"]["sha256"]
    assert one["fingerprint"] != two["fingerprint"]
    assert describe_data_change(one, two) == (f"the same {one['read']['steps']} steps read, "
                                         "with other content")
