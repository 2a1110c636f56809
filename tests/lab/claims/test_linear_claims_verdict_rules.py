"""Each verdict rule of the linear / parameter-norm / diagnostics claims turns at its threshold.

The rows are the claims' smoke runs (for the fields the figures draw) with the metrics the
verdict reads overwritten by synthetic values: a clear effect and no effect for the empirical
claims, an error on each side of its tolerance for the exact checks. No test here asserts the
verdict of a real run (SCIENCE.md, "Tests"): every asserted outcome follows from the numbers
written into the rows.
"""

from __future__ import annotations

import copy

import matplotlib
import numpy as np
import pytest

from reglab.lab.claim import Rows, RunRow, get_claim
from reglab.lab.claims._linear_data import exact_checks_verdict
from reglab.lab.runner import derive_seed

matplotlib.use("Agg")

N_REPS = 6


@pytest.fixture(scope="module")
def smoke_rows():
    """The smoke grid's runs of a claim, one seed per point (cached per module)."""
    cache: dict[str, list[RunRow]] = {}

    def get(claim_id: str) -> list[RunRow]:
        if claim_id not in cache:
            claim = get_claim(claim_id)
            rows = []
            for params in claim.param_grid(smoke=True):
                seed = derive_seed(claim_id, params, 0)
                rows.append(RunRow(claim_id, params, seed, 0, claim.run(dict(params), seed)))
            cache[claim_id] = rows
        return cache[claim_id]

    return get


def _rows(base: list[RunRow], change) -> Rows:
    """``N_REPS`` repetitions of every base row, ``change(metrics, params, rep)`` applied."""
    out = []
    for r in base:
        for rep in range(N_REPS):
            m = copy.deepcopy(r.metrics)
            change(m, r.params, rep)
            out.append(RunRow(r.claim_id, r.params, r.seed + rep, rep, m))
    return Rows(out)


def _jitter(rep: int, scale: float = 0.01) -> float:
    # deterministic, mean-zero spread so that every interval has a width
    return scale * (rep - (N_REPS - 1) / 2) / N_REPS


def _outcome(claim_id: str, rows: Rows) -> str:
    import matplotlib.pyplot as plt

    verdict = get_claim(claim_id).verdict(rows)
    plt.close("all")
    assert verdict.sentence.strip() and verdict.evidence.strip()
    if verdict.kind == "empirical":
        assert verdict.protocol is get_claim(claim_id).protocol
        assert verdict.effects
    return verdict.outcome


# --------------------------------------------------------------------- empirical claims


def _enet(effect):
    def change(m, params, rep):
        m["whole_groups_1"] = 0.0 + abs(_jitter(rep))
        for q in (0.9, 0.7, 0.5, 0.2):
            m[f"whole_groups_{q:g}"] = m["whole_groups_1"] + effect + _jitter(rep, 0.05)

    return change


def _l2(shares):
    def change(m, params, rep):
        m["violation_share"] = max(0.0, shares[params["design"]] + _jitter(rep))

    return change


def _gain(small, large):
    def change(m, params, rep):
        m["gain_n60"] = small + _jitter(rep, 0.05)
        m["gain_n1000"] = large + _jitter(rep, 0.02)

    return change


def _support(low, high):
    def change(m, params, rep):
        base = high if params["theta"] == 2.0 else low
        m["success_rate"] = min(1.0, max(0.0, base + _jitter(rep, 0.1)))

    return change


def _set(name, value, scale=0.01):
    def change(m, params, rep):
        m[name] = value + _jitter(rep, scale)

    return change


def _flip(by_design):
    def change(m, params, rep):
        m["lasso_flip_rate"] = max(0.0, by_design[params["design"]] + _jitter(rep, 0.05))

    return change


def _u_curve(shape):
    def change(m, params, rep):
        k = len(m["test_error"])
        x = np.linspace(-1.0, 1.0, k)
        curve = 2.0 + x**2 if shape == "u" else 2.0 + x
        m["test_error"] = (curve * (1 + _jitter(rep))).tolist()
        # the reported step-wise checks divide by a standard error over seeds: give it a width
        for key in ("bias2", "variance", "bias2_plugin"):
            m[key] = (np.asarray(m[key]) * (1 + _jitter(rep))).tolist()

    return change


