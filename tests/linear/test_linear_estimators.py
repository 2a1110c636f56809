"""Estimators: agreement with scikit-learn, sparse/dense/float32/weights, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import linear_model as sk
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.preprocessing import StandardScaler

import reglab.linear as rl
from reglab.linear._fit import prepare
from reglab.linear.datafits import Quadratic

X_DIA, Y_DIA = load_diabetes(return_X_y=True)
X_BC, Y_BC = load_breast_cancer(return_X_y=True)
X_BC = StandardScaler().fit_transform(X_BC)
rng = np.random.default_rng(0)
X_SYN = rng.standard_normal((60, 100))
Y_SYN = X_SYN[:, :5] @ np.array([3.0, -2.0, 1.5, 1.0, -1.0]) + 0.5 * rng.standard_normal(60)

TIGHT = {"tol": 1e-12, "max_iter": 1000}
SK_TIGHT = {"tol": 1e-14, "max_iter": 1_000_000}


def _assert_coef_close(ours, theirs, rtol=1e-5):
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())


@pytest.mark.parametrize("data", ["diabetes", "synthetic"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.1])
def test_enet_matches_sklearn(data, l1_ratio):
    X, y = (X_DIA, Y_DIA) if data == "diabetes" else (X_SYN, Y_SYN)
    alpha = 0.05 if data == "diabetes" else 0.1
    ours = rl.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **TIGHT).fit(X, y)
    ref = sk.ElasticNet(alpha=alpha, l1_ratio=l1_ratio, **SK_TIGHT).fit(X, y)
    _assert_coef_close(ours.coef_, ref.coef_)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-5)
    assert ours.dual_gap_ <= 1e-12 * np.var(y) / 2 * 1.0001 and ours.n_iter_ >= 1


def test_lasso_is_enet_with_l1_ratio_one():
    a = rl.Lasso(alpha=0.1, **TIGHT).fit(X_DIA, Y_DIA)
    b = rl.ElasticNet(alpha=0.1, l1_ratio=1.0, **TIGHT).fit(X_DIA, Y_DIA)
    np.testing.assert_array_equal(a.coef_, b.coef_)


@pytest.mark.parametrize("X", [X_DIA, X_SYN], ids=["n>p", "p>n"])
def test_ridge_matches_sklearn_with_scaled_alpha(X):
    y = Y_DIA if X is X_DIA else Y_SYN
    n = X.shape[0]
    ours = rl.Ridge(alpha=0.01).fit(X, y)
    ref = sk.Ridge(alpha=0.01 * n, solver="svd").fit(X, y)
    _assert_coef_close(ours.coef_, ref.coef_, rtol=1e-8)
    for solver in ("cd", "fista"):
        it = rl.Ridge(alpha=0.01, solver=solver, tol=1e-12, max_iter=100000).fit(X, y)
        _assert_coef_close(it.coef_, ref.coef_, rtol=1e-4)


@pytest.mark.parametrize("penalty, l1_ratio", [("l2", 0.0), ("l1", 1.0), ("elasticnet", 0.5)])
def test_logistic_matches_sklearn_breast_cancer(penalty, l1_ratio):
    C = 0.5
    ours = rl.LogisticRegression(
        penalty, C=C, l1_ratio=l1_ratio if penalty == "elasticnet" else None, tol=1e-12
    ).fit(X_BC, Y_BC)
    solver = "newton-cholesky" if penalty == "l2" else "saga"
    ref = sk.LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-14, max_iter=100000)
    ref.fit(X_BC, Y_BC)
    rtol = 1e-5 if penalty == "l2" else 1e-4  # saga itself stops near 1e-5
    _assert_coef_close(ours.coef_, ref.coef_, rtol=rtol)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=rtol, atol=rtol)
    np.testing.assert_array_equal(ours.classes_, [0, 1])


def test_multinomial_matches_sklearn_iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = rl.LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(X, y)
    ref = sk.LogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    _assert_coef_close(ours.coef_, ref.coef_ - ref.coef_.mean(axis=0), rtol=1e-5)
    assert ours.coef_.shape == (3, 4) and ours.intercept_.shape == (3,)


@pytest.mark.parametrize("fmt", ["csc", "csr"])
@pytest.mark.parametrize("est", [rl.Lasso(alpha=0.02), rl.ElasticNet(alpha=0.02)], ids=repr)
def test_sparse_with_intercept_equals_dense(fmt, est):
    Xd = np.where(np.abs(X_SYN) > 1.0, X_SYN, 0.0)
    Xs = sp.csr_matrix(Xd).asformat(fmt)
    sw = rng.uniform(0.5, 2.0, 60)
    dense = est.set_params(tol=1e-12).fit(Xd, Y_SYN, sample_weight=sw)
    cd, bd, gap_d = dense.coef_.copy(), dense.intercept_, dense.dual_gap_
    sparse = est.fit(Xs, Y_SYN, sample_weight=sw)

    def objective(w, b):
        rho = getattr(est, "l1_ratio", 1.0)
        fit = sw @ (Y_SYN - Xd @ w - b) ** 2 / (2 * sw.sum())
        return fit + est.alpha * (rho * np.abs(w).sum() + 0.5 * (1 - rho) * w @ w)

    # both are certified: each objective is within its duality gap of the optimum
    assert abs(objective(sparse.coef_, sparse.intercept_) - objective(cd, bd)) <= (
        sparse.dual_gap_ + gap_d + 1e-15
    )
    # dense and sparse take different CD trajectories, so coefficients agree only as far as
    # the certificates pin them: with the elastic net's strong convexity mu = alpha (1 - rho)
    # in w, mu/2 ||w - w*||^2 <= gap for each, so ||w_s - w_d|| <= the sum of the radii
    rho = getattr(est, "l1_ratio", 1.0)
    if rho < 1:
        mu = est.alpha * (1 - rho)
        radius = np.sqrt(2 * (sparse.dual_gap_ + 1e-15) / mu) + np.sqrt(2 * (gap_d + 1e-15) / mu)
        assert np.linalg.norm(sparse.coef_ - cd) <= radius
    else:  # no strong convexity; the solution is unique here and agreed to ~1e-6 when measured
        np.testing.assert_allclose(sparse.coef_, cd, atol=1e-5)
    np.testing.assert_allclose(sparse.intercept_, bd, atol=1e-5)


def test_sparse_intercept_never_densifies():
    Xs = sp.random(50, 40, density=0.1, random_state=0, format="csc")
    problem, _ = prepare(Xs, rng.standard_normal(50), Quadratic(), fit_intercept=True)
    assert sp.issparse(problem.X) and problem.X.nnz == Xs.nnz
    assert problem.mu is not None  # centring is carried implicitly


def test_float32_input_gives_float32_coef_and_same_answer():
    a = rl.Lasso(alpha=0.1, tol=1e-10).fit(X_DIA.astype(np.float32), Y_DIA.astype(np.float32))
    b = rl.Lasso(alpha=0.1, tol=1e-10).fit(X_DIA, Y_DIA)
    assert a.coef_.dtype == np.float32
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize(
    "est", [rl.Lasso(alpha=0.05), rl.Ridge(alpha=0.05), rl.ElasticNet(alpha=0.05)], ids=repr
)
def test_integer_sample_weight_equals_repeated_rows(est):
    reps = rng.integers(0, 3, X_DIA.shape[0])
    a = est.set_params(tol=1e-12).fit(X_DIA, Y_DIA, sample_weight=reps)
    ca = a.coef_.copy()
    b = est.fit(np.repeat(X_DIA, reps, axis=0), np.repeat(Y_DIA, reps))
    np.testing.assert_allclose(ca, b.coef_, rtol=1e-6, atol=1e-6)


def test_positive_matches_sklearn():
    ours = rl.Lasso(alpha=0.05, positive=True, **TIGHT).fit(X_DIA, Y_DIA)
    ref = sk.Lasso(alpha=0.05, positive=True, **SK_TIGHT).fit(X_DIA, Y_DIA)
    assert np.all(ours.coef_ >= 0)
    _assert_coef_close(ours.coef_, ref.coef_)
    r = rl.Ridge(alpha=0.05, positive=True, tol=1e-12).fit(X_DIA, Y_DIA)
    assert np.all(r.coef_ >= 0) and r.dual_gap_ >= 0


def test_warm_start_starts_from_previous_solution():
    est = rl.Lasso(alpha=0.05, tol=1e-10, warm_start=True).fit(X_SYN, Y_SYN)
    first = est.n_iter_
    coef = est.coef_.copy()
    est.fit(X_SYN, Y_SYN)
    # The first fit may have been certified by the Anderson-extrapolated dual point, which a
    # fresh solve does not have: from the previous solution one inner solve at most is needed.
    assert est.n_iter_ <= 2 < first
    assert est.dual_gap_ <= 1e-10 * 0.5 * np.mean((Y_SYN - Y_SYN.mean()) ** 2)
    _assert_coef_close(est.coef_, coef, rtol=1e-6)


def test_unpenalised_feature_through_weights():
    w = np.ones(X_DIA.shape[1])
    w[2] = 0.0
    est = rl.Lasso(alpha=100.0, weights=w, tol=1e-10).fit(X_DIA, Y_DIA)
    assert np.count_nonzero(est.coef_) == 1 and est.coef_[2] != 0


def test_generalized_linear_estimator_composes():
    gle = rl.GeneralizedLinearEstimator(
        rl.Quadratic(), rl.L1L2(0.05, 0.5), rl.FISTA(tol=1e-10, max_iter=100000)
    )
    ref = rl.ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-12).fit(X_DIA, Y_DIA)
    _assert_coef_close(gle.fit(X_DIA, Y_DIA).coef_, ref.coef_, rtol=1e-4)
    clf = rl.GeneralizedLinearEstimator(rl.Logistic(), rl.L1(0.01)).fit(X_BC, Y_BC)
    assert clf.score(X_BC, Y_BC) > 0.95 and set(clf.predict(X_BC)) == {0, 1}


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad, name", [(np.nan, "X"), (np.inf, "X")])
def test_non_finite_X(bad, name):
    X = X_DIA.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=name):
        rl.Lasso().fit(X, Y_DIA)


def test_non_finite_y_and_sample_weight():
    y = Y_DIA.copy()
    y[0] = np.nan
    with pytest.raises(ValueError, match="y"):
        rl.Lasso().fit(X_DIA, y)
    sw = np.ones_like(Y_DIA)
    sw[1] = np.inf
    with pytest.raises(ValueError, match="sample_weight contains inf"):
        rl.Lasso().fit(X_DIA, Y_DIA, sample_weight=sw)
    with pytest.raises(ValueError, match="sample_weight must be >= 0"):
        rl.Lasso().fit(X_DIA, Y_DIA, sample_weight=-np.ones_like(Y_DIA))


@pytest.mark.parametrize(
    "est, match",
    [
        (rl.Lasso(alpha=-1.0), r"alpha must be finite and >= 0, got alpha=-1\.0"),
        (rl.Ridge(alpha=-0.5), r"alpha=-0\.5"),
        (rl.ElasticNet(l1_ratio=1.5), r"l1_ratio must be in \[0, 1\], got l1_ratio=1\.5"),
        (rl.ElasticNet(l1_ratio=-0.1), r"l1_ratio=-0\.1"),
        (rl.Lasso(solver="newton"), r"solver must be one of .* got solver='newton'"),
        (
            rl.Lasso(solver="gd"),
            r"GradientDescent cannot handle .* penalty\.gradient \(L1 has none\)",
        ),
        (rl.Lasso(solver="closed_form"), r"ClosedForm cannot handle .* penalty\.gradient"),
        (rl.Lasso(max_iter=0), r"max_iter must be a positive integer, got max_iter=0"),
        (rl.Lasso(tol=-1), r"tol must be finite and >= 0"),
    ],
)
def test_bad_parameters(est, match):
    with pytest.raises((ValueError, TypeError), match=match):
        est.fit(X_DIA, Y_DIA)


def test_mismatched_and_empty():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        rl.Lasso().fit(X_DIA, Y_DIA[:-1])
    with pytest.raises(ValueError, match="sample_weight has shape"):
        rl.Lasso().fit(X_DIA, Y_DIA, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="0 sample"):
        rl.Lasso().fit(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="X is empty"):
        rl.lasso_path(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match="mismatched shapes"):
        rl.lasso_path(X_DIA, Y_DIA[:5])


def test_single_class_and_bad_penalty():
    with pytest.raises(ValueError, match="single class"):
        rl.LogisticRegression().fit(X_BC, np.zeros(X_BC.shape[0]))
    with pytest.raises(
        ValueError, match="penalty must be 'l2', 'l1', 'elasticnet' or None, got penalty='l3'"
    ):
        rl.LogisticRegression(penalty="l3").fit(X_BC, Y_BC)
    with pytest.raises(ValueError, match="needs l1_ratio"):
        rl.LogisticRegression(penalty="elasticnet", l1_ratio=None).fit(X_BC, Y_BC)
    with pytest.raises(ValueError, match=r"C must be finite and > 0 or np.inf, got C=0.0"):
        rl.LogisticRegression(C=0.0).fit(X_BC, Y_BC)
