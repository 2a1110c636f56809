"""Paths (certified at every alpha, equal to scikit-learn's) and path-based CV."""

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

import reglab.linear as rl
from reglab.linear._fit import prepare
from reglab.linear._problem import duality_gap
from reglab.linear.datafits import Quadratic

X_DIA, Y_DIA = load_diabetes(return_X_y=True)
X_BC, Y_BC = load_breast_cancer(return_X_y=True)
X_BC = StandardScaler().fit_transform(X_BC)
rng = np.random.default_rng(1)
X_W = rng.standard_normal((40, 120))
Y_W = X_W[:, :4] @ np.array([2.0, -2.0, 1.0, 1.5]) + 0.3 * rng.standard_normal(40)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("data", ["diabetes", "wide", "sparse"])
def test_enet_path_certified_and_matches_sklearn(l1_ratio, data):
    X, y = (X_DIA, Y_DIA) if data == "diabetes" else (X_W, Y_W)
    if data == "sparse":
        X = sp.csc_matrix(np.where(np.abs(X_W) > 1.0, X_W, 0.0))
    tol = 1e-10
    path = rl.enet_path(X, y, l1_ratio=l1_ratio, n_alphas=20, eps=1e-2, tol=tol)
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=False)
    assert np.all(path.dual_gaps <= tol * problem.value_scale())
    assert np.all(np.diff(path.alphas) < 0)
    ref_alphas, ref_coefs, _ = sk.enet_path(
        X, y, l1_ratio=l1_ratio, alphas=path.alphas, tol=1e-12, max_iter=100_000
    )
    if data == "diabetes":  # n > p: unique, well-conditioned solutions
        np.testing.assert_allclose(
            path.coefs, ref_coefs, rtol=1e-5, atol=1e-5 * np.abs(ref_coefs).max()
        )
    # everywhere: our objective is within our certified gap of scikit-learn's
    for k, alpha in enumerate(path.alphas):
        pen = rl.L1L2(alpha, l1_ratio)
        ours = duality_gap(problem, pen, path.coefs[:, k])[1]
        theirs = duality_gap(problem, pen, ref_coefs[:, k])[1]
        assert ours - theirs <= max(path.dual_gaps[k], 0) + 1e-13 * abs(theirs)


def test_lasso_path_alpha_max_is_first_zero_solution():
    path = rl.lasso_path(X_DIA, Y_DIA, fit_intercept=True, n_alphas=10)
    np.testing.assert_array_equal(path.coefs[:, 0], 0.0)
    assert np.count_nonzero(path.coefs[:, 1]) >= 1
    Xc = X_DIA - X_DIA.mean(axis=0)
    expected = np.max(np.abs(Xc.T @ (Y_DIA - Y_DIA.mean()))) / X_DIA.shape[0]
    np.testing.assert_allclose(path.alphas[0], expected, rtol=1e-12)
    np.testing.assert_allclose(path.intercepts[0], Y_DIA.mean())
    alphas, coefs, gaps = path  # unpacks like scikit-learn's
    assert coefs.shape == (10, 10) and gaps.shape == (10,)


def test_path_equals_independent_fits():
    path = rl.lasso_path(X_W, Y_W, fit_intercept=True, n_alphas=8, eps=0.05, tol=1e-12)
    for k in (2, 7):
        est = rl.Lasso(alpha=path.alphas[k], tol=1e-12).fit(X_W, Y_W)
        np.testing.assert_allclose(path.coefs[:, k], est.coef_, atol=1e-6)
        np.testing.assert_allclose(path.intercepts[k], est.intercept_, atol=1e-6)


def test_secant_start_is_exact_between_kinks_and_keeps_zeros():
    """Between kinks the lasso path is linear in alpha, so the secant start is the solution.

    On a tall, well-conditioned problem at small alphas every feature is active with fixed
    signs s, and ``w(alpha) = (X^T X)^{-1} (X^T y - n alpha s)`` (checked against the KKT
    conditions through the solver's certificate).
    """
    from reglab.linear.path import _secant_start

    X, y = X_DIA, Y_DIA - Y_DIA.mean()
    n = X.shape[0]
    alphas = np.array([1e-3, 6e-4, 2e-4])  # alpha_max = 2.15: every feature active
    ws = np.array([rl.lasso_path(X, y, alphas=[a], tol=1e-14).coefs[:, 0] for a in alphas])
    signs = np.sign(ws[0])
    assert np.all(signs != 0) and np.all(np.sign(ws) == signs)  # one linear piece
    closed = np.array([np.linalg.solve(X.T @ X, X.T @ y - n * a * signs) for a in alphas])
    np.testing.assert_allclose(ws, closed, rtol=1e-8, atol=1e-8)
    coefs = np.zeros((X.shape[1], 3))
    coefs[:, :2] = closed[:2].T
    np.testing.assert_allclose(_secant_start(coefs, alphas, 2), closed[2], rtol=1e-10)
    # a coordinate zero at the last alpha, or taken through zero by the secant, starts at 0
    coefs[:, 0] = [1.0, -1.0, 0.5, 2.0, 0, 0, 0, 0, 0, 0]
    coefs[:, 1] = [0.0, -0.2, 0.4, 1.0, 0, 0, 0, 0, 0, 0]
    start = _secant_start(coefs, np.array([3.0, 2.0, 1.0]), 2)
    assert start[2] == pytest.approx(0.3)
    np.testing.assert_array_equal(np.delete(start, 2), 0.0)