def _dd(peak):
    def change(m, params, rep):
        k = len(m["risk"])
        curve = np.ones(k)
        if peak:
            curve[k // 2] = 100.0
        m["risk"] = (curve * (1 + _jitter(rep))).tolist()
        m["ridge_risk"] = np.ones(k).tolist()

    return change


EMPIRICAL = {
    "enet-groups-correlated": [(_enet(0.9), "SUPPORTED"), (_enet(0.0), "NOT SUPPORTED")],
    "l2-shrinks-proportionally": [
        (
            _l2({"orthogonal": 0.0, "independent": 0.2, "correlated": 0.5, "diabetes": 0.7}),
            "CONDITIONAL",
        ),
        (
            _l2({"orthogonal": 0.0, "independent": 0.0, "correlated": 0.0, "diabetes": 0.0}),
            "SUPPORTED",
        ),
        (
            _l2({"orthogonal": 0.3, "independent": 0.3, "correlated": 0.5, "diabetes": 0.7}),
            "NOT SUPPORTED",
        ),
    ],
    "regularization-gain-vs-n": [
        (_gain(0.7, 0.0), "SUPPORTED"),
        (_gain(0.0, 0.0), "NOT SUPPORTED"),
    ],
    "lasso-support-recovery": [
        (_support(0.0, 0.9), "SUPPORTED"),
        (_support(0.4, 0.4), "NOT SUPPORTED"),
    ],
    "adamw-vs-adam-l2": [
        (_set("rho_gap", -0.5), "SUPPORTED"),
        (_set("rho_gap", 0.0), "NOT SUPPORTED"),
    ],
    "ridge-fixes-collinearity": [
        (_set("log_var_ratio", 4.0, 0.2), "SUPPORTED"),
        (_set("log_var_ratio", 0.0, 0.05), "NOT SUPPORTED"),
    ],
    "l1-unstable-on-correlated": [
        (_flip({"synthetic": 0.3, "breast_cancer": 0.3}), "SUPPORTED"),
        (_flip({"synthetic": 0.3, "breast_cancer": 0.0}), "NOT SUPPORTED"),
    ],
    "l1-l2-geometry": [
        (_set("axis_gap", 0.4, 0.05), "SUPPORTED"),
        # a real but small gap: significant, yet "often" (>= 0.2) is excluded
        (_set("axis_gap", 0.1, 0.02), "NOT SUPPORTED"),
    ],
    "bias-variance-u-curve": [(_u_curve("u"), "SUPPORTED"), (_u_curve("rising"), "NOT SUPPORTED")],
    "double-descent": [(_dd(True), "SUPPORTED"), (_dd(False), "NOT SUPPORTED")],
}


@pytest.mark.parametrize(
    ("claim_id", "case"),
    [(cid, i) for cid, cases in EMPIRICAL.items() for i in range(len(cases))],
)
def test_empirical_verdict_turns_with_the_effect(claim_id, case, smoke_rows):
    change, expected = EMPIRICAL[claim_id][case]
    rows = _rows(smoke_rows(claim_id), change)
    assert _outcome(claim_id, rows) == expected


def test_l2_shrinks_regime_rule():
    from reglab.lab.claims.parameter.l2_shrinks_proportionally import regime_outcome

    predicted = {"orthogonal": True, "correlated": False}
    s, ns, inc = "SUPPORTED", "NOT SUPPORTED", "INCONCLUSIVE"
    # outcomes are decisions on the *violation* share: NOT SUPPORTED = the sentence holds
    assert regime_outcome({"orthogonal": ns, "correlated": s}, predicted) == "CONDITIONAL"
    assert regime_outcome({"orthogonal": ns, "correlated": ns}, predicted) == "SUPPORTED"
    assert regime_outcome({"orthogonal": s, "correlated": s}, predicted) == "NOT SUPPORTED"
    assert regime_outcome({"orthogonal": s, "correlated": ns}, predicted) == "NOT SUPPORTED"
    assert regime_outcome({"orthogonal": ns, "correlated": inc}, predicted) == "INCONCLUSIVE"


# ----------------------------------------------------------------------- exact checks


def _metric(name, value):
    def change(m, params, rep):
        m[name] = value

    return change


def _scaled(name, ref, factor):
    def change(m, params, rep):
        m[name] = factor * m[ref]

    return change


def _spectral_norms(value):
    def change(m, params, rep):
        m["sn_norms_converged"] = [value] * len(m["sn_norms_converged"])

    return change


# claim -> [(check name as printed, good change, bad change)]
EXACT = {
    "l2-conditioning": [
        (
            "spectrum shifted by lambda",
            _metric("max_shift_error", 0.0),
            _metric("max_shift_error", 1e-6),
        ),
    ],
    "l2-gaussian-map": [
        (
            "numerical MAP = ridge",
            _metric("rel_diff_map", 1e-9),
            _metric("rel_diff_map", 1e-3),
        ),
        (
            "posterior mean = ridge",
            _metric("rel_diff_posterior_mean", 0.0),
            _metric("rel_diff_posterior_mean", 1e-6),
        ),
    ],
    "l1-laplace-map": [
        (
            "MAP - lasso distance",
            _scaled("dist", "certified_bound", 0.5),
            _scaled("dist", "certified_bound", 2.0),
        ),
    ],
    "l1-exact-zeros": [
        (
            "zero coefficients",
            _metric("kkt_excess_zero", -1e-3),
            _metric("kkt_excess_zero", 1e-3),
        ),
        (
            "active coefficients",
            _metric("kkt_excess_active", -1e-3),
            _metric("kkt_excess_active", 1e-3),
        ),
    ],
    "enet-interpolates": [
        ("l1_ratio 0 = ridge", _metric("ridge_excess", 0.5), _metric("ridge_excess", 1.5)),
    ],
    "min-norm-implicit-bias": [
        ("GD from 0", _metric("rel_error_zero", 1e-12), _metric("rel_error_zero", 1e-6)),
        ("null-space drift", _metric("null_drift", 0.0), _metric("null_drift", 1e-8)),
        (
            "distinct interpolant",
            _metric("distance_between", 1.0),
            _metric("distance_between", 0.0),
        ),
    ],
    "early-stopping-is-ridge": [
        ("risk(flow, T)", _metric("max_ratio_gf", 1.5), _metric("max_ratio_gf", 1.7)),
        ("GD iterates", _metric("iterate_rel_error", 0.0), _metric("iterate_rel_error", 1e-6)),
        ("Monte-Carlo", _metric("max_abs_z", 0.0), _metric("max_abs_z", 4.5)),
    ],
    "bias-variance-identity": [
        ("|bias^2 + variance", _metric("z", 0.0), _metric("z", 4.5)),
        ("|bias^2 + variance", _metric("z", 0.0), _metric("z", -4.5)),
    ],
    "spectral-norm-lipschitz": [
        (
            "max_x ||J(x)||",
            _scaled("sn_max_jacobian", "sn_product", 0.5),
            _scaled("sn_max_jacobian", "sn_product", 1.1),
        ),
        ("|sigma - 1|", _spectral_norms(1.0), _spectral_norms(1.01)),
    ],
    "weight-decay-vs-l2": [
        ("SGD: weight_decay", _metric("sgd_wd_vs_l2", 0.0), _metric("sgd_wd_vs_l2", 1e-6)),
        (
            "zero gradient: AdamW",
            _metric("adamw_geometric_rel_error", 0.0),
            _metric("adamw_geometric_rel_error", 1e-9),
        ),
    ],
}


def _check_line(evidence: str, check: str) -> str:
    lines = [ln for ln in evidence.splitlines() if check in ln and ln[:4] in ("ok  ", "FAIL")]
    assert lines, f"no check line containing {check!r} in:\n{evidence}"
    return lines[0]


@pytest.mark.parametrize(
    ("claim_id", "case"),
    [(cid, i) for cid, cases in EXACT.items() for i in range(len(cases))],
)
def test_exact_check_turns_at_its_tolerance(claim_id, case, smoke_rows):
    import matplotlib.pyplot as plt

    check, good, bad = EXACT[claim_id][case]
    claim = get_claim(claim_id)
    assert claim.result_kind == "exact" and claim.protocol is None
    base = smoke_rows(claim_id)
    ok = claim.verdict(Rows(RunRow(r.claim_id, r.params, r.seed, 0, _apply(r, good)) for r in base))
    ko = claim.verdict(Rows(RunRow(r.claim_id, r.params, r.seed, 0, _apply(r, bad)) for r in base))
    plt.close("all")
    assert ok.kind == ko.kind == "exact"
    assert _check_line(ok.evidence, check).startswith("ok")
    assert _check_line(ko.evidence, check).startswith("FAIL")
    assert ko.outcome == "FAIL"


def _apply(row: RunRow, change) -> dict:
    m = copy.deepcopy(row.metrics)
    change(m, row.params, 0)
    return m


def test_exact_checks_verdict_reports_the_primary_or_the_broken_check():
    checks = {"main identity": (1e-15, 1e-12), "side identity": (0.5, 1.0)}
    v = exact_checks_verdict(checks, primary="main identity", what="an identity")
    assert v.outcome == "PASS" and v.max_error == 1e-15 and v.tolerance == 1e-12
    checks["side identity"] = (2.0, 1.0)
    v = exact_checks_verdict(checks, primary="main identity", what="an identity")
    assert v.outcome == "FAIL" and v.max_error == 2.0 and "side identity" in v.sentence
    assert "FAIL side identity" in v.evidence and "ok   main identity" in v.evidence
    with pytest.raises(ValueError, match="primary='nope'"):
        exact_checks_verdict(checks, primary="nope", what="x")
    with pytest.raises(ValueError, match="tolerance=0"):
        exact_checks_verdict({"a": (0.0, 0)}, primary="a", what="x")
