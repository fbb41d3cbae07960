"""Generated command lines, parsed in-process by the CLI's own parser and checks
(``harness.cli.parse_args``), not a process each.

Every value here is outside its option's valid range (or not a value of its type at all), so
the parser must refuse it: argparse's usage error (exit code 2) naming the option. A list the
parser accepts is a silent acceptance. The options whose values are names or paths checked
where they are used (--variants, --encoder, --data, ...) go through ``harness.cli.main``
instead, into the case's own output folder, and must end in one error line naming the option
or the value (exit code 2). A few valid lists check that the parser still takes what it
should."""

from __future__ import annotations

import random
from pathlib import Path

from harness.cli import MAX_SEED, MAX_SEED_COUNT, build_parser, main, parse_args
from tests.fuzz.runner import ERROR, READ, Attempt, Case

FAMILY = "cli"

NOT_NUMBERS = ["abc", "", " ", "1e", "0x10", "½"]
HUGE = "1" + "0" * 30
DIGITS_5000 = "9" * 5000
#: what every real-valued option refuses, whatever its range
NOT_FINITE = ["nan", "inf", "-inf", "1e400", "NaN", "-nan"]
#: what every integer option refuses, whatever its range
NOT_INTEGERS = ["2.5", "1e3", "nan", "inf", HUGE, DIGITS_5000]

#: option -> values outside its range (besides NOT_NUMBERS, and NOT_FINITE or NOT_INTEGERS).
BAD = {
    "--seeds": [HUGE, "-1", "0", "1,1", "5-2", "1e3", "3.5", "0,-4", DIGITS_5000, "nan",
                str(MAX_SEED_COUNT + 1), f"0-{HUGE}", f"{MAX_SEED + 1},", ",", "1-2-3"],
    "--budget": ["-1", "0", "1e7"],
    "--until-decided": ["-1", "0", "1e7", "-0.0"],
    "--lr": ["-1", "0", "-1e-3"],
    "--weight-decay": ["-1", "-1e-12"],
    "--heldout-fraction": ["1.5", "0", "1", "-0.1"],
    "--val-fraction": ["-0.1", "1", "1.5"],
    "--selection-fraction": ["-0.1", "1", "2"],
    "--train-size": ["-5", "-1", "100000001"],
    "--eval-every": ["-1", "-100", "100000001"],
    "--equivalence-margin": ["-1", "1.5", "-0.001"],
    "--steps": ["0", "-1", "100000001"],
    "--epochs": ["0", "-3", "100001"],
    "--batch-size": ["0", "-1", "65537"],
    "--query-steps": ["0", "-2", "33", "1000"],
    "--max-length": ["0", "-1", "8193"],
    "--vocab-size": ["0", "-1", "1000001"],
    "--synthetic-episodes": ["0", "-1", "1000001"],
    "--data-seed": ["-1", str(MAX_SEED + 1)],
    "--search-finalists": ["0", "-1", "1001"],
    "--search-screen-seeds": ["-1", "1001"],
    "--jobs": ["-1", "-8", "1025"],
    "--threads": ["-1", "1025"],
    "--screen-size": ["0x0", "-1x5", "1e3x5", "axb", "1080", "1080x2400x3", "x", "1080x-2400",
                      "1080 x 2400x", "100001x10", f"{HUGE}x{HUGE}", ""],
    "--search-metric": ["bleu", "", "weighted:", "weighted:step_acc=nan",
                        "weighted:step_acc=inf", "weighted:step_acc=0.5",
                        "weighted:step_acc=2,text_f1=-1", "weighted:step_acc=0.5,step_acc=0.5",
                        "weighted:step_acc", "weighted:step_acc=1e400"],
    "--data-format": ["csv", "AITZ", ""],
    "--units": ["px", "Pixel", ""],
    "--precision": ["fp8", ""],
    "--device": ["tpu", ""],
    "--synthetic-world": ["huge"],
    "--split-by": ["app", ""],
    "--search": ["random"],
    "--log": ["wandb"],
    "--executor": ["slurm", ""],
    "--multiplicity": ["bonferroni", ""],
}
REAL = {"--budget", "--until-decided", "--lr", "--weight-decay", "--heldout-fraction",
        "--val-fraction", "--selection-fraction", "--equivalence-margin"}
INTEGER = {"--seeds", "--train-size", "--eval-every", "--steps", "--epochs", "--batch-size",
           "--query-steps", "--max-length", "--vocab-size", "--synthetic-episodes",
           "--data-seed", "--search-finalists", "--search-screen-seeds", "--jobs", "--threads"}
#: flags take no value: one given is refused
FLAGS = ["--list", "--quick", "--bucket-by-length", "--no-trim", "--skip-invalid", "--force",
         "--no-report", "--no-progress"]
#: options that take a folder: a file there is refused
FOLDERS = ["--out", "--report-only", "--export-logs", "--export-data"]
#: fractions each in range whose sum leaves no training split (the last is 1 only up to
#: the floats' rounding): heldout, val, selection
TOGETHER = [("0.5", "0.3", "0.2"), ("0.9", "0.05", "0.05"), ("0.98", "0", "0.5"),
            ("0.4", "0.4", "0.4"), ("0.7", "0.2", "0.1")]
