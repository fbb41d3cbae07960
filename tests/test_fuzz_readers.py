"""The fuzz suite of the data readers (issue 23): for each format and for the file system,
generated bad inputs must each end in a clear error naming the file, or read correctly; no
traceback, no silent acceptance, no hang (10 s per input), no error that names nothing. The
generators and the classification are in tests/fuzz/; scripts/fuzz_counts.py writes the same
counts to docs/fuzz/counts.json for the README."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fuzz.runner import MUST_BE_ZERO
from tests.fuzz.suite import DATA_FORMATS, MIN_INPUTS_PER_FORMAT, run_family

COMMITTED = json.loads((Path(__file__).resolve().parents[1] / "docs" / "fuzz"
                        / "counts.json").read_text(encoding="utf-8"))


def _needs_tfrecord(family):
    if family in ("aitw-tfrecord", "file-system"):
        pytest.importorskip("tfrecord", reason="the optional 'tfrecord' package is not installed")


@pytest.mark.parametrize("family", [*DATA_FORMATS, "file-system"])
def test_every_generated_input_is_a_clear_error_or_read_correctly(family, tmp_path):
    _needs_tfrecord(family)
    tally = run_family(family, tmp_path)
    counts = tally.counts()
    assert {k: counts[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0), tally.report()
    if family in DATA_FORMATS:
        assert counts["inputs"] >= MIN_INPUTS_PER_FORMAT
    # both outcomes occur: the valid inputs among them still read
    assert counts["clear_error"] > 0 and counts["read"] > 0
    # the README quotes docs/fuzz/counts.json: it must be what this code gives
    assert counts == COMMITTED["families"][family], "rerun python scripts/fuzz_counts.py"
