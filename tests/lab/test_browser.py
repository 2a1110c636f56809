"""Load the report in Debian's Chromium through Playwright (never a downloaded browser)."""

import shutil

import pytest

from reglab.lab.claim import registry
from reglab.lab.report import render_report
from reglab.lab.runner import run_claims

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


def test_report_in_a_real_browser(store, tmp_path):
    run_claims(None, store=store, smoke=True, jobs=2)
    page_path = render_report(store, tmp_path / "report")
    errors, outside = [], []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
        )
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        ids = list(registry())
        for cid in ids:
            card = page.locator(f'article[data-claim="{cid}"]')
            assert card.count() == 1, cid
            box = card.bounding_box()
            assert box and box["width"] > 0 and box["height"] > 0, cid
            badge = card.locator(".badge")
            assert badge.inner_text() in {"PASS", "FAIL"}, cid
            figure = card.locator(".figure svg")
            assert figure.count() == 1, f"{cid} has no figure"
            fbox = figure.bounding_box()
            assert fbox and fbox["width"] > 50 and fbox["height"] > 50, cid
        assert page.locator("nav a").count() >= len(ids)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    assert outside == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
