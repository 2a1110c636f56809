"""Early-stopped gradient descent as ridge: exact spectral identities and the AKT bound."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import Ridge

from reglab.diagnostics import (
    ALI_KOLTER_TIBSHIRANI_BOUND,
    SyntheticRegression,
    early_stopping_as_ridge,
    gradient_descent_iterates,
)

SHAPES = [(50, 10), (20, 40)]


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=shape) * np.geomspace(1, 0.1, shape[1])
    beta = rng.normal(size=shape[1])
    return X, X @ beta + 0.5 * rng.normal(size=shape[0]), beta


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("steps", [1, 7, 60])
def test_gd_iterates_equal_spectral_formula(shape, steps):
    X, y, _ = _data(shape)
    lr = 0.9 * shape[0] / np.linalg.norm(X, 2) ** 2
    w = gradient_descent_iterates(X, y, lr, steps)[-1]
    res = early_stopping_as_ridge(X, y, lr, steps)
    np.testing.assert_allclose(res.gd_coef, w, atol=1e-10, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
def test_ridge_side_matches_scikit_learn_units(shape):
    X, y, _ = _data(shape)
    n, lr, steps = shape[0], 0.5, 13
    res = early_stopping_as_ridge(X, y, lr, steps)
    assert res.lam == pytest.approx(1 / (lr * steps))
    assert res.sklearn_alpha == pytest.approx(n / (lr * steps))
    ref = Ridge(alpha=res.sklearn_alpha, fit_intercept=False, solver="svd").fit(X, y)
    np.testing.assert_allclose(res.ridge_coef, ref.coef_, atol=1e-10)
    # the two estimators are close but not equal: compare risks, not coefficients
    assert not np.allclose(res.gd_coef, res.ridge_coef, rtol=1e-3)


@pytest.mark.parametrize("shape", SHAPES)
def test_risk_bound_of_ali_kolter_tibshirani(shape):
    X, y, beta = _data(shape, seed=1)
    lr = 0.01 * shape[0] / np.linalg.norm(X, 2) ** 2
    for steps in [1, 10, 100, 1000, 10000]:
        r = early_stopping_as_ridge(X, y, lr, steps, coef=beta, noise=0.5).risks
        assert r["gf"][0] <= r["ridge"][0] + 1e-12  # bias: exp(-x) <= 1/(1+x)
        assert r["gf"][1] <= ALI_KOLTER_TIBSHIRANI_BOUND * r["ridge"][1] + 1e-12
        assert r["ratio_gf"] <= ALI_KOLTER_TIBSHIRANI_BOUND


def test_exact_risk_matches_simulation():
    gen = SyntheticRegression(8, noise=1.0)
    rng = np.random.default_rng(5)
    X, _ = gen.sample(30, rng)
    lr, steps = 0.3, 20
    res = early_stopping_as_ridge(X, X @ gen.coef, lr, steps, generator=gen)
    # GD is linear in y: run it on 2000 noisy targets at once (columns of Y)
    Y = (X @ gen.coef)[:, None] + gen.noise * rng.normal(size=(30, 2000))
    W = np.zeros((8, 2000))
    for _ in range(steps):
        W += lr / 30 * X.T @ (Y - X @ W)
    errs = np.sum((W - gen.coef[:, None]) ** 2, axis=0)
    se = np.std(errs) / np.sqrt(len(errs))
    assert abs(np.mean(errs) - res.risks["gd"][2]) < 4 * se


def test_bad_input_and_plot():
    X, y, beta = _data((20, 5))
    with pytest.raises(ValueError, match="lr must be in"):
        early_stopping_as_ridge(X, y, 1e6, 3)
    with pytest.raises(
        ValueError, match=r"steps must be an integer in \[1, 10000000\], got steps=0"
    ):
        early_stopping_as_ridge(X, y, 0.1, 0)
    with pytest.raises(ValueError, match="coef must have shape"):
        early_stopping_as_ridge(X, y, 0.1, 3, coef=beta[:2], noise=1.0)
    res = early_stopping_as_ridge(X, y, 0.1, 30, coef=beta, noise=0.5)
    assert isinstance(res.plot(), Figure)
