"""The exact polish of a converged least-squares fit on its support (solvers/_polish.py).

What is asserted: after the polish the fit satisfies the lasso / elastic-net optimality
conditions to rounding (``x_j^T r / n = a_j s_j + b_j w_j`` on the support, ``|x_j^T r| / n
<= a_j`` off it), agrees with scikit-learn run to ``tol=1e-14``, and a weighted fit equals its
repeated-rows fit to ``1e-12``; a support or sign that is not the optimum's is refused.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn.linear_model as sk
from sklearn.utils import shuffle

from reglab.linear import L1, L1L2, ElasticNet, GeneralizedLinearEstimator, Lasso, Quadratic
from reglab.linear._fit import prepare
from reglab.linear.solvers import CoordinateDescent, SolveResult
from reglab.linear.solvers import _polish as P


def _problem(n=60, p=25, seed=0, sparse=False, sample_weight=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X[rng.random((n, p)) < 0.6] = 0.0
        X = sp.csr_array(X)
    w = np.zeros(p)
    w[:5] = [2.0, -1.5, 1.0, 0.5, -0.8]
    y = X @ w + 0.3 * rng.standard_normal(n) + 1.0
    return X, y


def _kkt_residual(X, y, est, a, b, sample_weight=None):
    """Largest violation of the optimality conditions of the weighted objective."""
    Xd = X.toarray() if sp.issparse(X) else X
    sw = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
    c = sw / sw.sum()
    r = y - Xd @ est.coef_ - est.intercept_
    corr = Xd.T @ (c * r)  # -gradient of the datafit
    w = est.coef_
    on = w != 0
    viol_on = np.abs(corr[on] - a * np.sign(w[on]) - b * w[on])
    viol_off = np.maximum(np.abs(corr[~on]) - a, 0.0)
    return max(viol_on.max(initial=0.0), viol_off.max(initial=0.0), abs(c @ r))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_default_tolerance_fit_satisfies_the_optimality_conditions_to_rounding(sparse, l1_ratio):
    X, y = _problem(sparse=sparse)
    alpha = 0.05
    est = ElasticNet(alpha=alpha, l1_ratio=l1_ratio).fit(X, y)  # tol=1e-4
    assert 0 < np.count_nonzero(est.coef_) < X.shape[1]
    viol = _kkt_residual(X, y, est, alpha * l1_ratio, alpha * (1 - l1_ratio))
    assert viol < 1e-12
    assert est.dual_gap_ < 1e-13


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_default_tolerance_lasso_matches_scikit_learn_run_to_1e_14(sparse):
    X, y = _problem(sparse=sparse, seed=1)
    ours = Lasso(alpha=0.02).fit(X, y)
    ref = sk.Lasso(alpha=0.02, tol=1e-14, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=0, atol=1e-10)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_weighted_fit_equals_repeated_rows_to_1e_12(sparse):
    """scikit-learn's sample-weight check, at its own data, with 1e-12 instead of rtol 1e-7."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15).astype(float)
    sw = rng.randint(0, 5, size=15)
    Xr, yr = X.repeat(sw, axis=0), y.repeat(sw)
    Xw, yw, sww = shuffle(X, y, sw, random_state=0)
    conv = sp.csr_array if sparse else np.asarray
    rep = GeneralizedLinearEstimator().fit(conv(Xr), yr)
    wei = GeneralizedLinearEstimator().fit(conv(Xw), yw, sample_weight=sww)
    np.testing.assert_allclose(rep.predict(X), wei.predict(X), rtol=1e-12, atol=1e-13)


def test_positive_lasso_is_polished_on_its_positive_support():
    X, y = _problem(seed=2)
    est = Lasso(alpha=0.02, positive=True).fit(X, y)
    assert np.all(est.coef_ >= 0)
    ref = sk.Lasso(alpha=0.02, positive=True, tol=1e-14, max_iter=1_000_000).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=0, atol=1e-10)
    assert est.dual_gap_ < 1e-13


