"""The parameter-penalty claims' measurement helpers: certificates, pair metrics, bad input.

The smoke test (tests/lab/test_claims_smoke.py) runs every claim; here the small functions the
verdicts rest on are checked against definitions and independent references.
"""

from __future__ import annotations

import numpy as np
import pytest

from reglab.lab.claim import get_claim
from reglab.lab.claims import _linear_data as D

PARAMETER_CLAIMS = [
    "l2-shrinks-proportionally",
    "l1-exact-zeros",
    "l1-l2-geometry",
    "l1-laplace-map",
    "ridge-fixes-collinearity",
    "l1-unstable-on-correlated",
    "enet-groups-correlated",
    "enet-interpolates",
]


def _lasso_problem(seed=0, n=40, p=12):
    rng = np.random.default_rng(seed)
    X = D.standardize(rng.standard_normal((n, p)))
    w = np.zeros(p)
    w[:3] = [2.0, -1.5, 1.0]
    y = X @ w + 0.3 * rng.standard_normal(n)
    return X, y - y.mean()


def test_standardize_gives_unit_variance_columns():
    X = D.standardize(np.random.default_rng(0).normal(3.0, 5.0, (30, 4)))
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.sum(X**2, axis=0), 30.0)


def test_standardize_rejects_constant_columns():
    X = np.column_stack([np.arange(5.0), np.ones(5)])
    with pytest.raises(ValueError, match=r"constant columns \[1\]"):
        D.standardize(X)


@pytest.mark.parametrize("rho", [-0.1, 1.0])
def test_generators_reject_bad_rho(rho):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="rho must be in"):
        D.correlated_gaussian(rng, 10, 3, rho)
    with pytest.raises(ValueError, match="rho must be in"):
        D.correlated_pairs(rng, 10, 2, rho)


def test_correlated_pairs_have_the_requested_correlation():
    X, y, pairs = D.correlated_pairs(np.random.default_rng(1), 4000, 2, 0.9, n_noise=3)
    assert X.shape == (4000, 7) and y.shape == (4000,)
    assert pairs == [(0, 1), (2, 3)]
    for i, j in pairs:
        assert abs(np.corrcoef(X[:, i], X[:, j])[0, 1] - 0.9) < 0.02
    assert abs(np.corrcoef(X[:, 0], X[:, 2])[0, 1]) < 0.05


def test_breast_cancer_pairs_are_disjoint_and_above_threshold():
    X, y, pairs = D.breast_cancer_pairs(np.random.default_rng(0), min_corr=0.99, bootstrap=False)
    flat = [k for pair in pairs for k in pair]
    assert len(flat) == len(set(flat)) and pairs
    for i, j in pairs:
        assert np.corrcoef(X[:, i], X[:, j])[0, 1] > 0.99
    assert abs(y.mean()) < 1e-12


def test_pair_imbalance_definition():
    imb = D.pair_imbalance([1.0, 1.0, 0.0, 3.0, 0.0], [1.0, 0.0, 2.0, 1.0, 0.0])
    np.testing.assert_allclose(imb[:4], [0.0, 1.0, 1.0, 0.5])
    assert np.isnan(imb[4])


def test_flip_rate_is_the_minority_share():
    w1 = np.array([2.0, 2.0, 2.0, 0.1, 1.0])
    w2 = np.array([1.0, 1.0, 1.0, 1.0, 1.0])  # the last one ties and is ignored
    assert D.flip_rate(w1, w2) == pytest.approx(0.25)
    assert D.flip_rate(w2, w1) == pytest.approx(0.25)
    assert D.flip_rate(w1[:3], w2[:3]) == 0.0


def test_lasso_duality_gap_vanishes_at_the_solution_and_bounds_suboptimality():
    from sklearn.linear_model import Lasso as SkLasso

    X, y = _lasso_problem()
    alpha = 0.1
    w = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(X, y).coef_
    assert abs(D.lasso_duality_gap(X, y, w, alpha)) < 1e-10
    w_bad = w + 0.05
    n = X.shape[0]

    def primal(v):
        return np.sum((y - X @ v) ** 2) / (2 * n) + alpha * np.sum(np.abs(v))

    assert D.lasso_duality_gap(X, y, w_bad, alpha) >= primal(w_bad) - primal(w) - 1e-12


def test_lasso_kkt_excess_certifies_a_solution_and_flags_a_wrong_zero():
    from reglab.linear import Lasso

    X, y = _lasso_problem(seed=3)
    alpha = 0.05
    w = Lasso(alpha, fit_intercept=False, tol=1e-12, max_iter=1000).fit(X, y).coef_
    gap = D.lasso_duality_gap(X, y, w, alpha)
    zero_excess, active_excess = D.lasso_kkt_excess(X, y, w, alpha, gap)
    assert zero_excess <= 0 and active_excess <= 0
    # zeroing the largest coefficient leaves a zero whose correlation exceeds alpha
    w_bad = w.copy()
    w_bad[np.argmax(np.abs(w))] = 0.0
    bad_zero, _ = D.lasso_kkt_excess(X, y, w_bad, alpha, 0.0)
    assert bad_zero > 1.0


def test_fit_quiet_records_non_convergence_instead_of_raising():
    from reglab.linear import Lasso

    X, y = _lasso_problem()
    _, converged = D.fit_quiet(Lasso(1e-4, fit_intercept=False, tol=1e-16, max_iter=1), X, y)
    assert converged is False
    _, converged = D.fit_quiet(Lasso(0.1, fit_intercept=False), X, y)
    assert converged is True


@pytest.mark.parametrize(
    ("claim_id", "params", "match"),
    [
        ("l2-shrinks-proportionally", {"design": "nope", "alpha": 1.0}, "design must be"),
        ("l1-exact-zeros", {"design": "nope"}, "design must be"),
        ("enet-interpolates", {"design": "nope"}, "design must be"),
        ("l1-unstable-on-correlated", {"design": "nope"}, "design must be"),
        ("l1-l2-geometry", {"corr": 1.0}, r"corr must be in \[0, 1\)"),
        ("l1-l2-geometry", {"corr": 0.5, "n_problems": 0}, "n_problems must be >= 1"),
        ("ridge-fixes-collinearity", {"eps": 0.0}, "eps must be > 0"),
        ("l1-laplace-map", {"p": 80, "sigma": 1.0, "b": 1.0}, "p=80 must be below n=60"),
    ],
)
def test_claims_reject_bad_parameters(claim_id, params, match):
    with pytest.raises(ValueError, match=match):
        get_claim(claim_id).run(params, 0)


@pytest.mark.parametrize("claim_id", PARAMETER_CLAIMS)
def test_claim_is_deterministic_in_its_seed(claim_id):
    claim = get_claim(claim_id)
    params = claim.param_grid(smoke=True)[0]
    if claim_id == "l1-l2-geometry":
        params["n_problems"] = 5  # keeps this test fast
    first, second = claim.run(dict(params), 7), claim.run(dict(params), 7)
    assert first == second
