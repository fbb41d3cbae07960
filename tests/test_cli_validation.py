"""Every option of the command line is checked when it is parsed (issue 23): a value outside
its range, NaN, an infinity, a negative or absurdly large number, or no number at all, is
refused at once with argparse's usage error (exit code 2) naming the option and its valid
range; the values at the ends of each range are accepted."""

from __future__ import annotations

import pytest

from harness.cli import (MAX_BATCH_SIZE, MAX_EPOCHS, MAX_FINALISTS, MAX_LENGTH, MAX_MINUTES,
                         MAX_PROCESSES, MAX_SCREEN_PIXELS, MAX_SEED, MAX_SEED_COUNT, MAX_STEPS,
                         MAX_SYNTHETIC_EPISODES, MAX_VOCABULARY, build_parser, parse_args)
from harness.data.tensors import QUERY_LEN

HUGE = "1" + "0" * 30
NOT_NUMBERS = ["abc", "", "1e", "0x10"]


def integers(low: int, high: int) -> tuple[str, list[str], list[str]]:
    """An integer option's range as its message writes it, values refused, values taken."""
    return (f"[{low}, {high}]", [str(low - 1), str(high + 1), HUGE, "2.5", "1e3", "nan",
                                 *NOT_NUMBERS], [str(low), str(high)])


def numbers(interval: str, refused: list[str], taken: list[str]):
    """A real-valued option's interval, values refused (NaN and the infinities always),
    values taken."""
    return interval, [*refused, "nan", "inf", "-inf", "1e400", *NOT_NUMBERS], taken


#: option -> (the valid range, as the message names it; values refused; values accepted)
OPTIONS = {
    "--seeds": (f"1 to {MAX_SEED_COUNT} distinct seeds, each in [0, {MAX_SEED}]",
                ["0", "-1", "1,1", "5-2", f"{MAX_SEED + 1},", f"0-{MAX_SEED_COUNT}",
                 str(MAX_SEED_COUNT + 1), HUGE, "1e3", "3.5", "nan", ",", *NOT_NUMBERS],
                ["1", str(MAX_SEED_COUNT), f"0-{MAX_SEED_COUNT - 1}", f"{MAX_SEED},",
                 f"0,{MAX_SEED}"]),
    "--budget": numbers(f"(0, {MAX_MINUTES}]", ["0", "-1", str(MAX_MINUTES * 2)],
                        ["1e-9", str(MAX_MINUTES)]),
    "--until-decided": numbers(f"(0, {MAX_MINUTES}]", ["0", "-0.5", "1e7"],
                               ["0.001", str(MAX_MINUTES)]),
    "--search-screen-seeds": integers(0, MAX_SEED_COUNT),
    "--search-finalists": integers(1, MAX_FINALISTS),
    "--steps": integers(1, MAX_STEPS),
    "--epochs": integers(1, MAX_EPOCHS),
    "--batch-size": integers(1, MAX_BATCH_SIZE),
    "--lr": numbers("(0, inf)", ["0", "-1e-3"], ["1e-12", "1e3"]),
    "--weight-decay": numbers("[0, inf)", ["-1e-9"], ["0", "10"]),
    "--eval-every": integers(0, MAX_STEPS),
    "--jobs": integers(0, MAX_PROCESSES),
    "--threads": integers(0, MAX_PROCESSES),
    "--synthetic-episodes": integers(1, MAX_SYNTHETIC_EPISODES),
    "--data-seed": integers(0, MAX_SEED),
    "--heldout-fraction": numbers("(0, 1)", ["0", "1", "-0.1", "1.5"], ["1e-9", "0.5"]),
    "--val-fraction": numbers("[0, 1)", ["1", "-1e-9"], ["0", "0.5"]),
    "--selection-fraction": numbers("[0, 1)", ["1", "-0.2"], ["0", "0.5"]),
    "--train-size": integers(0, MAX_STEPS),
    "--query-steps": integers(1, QUERY_LEN),
    "--max-length": integers(1, MAX_LENGTH),
    "--vocab-size": integers(1, MAX_VOCABULARY),
    "--equivalence-margin": numbers("[0, 1]", ["-0.01", "1.01"], ["0", "1"]),
    "--screen-size": (f"[1, {MAX_SCREEN_PIXELS}]",
                      ["0x0", "-1x5", "1080x0", f"{MAX_SCREEN_PIXELS + 1}x10", "1e3x5", "axb",
                       "1080", "1080x2400x3", "x", ""],
                      ["1x1", f"{MAX_SCREEN_PIXELS}x{MAX_SCREEN_PIXELS}", "1080X2400"]),
}

