"""The report's effects table as a reader reads it (harness/report/tables.py): the columns a
person compares fixes by, numbers formatted as in the README, and each verdict's metric,
split and multiplicity adjustment, said once in the header when every row shares it."""

from __future__ import annotations

import math

import pandas as pd

from harness.report.tables import DIFFERENCE, effects_for_readers, fmt_interval


def effects(**extra) -> pd.DataFrame:
    """Two rows of an effects frame as ``analysis.effects_table`` makes it."""
    rows = [{"fix": "warmup", "axis": "warmup", "direction": "fixed - fix", "verdict": "hurts",
             "pairs": 11, "d_step_acc": -0.5274, "d_step_acc_low": -0.6001,
             "d_step_acc_high": -0.4499, "d_tap_acc": 0.0884, "d_tap_acc_low": 0.0356,
             "d_tap_acc_high": 0.1404, "step_time_ratio": 1.0012, "d_peak_memory_mb": 0.0,
             "verdict_detail": "a long sentence"},
            {"fix": "projections", "axis": "projections", "direction": "original + fix",
             "verdict": "undecided", "pairs": 1, "d_step_acc": 0.0121,
             "d_step_acc_low": math.nan, "d_step_acc_high": math.nan, "d_tap_acc": math.nan,
             "d_tap_acc_low": math.nan, "d_tap_acc_high": math.nan,
             "step_time_ratio": math.nan, "d_peak_memory_mb": 1.0, "verdict_detail": "x"}]
    frame = pd.DataFrame(rows)
    for column, values in extra.items():
        frame[column] = values
    return frame


def texts(table) -> list[list[str]]:
    return [[cell.text for cell in row] for row in table.rows]


def test_the_readers_table_of_the_effects():
    table = effects_for_readers(effects())
    assert table.columns == ["fix", "direction", "verdict on step accuracy", DIFFERENCE,
                             "seeds", "cost (step time ratio)"]
    assert DIFFERENCE == "difference [unadjusted 95% interval]"
    assert texts(table) == [
        ["warmup", "fixed - fix", "hurts", "-0.527 [-0.600, -0.450]", "11", "1.00x"],
        ["projections", "original + fix", "undecided", "+0.012 [n/a]", "1", "n/a"]]
    # sorting reads the numbers, not the text
    assert [c.value for c in table.rows[0][3:]] == [-0.5274, 11, 1.0012]
    assert table.rows[1][5].value is None
    assert table.rows[0][2].css == "hurts"


def test_what_every_row_shares_is_said_once_in_the_header():
    frame = effects(verdict=["helps", "undecided"], verdict_unadjusted=["helps", "helps"],
                    multiplicity=["bh"] * 2, split=["held-out", "held-out"])
    table = effects_for_readers(frame)
    assert table.columns == [
        "fix", "direction",
        "verdict on step accuracy, held-out split (Benjamini-Hochberg-adjusted)",
        DIFFERENCE, "seeds", "cost (step time ratio)"]
    # a verdict the adjustment changed says what it was before
    assert [row[2] for row in texts(table)] == ["helps", "undecided (unadjusted: helps)"]
    assert table.rows[1][2].css == "undecided"


def test_what_differs_between_rows_is_said_in_the_row():
    frame = effects(metric=["tap_acc", "step_acc"], verdict=["helps", "undecided"],
                    multiplicity=["holm"] * 2, split=["held-out", "selection"])
    table = effects_for_readers(frame)
    assert table.columns == ["fix", "direction", "verdict (Holm-adjusted)", "judged on",
                             DIFFERENCE, "seeds", "cost (step time ratio)"]
    assert texts(table)[0][2:5] == ["helps on tap accuracy", "held-out",
                                    "+0.088 [+0.036, +0.140]"]
    assert texts(table)[1][2:5] == ["undecided on step accuracy", "selection", "+0.012 [n/a]"]


def test_an_empty_frame_and_interval_formats():
    assert effects_for_readers(effects().iloc[0:0]).empty
    assert fmt_interval(-0.0001, -0.0002, 0.0003) == "+0.000 [+0.000, +0.000]"
    assert fmt_interval(math.nan, 0.1, 0.2) == "n/a"
    # the README's effects table writes them the same way
    assert fmt_interval(0.0884, 0.0331, 0.1426) == "+0.088 [+0.033, +0.143]"


def test_the_placebo_outside_every_family_is_marked_not_adjusted():
    frame = effects(verdict=["hurts", "undecided"], verdict_unadjusted=["hurts", "undecided"],
                    multiplicity=["bh", "none"])
    table = effects_for_readers(frame)
    assert table.columns[2] == "verdict on step accuracy (Benjamini-Hochberg-adjusted)"
    assert [row[2] for row in texts(table)] == ["hurts", "undecided (not adjusted)"]
    # with no procedure at all, the verdicts are the unadjusted ones, and say nothing more
    plain = effects_for_readers(effects(verdict_unadjusted=["hurts", "undecided"],
                                        multiplicity=["none", "none"]))
    assert plain.columns[2] == "verdict on step accuracy"
    assert [row[2] for row in texts(plain)] == ["hurts", "undecided"]


def test_an_until_decided_grid_shows_the_deciding_look():
    table = effects_for_readers(effects(decided_at_look=[2.0, math.nan]))
    assert "decided at look" in table.columns
    column = table.columns.index("decided at look")
    assert [row[column] for row in texts(table)] == ["2", "not decided"]
    assert effects_for_readers(effects(decided_at_look=[math.nan] * 2)).columns == \
        effects_for_readers(effects()).columns
