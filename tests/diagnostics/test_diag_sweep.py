"""Bias-variance sweeps: the ridge fast path and the U-curve."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import Ridge

from reglab.diagnostics import SyntheticRegression, bias_variance_sweep, ridge_predictions


@pytest.mark.parametrize("method", ["gram", "svd"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("shape", [(40, 6), (10, 25)])
def test_ridge_predictions_match_scikit_learn(method, fit_intercept, shape):
    rng = np.random.default_rng(0)
    X, y, Xt = rng.normal(size=shape), rng.normal(size=shape[0]) + 3, rng.normal(size=(7, shape[1]))
    alphas = np.array([1e-3, 0.5, 20.0])
    preds = ridge_predictions(X, y, Xt, alphas, fit_intercept=fit_intercept, method=method)
    for a, row in zip(alphas, preds):
        ref = Ridge(alpha=a, fit_intercept=fit_intercept, solver="svd").fit(X, y).predict(Xt)
        np.testing.assert_allclose(row, ref, atol=1e-9)


@pytest.mark.parametrize("shape", [(40, 6), (10, 25)])
def test_min_norm_limit_is_pseudo_inverse(shape):
    rng = np.random.default_rng(5)
    X, y, Xt = rng.normal(size=shape), rng.normal(size=shape[0]), rng.normal(size=(3, shape[1]))
    pred = ridge_predictions(X, y, Xt, [0.0], fit_intercept=False)[0]
    np.testing.assert_allclose(pred, Xt @ np.linalg.pinv(X) @ y, atol=1e-9)
    with pytest.raises(ValueError, match="method='gram' needs every alpha > 0"):
        ridge_predictions(X, y, Xt, [0.0], method="gram")


def test_fast_path_for_reglab_ridge_converts_alpha():
    from reglab.diagnostics.sweep import fast_ridge_predictions
    from reglab.linear import Ridge as RRidge

    rng = np.random.default_rng(1)
    X, y, Xt = rng.normal(size=(30, 5)), rng.normal(size=30), rng.normal(size=(4, 5))
    alphas = np.array([0.01, 1.0])
    fast = fast_ridge_predictions(RRidge(), "alpha", alphas, X, y, Xt, "squared")
    for a, row in zip(alphas, fast):
        np.testing.assert_allclose(row, RRidge(alpha=a).fit(X, y).predict(Xt), atol=1e-9)
    assert fast_ridge_predictions(RRidge(solver="cd"), "alpha", alphas, X, y, Xt, "squared") is None
    assert (
        fast_ridge_predictions(Ridge(positive=True), "alpha", alphas, X, y, Xt, "squared") is None
    )


def test_fast_path_equals_generic_path():
    gen = SyntheticRegression(6, noise=1.0)
    alphas = np.geomspace(0.01, 100, 5)
    kw = dict(param="alpha", values=alphas, n_train=25, n_test=30, rounds=4, seed=2)
    fast = bias_variance_sweep(Ridge(), gen, **kw)

    def fit(X, y, alpha):  # a training function takes the generic path
        return Ridge(alpha=alpha).fit(X, y).predict

    slow = bias_variance_sweep(fit, gen, **kw)
    np.testing.assert_allclose(fast.expected_loss, slow.expected_loss, rtol=1e-9)
    np.testing.assert_allclose(fast.variance, slow.variance, rtol=1e-8)


def test_u_curve():
    gen = SyntheticRegression(20, noise=1.0, signal=2.0)
    alphas = np.geomspace(1e-2, 1e4, 13)
    sweep = bias_variance_sweep(Ridge(), gen, values=alphas, n_train=30, n_test=200, rounds=40)
    # bias rises and variance falls with alpha; the test loss is U-shaped
    assert np.all(np.diff(sweep.variance[:9]) < 0)
    assert sweep.bias2[-1] > 10 * sweep.bias2[0]
    assert alphas[0] < sweep.best_value < alphas[-1]
    assert sweep.expected_loss.min() < 0.8 * min(sweep.expected_loss[0], sweep.expected_loss[-1])
    assert np.all(
        np.abs(sweep.identity_error)
        < 5 * np.array([r.identity_standard_error for r in sweep.results])
    )
    assert isinstance(sweep.plot(), Figure)


def test_bad_input():
    gen = SyntheticRegression(3)
    with pytest.raises(ValueError, match="values must be a non-empty 1-D"):
        bias_variance_sweep(Ridge(), gen, values=[], n_train=5, n_test=5, rounds=2)
    with pytest.raises(ValueError, match=r"rounds must be an integer in \[2, "):
        bias_variance_sweep(Ridge(), gen, values=[1.0], n_train=5, n_test=5, rounds=0)
