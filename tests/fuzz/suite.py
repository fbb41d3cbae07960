"""Every family of generated inputs, by name: what the tests and ``scripts/fuzz_counts.py``
run, so that both count the same inputs."""

from __future__ import annotations

import importlib
from pathlib import Path

from tests.fuzz.runner import Tally, run_cases

#: family -> the module that generates its cases (imported when run: the TFRecord family
#: needs the optional ``tfrecord`` package).
FAMILIES = {
    "user-json": "tests.fuzz.user_json_cases",
    "aitz": "tests.fuzz.aitz_cases",
    "aitw-tfrecord": "tests.fuzz.tfrecord_cases",
    "file-system": "tests.fuzz.filesystem_cases",
    "cli": "tests.fuzz.cli_cases",
}
#: The data formats, each of which must be tried on at least this many inputs.
DATA_FORMATS = ("user-json", "aitz", "aitw-tfrecord")
MIN_INPUTS_PER_FORMAT = 300


def run_family(name: str, folder: Path) -> Tally:
    cases = importlib.import_module(FAMILIES[name]).cases()
    return run_cases(cases, Path(folder) / name)


__all__ = ["FAMILIES", "DATA_FORMATS", "MIN_INPUTS_PER_FORMAT", "run_family"]
