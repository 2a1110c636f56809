import pytest

from reglab.lab.claim import (
    FAIL,
    OUTCOMES,
    PASS,
    Claim,
    Rows,
    RunRow,
    UnknownClaimError,
    Verdict,
    checks_summary,
    empirical_verdict,
    exact_verdict,
    expand_grid,
    get_claim,
)
from reglab.lab.claim import registry as claim_registry
from reglab.lab.protocol import Protocol
from reglab.lab.stats import (
    CONDITIONAL,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    decide,
    paired_effect,
)
from reglab.taxonomy import Kind


def test_expand_grid_is_the_cartesian_product_in_order():
    grid = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert len(grid) == 6
    assert grid[0] == {"a": 1, "b": "x"} and grid[-1] == {"a": 2, "b": "z"}
    assert expand_grid([{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]
    assert expand_grid({}) == [{}]


def test_expand_grid_rejects_a_scalar_value():
    with pytest.raises(TypeError, match=r"grid\['a'\]=3 must be a list"):
        expand_grid({"a": 3})


def test_registry_finds_claims_under_lab_claims():
    claims = claim_registry()
    assert "l2-conditioning" in claims and "l2-gaussian-map" in claims
    for cid, claim in claims.items():
        assert claim.id == cid
        assert isinstance(claim.kind, Kind)
        assert claim.statement and claim.interview, cid
        assert claim.param_grid(smoke=True), cid


def test_unknown_claim_lists_the_closest_ids():
    with pytest.raises(
        UnknownClaimError, match=r"unknown claim id 'l2-conditionin'.*l2-conditioning"
    ):
        get_claim("l2-conditionin")


def test_duplicate_claim_id_is_refused():
    with pytest.raises(ValueError, match=r"claim id 'l2-conditioning' is registered twice"):

        class Dup(Claim):  # noqa: F841 - defining it is the test
            id = "l2-conditioning"
            kind = Kind.PARAMETER


def test_rows_helpers():
    rows = Rows(
        [
            RunRow("c", {"lam": 1.0}, 1, 0, {"m": 1.0}),
            RunRow("c", {"lam": 0.1}, 2, 0, {"m": 3.0}),
            RunRow("c", {"lam": 1.0}, 3, 1, {"m": 2.0}),
        ]
    )
    assert rows.param_values("lam") == [0.1, 1.0]
    assert rows.where(lam=1.0).mean("m") == 1.5
    assert list(rows.by("lam")) == [0.1, 1.0]
    with pytest.raises(KeyError, match="metric 'nope'"):
        rows.values("nope")


LAB_CLAIMS = {
    "parameter": [
        "l2-shrinks-proportionally",
        "l1-exact-zeros",
        "l1-l2-geometry",
        "l2-gaussian-map",
        "l1-laplace-map",
        "ridge-fixes-collinearity",
        "l2-conditioning",
        "l1-unstable-on-correlated",
        "enet-groups-correlated",
        "enet-interpolates",
        "weight-decay-vs-l2",
    ],
    "function": ["sam-flatter-minima", "spectral-norm-lipschitz"],
    "perturbation": [
        "dropout-inference-scaling",
        "dropout-geometric-mean",
        "dropout-hurts-underfitting",
        "dropout-is-adaptive-l2",
        "input-noise-is-tikhonov",
        "augmentation-enforces-invariance",
        "mixup-calibration",
        "label-smoothing-bounded-logits",
    ],
    "training": [
        "early-stopping-is-ridge",
        "early-stopping-restore-best",
        "sgd-noise-flat-minima",
        "min-norm-implicit-bias",
        "double-descent",
    ],
    "architecture": ["conv-equivariance", "pooling-invariance"],
    "diagnostics": ["bias-variance-u-curve", "bias-variance-identity"],
}


def test_every_claim_of_the_lab_issue_is_registered_under_its_kind():
    claims = claim_registry()
    for kind, ids in LAB_CLAIMS.items():
        for cid in ids:
            assert cid in claims, cid
            assert claims[cid].kind is Kind(kind), cid
            # one module per claim, in the folder of its kind
            assert type(claims[cid]).__module__.startswith(f"reglab.lab.claims.{kind}."), cid


def test_checks_summary_names_the_failed_checks_or_counts_the_passed():
    assert checks_summary({"a holds": True, "b holds": True}) == "all 2 checks hold"
    assert checks_summary({"a": True, "b": False, "c": False}) == "FAILED: b; c"


# -- verdicts -------------------------------------------------------------------------------
P = Protocol(
    version=1,
    metric="err",
    effect="paired difference",
    smallest_effect=0.01,
    direction="decrease",
    analysis="paired t over seeds",
    seeds=5,
)


def test_exact_verdict_turns_at_the_tolerance():
    ok = exact_verdict(1e-10, 1e-9, what="the closed form matches the solver")
    bug = exact_verdict(1.1e-9, 1e-9, what="the closed form matches the solver")
    assert (ok.outcome, ok.passed, ok.kind) == (PASS, True, "exact")
    assert (bug.outcome, bug.passed) == (FAIL, False)
    assert bug.sentence.startswith("Bug:") and "1.1e-09 > tolerance 1e-09" in bug.sentence
    assert exact_verdict(float("nan"), 1.0, what="x").outcome == FAIL
    assert ok.numbers["max_error"] == 1e-10 and ok.tolerance == 1e-9
    with pytest.raises(ValueError, match="tolerance=0.0"):
        exact_verdict(0.0, 0.0, what="x")


def test_empirical_verdict_carries_protocol_effects_and_sentence():
    e = paired_effect([0.10, 0.12, 0.11], [0.13, 0.15, 0.13], name="err: a - b")
    outcome = decide(e, P.direction, P.smallest_effect)
    v = empirical_verdict(P, [e], outcome, sentence="Supported: a lowers the error.")
    assert v.outcome == SUPPORTED and v.passed and v.kind == "empirical" and not v.legacy
    assert v.effects[0].smallest == P.smallest_effect  # filled from the protocol
    assert v.protocol_id == P.id()
    for outcome, passed in [(CONDITIONAL, True), (INCONCLUSIVE, False), (NOT_SUPPORTED, False)]:
        assert empirical_verdict(P, e, outcome, sentence="s").passed is passed
    with pytest.raises(ValueError, match="outcome='PASS'"):
        empirical_verdict(P, [e], "PASS", sentence="s")
    with pytest.raises(ValueError, match="effects is empty"):
        empirical_verdict(P, [], SUPPORTED, sentence="s")
    with pytest.raises(ValueError, match="sentence=''"):
        empirical_verdict(P, [e], SUPPORTED, sentence="")


def test_legacy_verdict_still_works_and_is_marked():
    v = Verdict(True, "all 3 checks hold", None, {"x": 1.0})
    assert v.legacy and v.outcome == PASS and v.kind == "legacy"
    assert v.sentence == "The first-wave check held; not yet judged with effect sizes."
    passed, evidence, figure = v
    assert (passed, evidence, figure) == (True, "all 3 checks hold", None)
    v.passed = False  # the runner normalises passed; a legacy verdict follows
    assert v.outcome == FAIL
    new = Verdict(outcome=SUPPORTED, sentence="s")
    new.passed = True  # consistent: no-op
    with pytest.raises(ValueError, match="contradicts outcome='SUPPORTED'"):
        new.passed = False
    with pytest.raises(ValueError, match="outcome='MAYBE'"):
        Verdict(outcome="MAYBE")
    assert set(OUTCOMES) == {PASS, FAIL, SUPPORTED, CONDITIONAL, NOT_SUPPORTED, INCONCLUSIVE}


def test_empirical_verdict_fills_the_smallest_effect_of_primary_and_regime_effects_only():
    primary = paired_effect([1.0, 2.0, 3.0], [1.5, 2.5, 3.6], name="err")
    regime = paired_effect([1.0, 2.0, 3.0], [1.1, 2.2, 3.1], name="err", regime="small n")
    side = paired_effect([10.0, 20.0, 30.0], [9.0, 21.0, 28.0], name="mse, other units")
    v = empirical_verdict(P, [primary, regime, side], SUPPORTED, sentence="s")
    assert [e.smallest for e in v.effects] == [P.smallest_effect, P.smallest_effect, None]
    with pytest.raises(TypeError, match="must be reglab.lab.stats.Effect"):
        empirical_verdict(P, [primary, 0.3], SUPPORTED, sentence="s")