#: options whose values are names or paths, checked by ``main`` where they are used:
#: (argv, the text the error must name)
LATER = [
    (["--variants", "nope"], "nope"),
    (["--variants", "fixed-*x"], "fixed-*x"),
    (["--variants", ","], "--variants"),
    (["--variants-file", "{folder}/missing.py"], "--variants-file"),
    (["--variants-file", "{folder}"], "--variants-file"),
    (["--encoder", "nope"], "--encoder"),
    (["--encoder", "{folder}"], "--encoder"),
    (["--data", "{folder}/missing.json"], "--data"),
]

#: options no case gives a bad value, and why
UNTRIED = {"--help": "prints the help", "--ray-address": "read by Ray's own client only when "
           "--executor ray connects to a cluster, which a test machine has none of"}

VALID = [[], ["--quick"], ["--lr", "1e-3"], ["--heldout-fraction", "0.2"], ["--seeds", "0,4,7"],
         ["--seeds", "2-5"], ["--train-size", "0"], ["--val-fraction", "0"],
         ["--screen-size", "1080x2400"], ["--budget", "30"], ["--eval-every", "0"],
         ["--equivalence-margin", "0.02"], ["--steps", "60", "--batch-size", "8"],
         ["--until-decided", "30"], ["--selection-fraction", "0"],
         ["--search-metric", "weighted:step_acc=0.7,text_f1=0.3"],
         ["--seeds", str(MAX_SEED_COUNT)], ["--data-seed", str(MAX_SEED)],
         ["--query-steps", "32"], ["--equivalence-margin", "1"], ["--jobs", "0", "--threads", "0"],
         ["--heldout-fraction", "0.5", "--val-fraction", "0.3", "--selection-fraction", "0.19"],
         ["--search", "greedy", "--search-screen-seeds", "0", "--search-finalists", "1"]]


def _parse(argv):
    return lambda: parse_args(argv)


def _case(name: str, argv: list[str], blame: str, expect: str = ERROR) -> Case:
    def make(folder: Path) -> Attempt:
        return Attempt(_parse(argv), blame, lambda args: None)
    return Case(FAMILY, name, expect, make)


def _names_a_file(option: str) -> Case:
    def make(folder: Path) -> Attempt:
        path = folder / "a-file"
        path.write_text("not a folder")
        return Attempt(_parse([option, str(path)]), option, lambda args: None)
    return Case(FAMILY, f"{option} names a file", ERROR, make)


def _checked_later(argv: list[str], blame: str) -> Case:
    """``main`` on ``argv`` (paths under the case's folder), writing into that folder; its
    exit code raised as SystemExit, as the runner classifies argparse's."""
    def make(folder: Path) -> Attempt:
        given = [word.format(folder=folder) for word in argv]

        def call():
            code = main([*given, "--out", str(folder / "out"), "--steps", "1", "--seeds", "1",
                         "--no-report", "--no-progress"])
            if code:
                raise SystemExit(code)
        return Attempt(call, blame, lambda result: None)
    return Case(FAMILY, f"main: {' '.join(argv)}", ERROR, make)


def _values(option: str) -> list[str]:
    extra = (NOT_FINITE + NOT_NUMBERS if option in REAL
             else NOT_INTEGERS + NOT_NUMBERS if option in INTEGER else [])
    return list(dict.fromkeys(BAD[option] + extra))


def cases(seed: int = 23) -> list[Case]:
    rng = random.Random(seed)
    out = []
    for option in BAD:
        for value in _values(option):
            out.append(_case(f"{option} {value!r:.30}", [f"{option}={value}"], option))
    for i in range(40):   # a valid prefix, then one bad option: the bad one is still named
        option = rng.choice(sorted(BAD))
        value = rng.choice(BAD[option])
        prefix = rng.choice(VALID)
        out.append(_case(f"random #{i}: {' '.join(prefix)} {option}={value!r:.20}",
                         [*prefix, f"{option}={value}"], option))
    out.extend(_case(f"{flag} given a value", [f"{flag}=yes"], flag) for flag in FLAGS)
    out.extend(_names_a_file(option) for option in FOLDERS)
    for held, val, selection in TOGETHER:
        out.append(_case(f"fractions {held} + {val} + {selection}",
                         ["--heldout-fraction", held, "--val-fraction", val,
                          "--selection-fraction", selection], "--selection-fraction"))
    out.extend(_checked_later(argv, blame) for argv, blame in LATER)
    for i, argv in enumerate(VALID):
        out.append(_case(f"valid #{i}: {' '.join(argv)}", argv, "", expect=READ))
    return out


def options_covered() -> set[str]:
    """Every option these cases give a bad value to (a test compares it with the parser's)."""
    later = {word for argv, _ in LATER for word in argv if word.startswith("--")}
    return set(BAD) | set(FLAGS) | set(FOLDERS) | later


def parser_options() -> set[str]:
    return {o for action in build_parser()._actions for o in action.option_strings
            if o.startswith("--")}


__all__ = ["cases", "FAMILY", "VALID", "UNTRIED", "options_covered", "parser_options"]
