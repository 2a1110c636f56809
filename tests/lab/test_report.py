import re

import numpy as np
import pytest

from reglab.lab import claim as claim_module
from reglab.lab.claim import Claim, Verdict, empirical_verdict, exact_verdict, registry
from reglab.lab.protocol import Protocol
from reglab.lab.report import render_report
from reglab.lab.report.science import ForestRow, forest_plot, verdict_lines
from reglab.lab.runner import run_claims
from reglab.lab.stats import Effect, decide, paired_effect
from reglab.taxonomy import Kind


def test_empty_store_renders_every_card_as_not_run(store, tmp_path):
    page = render_report(store, tmp_path / "r").read_text()
    n = len(registry())
    assert len(re.findall(r'data-status="NOT RUN"', page)) == n
    assert f"{n} claims: {n} NOT RUN" in page
    assert "No empirical claim has a judged effect" in page


def test_report_is_rebuilt_from_the_store_alone(store, tmp_path, monkeypatch):
    run_claims(["l2-conditioning"], store=store, smoke=True)
    from reglab.lab.claims.parameter import l2_conditioning

    def no_rerun(self, params, seed):  # the report must never call run()
        raise AssertionError("report re-ran a claim")

    monkeypatch.setattr(l2_conditioning.L2Conditioning, "run", no_rerun)
    page = render_report(store, tmp_path / "r").read_text()
    card = page.split('data-claim="l2-conditioning"')[1].split("</article>")[0]
    assert 'data-status="NOT RUN"' not in card.split(">")[0] and "<svg" in card
    assert "Interview answer" in card and '<details class="evidence">' in card
    # nothing loads from outside: no src/href to a remote address, no @import
    assert not re.search(r'(src|href)="(https?:)?//', page) and "@import" not in page
    assert "<metadata>" not in page


PROTOCOL = Protocol(
    version=2,
    metric="err",
    effect="paired difference: error with the regulariser - without",
    smallest_effect=0.05,
    direction="decrease",
    analysis="paired t over seeds",
    seeds=5,
    regimes={"small n": "helps", "large n": "does not matter"},
    pilot_sd=0.03,
    history=("v1: one n only; the regime sweep was added before any v2 run",),
)


def _figure():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    return fig


class _Empirical(Claim):
    kind = Kind.PERTURBATION
    statement = "The regulariser lowers the error when data are scarce."
    interview = "It helps at small n."
    section = "1"
    grid = smoke = {"n": [10, 1000]}
    seeds = smoke_seeds = 5
    protocol = PROTOCOL

    def run(self, params, seed):
        rng = np.random.default_rng(seed)
        gain = 0.2 if params["n"] == 10 else 0.0
        base = 0.3 + 0.01 * rng.standard_normal()
        return {"err": base - gain + 0.01 * rng.standard_normal(), "err_plain": base}

    def verdict(self, rows):
        effects = {}
        for n, sub in rows.by("n").items():
            regime = "small n" if n == 10 else "large n"
            effects[regime] = paired_effect(
                sub.values("err"), sub.values("err_plain"), name="error", regime=regime
            )
        from reglab.lab.stats import decide_conditional

        outcome = decide_conditional(effects, {"small n": True, "large n": False}, "decrease", 0.05)
        e = effects["small n"]
        return empirical_verdict(
            PROTOCOL,
            list(effects.values()),
            outcome,
            sentence=f"Holds only when n is small: error {e.estimate:.3f} [{e.low:.3f}, "
            f"{e.high:.3f}] <script>x</script>",
            figure=_figure(),
            evidence="per regime details",
        )


class _Exact(Claim):
    kind = Kind.PARAMETER
    statement = "An identity."
    interview = "It is exact."
    section = "2"
    result_kind = "exact"
    grid = smoke = {"a": [1]}

    def run(self, params, seed):
        return {"err": 1e-15}

    def verdict(self, rows):
        return exact_verdict(
            rows.values("err").max(), 1e-12, what="the closed form", figure=_figure()
        )