@pytest.mark.parametrize(
    "coef_init, match",
    [
        (np.zeros(3), r"coef_init must have shape \(120,\), got coef_init.shape=\(3,\)"),
        (np.full(120, np.nan), "coef_init must be finite, got 120 NaN or inf entries"),
    ],
)
def test_path_coef_init_is_checked(coef_init, match):
    with pytest.raises(ValueError, match=match):
        rl.enet_path(X_W, Y_W, alphas=[0.1], coef_init=coef_init)


def test_repeated_alphas_give_repeated_solutions_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path = rl.lasso_path(X_W, Y_W, alphas=[0.5, 0.2, 0.2, 0.2, 0.05], tol=1e-10)
    np.testing.assert_allclose(path.coefs[:, 1], path.coefs[:, 2], atol=1e-6)
    np.testing.assert_allclose(path.coefs[:, 2], path.coefs[:, 3], atol=1e-6)
    assert np.all(np.isfinite(path.coefs))


@pytest.mark.parametrize("kind", ["lasso", "logistic"])
def test_secant_start_leaves_the_certified_path_unchanged(kind):
    """Warm starts change the work, not the answer: both paths certified, coefficients close."""
    from reglab.linear.path import compute_path

    if kind == "lasso":
        problem, _ = prepare(X_W, Y_W, Quadratic(), fit_intercept=False)
        penalty = rl.L1(1.0)
    else:
        problem, _ = prepare(X_BC, np.where(Y_BC == 1, 1.0, -1.0), rl.Logistic())
        penalty = rl.L1L2(1.0, 0.5)
    amax = rl.path.alpha_max(problem, penalty)
    alphas = rl.path.alpha_grid(amax, eps=1e-2, n_alphas=15)
    tol = 1e-10
    paths = [
        compute_path(problem, penalty, alphas, rl.CoordinateDescent(tol=tol), extrapolate=e)
        for e in (True, False)
    ]
    for path in paths:
        assert np.all(path.dual_gaps <= tol * problem.value_scale())
    np.testing.assert_allclose(paths[0].coefs, paths[1].coefs, atol=1e-4)


