"""Bad arguments that used to fail inside NumPy now fail naming the argument and its value.

These are the cases the bad-input sweep (benchmarks/bad_input_sweep.py) counted as "poor" in
reglab.linear: a string ``sample_weight`` reaching ``float()``, a string ``step`` reaching
``np.isfinite``, a string ``keep_history`` or ``verbose`` taken as True.
"""

import numpy as np
import pytest
import sklearn.linear_model as sk
from sklearn.exceptions import ConvergenceWarning

from reglab.linear import (
    L1,
    L2,
    CoordinateDescent,
    GeneralizedLinearEstimator,
    GradientDescent,
    Lasso,
    Subgradient,
    enet_path,
    logistic_path,
    ridge_path,
)


class _Opaque:
    pass


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4))
    y = X @ np.array([1.0, -2.0, 0.0, 0.5]) + 0.1 * rng.standard_normal(30)
    return X, y


@pytest.mark.parametrize("path", [ridge_path, enet_path, logistic_path])
@pytest.mark.parametrize(
    "bad, shown", [("abc", "sample_weight='abc'"), (_Opaque(), "sample_weight=<")]
)
def test_paths_name_a_non_numeric_sample_weight(path, bad, shown):
    X, y = _data()
    if path is logistic_path:
        y = (y > 0).astype(float)
    with pytest.raises(TypeError, match=f"sample_weight must be numeric, got {shown}"):
        path(X, y, sample_weight=bad, n_alphas=3)


def test_estimators_name_a_non_numeric_sample_weight():
    X, y = _data()
    with pytest.raises(TypeError, match="sample_weight"):
        Lasso(alpha=0.1).fit(X, y, sample_weight="abc")


def test_a_scalar_sample_weight_is_every_row_weight():
    X, y = _data()
    path_w = enet_path(X, y, sample_weight=3.0, n_alphas=3)
    path_1 = enet_path(X, y, n_alphas=3)
    np.testing.assert_allclose(path_w.coefs, path_1.coefs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("Solver", [GradientDescent, Subgradient])
@pytest.mark.parametrize(
    "step, exc, match",
    [
        ("abc", TypeError, "step must be a real number, got 'abc'"),
        (_Opaque(), TypeError, "step must be a real number"),
        (True, TypeError, "step must be a real number, got True"),
        (0.0, ValueError, r"step must be finite and > 0, got step=0\.0"),
        (np.nan, ValueError, "step must be finite and > 0, got step=nan"),
        (-1.0, ValueError, r"step must be finite and > 0, got step=-1\.0"),
    ],
)
def test_first_order_step_is_checked(Solver, step, exc, match):
    with pytest.raises(exc, match=match):
        Solver(step=step)


@pytest.mark.parametrize("Solver", [GradientDescent, Subgradient])
@pytest.mark.parametrize("bad", ["no", 2, None])
def test_keep_history_must_be_a_bool(Solver, bad):
    with pytest.raises(TypeError, match="keep_history must be True or False"):
        Solver(keep_history=bad)


@pytest.mark.parametrize("Solver", [CoordinateDescent, GradientDescent, Subgradient])
@pytest.mark.parametrize("bad, exc", [("no", TypeError), (None, TypeError), (-1, ValueError)])
def test_verbose_must_be_a_bool_or_a_non_negative_int(Solver, bad, exc):
    with pytest.raises(exc, match="verbose"):
        Solver(verbose=bad)


def test_verbose_accepts_scikit_learns_ints_and_bools():
    assert CoordinateDescent(verbose=2).verbose == 2
    assert CoordinateDescent(verbose=np.bool_(True)).verbose is True


def test_gradient_descent_with_a_given_step_reaches_the_ridge_optimum():
    """A valid ``step`` (half of 1/L) still converges, to the closed form's optimum."""
    X, y = _data()
    gd = GeneralizedLinearEstimator(penalty=L2(0.1), solver=GradientDescent(max_iter=20000))
    ref = GeneralizedLinearEstimator(penalty=L2(0.1), solver="closed_form").fit(X, y)
    L = np.linalg.norm(X - X.mean(0), 2) ** 2 / len(y) + 0.1
    gd.set_params(solver=GradientDescent(step=0.5 / L, tol=1e-10, max_iter=20000)).fit(X, y)
    np.testing.assert_allclose(gd.coef_, ref.coef_, rtol=1e-6)


def test_tol_zero_is_accepted_and_warns_as_scikit_learn_does():
    """scikit-learn accepts tol=0 (its constraint is Interval(Real, 0, None, closed='left'))
    and warns when the iteration cap comes first; reglab runs until the certified gap is 0
    (rounding below 0 counts as 0) or ``max_iter``, then warns with the gap it reached."""
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="Objective did not converge"):
        sk.Lasso(alpha=0.1, tol=0.0, max_iter=1).fit(X, y)
    est = GeneralizedLinearEstimator(penalty=L1(0.1), tol=0.0, max_iter=1)
    with pytest.warns(ConvergenceWarning, match=r"duality gap .* > tol \* F\(0\) = 0\.000e\+00"):
        est.fit(X, y)
    assert np.all(np.isfinite(est.coef_)) and est.dual_gap_ > 0
