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


def _logistic_objective(X, y, coef, intercept, alpha, l1_ratio):
    """Mean log-loss (binary: coef for the second class) plus alpha * the elastic net."""
    classes = np.unique(y)
    Z = np.asarray(X @ coef) + intercept
    if classes.size == 2:
        ypm = np.where(y == classes[1], 1.0, -1.0)
        loss = np.mean(np.logaddexp(0.0, -ypm * Z))
    else:
        Zs = Z.T if Z.shape[0] != X.shape[0] else Z
        lse = np.logaddexp.reduce(Zs, axis=1)
        loss = np.mean(lse - Zs[np.arange(len(y)), np.searchsorted(classes, y)])
    pen = l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * (coef**2).sum()
    return loss + alpha * pen


@pytest.mark.torch
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_torch_logistic_path_matches_cpu_path(n_classes, sparse, l1_ratio, fit_intercept):
    # the batched FISTA path certifies every alpha by the NumPy solvers' duality gap; at a
    # tight tol both paths sit at the same optimum: objectives within tol * F(0) (plus the
    # CPU path's own gap), coefficients close (strongly convex in the elastic-net case)
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 30)) + 1.0  # uncentred: the intercept's centring matters
    y = rng.integers(0, n_classes, 80)
    if sparse:
        X = sp.csr_matrix(np.where(np.abs(X) > 1.2, X, 0.0))
    tol = 1e-10
    kw = dict(l1_ratio=l1_ratio, n_alphas=6, eps=0.05, tol=tol, fit_intercept=fit_intercept)
    ref = rl.logistic_path(X, y, max_iter=1000, **kw)
    res = rl.logistic_path(X, y, device="cpu", **kw)
    np.testing.assert_allclose(res.alphas, ref.alphas)
    assert res.coefs.shape == ref.coefs.shape
    assert res.dual_gaps.shape == res.n_iters.shape == (6,)
    from reglab.linear._fit import encode_binary
    from reglab.linear.datafits import Logistic, Multinomial

    if n_classes == 2:
        problem, _ = prepare(X, encode_binary(y)[1], Logistic(), fit_intercept=fit_intercept)
    else:
        problem, _ = prepare(X, y, Multinomial(), fit_intercept=fit_intercept, n_classes=3)
    f0 = problem.value_scale()
    assert np.all(res.dual_gaps <= tol * f0)
    for k, alpha in enumerate(res.alphas):
        if n_classes == 2:
            args = (res.coefs[:, k], res.intercepts[k]), (ref.coefs[:, k], ref.intercepts[k])
        else:
            args = (
                (res.coefs[..., k].T, res.intercepts[k]),
                (ref.coefs[..., k].T, ref.intercepts[k]),
            )
        obj = _logistic_objective(X, y, *args[0], alpha, l1_ratio)
        obj_ref = _logistic_objective(X, y, *args[1], alpha, l1_ratio)
        assert abs(obj - obj_ref) <= (res.dual_gaps[k] + ref.dual_gaps[k]) * 1.001 + 1e-13
    np.testing.assert_allclose(res.coefs, ref.coefs, atol=1e-3)
    # the multinomial intercept is defined up to a constant shared by the classes
    b, b_ref = np.asarray(res.intercepts, float), np.asarray(ref.intercepts, float)
    if n_classes > 2:
        b, b_ref = b - b.mean(axis=1, keepdims=True), b_ref - b_ref.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(b, b_ref, atol=1e-3)


@pytest.mark.torch
def test_torch_logistic_path_float32_iterations_float64_certificate():
    torch = pytest.importorskip("torch")
    from reglab.linear.datafits import Multinomial
    from reglab.linear.penalties import L1
    from reglab.linear.solvers.torch_logistic import torch_logistic_path

    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 20))
    y = rng.integers(0, 3, 60).astype(float)
    problem, _ = prepare(X, y, Multinomial(), fit_intercept=True, n_classes=3)
    alphas = np.array([0.05, 0.02])
    coefs, b, gaps, _ = torch_logistic_path(problem, L1(1.0), alphas, tol=1e-6, dtype=torch.float32)
    from reglab.linear._problem import duality_gap

    for k, a in enumerate(alphas):
        exact = duality_gap(problem, L1(a), coefs[..., k], b[k])[0]
        # the reported gap is the float64 certificate of the returned (float32) iterate
        assert exact == pytest.approx(gaps[k], rel=1e-6, abs=1e-12)
        assert exact <= 1e-6 * problem.value_scale()


@pytest.mark.torch
def test_device_errors_name_device():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 2, 20)
    with pytest.raises(ValueError, match="device='nonsense'"):
        rl.logistic_path(X, y, device="nonsense")
    with pytest.raises(TypeError, match="device=3"):
        rl.logistic_path(X, y, device=3)
    with pytest.raises(ValueError, match="device='nonsense'"):
        rl.lasso_path(X, y.astype(float), device="nonsense")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'.*no CUDA"):
            rl.logistic_path(X, y, device="cuda")
        with pytest.raises(ValueError, match="device='cuda:0'.*no CUDA"):
            rl.lasso_path(X, y.astype(float), device="cuda:0")
    with pytest.raises(ValueError, match="alphas must be > 0"):
        rl.logistic_path(X, y, device="cpu", alphas=[0.1, 0.0])