def test_unpenalised_features_join_the_system():
    X, y = _problem(seed=3)
    weights = np.ones(X.shape[1])
    weights[[0, 7]] = 0.0  # feature 7 is irrelevant but unpenalised: non-zero at the optimum
    pen = L1(0.05, weights=weights)
    est = GeneralizedLinearEstimator(datafit=Quadratic(), penalty=pen).fit(X, y)
    corr = X.T @ (y - X @ est.coef_ - est.intercept_) / len(y)
    np.testing.assert_allclose(corr[[0, 7]], 0.0, atol=1e-12)
    assert est.dual_gap_ < 1e-13


def _converged(X, y, penalty, fit_intercept=True):
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=fit_intercept)
    res = CoordinateDescent(tol=1e-4).solve(problem, penalty)
    assert res.converged
    return problem, res


def test_a_wrong_sign_is_repaired_or_refused_never_worse():
    """A start with one sign flipped: the active-set loop follows the segment to the first
    zero crossing, drops that feature and lets it join again with its right sign (the
    optimum to rounding), or gives up and returns the start unchanged."""
    X, y = _problem(seed=4)
    penalty = L1(0.05)
    problem, res = _converged(X, y, penalty)
    optimum = P.polish_quadratic(problem, penalty, res)
    repaired = 0
    for j in np.flatnonzero(res.coef):
        w = res.coef.copy()
        w[j] = -w[j]
        bad = SolveResult(w, 0.0, res.dual_gap, res.n_iter, True)
        out = P.polish_quadratic(problem, penalty, bad)
        if out is not bad:
            np.testing.assert_allclose(out.coef, optimum.coef, rtol=0, atol=1e-12)
            repaired += 1
    assert repaired >= 1


def test_more_features_than_the_rank_are_reduced_to_independent_columns():
    """Duplicated rows only (rank 14 after centring) and a start with 15 non-zeros: the
    singular system is left along a null direction of X_S (Tibshirani, 2013) and the result
    is the optimum of a tight-tolerance fit."""
    rng = np.random.RandomState(42)
    X = rng.rand(15, 30)
    y = rng.randint(0, 3, size=15).astype(float)
    X3, y3 = np.vstack([X, X, X]), np.concatenate([y, y, y])
    penalty = L1(1e-4)
    problem, _ = prepare(X3, y3, Quadratic())
    tight = CoordinateDescent(tol=1e-14, max_iter=10_000).solve(problem, penalty)
    w = tight.coef.copy()
    off = np.flatnonzero(w == 0)[0]
    w[off] = 1e-3  # one more non-zero than the rank allows
    start = SolveResult(w, 0.0, 1.0, 1, True)
    out = P.polish_quadratic(problem, penalty, start)
    assert out is not start and np.count_nonzero(out.coef) <= 14
    np.testing.assert_allclose(problem.matvec(out.coef), problem.matvec(tight.coef), atol=1e-9)
    assert out.dual_gap <= 1e-13


def test_a_support_missing_a_feature_of_the_optimum_is_completed(monkeypatch):
    """The dropped feature violates its condition on the smaller support and joins again;
    without a pivot left (MAX_ROUNDS=1) the start is returned unchanged."""
    X, y = _problem(seed=5)
    penalty = L1(0.05)
    problem, res = _converged(X, y, penalty)
    polished = P.polish_quadratic(problem, penalty, res)
    assert polished is not res and polished.dual_gap <= res.dual_gap
    w = polished.coef.copy()
    nz = np.flatnonzero(w)
    w[nz[np.argmin(np.abs(w[nz]))]] = 0.0  # drop the weakest feature of the support
    start = SolveResult(w, 0.0, 1e-3, res.n_iter, True)
    again = P.polish_quadratic(problem, penalty, start)
    np.testing.assert_allclose(again.coef, polished.coef, rtol=0, atol=1e-12)
    monkeypatch.setattr(P, "MAX_ROUNDS", 1)
    assert P.polish_quadratic(problem, penalty, start) is start


