"""The report opens in headless Chromium from disk: no console errors, no failed resource,
every image decoded with a non-zero size; a screenshot is saved for people to look at. At
1280 px every table either fits or scrolls in its own box that says so, the page itself
does not scroll sideways, and the effects table stands beside the forest plot.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright`` package (the
``test`` extra); skipped where either is missing, so a developer without them still runs the
rest of the suite.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import variants
from harness.config import DataSettings, Settings
from harness.prepare import encode_dataset
from harness.encoders import resolve_encoder
from harness.report import build_report
from harness.runner import run_grid
from harness.train import TrainSettings
from tests.conftest import TINY_ENCODER, toy_dataset

CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or shutil.which("chromium-browser"))
playwright = pytest.importorskip("playwright.sync_api")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CHROMIUM, reason="no chromium executable on PATH")]

# Flags from this machine's notes: no sandbox as root, no background network in a closed net.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


#: Width of a laptop screen: what every table must fit, or visibly scroll, at.
NARROW = 1280

# For each table: its id, whether it fits (its right edge inside the window and inside its
# scroll box), whether its box overflows and whether the box's hint is displayed.
TABLES_JS = """() => Array.from(document.querySelectorAll("table")).map(t => {
  const box = t.closest(".table-scroll");
  const wide = box ? box.closest(".wide") : null;
  const hint = wide ? wide.querySelector(".scroll-hint") : null;
  const right = (box || t).getBoundingClientRect().right;
  return {id: t.id, inWindow: right <= window.innerWidth + 0.5,
          boxed: !!box, overflows: box ? box.scrollWidth > box.clientWidth + 1 : false,
          marked: wide ? wide.classList.contains("overflows") : false,
          hint: hint ? getComputedStyle(hint).display !== "none" && hint.offsetHeight > 0 : false};
})"""


def table_layout(page) -> dict:
    """How the tables and the effects section lie at the page's current width."""
    effects = page.eval_on_selector("#effects-table", "t => t.getBoundingClientRect().toJSON()")
    plot = page.eval_on_selector(".beside-plot img", "i => i.getBoundingClientRect().toJSON()")
    return {"tables": page.evaluate(TABLES_JS),
            "page_width": page.evaluate("() => document.documentElement.scrollWidth"),
            "effects": effects, "plot": plot}


def open_report(index: Path, screenshot: Path) -> dict:
    """Load the page from disk; return console errors, failed requests and image sizes, and
    the tables' layout at 1280 px."""
    found = {"console": [], "failed": [], "bad_status": []}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        narrow = browser.new_page(viewport={"width": NARROW, "height": 900})
        narrow.on("pageerror", lambda e: found["console"].append(str(e)))
        narrow.goto(index.resolve().as_uri(), wait_until="load")
        found["narrow"] = table_layout(narrow)
        narrow.close()
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("console", lambda m: found["console"].append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: found["console"].append(str(e)))
        page.on("requestfailed", lambda r: found["failed"].append(r.url))
        page.on("response", lambda r: found["bad_status"].append(r.url) if r.status >= 400 else None)
        page.goto(index.resolve().as_uri(), wait_until="load")
        found["images"] = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight])")
        # sorting works: click the step-accuracy header twice, no error appears
        page.click("#summary-table th:nth-child(6)")
        page.click("#summary-table th:nth-child(6)")
        page.screenshot(path=str(screenshot), full_page=False)
        browser.close()
    return found


def check_page(index: Path, screenshot: Path) -> None:
    found = open_report(index, screenshot)
    assert found["console"] == [], found["console"]
    assert found["failed"] == [] and found["bad_status"] == [], found
    assert found["images"], "the report has no images"
    for src, width, height in found["images"]:
        assert width > 0 and height > 0, src
    assert screenshot.stat().st_size > 10_000
    check_tables_at_1280(found["narrow"])


def check_tables_at_1280(layout: dict) -> None:
    assert layout["page_width"] <= NARROW, "the page itself scrolls sideways"
    assert layout["tables"], "no table"
    for table in layout["tables"]:
        assert table["boxed"], f"table {table['id']!r} is not in a scroll box"
        assert table["inWindow"], f"table {table['id']!r} runs off the window"
        if table["overflows"]:
            assert table["marked"] and table["hint"], (
                f"table {table['id']!r} is wider than its box and does not say it scrolls")
        else:
            assert not table["hint"], f"table {table['id']!r} fits but shows the scroll hint"
    effects, plot = layout["effects"], layout["plot"]
    # beside: the plot starts to the right of the table and level with it
    assert plot["left"] >= effects["right"] and plot["top"] < effects["bottom"], layout


def test_report_opens_cleanly_in_chromium(tmp_path):
    settings = Settings(data=DataSettings(vocab_size=200, max_length=32),
                        train=TrainSettings(steps=6, batch_size=8), encoder=TINY_ENCODER,
                        seeds=(0, 1), device="cpu")
    data = encode_dataset(toy_dataset(), settings.data, resolve_encoder(TINY_ENCODER))
    chosen = variants.select_variants("original,fixed,original+routing,fixed-routing")
    run_grid(settings, chosen, tmp_path, show_progress=False, data=data)
    check_page(build_report(tmp_path), tmp_path / "screenshot.png")


@pytest.mark.skipif(not Path("reports/ablation/index.html").is_file(),
                    reason="no report of `run_ablation.py --variants all` in reports/ablation")
def test_the_default_run_report_opens_cleanly():
    """The real report of `python run_ablation.py --variants all` (made by .ci/run first)."""
    index = Path("reports/ablation/index.html")
    check_page(index, index.parent / "screenshot.png")