@pytest.mark.torch
@pytest.mark.parametrize(
    "case",
    ["lasso", "enet_list", "weights", "no_intercept", "sparse", "positive"],
)
def test_cv_on_device_matches_cpu_cv(case):
    # all folds x alphas (x l1_ratios) as one batched solve: at a matched tight tol the
    # held-out curves, the chosen (l1_ratio, alpha) and the final fit equal the CPU ones
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 40)) + 2.0
    y = X[:, :4] @ np.array([1.0, -2.0, 1.5, 0.5]) + 0.5 * rng.standard_normal(90)
    est, kw, fit_kw = rl.LassoCV, dict(alphas=8, eps=0.02, tol=1e-10, cv=4), {}
    if case == "enet_list":
        est, kw["l1_ratio"] = rl.ElasticNetCV, [0.3, 0.7, 1.0]
    elif case == "weights":
        fit_kw["sample_weight"] = rng.uniform(0.2, 3.0, 90)
    elif case == "no_intercept":
        kw["fit_intercept"] = False
    elif case == "sparse":
        X = sp.csr_matrix(np.where(rng.random(X.shape) < 0.3, X, 0.0))
    elif case == "positive":
        est, kw["l1_ratio"], kw["positive"] = rl.ElasticNetCV, 0.6, True
    cpu = est(**kw).fit(X, y, **fit_kw)
    dev = est(device="cpu", **kw).fit(X, y, **fit_kw)
    assert dev.get_params()["device"] == "cpu" and cpu.get_params()["device"] is None
    np.testing.assert_allclose(dev.alphas_, cpu.alphas_)
    # the gap bounds the objective; the coefficients (hence the curves) are only within
    # sqrt(2 gap / strong convexity), weakest at small alpha * (1 - l1_ratio)
    np.testing.assert_allclose(
        dev.mse_path_, cpu.mse_path_, rtol=1e-4 if "l1_ratio" in kw else 1e-6
    )
    assert dev.alpha_ == cpu.alpha_
    if case == "enet_list":
        assert dev.l1_ratio_ == cpu.l1_ratio_
    np.testing.assert_allclose(dev.coef_, cpu.coef_, atol=1e-10)
    np.testing.assert_allclose(dev.intercept_, cpu.intercept_, atol=1e-10)


@pytest.mark.torch
def test_cv_device_is_validated_naming_it():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    with pytest.raises(ValueError, match="device='gpu0'"):
        rl.LassoCV(device="gpu0").fit(X, y)
    with pytest.raises(TypeError, match="device=1.5"):
        rl.ElasticNetCV(device=1.5).fit(X, y)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'.*no CUDA"):
            rl.LassoCV(device="cuda").fit(X, y)


@pytest.mark.torch
def test_float32_lasso_path_reports_the_float64_certificate():
    # float32 iterations (the CUDA default): the gaps returned are the float64 duality gaps of
    # the returned coefficients on the float64 problem, as the NumPy certificate computes them
    torch = pytest.importorskip("torch")
    from reglab.linear._problem import duality_gap
    from reglab.linear.penalties import L1
    from reglab.linear.solvers.torch_path import torch_path

    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 80))
    y = X[:, :3] @ np.array([1.0, -1.0, 2.0]) + 0.1 * rng.standard_normal(50)
    problem, _ = prepare(X, y, Quadratic(), fit_intercept=True)
    alphas = np.array([0.3, 0.1, 0.03])
    res = torch_path(problem, L1(1.0), alphas, tol=1e-5, dtype=torch.float32)
    for k, a in enumerate(alphas):
        exact = duality_gap(problem, L1(a), res.coefs[:, k])[0]
        assert res.dual_gaps[k] == pytest.approx(exact, rel=1e-6, abs=1e-14)


@pytest.mark.torch
@pytest.mark.parametrize("n_classes", [2, 3])
def test_torch_logistic_path_with_sample_weight(n_classes):
    # weights enter the datafit, the centring and the column scales: same optimum as the CPU
    pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 15)) + 0.5
    y = rng.integers(0, n_classes, 70)
    sw = rng.uniform(0.1, 4.0, 70)
    kw = dict(l1_ratio=0.7, n_alphas=4, eps=0.1, tol=1e-10, sample_weight=sw)
    ref = rl.logistic_path(X, y, max_iter=1000, **kw)
    res = rl.logistic_path(X, y, device="cpu", **kw)
    np.testing.assert_allclose(res.coefs, ref.coefs, atol=1e-3)


@pytest.mark.torch
def test_torch_solvers_warn_when_not_converged():
    pytest.importorskip("torch")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold

    from reglab.linear.datafits import Multinomial
    from reglab.linear.penalties import L1
    from reglab.linear.solvers.torch_logistic import torch_logistic_path
    from reglab.linear.solvers.torch_path import torch_cv_errors

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 30))
    y = rng.integers(0, 3, 60).astype(float)
    problem, _ = prepare(X, y, Multinomial(), fit_intercept=True, n_classes=3)
    with pytest.warns(ConvergenceWarning, match="did not converge in 5 iterations"):
        torch_logistic_path(problem, L1(1.0), np.array([0.01]), tol=1e-12, max_iter=5)
    folds = list(KFold(3).split(X))
    with pytest.warns(ConvergenceWarning, match="batched CV did not converge in 5 iterations"):
        errs = torch_cv_errors(
            X, y, None, True, folds, [(L1(1.0), np.array([0.1, 0.01]))], tol=1e-12, max_iter=5
        )
    assert errs[0].shape == (2, 3) and np.all(np.isfinite(errs[0]))


@pytest.mark.torch
def test_torch_logistic_path_refuses_unpenalised_features():
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)), rng.integers(0, 2, 20)
    with pytest.raises(ValueError, match="every feature penalised"):
        rl.logistic_path(X, y, device="cpu", weights=np.array([1.0, 0.0, 1.0, 1.0]))