def test_unconverged_large_or_costly_supports_are_left_alone(monkeypatch):
    X, y = _problem(seed=6)
    penalty = L1L2(0.02, 0.5)
    problem, res = _converged(X, y, penalty)
    not_conv = res._replace(converged=False)
    assert P.polish_quadratic(problem, penalty, not_conv) is not_conv
    monkeypatch.setattr(P, "MAX_SUPPORT", 2)
    assert P.polish_quadratic(problem, penalty, res) is res
    monkeypatch.setattr(P, "MAX_SUPPORT", 500)
    monkeypatch.setattr(P, "MAX_PASSES", 0)
    monkeypatch.setattr(P, "SMALL_WORK", 0)
    problem._cache.pop("gram", None)  # CD's Gram matrix (n > p) would make the system free
    assert P.polish_quadratic(problem, penalty, res) is res


def test_singular_system_keeps_the_solver_result():
    """Duplicated columns: X_S^T X_S is singular, the optimum on S not unique."""
    X, y = _problem(seed=7, p=6)
    X = np.hstack([X, X])
    penalty = L1L2(0.0, 0.0)  # unpenalised: every feature is in S and the system is singular
    problem, _ = prepare(X, y, Quadratic())
    w = np.linalg.lstsq(problem.X, problem.y, rcond=None)[0]
    res = SolveResult(w, 0.0, 1e-20, 1, True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert P.polish_quadratic(problem, penalty, res) is res


# ------------------------------------------------------------------ logistic / multinomial
def _classes(n=80, p=8, K=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    scores = X[:, :3] @ rng.standard_normal((3, K)) + 0.8 * rng.standard_normal((n, K))
    return X, np.argmax(scores, axis=1)


@pytest.mark.parametrize("K", [2, 3], ids=["binary", "multinomial"])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.5, 1.0])
def test_logistic_default_tolerance_fit_is_the_tight_tolerance_optimum(K, l1_ratio):
    """Polished at tol=1e-4, the coefficients are those of a fit run to tol=1e-13."""
    from reglab.linear import LogisticRegression

    X, y = _classes(K=K)
    kw = dict(C=0.5, l1_ratio=l1_ratio, max_iter=10_000)
    ours = LogisticRegression(**kw).fit(X, y)
    tight = LogisticRegression(tol=1e-13, **kw).fit(X, y)
    np.testing.assert_allclose(ours.coef_, tight.coef_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.intercept_, tight.intercept_, rtol=0, atol=1e-8)
    assert ours.dual_gap_ < 1e-12


@pytest.mark.parametrize("K", [2, 3], ids=["binary", "multinomial"])
def test_logistic_weighted_fit_equals_repeated_rows_to_1e_10(K):
    from reglab.linear import LogisticRegression

    X, y = _classes(n=40, K=K, seed=1)
    sw = np.random.default_rng(2).integers(0, 4, size=len(y))
    rep = LogisticRegression(C=2.0).fit(X.repeat(sw, axis=0), y.repeat(sw))
    wei = LogisticRegression(C=2.0).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(rep.decision_function(X), wei.decision_function(X), atol=1e-10)


def test_logistic_polish_refuses_a_minimiser_that_is_not_unique():
    """Unpenalised multinomial with more coefficients than samples: the solver's point stays."""
    from reglab.linear import Multinomial

    X, y = _classes(n=12, p=20, K=3, seed=3)
    penalty = L1L2(0.0, 0.0)
    problem, _ = prepare(X, y.astype(float), Multinomial(), n_classes=3)
    W = np.random.default_rng(4).standard_normal((20, 3))
    res = SolveResult(W, np.zeros(3), 1.0, 1, True)
    assert P.polish_logistic(problem, penalty, res) is res
