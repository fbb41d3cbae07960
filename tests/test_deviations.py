"""The deviations table stays true to the code: each row holds a checksum of the function that
implements the harness's side, and the README's copy of the table is the generated one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.deviations import DEVIATIONS, checksum, markdown_table, resolve, stale_rows

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_implementing_function_is_unchanged_since_its_row_was_written():
    stale = stale_rows()
    assert not stale, "\n".join(
        f"{row.function} changed (checksum now {now}, row says {row.checksum}): update the "
        f"row's text in harness/deviations.py and its checksum in the same change"
        for row, now in stale)


def test_a_changed_function_is_caught(monkeypatch):
    import inspect
    row = DEVIATIONS[0]
    original = inspect.getsource
    monkeypatch.setattr(inspect, "getsource",
                        lambda obj: original(obj) + "\n# edited" if obj is resolve(row.function)
                        else original(obj))
    assert [r.function for r, _ in stale_rows()] == [row.function]
    assert checksum(row.function) != row.checksum


def test_the_three_literal_checks_have_rows():
    from harness.instruments.literal import CHECKS
    assert {row.check for row in DEVIATIONS if row.check} == set(CHECKS)


def test_readme_holds_the_generated_table():
    text = README.read_text(encoding="utf-8")
    match = re.search(r"<!-- deviations -->\n(.*?)\n<!-- /deviations -->", text, re.S)
    assert match, "README.md lacks the <!-- deviations --> block"
    assert match.group(1).strip() == markdown_table().strip(), (
        "README's deviations table is stale: paste `python -m harness.deviations`'s table")
