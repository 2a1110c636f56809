"""The multinomial prox-Newton step with the coupled Hessian (``_multinomial_kernels``).

The kernel minimises ``sum_i g_i.q_i + 1/2 q_i^T H_i q_i + pen(W + Delta)`` with
``H_i = c_i (diag p_i - p_i p_i^T)`` and ``q_i = x_i Delta + db``: checked against the explicit
Hessian, by the model's optimality conditions, and through the solver against scikit-learn.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_wine

from reglab.linear.datafits import Multinomial, _norm_weights
from reglab.linear.penalties import L1, L1L2
from reglab.linear.solvers import CoordinateDescent
from reglab.linear.solvers import _multinomial_kernels as MK
from tests.linear.test_linear_solvers import _problem

RNG = np.random.default_rng(0)
N, P, KC = 60, 7, 4
X = RNG.standard_normal((N, P)) + 3.0  # uncentred columns: the intercept coupling matters
Y = RNG.integers(0, KC, N)
Z0 = 0.3 * RNG.standard_normal((N, KC))
SW = RNG.uniform(0.5, 2.0, N)


def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def _model_parts():
    c = _norm_weights(SW, N)
    Pm = _softmax(Z0)
    G = c[:, None] * (Pm - np.eye(KC)[Y])
    return c, Pm, G


def _explicit_hessian(c, Pm):
    """The Hessian of the model in ``(vec(Delta), db)``, ``Delta`` row-major (j, k)."""
    A = np.hstack([np.kron(X, np.eye(KC)), np.tile(np.eye(KC), (N, 1))])  # q = A [Delta; db]
    Hs = [c[i] * (np.diag(Pm[i]) - np.outer(Pm[i], Pm[i])) for i in range(N)]
    Hblock = np.zeros((N * KC, N * KC))
    for i in range(N):
        Hblock[i * KC : (i + 1) * KC, i * KC : (i + 1) * KC] = Hs[i]
    return A, A.T @ Hblock @ A


def test_curvatures_are_the_schur_complement_of_the_explicit_hessian():
    c, Pm, _ = _model_parts()
    H, N_, R, Minv = MK.multinomial_model_curvatures(np.asfortranarray(X), Pm, c, True)
    _, Hfull = _explicit_hessian(c, Pm)
    pk = P * KC
    M = Hfull[pk:, pk:]
    np.testing.assert_allclose(Minv, np.linalg.pinv(M, rcond=1e-12), atol=1e-9)
    for j in range(P):
        for k in range(KC):
            idx = j * KC + k
            np.testing.assert_allclose(N_[j, k], Hfull[idx, pk:], atol=1e-12)
            schur = Hfull[idx, idx] - Hfull[idx, pk:] @ np.linalg.pinv(M) @ Hfull[pk:, idx]
            np.testing.assert_allclose(H[j, k], schur, rtol=1e-8)
    Hn, _, _, Mn = MK.multinomial_model_curvatures(np.asfortranarray(X), Pm, c, False)
    assert Mn.shape == (0, 0)
    np.testing.assert_allclose(Hn, np.diag(Hfull)[:pk].reshape(P, KC), rtol=1e-12)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("l2", [0.0, 0.02])
def test_inner_solution_satisfies_the_models_optimality_conditions(sparse, fit_intercept, l2):
    c, Pm, G = _model_parts()
    W = np.zeros((P, KC))
    W[0, 1], W[3, 2] = 0.4, -0.2
    a, b = np.full(P, 0.01), np.full(P, l2)
    Xs = sp.csc_matrix(X) if sparse else np.asfortranarray(X)
    H, N_, R, Minv = MK.multinomial_model_curvatures(Xs, Pm, c, fit_intercept)
    Delta, Qt, db = np.zeros((P, KC)), np.zeros((KC, N)), np.zeros(KC)
    ws = np.arange(P, dtype=np.int32)
    if sparse:
        args = (1, np.zeros((0, 0), order="F"), Xs.data, Xs.indices, Xs.indptr)
    else:
        args = (0, Xs, np.zeros(0), np.zeros(0, np.int32), np.zeros(0, np.int32))
    MK.multinomial_newton_inner(
        *args, np.ascontiguousarray(G.T), np.ascontiguousarray(Pm.T), c, W, Delta, Qt, ws,
        a, b, False, H, N_, R, Minv, db, 100000, 1e-14, 5,
    )  # fmt: skip
    A, Hfull = _explicit_hessian(c, Pm)
    x = np.concatenate([Delta.ravel(), db])
    np.testing.assert_allclose(Qt.T.ravel(), A @ x, atol=1e-12)  # q = X Delta + db
    grad = A.T @ G.ravel() + Hfull @ x  # the model's gradient (smooth part)
    Wn = (W + Delta).ravel()
    gw = grad[: P * KC] + np.repeat(b, KC) * Wn
    aa = np.repeat(a, KC)
    on = Wn != 0
    np.testing.assert_allclose(gw[on], -aa[on] * np.sign(Wn[on]), atol=1e-9)
    assert np.all(np.abs(gw[~on]) <= aa[~on] + 1e-9)
    if fit_intercept:
        np.testing.assert_allclose(grad[P * KC :], 0.0, atol=1e-9)
    else:
        assert np.all(db == 0.0)


@pytest.mark.parametrize("pen", [L1(0.02), L1L2(0.02, 0.5)], ids=["l1", "enet"])
def test_sparse_and_dense_designs_reach_the_same_optimum(pen):
    Xw, y = load_wine(return_X_y=True)
    Xw = Xw / Xw.std(axis=0)
    dense = _problem(Multinomial(), Xw, y.astype(float), fit_intercept=True)
    sparse = _problem(Multinomial(), sp.csc_matrix(Xw), y.astype(float), fit_intercept=True)
    a = CoordinateDescent(tol=1e-12).solve(dense, pen)
    b = CoordinateDescent(tol=1e-12).solve(sparse, pen)
    assert a.converged and b.converged and a.n_iter <= 20
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-7)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_newton_cg_certificate_skip_rule_is_a_valid_lower_bound(fit_intercept):
    # NewtonCG skips the duality gap while ||grad||^2 > 2 L tol F(0), with L the trace bound
    # hessian_bound (p + 1) + max(b) of the reparametrised objective: valid only if
    # f(x) - f* >= ||grad f(x)||^2 / (2 L) at every x; checked at random points around the
    # optimum of an uncentred, unscaled multinomial problem
    from reglab.linear._fit import prepare
    from reglab.linear.penalties import L2
    from reglab.linear.solvers import NewtonCG
    from reglab.linear.solvers.fista import _Reparam

    problem = prepare(X, Y.astype(float), Multinomial(), n_classes=KC, fit_intercept=fit_intercept)[
        0
    ]
    pen = L2(0.05)
    res = NewtonCG(tol=1e-13).solve(problem, pen)
    op = _Reparam(problem)
    _, bq = pen.separable_coefficients(P)
    bq = (bq / op.s**2)[:, None]
    L = Multinomial.hessian_bound * (P + float(fit_intercept)) + float(bq.max())

    def f_and_grad(wt, bt):
        Z = op.matvec(wt) + bt
        G = Multinomial().raw_gradient(Y.astype(float), Z)
        f = Multinomial().value(Y.astype(float), Z) + 0.5 * np.sum(bq * wt * wt)
        g = np.concatenate([(op.rmatvec(G) + bq * wt).ravel(), G.sum(0) if fit_intercept else []])
        return f, g

    wt0, bt0 = op.from_original(res.coef, res.intercept if fit_intercept else np.zeros(KC))
    f_star = f_and_grad(wt0, bt0)[0]
    rng = np.random.default_rng(1)
    for scale in (1e-3, 1e-1, 1.0, 10.0):
        wt = wt0 + scale * rng.standard_normal(wt0.shape)
        bt = bt0 + (scale * rng.standard_normal(KC) if fit_intercept else 0.0)
        f, g = f_and_grad(wt, bt)
        assert f - f_star >= g @ g / (2 * L) - 1e-12


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("datafit_name", ["quadratic", "multinomial"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_reparam_diag_hessian_is_the_diagonal_of_the_weighted_gram(
    sparse, datafit_name, fit_intercept
):
    # Newton-CG's Jacobi preconditioner: diag(X~^T diag(D) X~) of the centred, scaled operator,
    # for every problem layout (explicit columns, sparse implicit centring, explicit intercept)
    from reglab.linear._fit import prepare
    from reglab.linear.datafits import Quadratic
    from reglab.linear.solvers.fista import _Reparam

    Xd = np.where(np.abs(X - 3.0) > 0.5, X, 0.0)
    Xs = sp.csc_matrix(Xd) if sparse else Xd
    if datafit_name == "quadratic":
        problem = prepare(Xs, RNG.standard_normal(N), Quadratic(), fit_intercept=fit_intercept)[0]
    else:
        problem = prepare(
            Xs, Y.astype(float), Multinomial(), n_classes=KC, fit_intercept=fit_intercept
        )[0]
    op = _Reparam(problem)
    Xt = np.column_stack([op.matvec(e) for e in np.eye(P)])  # the operator's columns
    D = RNG.uniform(0.1, 1.0, (N, 3))
    np.testing.assert_allclose(op.diag_hessian(D), (Xt * Xt).T @ D, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(op.diag_hessian(D[:, 0]), (Xt * Xt).T @ D[:, 0], rtol=1e-10)


def test_newton_cg_solves_a_sparse_ridge_with_implicit_centring():
    # sparse least squares with an intercept centres implicitly (problem.mu): Newton-CG's
    # preconditioner must handle it and reach the coordinate-descent optimum
    from reglab.linear._fit import prepare
    from reglab.linear.datafits import Quadratic
    from reglab.linear.penalties import L2
    from reglab.linear.solvers import NewtonCG

    Xs = sp.random(100, 20, density=0.3, format="csc", random_state=0)
    y = RNG.standard_normal(100)
    problem = prepare(Xs, y, Quadratic(), fit_intercept=True)[0]
    assert problem.mu is not None
    res = NewtonCG(tol=1e-12).solve(problem, L2(0.1))
    ref = CoordinateDescent(tol=1e-14).solve(problem, L2(0.1))
    assert res.converged
    np.testing.assert_allclose(res.coef, ref.coef, atol=1e-6)