class _Legacy(_Exact):
    result_kind = "empirical"

    def verdict(self, rows):
        return Verdict(True, "all 2 checks hold", _figure())


@pytest.fixture
def science_claims():
    made = {}
    for cid, base in [("zz-emp", _Empirical), ("zz-exact", _Exact), ("zz-legacy", _Legacy)]:
        made[cid] = type(f"T{len(made)}", (base,), {"id": cid})
    yield made
    for cid in made:
        claim_module._REGISTRY.pop(cid, None)


def test_report_shows_forest_sentence_numbers_protocol_and_sections(
    store, tmp_path, science_claims
):
    run_claims(list(science_claims), store=store, smoke=True)
    page = render_report(store, tmp_path / "r").read_text()
    # the forest plot opens the page, before any card
    forest = page.index('id="forest"')
    assert forest < page.index("<article") and 'data-figure="forest"' in page
    assert "2 effects" in page
    emp = page.index('id="section-empirical"')
    exact = page.index('id="section-exact"')
    card = page.split('data-claim="zz-emp"')[1].split("</article>")[0]
    assert emp < page.index('data-claim="zz-emp"') < exact < page.index('data-claim="zz-exact"')
    assert 'data-status="CONDITIONAL"' in page
    assert "Holds only when n is small" in card and "&lt;script&gt;" in card  # escaped
    assert "95% CI [" in card and "5 seeds" in card and "[small n]" in card
    assert PROTOCOL.id() in card and "v1: one n only" in card and "current" in card
    assert "detects" in card  # the minimum detectable effect from the pilot sd
    assert '<details class="evidence"><summary>Evidence</summary>' in card
    xcard = page.split('data-claim="zz-exact"')[1].split("</article>")[0]
    assert "max error 1e-15 &lt;= tolerance 1e-12" in xcard and 'data-status="PASS"' in page
    lcard = page.split('data-claim="zz-legacy"')[1].split("</article>")[0]
    assert "legacy verdict" in lcard
    assert "1 legacy verdicts" in page


def test_verdict_lines_are_what_show_and_the_drill_print(store, science_claims):
    run_claims(["zz-emp", "zz-exact"], store=store, smoke=True)
    from reglab.lab.runner import compute_verdict

    emp = science_claims["zz-emp"]()
    lines = verdict_lines(emp, compute_verdict(emp, store))
    assert lines[0].startswith("CONDITIONAL: Holds only when n is small")
    assert any(line.startswith("error [small n]:") and "95% CI" in line for line in lines)
    ex = science_claims["zz-exact"]()
    assert verdict_lines(ex, compute_verdict(ex, store))[1] == "max error 1e-15 <= tolerance 1e-12"
    assert verdict_lines(ex, None) == ["NOT RUN"]


def test_forest_plot_puts_effects_in_units_of_the_smallest_effect():
    import matplotlib.pyplot as plt

    rows = [
        ForestRow("a", Effect("a", -0.1, -0.15, -0.05, 5, smallest=0.05), "decrease", "SUPPORTED"),
        ForestRow("b", Effect("b", 2.0, -50.0, 60.0, 5, smallest=1.0), "increase", "INCONCLUSIVE"),
    ]
    fig = forest_plot(rows)
    ax = fig.axes[0]
    whisker = ax.lines[0]  # row "a": [-0.15, -0.05] / 0.05, sign flipped -> [1, 3]
    assert list(whisker.get_xdata()) == pytest.approx([1.0, 3.0])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    # a whisker longer than the axis ends in arrows at the clipped limits
    markers = [line.get_marker() for line in ax.lines]
    assert "<" in markers and ">" in markers
    plt.close(fig)
    assert forest_plot([]) is None
    assert decide(rows[0].effect, "decrease", 0.05) == "SUPPORTED"


