"""Double descent: closed form, simulation, measured threshold, tuned ridge."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from reglab.diagnostics import (
    double_descent,
    min_norm_asymptotic_risk,
    random_features_double_descent,
)


def test_closed_form_values():
    # sigma^2 gamma/(1-gamma) below the threshold, r^2(1-1/gamma) + sigma^2/(gamma-1) above
    assert min_norm_asymptotic_risk(0.5, signal=2.0, noise=1.5) == pytest.approx(2.25)
    assert min_norm_asymptotic_risk(2.0, signal=2.0, noise=1.5) == pytest.approx(2 + 2.25)
    assert min_norm_asymptotic_risk(1.0) == np.inf
    assert min_norm_asymptotic_risk(0.5, include_noise=True) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        min_norm_asymptotic_risk(0.0)


def test_simulation_matches_closed_form_away_from_peak():
    n = 200
    p = np.array([40, 80, 120, 300, 400, 600])
    res = double_descent(n, p, signal=1.0, noise=0.5, rounds=20, seed=1)
    rel = np.abs(res.risk - res.closed_form) / res.closed_form
    assert np.all(rel < 0.06), rel
    assert res.axis == "n_features"


def test_measured_threshold_and_tuned_ridge_removes_peak():
    n = 60
    p = np.arange(20, 121, 5)
    res = double_descent(n, p, noise=0.5, rounds=8, seed=2)
    assert abs(res.threshold - n) <= 5
    # the tuned ridge is never worse than min-norm and has no peak at the threshold
    assert np.all(res.ridge_risk <= res.risk + 1e-12)
    assert res.ridge_risk.max() < 2.0
    assert res.risk.max() > 10 * res.ridge_risk.max()
    assert isinstance(res.plot(), Figure)


def test_sample_axis():
    res = double_descent(np.array([20, 40, 80]), 40, rounds=3, noise=0.5)
    assert res.axis == "n_train"
    np.testing.assert_array_equal(res.values, [20, 40, 80])
    assert res.threshold == 40


def test_random_features_peak_is_measured_near_n():
    rng = np.random.default_rng(3)
    d, n = 8, 80
    w = rng.normal(size=d)
    X = rng.normal(size=(n + 400, d))
    y = np.tanh(X @ w / np.sqrt(d)) * 2 + 0.3 * rng.normal(size=n + 400)
    Ns = np.array([10, 30, 50, 70, 80, 90, 110, 200, 600])
    res = random_features_double_descent(X[:n], y[:n], X[n:], y[n:], Ns, rounds=3)
    assert 50 <= res.threshold <= 110
    assert res.risk[-1] < res.risk[Ns == res.threshold][0] / 3
    assert np.all(res.ridge_risk <= res.risk + 1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="exactly one of n_train and n_features"):
        double_descent([10, 20], [10, 20])
    with pytest.raises(ValueError, match=r"rounds must be an integer in \[2, "):
        double_descent(10, [5, 20], rounds=1)
    with pytest.raises(ValueError, match="n_features must be a positive integer"):
        double_descent(10, [0, 5])
    with pytest.raises(ValueError, match="same columns"):
        random_features_double_descent(
            np.ones((5, 2)), np.ones(5), np.ones((5, 3)), np.ones(5), [3, 4]
        )
