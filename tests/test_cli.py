"""Command-line parsing: the forms of --seeds and --screen-size, and what a bad value says."""

from __future__ import annotations

import argparse

import pytest

from harness.cli import parse_screen, parse_seeds


@pytest.mark.parametrize("text, seeds", [("3", (0, 1, 2)), ("0,4,7", (0, 4, 7)),
                                         ("2-5", (2, 3, 4, 5)), ("3,", (3,)), ("1", (0,))])
def test_seed_forms(text, seeds):
    assert parse_seeds(text) == seeds


def test_zero_seeds_explains_that_a_single_number_is_a_count():
    with pytest.raises(argparse.ArgumentTypeError, match="a single number is a count"):
        parse_seeds("0")


@pytest.mark.parametrize("text, message", [("1,1", "distinct"), ("x", "expected a count")])
def test_bad_seeds(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse_seeds(text)


def test_screen_size():
    assert parse_screen("1080x2400") == (1080, 2400)
    with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
        parse_screen("1080")


def _small_run(tmp_path, *extra):
    from harness.cli import main
    from tests.conftest import TINY_ENCODER
    return main(["--variants", "fixed", "--encoder", TINY_ENCODER, "--synthetic-episodes", "30",
                 "--vocab-size", "200", "--max-length", "48", "--jobs", "1",
                 "--no-report", "--no-progress", "--out", str(tmp_path), *extra])


def test_budget_picks_the_seeds_that_fit_and_says_so(tmp_path, capsys):
    import json
    # a budget far below one round: the first round is kept, nothing more
    assert _small_run(tmp_path / "small", "--steps", "2", "--budget", "0.001", "--seeds", "4") == 0
    err = capsys.readouterr().err
    assert "budget 0.001 min: the first round (1 variants x seed 0) took" in err
    assert "so 1 seed(s) fit: 0 (fewer than 2 seeds: no intervals)" in err
    assert json.loads((tmp_path / "small" / "run.json").read_text())["settings"]["seeds"] == [0]
    # a generous budget: capped by --seeds
    assert _small_run(tmp_path / "big", "--steps", "2", "--budget", "60", "--seeds", "3") == 0
    assert "so 3 seed(s) fit: 0, 1, 2" in capsys.readouterr().err
    timing = json.loads((tmp_path / "big" / "timing.json").read_text())
    assert timing["grid_seconds"] > 0 and timing["cores"] >= 1 and timing["cpu_model"]


def test_default_length_is_twenty_full_epochs(tmp_path):
    import json
    assert _small_run(tmp_path, "--epochs", "2", "--seeds", "1,") == 0
    run = json.loads((tmp_path / "run.json").read_text())
    steps_per_epoch = -(-run["data"]["train_steps"] // 16)
    assert run["settings"]["train"]["steps"] == 2 * steps_per_epoch
    from harness.config import DEFAULT_EPOCHS
    assert DEFAULT_EPOCHS == 20
