"""Axis values bound to code (ARCHITECTURE.md, "Adding an axis value"): the worked example of
adding a value, on a copy of the axis table, with the import-time check failing when only the
table or only the registry has it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.axes import AxisMismatch, AxisRegistry, check_all_axes
from harness.design import AXES, FIXED, ORIGINAL, design_class

ROOT = Path(__file__).resolve().parents[1]


def table_with(value):
    """A copy of the axis table whose ``warmup`` axis also has ``value``."""
    warmup = AXES["warmup"]
    return {**AXES, "warmup": dataclasses.replace(warmup, choices=(*warmup.choices, value))}


def test_every_axis_is_implemented_where_the_table_says():
    check_all_axes()


def test_a_value_in_table_and_registry_is_accepted_by_both():
    table = table_with("toy")
    registry = AxisRegistry("warmup", table)
    for value in table["warmup"].choices:
        registry.register(value, lambda optimizer, v=value: v)
    registry.check()
    assert registry["toy"](None) == "toy"
    Design = design_class(table)
    assert Design(warmup="toy").warmup == "toy"


def test_a_value_only_in_the_table_fails_the_check():
    registry = AxisRegistry("warmup", table_with("toy"))
    for value in AXES["warmup"].choices:
        registry.register(value, lambda optimizer: None)
    with pytest.raises(AxisMismatch, match=r"gives warmup the value\(s\) \['toy'\] but nothing "
                                           r"implements them"):
        registry.check()


def test_a_value_only_in_the_registry_fails_on_registration():
    registry = AxisRegistry("warmup")
    with pytest.raises(AxisMismatch, match="warmup='toy' is registered but the axis table"):
        registry.register("toy", lambda optimizer: None)


def test_unknown_axis_and_unknown_value_name_what_exists():
    with pytest.raises(AxisMismatch, match="no axis 'speed'"):
        AxisRegistry("speed")
    from harness.schedules import WARMUPS
    with pytest.raises(AxisMismatch, match=r"warmup='cosine' has no implementation; "
                                           r"implemented: \['none', 'epoch10', "
                                           r"'linear_steps:18'\]"):
        WARMUPS["cosine"]


def test_the_check_runs_when_the_implementing_module_is_imported(tmp_path):
    """Adding a value to the table alone makes importing the trainer fail, naming the module
    and the value: the error comes at start-up, not in the middle of a grid."""
    design = (ROOT / "harness" / "design.py").read_text(encoding="utf-8")
    old = 'Axis("warmup", ("none", "epoch10", "linear_steps:18"),'
    assert old in design
    patched = tmp_path / "harness"
    subprocess.run(["cp", "-r", str(ROOT / "harness"), str(patched)], check=True)
    (patched / "design.py").write_text(
        design.replace(old, 'Axis("warmup", ("none", "epoch10", "linear_steps:18", "toy"),'),
        encoding="utf-8")
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import harness.schedules
    """)
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "AxisMismatch: harness.schedules: the axis table gives warmup the value(s) " \
           "['toy'] but nothing implements them" in result.stderr


def test_design_fields_follow_the_table():
    assert [f.name for f in dataclasses.fields(ORIGINAL)] == list(AXES)
    # an axis that the review does not have is recorded only away from its original value
    reviewed = [a for a in AXES.values() if a.in_review]
    assert ORIGINAL.to_dict() == {a.name: a.original for a in reviewed}
    assert FIXED.to_dict() == {a.name: a.fixed for a in reviewed}