#: Options of a fixed set of words: the refusal lists the choices.
CHOICES = {"--device": "tpu", "--precision": "fp8", "--data-format": "csv", "--units": "px",
           "--synthetic-world": "huge", "--split-by": "app", "--search": "random",
           "--log": "wandb", "--multiplicity": "bonferroni", "--executor": "slurm"}

FOLDERS = ("--out", "--report-only", "--export-logs", "--export-data")

#: Values that one option's check must see alone: the three fractions are checked together.
ALONE = {"--heldout-fraction": ["--val-fraction", "0", "--selection-fraction", "0"],
         "--val-fraction": ["--heldout-fraction", "0.1", "--selection-fraction", "0"],
         "--selection-fraction": ["--heldout-fraction", "0.1", "--val-fraction", "0"]}


def refusal(argv, capsys) -> str:
    """The usage error that ``argv`` gets, after asserting it is one (exit code 2)."""
    with pytest.raises(SystemExit) as raised:
        parse_args(argv)
    assert raised.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


def _cases(kind: int):
    return [pytest.param(option, value, id=f"{option}={value[:24]}")
            for option, spec in OPTIONS.items() for value in spec[kind]]


def test_every_option_of_the_parser_is_checked_here():
    """A new option gets a row here (or is a flag, a name or a path read later)."""
    checked = set(OPTIONS) | set(CHOICES) | set(FOLDERS)
    free_text = {"--variants", "--variants-file", "--encoder", "--ray-address", "--data",
                 "--search-metric"}        # names and paths checked where they are used
    options = {o for a in build_parser()._actions for o in a.option_strings
               if o.startswith("--") and a.nargs != 0 and o != "--help"}
    assert options - checked - free_text == set()


@pytest.mark.parametrize("option, value", _cases(1))
def test_a_value_outside_the_range_is_refused_naming_option_and_range(option, value, capsys):
    line = refusal([f"{option}={value}", *ALONE.get(option, [])], capsys)
    assert f"argument {option}:" in line
    assert OPTIONS[option][0] in line, line


@pytest.mark.parametrize("option, value", _cases(2))
def test_the_ends_of_each_range_are_accepted(option, value):
    args = parse_args([f"{option}={value}", *ALONE.get(option, [])])
    assert getattr(args, option[2:].replace("-", "_")) is not None


@pytest.mark.parametrize("option, value", CHOICES.items())
def test_a_word_outside_the_choices_is_refused_listing_them(option, value, capsys):
    line = refusal([option, value], capsys)
    assert f"argument {option}: invalid choice: '{value}' (choose from" in line


@pytest.mark.parametrize("option", FOLDERS)
def test_a_file_where_a_folder_is_expected_is_refused(option, tmp_path, capsys):
    a_file = tmp_path / "results.csv"
    a_file.write_text("not a folder")
    line = refusal([option, str(a_file)], capsys)
    assert f"argument {option}: {a_file} is a file; expected a folder" in line
    assert refusal([option, ""], capsys).endswith("expected a folder, got an empty path")
    assert parse_args([option, str(tmp_path / "new")])       # a folder to be made is fine


def test_the_split_fractions_together_must_leave_a_training_split(capsys):
    line = refusal(["--heldout-fraction", "0.5", "--val-fraction", "0.3",
                    "--selection-fraction", "0.2"], capsys)
    assert ("--heldout-fraction 0.5 + --val-fraction 0.3 + --selection-fraction 0.2 = 1; "
            "expected a sum below 1") in line
    # a sum of 1 up to the floats' rounding leaves nothing either
    assert "= 1; expected a sum below 1" in refusal(
        ["--heldout-fraction", "0.7", "--val-fraction", "0.2", "--selection-fraction", "0.1"],
        capsys)
    args = parse_args(["--heldout-fraction", "0.5", "--val-fraction", "0.3",
                       "--selection-fraction", "0.19"])
    assert args.selection_fraction == 0.19


def test_defaults_pass_every_check():
    args = parse_args([])
    assert args.heldout_fraction + args.val_fraction + args.selection_fraction < 1


def test_seed_counts_are_refused_before_they_are_built(capsys):
    """A range of 10^30 seeds is refused at once, not after filling the memory."""
    line = refusal(["--seeds", f"0-{HUGE}"], capsys)
    assert "asks for more than 1000 seeds" in line
