"""The report: numbers equal the records, intervals behave, rebuilds are identical, strings
are escaped, partial grids still produce a report."""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd
import pytest

import variants
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.design import ORIGINAL
from harness.encoders import resolve_encoder
from harness.report import build_report
from harness.report.stats import HELPS, HURTS, NO_EFFECT, estimate, t975, verdict
from harness.runner import run_grid
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset
from variants.registry import Variant

SETTINGS = Settings(data=DataSettings(vocab_size=200, max_length=32),
                    train=TrainSettings(steps=6, batch_size=8), encoder=TINY_ENCODER,
                    seeds=(0, 1, 2), device="cpu")
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    """A small finished grid: original, one ablation, and a variant with a hostile name."""
    out = tmp_path_factory.mktemp("grid")
    data = encode_dataset(toy_dataset(), SETTINGS.data, resolve_encoder(TINY_ENCODER))
    chosen = [variants.get_variant("original"), variants.get_variant("original+mlp_head"),
              Variant(EVIL, "a name that must show as text", ORIGINAL.replace(routing="predicted"))]
    run_grid(SETTINGS, chosen, out, show_progress=False, data=data)
    build_report(out)
    return out


def cells(page: str, variant: str, column: str) -> list[str]:
    """data-value of the summary-table cells of one variant's row and column."""
    row = re.search(rf'<tr data-variant="{re.escape(html.escape(variant))}">(.*?)</tr>', page, re.S)
    assert row, variant
    return re.findall(rf'data-column="{column}" data-value="([^"]*)"', row.group(1))


def test_page_numbers_equal_summary_csv(grid):
    page = (grid / "index.html").read_text()
    summary = pd.read_csv(grid / "summary.csv")
    for variant in ("original", "original+mlp_head"):
        ok = summary[(summary.variant == variant) & (summary.status == "ok")]
        for column in ("step_acc", "action_acc", "tap_acc"):
            (shown,) = cells(page, variant, column)
            expected = ok[column].dropna().mean()
            if pd.isna(expected):
                assert shown == ""
            else:
                assert float(shown) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    by_variant = pd.read_csv(grid / "tables" / "summary_by_variant.csv")
    assert set(by_variant.variant) == {"original", "original+mlp_head", EVIL}


def test_head_metrics_and_data_roles_are_shown(grid):
    """Each head's metric on its own rows, with its baseline, in the summary; the three roles
    of the data and the goal overlap among the run's facts."""
    page = (grid / "index.html").read_text()
    summary = pd.read_csv(grid / "summary.csv")
    baselines = json.loads((grid / "run.json").read_text())["baselines"]
    ok = summary[(summary.variant == "original") & (summary.status == "ok")]
    for column in ("head_text_f1", "head_tap_acc", "head_swipe_acc"):
        (shown,) = cells(page, "original", column)
        expected = ok[column].dropna().mean()
        assert (shown == "") if pd.isna(expected) else float(shown) == pytest.approx(expected)
        assert f'data-column="{column}" data-value=' in page.split('class="baseline"')[1]
        assert f"baseline/{column}" in baselines
    facts = html.unescape(page)
    assert "<dt>data roles</dt>" in facts and "confirmation: the held-out split" in facts
    assert re.search(r"<dt>goals</dt><dd>\d+ in training", facts)
    assert "selection (its own split)" in facts


def test_report_has_every_section_image_and_table(grid):
    page = (grid / "index.html").read_text()
    for anchor in ("run", "summary", "effects", "claims", "curves", "cost", "anomalies"):
        assert f'id="{anchor}"' in page
    for number in range(1, 8):
        assert f'id="claim-{number}"' in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert images and all((grid / src).stat().st_size > 0 for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', page)     # nothing from the network
    for name in ("effects.csv", "summary_by_variant.csv", "backward_agreement.csv"):
        assert (grid / "tables" / name).is_file()
    assert "mlp_head" in pd.read_csv(grid / "tables" / "effects.csv").fix.tolist()


def test_hostile_variant_name_is_escaped(grid):
    page = (grid / "index.html").read_text()
    assert EVIL not in page
    assert html.escape(EVIL) in page
    assert page.count("<script>") == 1        # the page's own sort script, nothing else


def test_a_rebuilt_report_equals_the_first(grid, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(grid, copy)
    build_report(copy)
    assert (copy / "index.html").read_text() == (grid / "index.html").read_text()
    for table in (grid / "tables").iterdir():
        assert (copy / "tables" / table.name).read_bytes() == table.read_bytes(), table.name
    for plot in (grid / "plots").iterdir():
        assert (copy / "plots" / plot.name).read_bytes() == plot.read_bytes(), plot.name


def test_a_partial_grid_still_gives_a_report_that_says_what_is_missing(grid, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(grid, partial)
    shutil.rmtree(partial / "runs" / "original+mlp_head" / "seed1")
    status = partial / "runs" / "original" / "seed2" / "status.json"
    record = json.loads(status.read_text())
    record.update(status="failed", message="RuntimeError: CUDA out of memory (injected)")
    status.write_text(json.dumps(record))
    page = build_report(partial).read_text()
    assert "1 run(s) missing" in page
    assert "CUDA out of memory (injected)" in page


def test_intervals_widen_with_fewer_seeds():
    # same mean and same sample spread, fewer seeds: a wider interval
    three, two = estimate([0.4, 0.5, 0.6]), estimate([0.5 - 0.1 / 2 ** 0.5, 0.5 + 0.1 / 2 ** 0.5])
    assert three.mean == pytest.approx(two.mean)
    assert (two.high - two.low) > (three.high - three.low)
    assert [t975(df) for df in (1, 2, 5, 30)] == sorted([t975(df) for df in (1, 2, 5, 30)],
                                                        reverse=True)
    one = estimate([0.5])
    assert one.mean == 0.5 and not one.has_interval


def test_verdict_rule():
    assert verdict(estimate([0.1, 0.12, 0.11]), ["ok"] * 3, ["ok"] * 3) == HELPS
    assert verdict(estimate([-0.1, -0.12, -0.11]), ["ok"] * 3, ["ok"] * 3) == HURTS
    assert verdict(estimate([0.1, -0.1, 0.0]), ["ok"] * 3, ["ok"] * 3) == NO_EFFECT
    assert verdict(estimate([0.3]), ["ok"], ["ok"]) == NO_EFFECT      # one seed: no interval
    assert verdict(estimate([]), ["failed"], ["ok"]) == "crashes"
    assert verdict(estimate([]), ["diverged"], ["ok"]) == "diverges"


def test_report_shows_the_reviews_code_as_written(grid):
    """The literal snippets ran on each run's own first batch (batch 8 here)."""
    page = (grid / "index.html").read_text()
    section = page[page.index('id="as-written"'):page.index('id="deviations"')]
    assert "RuntimeError: a Tensor with 8 elements cannot be converted to Scalar" in section
    assert "mat1 and mat2 shapes cannot be multiplied (8x32 and 288x256)" in section
    assert "not run: needs CUDA in 9 of 9 runs" in section
    table = pd.read_csv(grid / "tables" / "literal_checks.csv")
    assert set(table.snippet) == {"item_routing", "mlp_input_width", "isin_cpu_codes"}
    assert "deviations-table" in page and "screen_points" in page


def test_findings_open_the_report(grid):
    page = (grid / "index.html").read_text()
    assert page.index('id="findings"') < page.index('id="run"') < page.index('id="summary"')
    findings = pd.read_csv(grid / "tables" / "findings.csv")
    assert len(findings) and set(findings.columns) == {"section", "text", "link"}
    for link in findings.link:
        assert f'id="{link}"' in page
