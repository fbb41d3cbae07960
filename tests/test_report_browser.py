"""The report opens in headless Chromium from disk: no console errors, no failed resource,
every image decoded with a non-zero size; a screenshot is saved for people to look at.

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


def open_report(index: Path, screenshot: Path) -> dict:
    """Load the page from disk; return console errors, failed requests and image sizes."""
    found = {"console": [], "failed": [], "bad_status": []}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
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
