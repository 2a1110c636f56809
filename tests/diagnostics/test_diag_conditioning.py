"""Conditioning of ridge: condition number, effective dof, shrinkage factors."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.linear_model import Ridge

from reglab.diagnostics import (
    condition_number,
    effective_dof,
    plot_shrinkage,
    ridge_shrinkage_factors,
)

SHAPES = [(30, 8), (8, 30)]
LAMS = [0.0, 0.1, 3.0, 100.0]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("lam", LAMS)
def test_effective_dof_is_trace_of_hat_matrix(shape, lam):
    X = np.random.default_rng(0).normal(size=shape)
    if lam == 0.0:
        expected = np.linalg.matrix_rank(X)
    else:
        H = X @ np.linalg.solve(X.T @ X + lam * np.eye(shape[1]), X.T)
        expected = np.trace(H)
    assert effective_dof(X, lam) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("lam", LAMS[1:])
def test_condition_number_matches_numpy(lam):
    X = np.random.default_rng(1).normal(size=(40, 6)) * np.arange(1, 7)
    A = X.T @ X + lam * np.eye(6)
    assert condition_number(X, lam) == pytest.approx(np.linalg.cond(A), rel=1e-8)


def test_condition_number_singular_and_vectorised():
    X = np.random.default_rng(2).normal(size=(5, 10))
    assert condition_number(X, 0.0) == np.inf
    out = condition_number(X, np.array([1.0, 10.0]))
    assert out.shape == (2,) and out[0] > out[1] > 1


@pytest.mark.parametrize("shape", SHAPES)
def test_shrinkage_factors_act_on_singular_directions(shape):
    # ridge fitted values along u_i are d_i times the data's component
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=shape), rng.normal(size=shape[0])
    lam = 2.5
    fitted = Ridge(alpha=lam, fit_intercept=False).fit(X, y).predict(X)
    U, s, _ = np.linalg.svd(X, full_matrices=False)
    d = ridge_shrinkage_factors(X, lam)[: s.size]
    np.testing.assert_allclose(U.T @ fitted, d * (U.T @ y), atol=1e-10)
    assert ridge_shrinkage_factors(X, np.array([0.0, lam])).shape == (2, shape[1])


def test_bad_input():
    with pytest.raises(ValueError, match="lam must be >= 0"):
        effective_dof(np.eye(3), -1.0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        condition_number(np.ones(3))
    with pytest.raises(ValueError, match="X contains NaN"):
        effective_dof(np.array([[np.nan]]), 1.0)


def test_plot_shrinkage():
    X = np.random.default_rng(4).normal(size=(20, 5))
    assert isinstance(plot_shrinkage(X, [0.1, 1.0, 10.0]), Figure)
