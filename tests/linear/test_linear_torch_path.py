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