def test_ridge_path_one_svd_equals_ridge():
    path = rl.ridge_path(X_W, Y_W, n_alphas=6, fit_intercept=True)
    for k in range(6):
        est = rl.Ridge(alpha=path.alphas[k]).fit(X_W, Y_W)
        np.testing.assert_allclose(path.coefs[:, k], est.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(path.intercepts[k], est.intercept_, rtol=1e-8)
    assert np.all(path.dual_gaps < 1e-10)


def test_logistic_path_certified_and_sparse_at_alpha_max():
    path = rl.logistic_path(X_BC, Y_BC, n_alphas=12, eps=1e-2, tol=1e-8)
    problem, _ = prepare(X_BC, np.where(Y_BC == 1, 1.0, -1.0), rl.Logistic(), fit_intercept=True)
    assert np.all(path.dual_gaps <= 1e-8 * problem.value_scale())
    np.testing.assert_array_equal(path.coefs[:, 0], 0.0)
    assert np.count_nonzero(path.coefs[:, -1]) > 3
    # the last point equals a single L1 fit at that alpha (C = 1 / (alpha n))
    C = 1.0 / (path.alphas[-1] * X_BC.shape[0])
    est = rl.LogisticRegression("l1", C=C, tol=1e-10).fit(X_BC, Y_BC)
    np.testing.assert_allclose(path.coefs[:, -1], est.coef_[0], atol=1e-3)


def test_multinomial_logistic_path_shape():
    y = np.digitize(X_BC[:, 0], [-0.5, 0.5])
    # multinomial L1 runs FISTA, whose max_iter (first-order steps) is honoured
    path = rl.logistic_path(X_BC[:, :5], y, n_alphas=3, eps=0.1, tol=1e-6, max_iter=20000)
    assert path.coefs.shape == (3, 5, 3)


def test_path_bad_input():
    with pytest.raises(ValueError, match="alphas must be finite and >= 0"):
        rl.lasso_path(X_DIA, Y_DIA, alphas=[0.1, -1.0])
    with pytest.raises(ValueError, match="n_alphas must be a positive integer"):
        rl.lasso_path(X_DIA, Y_DIA, n_alphas=0)
    with pytest.raises(ValueError, match="l1_ratio must be in"):
        rl.enet_path(X_DIA, Y_DIA, l1_ratio=2.0)
    with pytest.raises(ValueError, match="single class"):
        rl.logistic_path(X_BC, np.ones(X_BC.shape[0]))


# --------------------------------------------------------------------------- CV
def test_lasso_cv_matches_sklearn_and_1se_rule():
    cv = KFold(4)
    ours = rl.LassoCV(cv=cv, n_alphas=30, tol=1e-8).fit(X_DIA, Y_DIA)
    ref = sk.LassoCV(cv=cv, alphas=ours.alphas_, tol=1e-12, max_iter=100000).fit(X_DIA, Y_DIA)
    np.testing.assert_allclose(ours.mse_path_, ref.mse_path_, rtol=1e-5)
    assert ours.alpha_min_ == ref.alpha_ == ours.alpha_
    r = ours.cv_results_
    i_min = np.argmin(r["mean_test_error"])
    i_1se = np.flatnonzero(ours.alphas_ == ours.alpha_1se_)[0]
    assert ours.alpha_1se_ >= ours.alpha_min_
    assert r["mean_test_error"][i_1se] <= r["mean_test_error"][i_min] + r["std_error"][i_min]
    larger = ours.alphas_ > ours.alpha_1se_
    assert np.all(
        r["mean_test_error"][larger] > r["mean_test_error"][i_min] + r["std_error"][i_min]
    )
    np.testing.assert_allclose(
        ours.coef_, rl.Lasso(alpha=ours.alpha_, tol=1e-10).fit(X_DIA, Y_DIA).coef_, atol=1e-4
    )


def test_cv_parallel_folds_equal_serial_and_select_1se():
    a = rl.ElasticNetCV(n_alphas=10, cv=3, n_jobs=1).fit(X_W, Y_W)
    b = rl.ElasticNetCV(n_alphas=10, cv=3, n_jobs=2, select="1se").fit(X_W, Y_W)
    np.testing.assert_allclose(a.mse_path_, b.mse_path_, rtol=1e-10)
    assert b.alpha_ == b.alpha_1se_ == a.alpha_1se_


def test_ridge_cv_and_logistic_cv():
    r = rl.RidgeCV(n_alphas=20, cv=3).fit(X_DIA, Y_DIA)
    assert r.alpha_ in r.alphas_ and np.all(r.cv_results_["n_nonzero"] == 10)
    lg = rl.LogisticRegressionCV(n_alphas=8, cv=3).fit(X_BC, Y_BC)
    assert lg.score(X_BC, Y_BC) > 0.95
    np.testing.assert_allclose(lg.C_, 1 / (lg.alpha_ * X_BC.shape[0]))


def test_cv_plot_like_cv_glmnet():
    est = rl.LassoCV(n_alphas=15, cv=3).fit(X_DIA, Y_DIA)
    ax = est.plot()
    assert ax.get_xlabel() == "log(alpha)"
    assert len(ax.containers) == 1  # the error bars
    top = [a for a in ax.figure.axes if a is not ax][0]
    assert top.get_xlabel() == "number of non-zero coefficients"
    labels = [t.get_text() for t in top.get_xticklabels()]
    assert labels[0] == "0" and all(lbl.isdigit() for lbl in labels)
    # alpha_min and alpha_1se: two vertical lines told apart by dash and colour, in a legend
    lines = {ln.get_label().split(" =")[0]: ln for ln in ax.get_lines()}
    a_min, a_1se = lines["alpha_min"], lines["alpha_1se"]
    assert a_min.get_xdata()[0] == pytest.approx(np.log(est.alpha_min_))
    assert a_1se.get_xdata()[0] == pytest.approx(np.log(est.alpha_1se_))
    assert a_min.get_linestyle() != a_1se.get_linestyle()
    assert a_min.get_color() != a_1se.get_color()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [f"alpha_min = {est.alpha_min_:.3g}", f"alpha_1se = {est.alpha_1se_:.3g}"]
    plt.close(ax.figure)
