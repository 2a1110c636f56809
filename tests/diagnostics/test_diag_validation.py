"""Issues 13 and 14 for reglab.diagnostics: rank tolerance, checked inputs, lazy matplotlib.

Each test pins one defect found by sampling; tests/test_bad_input.py covers the class.
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from reglab.diagnostics import (
    BiasVarianceResult,
    BootstrapGenerator,
    SyntheticClassification,
    SyntheticRegression,
    bias_variance,
    bias_variance_sweep,
    calibration_bins,
    condition_number,
    double_descent,
    early_stopping_as_ridge,
    effective_dof,
    gd_filter,
    gradient_descent_iterates,
    ridge_filter,
    ridge_predictions,
    ridge_shrinkage_factors,
    singular_values,
)


def _duplicated(n=30, p=5, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, p))
    return np.c_[X, X[:, 0], 2.0 * X[:, 1]]


def test_rank_tolerance_duplicated_columns():
    # two exact copies: rank 5 of 7 columns; round-off leaves s ~ 1e-15 s_max behind
    X = _duplicated()
    assert np.linalg.svd(X, compute_uv=False)[-1] > 0  # the exact test would see rank 7
    assert effective_dof(X, 0.0) == np.linalg.matrix_rank(X) == 5
    assert condition_number(X, 0.0) == np.inf
    d = ridge_shrinkage_factors(X, 0.0)
    np.testing.assert_array_equal(d, [1, 1, 1, 1, 1, 0, 0])
    assert np.count_nonzero(singular_values(X)) == 5
    # with lam > 0 the answer is the smooth one (round-off directions contribute ~0)
    lam = 0.5
    H = X @ np.linalg.solve(X.T @ X + lam * np.eye(7), X.T)
    assert effective_dof(X, lam) == pytest.approx(np.trace(H), rel=1e-9)


def test_import_does_not_load_matplotlib():
    code = (
        "import sys, reglab.diagnostics; "
        "print(any(m == 'matplotlib' or m.startswith('matplotlib.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_filters_match_closed_forms_and_refuse_bad_input():
    s, n = np.array([3.0, 1.0, 0.5]), 10
    np.testing.assert_allclose(gd_filter(s, 0.5, 4, n), 1 - (1 - 0.5 * s**2 / n) ** 4)
    np.testing.assert_allclose(ridge_filter(s, 0.2, n), s**2 / (s**2 + n * 0.2))
    with pytest.raises(ValueError, match="s contains NaN"):
        gd_filter([1.0, np.nan], 0.1, 3, n)
    with pytest.raises(ValueError, match="n must be an integer >= 1, got n=0"):
        gd_filter(s, 0.1, 3, 0)
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        gd_filter(s, -0.1, 3, n)
    with pytest.raises(ValueError, match="lam must be >= 0"):
        ridge_filter(s, -1.0, n)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ridge_filter(s, 1.0, 0)
    with pytest.raises(ValueError, match="s contains NaN"):
        ridge_filter([np.nan], 1.0, n)
    with pytest.raises(ValueError, match="stability bound"):
        gd_filter(s, 1e3, 10_000, n)


def test_gradient_descent_iterates_refuses_divergent_step():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 4)), rng.normal(size=20)
    L = np.linalg.norm(X, 2) ** 2 / 20
    with pytest.raises(ValueError, match=r"lr=100.*stability bound 2/L"):
        gradient_descent_iterates(X, y, 100.0, 5)
    W = gradient_descent_iterates(X, y, 1.9 / L, 200)  # just inside: converges
    assert np.all(np.isfinite(W))
    np.testing.assert_allclose(W[-1], np.linalg.lstsq(X, y, rcond=None)[0], atol=1e-6)


def test_nan_refused_everywhere():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    yn = y.copy()
    yn[3] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        early_stopping_as_ridge(Xn, y, 0.1, 3)
    with pytest.raises(ValueError, match="y contains NaN"):
        early_stopping_as_ridge(X, yn, 0.1, 3)
    with pytest.raises(ValueError, match="lr must be finite"):
        early_stopping_as_ridge(X, y, np.nan, 3)
    with pytest.raises(ValueError, match="coef contains NaN"):
        early_stopping_as_ridge(X, y, 0.1, 3, coef=[np.nan, 0, 0], noise=1.0)
    with pytest.raises(ValueError, match="noise must be finite"):
        early_stopping_as_ridge(X, y, 0.1, 3, coef=[1.0, 0, 0], noise=np.nan)
    with pytest.raises(ValueError, match="X contains NaN"):
        ridge_predictions(Xn, y, X, [1.0])
    with pytest.raises(ValueError, match="y contains NaN"):
        ridge_predictions(X, yn, X, [1.0])
    with pytest.raises(ValueError, match="X_test contains NaN"):
        ridge_predictions(X, y, Xn, [1.0])
    with pytest.raises(ValueError, match="signal must be finite"):
        double_descent(10, [5, 20], signal=np.nan, rounds=2)
    with pytest.raises(ValueError, match="noise must be finite"):
        double_descent(10, [5, 20], noise=np.nan, rounds=2)
    with pytest.raises(ValueError, match="noise must be finite"):
        SyntheticRegression(3, noise=np.nan)
    with pytest.raises(ValueError, match="signal must be finite"):
        SyntheticRegression(3, signal=np.nan)
    with pytest.raises(ValueError, match="separation must be finite"):
        SyntheticClassification(2, separation=np.nan)
    with pytest.raises(ValueError, match="X contains NaN"):
        BootstrapGenerator(Xn, y)
    with pytest.raises(ValueError, match="y contains NaN"):
        BootstrapGenerator(X, yn)
    with pytest.raises(ValueError, match="noise_var must be finite"):
        BootstrapGenerator(X, y, noise_var=np.nan)
    with pytest.raises(ValueError, match="test_fraction must be finite"):
        BootstrapGenerator(X, y, test_fraction=np.nan)


def test_integer_like_numpy_scalars_accepted():
    torch = pytest.importorskip("torch")
    from reglab.diagnostics import epsilon_sharpness, hessian_trace

    def loss(w):
        return (w**2).sum()

    w = torch.ones(3, dtype=torch.float64)
    assert hessian_trace(loss, w, samples=np.int64(4)).trace == pytest.approx(6.0)
    assert epsilon_sharpness(loss, w, rho=0.1, steps=np.int32(2)) > 0
    res = double_descent(np.int64(20), [5, 30], rounds=np.int64(2))
    assert res.risk.shape == (2,)
    bv = bias_variance(
        Ridge(), SyntheticRegression(3), n_train=np.int64(20), n_test=np.int16(10), rounds=3
    )
    assert bv.rounds == 3
    with pytest.raises(TypeError, match="rounds must be an integer, got 2.0"):
        double_descent(20, [5, 30], rounds=2.0)


def test_power_iteration_needs_an_iteration():
    torch = pytest.importorskip("torch")
    from reglab.diagnostics import top_hessian_eigenvalue

    w = torch.ones(3, dtype=torch.float64)
    with pytest.raises(
        ValueError, match=r"max_iter must be an integer in \[1, 10000000\], got max_iter=0"
    ):
        top_hessian_eigenvalue(lambda v: (v**2).sum(), w, method="power", max_iter=0)
    assert top_hessian_eigenvalue(
        lambda v: (v**2).sum(), w, method="power", max_iter=np.int64(50)
    ) == pytest.approx(2.0)


def test_model_loss_refuses_training_batchnorm_and_leaves_it_untouched():
    torch = pytest.importorskip("torch")
    from reglab.diagnostics import model_loss

    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, t = torch.randn(8, 3), torch.randn(8, 4)
    with pytest.raises(ValueError, match=r"model.eval\(\)"):
        model_loss(model, torch.nn.functional.mse_loss, (x, t))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    model.eval()
    loss_fn, params = model_loss(model, torch.nn.functional.mse_loss, (x, t))
    assert torch.isfinite(loss_fn(params))


def test_result_reprs_are_short():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 5)), rng.normal(size=200)
    bv = bias_variance(Ridge(), SyntheticRegression(5), n_train=50, n_test=500, rounds=4)
    sweep = bias_variance_sweep(
        Ridge(), SyntheticRegression(5), values=[0.1, 1.0], n_train=50, n_test=500, rounds=3
    )
    objects = [
        bv,
        sweep,
        early_stopping_as_ridge(X, y, 0.1, 10, coef=np.ones(5), noise=1.0),
        double_descent(20, [5, 10, 30], rounds=2),
        calibration_bins(rng.random(300), rng.integers(0, 2, 300)),
    ]
    for obj in objects:
        text = repr(obj)
        assert len(text) < 400, (type(obj).__name__, len(text))
        assert text.startswith(type(obj).__name__ + "(")
    assert isinstance(bv, BiasVarianceResult)
    assert f"bias2={bv.bias2:.6g}" in repr(bv) and "n_test=500" in repr(bv)


def test_closed_scheduler_port_is_one_clear_error(monkeypatch):
    pytest.importorskip("distributed")
    from reglab.diagnostics import _rounds

    monkeypatch.setattr(_rounds, "CONNECT_TIMEOUT", 1)
    kw = {"n_train": 10, "n_test": 5, "rounds": 2}
    with pytest.raises(ValueError, match=r"scheduler='tcp://127.0.0.1:9': no Dask scheduler"):
        bias_variance(Ridge(), SyntheticRegression(3), scheduler="tcp://127.0.0.1:9", **kw)
    with pytest.raises(TypeError, match="scheduler must be a Dask scheduler address"):
        bias_variance(Ridge(), SyntheticRegression(3), scheduler="localhost", **kw)
    with pytest.raises(ValueError, match="n_jobs must be an integer in"):
        bias_variance(Ridge(), SyntheticRegression(3), n_jobs=10**12, **kw)


def test_scale_counts_and_estimator_errors_are_named():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    # entries whose squares overflow: one line naming X, not an inf or a LinAlgError
    with pytest.raises(ValueError, match=r"X has entries up to 2.44e\+300 in magnitude"):
        condition_number(X * 1e300)
    with pytest.raises(ValueError, match="X has entries up to"):
        ridge_predictions(X * 1e300, y, X, [1.0])
    with pytest.raises(ValueError, match="noise must be finite and in"):
        SyntheticRegression(3, noise=1e300)
    # counts that would exhaust memory or run for days
    with pytest.raises(ValueError, match=r"rounds must be an integer in \[2, 10000000\]"):
        bias_variance(Ridge(), SyntheticRegression(3), n_train=10, n_test=5, rounds=10**12)
    with pytest.raises(ValueError, match="n_train \\* n_features asks for"):
        double_descent(10**6, [5, 10**4], rounds=2)
    # the estimator's refusal of a swept value, with the value named
    gen = SyntheticRegression(3)
    kw = {"n_train": 10, "n_test": 5, "rounds": 2}
    with pytest.raises(ValueError, match=r"values\[1\]=.*-1.*alpha=.*failed"):
        bias_variance_sweep(Ridge(solver="svd"), gen, values=[1.0, -1.0], **kw)
    with pytest.raises(ValueError, match="param='alhpa' is not a parameter of Ridge"):
        bias_variance_sweep(Ridge(), gen, param="alhpa", values=[1.0], **kw)


def test_sharpness_wraps_loss_failures_and_non_finite_results():
    torch = pytest.importorskip("torch")
    from reglab.diagnostics import epsilon_sharpness, top_hessian_eigenvalue

    A = torch.eye(2, dtype=torch.float64)

    def quad(w):
        return 0.5 * w @ A @ w

    with pytest.raises(ValueError, match=r"loss_fn\(params\) failed: RuntimeError"):
        top_hessian_eigenvalue(quad, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="params contains an empty tensor"):
        top_hessian_eigenvalue(quad, torch.ones(0, dtype=torch.float64))
    with pytest.raises(ValueError, match="rho=1e.300: the loss is not finite"):
        epsilon_sharpness(quad, torch.ones(2, dtype=torch.float64), rho=1e300)
