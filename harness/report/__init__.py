"""The comparison report: records -> analysis (pandas) -> index.html, plots/*.png, tables/*.csv."""

from harness.report.html import build_report

__all__ = ["build_report"]
