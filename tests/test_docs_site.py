"""The built documentation site in a real browser: the home page, a guide page, a gallery
page and an API page load with no console error and no request leaving the machine, and each
shows what it is for (a figure on the gallery page, the signature on the API page).

``make test`` builds the site first (``make docs``); run alone, the test skips when the site
has not been built, except in CI, where a missing site is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SITE = Path(
    os.environ.get("REGLAB_DOCS_HTML", Path(__file__).resolve().parents[1] / "docs/_build/html")
)
pytestmark = pytest.mark.browser

PAGES = {
    "index.html": "reglab",
    "guide/parameter.html": "Penalty on parameters",
    "auto_examples/plot_ridge_shrinkage.html": "Ridge shrinks each principal direction",
    "api/generated/reglab.linear.Lasso.html": "reglab.linear.Lasso",
}


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        if os.environ.get("CI"):
            pytest.fail(f"the documentation site is not built at {SITE}: run `make docs` first")
        pytest.skip(f"no built site at {SITE} (make docs)")
    return SITE


@pytest.mark.parametrize("relative, heading", list(PAGES.items()))
def test_docs_page_in_a_real_browser(site, chromium_browser, relative, heading):
    errors, outside = [], []
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(("file:", "data:")) else None,
    )
    page.goto((site / relative).as_uri())
    page.wait_for_load_state("load")
    assert heading in page.locator("h1").first.inner_text()
    if relative.startswith("auto_examples/"):
        image = page.locator("img.sphx-glr-single-img, img.sphx-glr-multi-img").first
        box = image.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
    if relative.startswith("api/"):
        assert page.locator("dl.py.class dt").first.is_visible()
    # the navigation reaches the other parts of the site
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    for target in ("guide/index.html", "api/index.html", "auto_examples/index.html"):
        assert any(h.split("#")[0].endswith("/" + target) for h in hrefs), target
    page.close()
    assert errors == [], errors
    assert outside == []


def test_every_internal_link_resolves(site):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "check_links", Path(__file__).resolve().parents[1] / "docs" / "check_links.py"
    )
    check_links = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_links)
    broken, checked, _ = check_links.broken_links(site)
    assert checked > 500
    assert broken == []
