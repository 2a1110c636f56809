"""Issue 13, reglab.linear: inputs that used to give silently wrong answers or raw errors."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge as SkRidge
from sklearn.model_selection import KFold

from reglab.linear import (
    CoordinateDescent,
    ElasticNetCV,
    GeneralizedLinearEstimator,
    LassoCV,
    Multinomial,
    Ridge,
    RidgeCV,
    alpha_grid,
    logistic_path,
)
from reglab.linear._fit import prepare
from reglab.linear.datafits import Quadratic
from reglab.linear.penalties import L2
from reglab.linear.solvers import ClosedForm


def _ridge_objective(X, y, alpha, coef, intercept):
    return 0.5 * np.mean((y - X @ coef - intercept) ** 2) + 0.5 * alpha * coef @ coef


def test_ridge_with_a_column_scaled_by_1e8_reaches_the_optimum():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 50))
    X[:, 3] *= 1e8
    y = rng.standard_normal(20)
    alpha = 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning: the fallback meets tol
        model = Ridge(alpha=alpha).fit(X, y)
    ref = SkRidge(alpha=20 * alpha, solver="svd").fit(X, y)  # scikit-learn's scaling: n alpha
    f_ours = _ridge_objective(X, y, alpha, model.coef_, model.intercept_)
    f_ref = _ridge_objective(X, y, alpha, ref.coef_, ref.intercept_)
    assert f_ours <= f_ref * (1 + 1e-8)
    # the certificate is met, relative to F(0) = var(y) / 2
    assert model.dual_gap_ <= 1e-4 * 0.5 * np.var(y)


def test_ridge_2x3_with_a_1e8_entry_is_solved():
    X = np.array([[1.0, 2.0, 3.0], [4.0, 1e8, 6.0]])
    y = np.array([1.0, 2.0])
    model = Ridge(alpha=1e-3).fit(X, y)
    assert np.all(np.isfinite(model.coef_))
    f = _ridge_objective(X, y, 1e-3, model.coef_, model.intercept_)
    ref = SkRidge(alpha=2e-3, solver="svd").fit(X, y)
    assert f <= _ridge_objective(X, y, 1e-3, ref.coef_, ref.intercept_) * (1 + 1e-8)


def test_closed_form_warns_when_even_the_svd_misses_tol():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 50))
    X[:, 3] *= 1e8
    problem, _ = prepare(X, rng.standard_normal(20), Quadratic(), fit_intercept=True)
    # tol = 0 cannot be certified in floating point: the solve says so instead of staying quiet
    with pytest.warns(ConvergenceWarning, match="duality gap"):
        res = ClosedForm(tol=0.0).solve(problem, L2(1e-3))
    assert not res.converged


def test_sparse_ridge_with_tiny_alpha_and_p_greater_than_n():
    rng = np.random.default_rng(0)
    X = sp.random(20, 60, density=0.2, random_state=0, format="csr")
    y = rng.standard_normal(20)
    model = Ridge(alpha=1e-18).fit(X, y)
    # p > n: the solution interpolates the data (minimum-norm limit)
    np.testing.assert_allclose(X @ model.coef_ + model.intercept_, y, atol=1e-6)


@pytest.mark.parametrize("Est", [RidgeCV, LassoCV, ElasticNetCV])
def test_cv_refuses_x_whose_scale_overflows(Est):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = X[:, 0] + rng.standard_normal(40)
    with pytest.raises(ValueError, match=r"X is too large .* overflow"):
        Est(cv=3).fit(X * 1e300, y)


def test_y_whose_scale_overflows_is_refused():
    X = np.eye(4)
    with pytest.raises(ValueError, match=r"y is too large"):
        Ridge().fit(X, np.array([1e200, 1.0, 2.0, 3.0]))


def test_solver_raises_on_a_nan_gap_instead_of_looping():
    from reglab.linear._problem import make_problem
    from reglab.linear.penalties import L1

    X = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    problem = make_problem(X, np.array([1.0, np.nan, 2.0]), Quadratic(), fit_intercept=False)
    with pytest.raises(ValueError, match="duality gap is nan"):
        CoordinateDescent(max_iter=5).solve(problem, L1(0.1))


def test_logistic_path_refuses_nan_labels():
    X = np.random.default_rng(0).standard_normal((10, 3))
    y = np.array([0.0, 1.0] * 4 + [np.nan, 1.0])
    with pytest.raises(ValueError, match="y contains 1 missing or non-finite"):
        logistic_path(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_alpha_grid_refuses_bad_alpha_max(bad):
    with pytest.raises(ValueError, match="alpha_max_ must be finite and >= 0"):
        alpha_grid(bad)


def test_alpha_grid_refuses_non_numbers():
    with pytest.raises(TypeError, match="alpha_max_"):
        alpha_grid("1")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"max_epochs": 0}, "max_epochs"),
        ({"ws_start": -1}, "ws_start"),
        ({"anderson_k": -2}, "anderson_k"),
    ],
)
def test_coordinate_descent_refuses_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        CoordinateDescent(**kwargs)


def test_cv_fold_with_all_zero_weights_is_refused():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(30)
    sw = np.ones(30)
    sw[:10] = 0.0  # the first of three unshuffled folds
    with pytest.raises(ValueError, match="sample_weight is zero on every test sample of cv fold 0"):
        LassoCV(cv=KFold(3)).fit(X, y, sample_weight=sw)


def test_generalized_linear_estimator_warm_start_with_fewer_features_starts_cold():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(30)
    warm = GeneralizedLinearEstimator(warm_start=True).fit(X, y)
    warm.fit(X[:, :3], y)
    cold = GeneralizedLinearEstimator().fit(X[:, :3], y)
    np.testing.assert_allclose(warm.coef_, cold.coef_, atol=1e-6)
    labels = np.digitize(y, [-0.5, 0.5])
    clf = GeneralizedLinearEstimator(datafit=Multinomial(), warm_start=True, max_iter=20000)
    clf.fit(X, labels)
    clf.fit(X[:, :3], labels)
    assert clf.coef_.shape == (3, 3)


# -------------------------------------------- bad arguments found by the sweep
@pytest.mark.parametrize(
    "fit, exc, match",
    [
        (lambda X, y: LassoCV(cv=1).fit(X, y), ValueError, r"cv=1 folds: need 2 <= cv"),
        (lambda X, y: LassoCV(cv=10**12).fit(X, y), ValueError, "cv=1000000000000 folds"),
        (lambda X, y: RidgeCV(cv="five").fit(X, y), TypeError, "cv must be None, an int"),
        (lambda X, y: ElasticNetCV(cv=3, n_jobs="2").fit(X, y), ValueError, "n_jobs must be"),
        (lambda X, y: RidgeCV(scoring="no_such_score").fit(X, y), ValueError, "scoring="),
        (lambda X, y: RidgeCV(scoring=object()).fit(X, y), TypeError, "scoring must be"),
        (lambda X, y: LassoCV(n_alphas=10**12).fit(X, y), ValueError, "n_alphas must be"),
        (lambda X, y: alpha_grid(1.0, n_alphas=10**12), ValueError, "n_alphas must be"),
        (
            lambda X, y: logistic_path(X, y > np.median(y), fit_intercept="no"),
            TypeError,
            "fit_intercept must be a bool",
        ),
    ],
)
def test_bad_cv_and_grid_arguments_name_the_argument(fit, exc, match):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(30)
    with pytest.raises(exc, match=match):
        fit(X, y)


@pytest.mark.parametrize("Solver", ["FISTA", "ISTA", "GradientDescent", "Subgradient"])
def test_check_every_zero_is_refused(Solver):
    import reglab.linear as rl

    with pytest.raises(ValueError, match="check_every must be an integer >= 1"):
        getattr(rl, Solver)(check_every=0)


def test_alpha_max_refuses_non_problems():
    from reglab.linear import alpha_max
    from reglab.linear.penalties import L1

    with pytest.raises(TypeError, match="problem must be a Problem"):
        alpha_max("X", L1(1.0))
    problem, _ = prepare(np.eye(3), np.arange(3.0), Quadratic())
    with pytest.raises(TypeError, match="penalty must be L1, L2 or L1L2"):
        alpha_max(problem, None)


def test_lbfgs_memory_is_bounded():
    from reglab.linear import LBFGS

    with pytest.raises(ValueError, match="memory must be <= 10000"):
        LBFGS(memory=10**12)


@pytest.mark.parametrize(
    "fit, name",
    [
        (lambda X, y: Ridge(weights="abc").fit(X, y), "weights"),
        (lambda X, y: Ridge(weights=object()).fit(X, y), "weights"),
        (lambda X, y: Ridge().fit(X, y, sample_weight=["a"] * 30), "sample_weight"),
        (lambda X, y: logistic_path(np.full((30, 4), "x"), y > 0), "X"),
    ],
)
def test_non_numeric_arrays_name_the_argument(fit, name):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = X[:, 0] + 0.1 * rng.standard_normal(30)
    with pytest.raises((TypeError, ValueError), match=name):
        fit(X, y)
