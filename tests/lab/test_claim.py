import pytest

from reglab.lab.claim import (
    Claim,
    Rows,
    RunRow,
    UnknownClaimError,
    checks_summary,
    expand_grid,
    get_claim,
)
from reglab.lab.claim import registry as claim_registry
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
