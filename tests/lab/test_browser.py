"""Load the report in Debian's Chromium through Playwright (never a downloaded browser)."""

import shutil

import pytest

from reglab.lab.claim import OUTCOMES, registry
from reglab.lab.report import render_report
from reglab.lab.runner import run_claims

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed"),
]


@pytest.mark.xdist_group("smoke-store")
def test_report_in_a_real_browser(smoke_store, chromium_browser, tmp_path):
    page_path = render_report(smoke_store, tmp_path / "report")
    errors, outside = [], []
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
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
        assert badge.inner_text() in OUTCOMES, cid
        figure = card.locator(".figure svg")
        assert figure.count() == 1, f"{cid} has no figure"
        fbox = figure.bounding_box()
        assert fbox and fbox["width"] > 50 and fbox["height"] > 50, cid
    assert page.locator("nav a").count() >= len(ids)
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    page.close()
    assert errors == []
    assert outside == []
    assert (tmp_path / "report.png").stat().st_size > 10_000


def _phone_claims():
    """Throw-away claims with an empirical (CONDITIONAL), an exact and a legacy verdict."""
    import numpy as np

    from reglab.lab.claim import Claim, Verdict, empirical_verdict, exact_verdict
    from reglab.lab.protocol import Protocol
    from reglab.lab.stats import decide_conditional, paired_effect
    from reglab.taxonomy import Kind

    protocol = Protocol(
        version=2,
        metric="err",
        effect="paired difference: test error with a long-named regulariser - without it",
        smallest_effect=0.05,
        direction="decrease",
        analysis="paired t over seeds per regime, intersection-union",
        seeds=5,
        regimes={"small-n-regime-with-a-long-name": "helps", "large-n": "no effect"},
        pilot_sd=0.03,
        history=("v1: " + "a long disclosed change without spaces_" * 4,),
    )

    def figure():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(9, 3))  # wider than a phone on purpose
        ax.plot([0, 1], [0, 1], label="a fairly long legend label")
        ax.legend()
        return fig

    class Emp(Claim):
        id = "zz-phone-emp"
        kind = Kind.PERTURBATION
        statement = "A regulariser lowers the error when data are scarce."
        interview = "It helps at small n."
        section = "1"
        grid = smoke = {"n": [10, 1000]}
        seeds = smoke_seeds = 5

        def run(self, params, seed):
            rng = np.random.default_rng(seed)
            base = 0.3 + 0.01 * rng.standard_normal()
            gain = 0.2 if params["n"] == 10 else 0.0
            return {"err": base - gain + 0.01 * rng.standard_normal(), "plain": base}

        def verdict(self, rows):
            names = {10: "small-n-regime-with-a-long-name", 1000: "large-n"}
            eff = {
                names[n]: paired_effect(
                    sub.values("err"), sub.values("plain"), name="test error", regime=names[n]
                )
                for n, sub in rows.by("n").items()
            }
            pred = {names[10]: True, names[1000]: False}
            outcome = decide_conditional(eff, pred, "decrease", 0.05)
            return empirical_verdict(
                protocol,
                list(eff.values()),
                outcome,
                sentence="Holds only when n is small: " + "x" * 120,
                figure=figure(),
                evidence="long_evidence_line_" * 30,
            )

    Emp.protocol = protocol

    class Exact(Claim):
        id = "zz-phone-exact"
        kind = Kind.PARAMETER
        statement = "An identity."
        interview = "Exact."
        section = "2"
        result_kind = "exact"
        grid = smoke = {"a": [1]}

        def run(self, params, seed):
            return {"err": 1e-15}

        def verdict(self, rows):
            return exact_verdict(1e-15, 1e-12, what="the closed form", figure=figure())

    class Legacy(Exact):
        id = "zz-phone-legacy"
        result_kind = "empirical"

        def verdict(self, rows):
            return Verdict(True, "all 2 checks hold", figure())

    return [Emp.id, Exact.id, Legacy.id]


def test_report_reads_on_a_390px_phone(store, chromium_browser, tmp_path):
    from reglab.lab import claim as claim_module

    ids = _phone_claims()
    try:
        run_claims([*ids, "l2-conditioning"], store=store, smoke=True)
        page_path = render_report(store, tmp_path / "report")
    finally:
        for cid in ids:
            claim_module._REGISTRY.pop(cid, None)
    page = chromium_browser.new_page(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    width = "document.documentElement.scrollWidth"
    assert page.evaluate(width) <= 390
    assert page.evaluate("document.body.scrollWidth") <= 390
    # the page opens with the forest plot; the contents list comes after the cards
    assert page.locator("#forest").bounding_box()["y"] < 1200
    assert page.locator("nav").bounding_box()["y"] > page.locator("main").bounding_box()["y"]
    # every figure (the forest plot first) is scaled into the screen width
    figures = page.locator(".figure svg")
    assert figures.count() >= 4
    for i in range(figures.count()):
        box = figures.nth(i).bounding_box()
        assert box and 0 < box["x"] and box["x"] + box["width"] <= 390, i
    # a tap enlarges a figure in an overlay that scrolls by itself, and a tap closes it
    forest = page.locator('[data-figure="forest"] label.zoom')
    small = forest.locator("svg").bounding_box()["width"]
    forest.click()
    big = forest.locator("svg").bounding_box()["width"]
    assert big > 1.5 * small and big > 390
    assert page.evaluate(width) <= 390
    forest.click()
    assert forest.locator("svg").bounding_box()["width"] == small
    page.screenshot(path=str(tmp_path / "phone.png"))  # the first screen, for a look
    page.close()
