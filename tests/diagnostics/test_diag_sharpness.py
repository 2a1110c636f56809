"""Sharpness: exact Hessian spectra of quadratics, Hutchinson's trace, epsilon-sharpness."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from matplotlib.figure import Figure  # noqa: E402

from reglab.diagnostics import (  # noqa: E402
    epsilon_sharpness,
    hessian_trace,
    model_loss,
    plot_hessian_slice,
    top_hessian_eigenvalue,
)

pytestmark = pytest.mark.torch
METHODS = ["exact", "power", "lanczos"]


def _quadratic(d=12, seed=0):
    """L(w) = 1/2 (w - c)^T A (w - c) with a known positive definite A (Hessian A)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = np.linspace(0.1, 5.0, d)
    A = torch.as_tensor(Q @ np.diag(eig) @ Q.T)
    c = torch.as_tensor(rng.normal(size=d))

    def loss(w):
        r = w - c
        return 0.5 * r @ A @ r

    return loss, A, c, eig


@pytest.mark.parametrize("method", METHODS)
def test_top_eigenvalue_of_quadratic(method):
    loss, _, c, eig = _quadratic()
    w = torch.zeros_like(c)
    value = top_hessian_eigenvalue(loss, w, method=method, tol=1e-10, max_iter=2000)
    assert value == pytest.approx(eig[-1], rel=1e-6 if method == "exact" else 1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_linear_model_mse_hessian_through_model_loss(method):
    # Hessian of mean((X w + b - y)^2) in (w, b) is 2/n [X 1]^T [X 1]
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = torch.randn(40, 1, generator=g, dtype=torch.float64)
    model = torch.nn.Linear(3, 1).double()
    before = model.weight.detach().clone()
    loss_fn, params = model_loss(model, torch.nn.functional.mse_loss, (X, y))
    Xa = torch.cat([X, torch.ones(40, 1, dtype=torch.float64)], dim=1)
    expected = float(torch.linalg.eigvalsh(2 / 40 * Xa.T @ Xa)[-1])
    value = top_hessian_eigenvalue(loss_fn, params, method=method, tol=1e-10, max_iter=2000)
    assert value == pytest.approx(expected, rel=1e-5)
    assert torch.equal(model.weight, before)


def test_indefinite_hessian_top_versus_largest_magnitude():
    # eigenvalues -10 and 1..5: the top (largest algebraic) one is 5; power iteration, as
    # documented, finds the largest magnitude -10
    eig = np.concatenate([[-10.0], np.linspace(1, 5, 5)])
    A = torch.as_tensor(np.diag(eig))

    def loss(w):
        return 0.5 * w @ A @ w

    w = torch.ones(6, dtype=torch.float64)
    for method in ("exact", "lanczos"):
        assert top_hessian_eigenvalue(loss, w, method=method, tol=1e-10) == pytest.approx(5.0)
    assert top_hessian_eigenvalue(loss, w, method="power", tol=1e-12, max_iter=500) == (
        pytest.approx(-10.0, rel=1e-6)
    )


def test_hutchinson_trace_within_standard_error():
    loss, A, c, eig = _quadratic(d=30, seed=1)
    est = hessian_trace(lambda ps: loss(ps[0]), [torch.zeros_like(c)], samples=200, seed=3)
    assert est.standard_error > 0
    assert abs(est.trace - eig.sum()) < 4 * est.standard_error


def test_epsilon_sharpness_of_quadratic_at_minimum():
    # at the minimum the worst L2 perturbation of radius rho gains rho^2 lambda_max / 2
    loss, _, c, eig = _quadratic()
    rho = 0.1
    value = epsilon_sharpness(loss, c.clone(), rho=rho, steps=200)
    assert value == pytest.approx(0.5 * rho**2 * eig[-1], rel=1e-4)
    assert value <= 0.5 * rho**2 * eig[-1] * (1 + 1e-9)


def test_dict_params():
    loss, _, c, eig = _quadratic()

    def dict_loss(p):
        return loss(torch.cat([p["a"], p["b"]]))

    params = {"a": torch.zeros(5, dtype=torch.float64), "b": torch.zeros(7, dtype=torch.float64)}
    assert top_hessian_eigenvalue(dict_loss, params) == pytest.approx(eig[-1], rel=1e-8)


def test_non_scalar_loss_is_an_error():
    with pytest.raises(ValueError, match=r"loss_fn must return a scalar tensor, got \(3,\)"):
        top_hessian_eigenvalue(lambda w: w**2, torch.zeros(3))
    with pytest.raises(ValueError, match="loss_fn must return a scalar tensor"):
        hessian_trace(lambda w: w**2, torch.zeros(3))
    with pytest.raises(TypeError, match="params must be a tensor"):
        top_hessian_eigenvalue(lambda w: w.sum(), 3.0)
    with pytest.raises(ValueError, match="rho must be finite and > 0"):
        epsilon_sharpness(lambda w: (w**2).sum(), torch.zeros(3), rho=0.0)


def test_hessian_slice_figure():
    loss, _, c, _ = _quadratic()
    assert isinstance(plot_hessian_slice(loss, c.clone(), radius=0.5, points=5), Figure)


def test_importing_diagnostics_does_not_import_torch():
    code = "import sys, reglab.diagnostics; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
