import re

from reglab.lab.claim import registry
from reglab.lab.report import render_report
from reglab.lab.runner import run_claims


def test_empty_store_renders_every_card_as_not_run(store, tmp_path):
    page = render_report(store, tmp_path / "r").read_text()
    n = len(registry())
    assert len(re.findall(r'data-status="NOT RUN"', page)) == n
    assert f"{n} NOT RUN" in page


def test_report_is_rebuilt_from_the_store_alone(store, tmp_path, monkeypatch):
    run_claims(["l2-conditioning"], store=store, smoke=True)
    from reglab.lab.claims.parameter import l2_conditioning

    def no_rerun(self, params, seed):  # the report must never call run()
        raise AssertionError("report re-ran a claim")

    monkeypatch.setattr(l2_conditioning.L2Conditioning, "run", no_rerun)
    page = render_report(store, tmp_path / "r").read_text()
    card = page.split('data-claim="l2-conditioning"')[1].split("</article>")[0]
    assert 'data-status="PASS"' in page and "<svg" in card
    assert "kappa" in card and "Interview answer" in card
    # nothing loads from outside: no src/href to a remote address, no @import
    assert not re.search(r'(src|href)="(https?:)?//', page) and "@import" not in page
    assert "<metadata>" not in page
