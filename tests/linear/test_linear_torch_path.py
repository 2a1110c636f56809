"""The optional torch path solver: same certified path as the NumPy one; torch stays lazy."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import reglab.linear as rl
from reglab.linear._fit import prepare
from reglab.linear.datafits import Quadratic


def test_importing_reglab_linear_does_not_import_torch():
    code = "import sys, reglab, reglab.linear; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.torch
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("sparse", [False, True])
def test_torch_path_matches_cd_path(l1_ratio, sparse):
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 90))
    y = X[:, :3] @ np.array([1.0, -2.0, 1.5]) + 0.2 * rng.standard_normal(40)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 0.7, X, 0.0))
    kw = dict(l1_ratio=l1_ratio, n_alphas=8, eps=0.05, tol=1e-9, fit_intercept=True)
    ref = rl.enet_path(X, y, **kw)
    res = rl.enet_path(X, y, device="cpu", **kw)
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=True)
    assert np.all(res.dual_gaps <= 1e-9 * problem.value_scale())
    np.testing.assert_allclose(res.coefs, ref.coefs, atol=1e-3)
    np.testing.assert_allclose(res.intercepts, ref.intercepts, atol=1e-3)


@pytest.mark.torch
@pytest.mark.parametrize("shape", [(30, 70), (70, 30)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sparse", [False, True])
def test_device_lipschitz_bounds_the_exact_one_tightly(shape, dtype, sparse):
    # on CUDA the step size comes from the Gram's top eigenvalue (torch_path._gram_lipschitz):
    # it must be an upper bound of ||X_c||^2 / n (a larger step diverges) and tight to 0.1%
    torch = pytest.importorskip("torch")
    from reglab.linear.solvers.torch_path import _gram_lipschitz

    rng = np.random.default_rng(1)
    X = rng.standard_normal(shape) + 3.0  # uncentred: the intercept's centring matters
    if sparse:
        X = sp.csc_matrix(np.where(rng.random(shape) < 0.3, X, 0.0))
    problem, _ = prepare(X, rng.standard_normal(shape[0]), Quadratic(), fit_intercept=True)
    Xc = problem.X.toarray() - np.outer(problem.v, problem.mu) if sparse else problem.X
    Xt = torch.as_tensor(np.ascontiguousarray(Xc), dtype=getattr(torch, dtype))
    exact = np.linalg.norm(Xc, 2) ** 2 / shape[0]
    L = _gram_lipschitz(torch, Xt)
    assert exact <= L <= exact * (1 + 1.1e-3)
    assert L == pytest.approx(problem.lipschitz(), rel=2e-3)
