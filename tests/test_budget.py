"""--budget MINUTES: seeds chosen from the measured first round."""

from __future__ import annotations

from harness.budget import estimated_report_seconds, seeds_that_fit


def test_seeds_that_fit_counts_whole_rounds():
    assert seeds_that_fit(15 * 60, 120, 60) == 7       # (900 - 60) / 120 = 7.0
    assert seeds_that_fit(15 * 60, 121, 60) == 6
    assert seeds_that_fit(60, 120, 10) == 1              # never fewer than the round already run
    assert seeds_that_fit(10_000, 1, 0, max_seeds=9) == 9
    assert seeds_that_fit(100, 0, 0, max_seeds=4) == 4


def test_report_allowance_grows_with_runs():
    assert estimated_report_seconds(100) > estimated_report_seconds(20) > 0