def test_show_prints_the_same_sentence_numbers_and_protocol(tmp_path, science_claims):
    from typer.testing import CliRunner

    from reglab.lab.cli import app
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import compute_verdict

    path = tmp_path / "s.sqlite"
    run_claims(["zz-emp"], store=ResultStore(path), smoke=True)
    res = CliRunner().invoke(app, ["show", "zz-emp", "--store", str(path)])
    assert res.exit_code == 0, res.output
    claim = science_claims["zz-emp"]()
    lines = verdict_lines(claim, compute_verdict(claim, ResultStore(path)))
    out = " ".join(res.output.split())
    for line in lines:  # the bracketed CIs survive: store text is not Rich markup
        assert " ".join(line.split()) in out, line
    assert "<script>x</script>" in out
    assert f"protocol: {PROTOCOL.id()}" in out and "earlier version: v1: one n only" in out


def test_forest_rows_primary_and_regime_effects_with_unique_labels():
    from reglab.lab.report.science import forest_rows

    claim = _Empirical()
    e = [
        Effect("log lambda_max", -0.2, -0.3, -0.1, 5, smallest=0.1, regime="clean"),
        Effect("log eps-sharpness", -0.2, -0.3, -0.1, 5, smallest=0.1, regime="clean"),
        Effect("test MSE (other units)", 3.0, 2.0, 4.0, 5),
    ]
    v = empirical_verdict(PROTOCOL, e, "SUPPORTED", sentence="s")
    rows = forest_rows(claim, v)
    assert [r.label for r in rows] == [
        f"{claim.id}: log lambda_max [clean]",
        f"{claim.id}: log eps-sharpness [clean]",
    ]
    assert forest_rows(claim, Verdict(True, "legacy")) == []


def test_a_verdict_that_raises_is_reported_as_a_bug(store, tmp_path):
    class Broken(_Exact):
        id = "zz-broken"

        def verdict(self, rows):
            raise ZeroDivisionError("oops")

    try:
        run_claims(["zz-broken"], store=store, smoke=True)
        from reglab.lab.runner import compute_verdict

        v = compute_verdict(Broken(), store)
        assert v.outcome == "FAIL" and not v.legacy
        assert v.sentence == "Bug: the verdict code raised ZeroDivisionError: oops"
        assert "Traceback" in v.evidence
    finally:
        claim_module._REGISTRY.pop("zz-broken", None)


def test_results_table_is_regenerated_from_the_store(store, tmp_path, science_claims):
    from reglab.lab.report.markdown import END, START, results_table, update_readme

    run_claims(["zz-emp", "zz-exact"], store=store, smoke=True)
    table = results_table(store)
    emp = next(line for line in table.splitlines() if line.startswith("| `zz-emp`"))
    assert "| empirical | CONDITIONAL |" in emp and "5 seeds; smallest effect 0.05" in emp
    assert "Holds only when n is small" in emp
    ex = next(line for line in table.splitlines() if line.startswith("| `zz-exact`"))
    assert "| exact | PASS | max error 1e-15 <= tolerance 1e-12 |" in ex
    assert "NOT RUN" in table and f"{len(registry())} claims:" in table
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{START}\nold table\n{END}\nrest\n")
    text = update_readme(readme, store)
    assert "old table" not in text and text.startswith("intro\n") and text.endswith("rest\n")
    assert table in text
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="has no .* block to regenerate"):
        update_readme(readme, store)


def test_show_lists_the_protocol_versions_stored(tmp_path, science_claims):
    from typer.testing import CliRunner

    from reglab.lab.cli import app
    from reglab.lab.results import ResultStore

    path = tmp_path / "s.sqlite"
    run_claims(["zz-emp"], store=ResultStore(path), smoke=True)
    res = CliRunner().invoke(app, ["show", "zz-emp", "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert f"{PROTOCOL.id()} · smoke grid · 10 runs ok · current" in res.output
    res = CliRunner().invoke(app, ["run", "zz-emp", "--smoke", "--scale", "--store", str(path)])
    assert res.exit_code == 2 and "either --smoke or --scale" in res.output
