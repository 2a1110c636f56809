"""Closed-form ridge: Cholesky on the normal equations or on the kernel (dual) form.

For ``1/(2n)||y - Xw||^2 + 1/2 w^T Lambda w`` with ``Lambda = diag(alpha c)``:

- ``n >= p`` (or some feature unpenalised): ``(X^T X / n + Lambda) w = X^T y / n``;
- ``p > n``: ``w = Lambda^{-1} X^T (X Lambda^{-1} X^T + n I)^{-1} y`` (the kernel form,
  Saunders, Gammerman & Vovk, 1998, "Ridge regression learning algorithm in dual variables").

:func:`ridge_grid` solves a whole grid of alphas from one SVD, ``X = U S V^T``:
``w(alpha) = V diag(s / (s^2 + n alpha)) U^T y`` (Hoerl & Kennard, 1970).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from reglab.linear._problem import duality_gap
from reglab.linear.solvers._base import Solver, SolveResult


def _dense_centered(problem) -> np.ndarray:
    X = problem.X
    if sp.issparse(X):
        Xd = X.toarray()
        if problem.mu is not None:
            Xd = Xd - np.outer(problem.v, problem.mu)
        return Xd
    return np.asarray(X, dtype=np.float64)


class ClosedForm(Solver):
    """Exact ridge solution (Cholesky; kernel form when ``p > n``).

    Needs a datafit with ``normal_equations`` (:class:`~reglab.linear.Quadratic`) and a smooth
    quadratic penalty with ``gradient`` and ``hessian_diag`` (:class:`~reglab.linear.L2`).
    Sparse ``X`` is densified.  ``alpha = 0`` gives the minimum-norm least-squares solution.
    """

    requires_datafit = ("normal_equations",)
    requires_penalty = ("gradient", "hessian_diag")

    def __init__(self, *, tol=1e-4, verbose=False):
        super().__init__(tol=tol, max_iter=1, verbose=verbose)

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        if penalty.positive:
            raise TypeError(
                "solver ClosedForm cannot handle positive=True (no closed form under "
                "constraints); use CoordinateDescent"
            )
        Xd = _dense_centered(problem)
        y = problem.y
        n, p = Xd.shape
        lam = penalty.hessian_diag(p).astype(np.float64)
        if np.all(lam == 0):
            w = np.linalg.lstsq(Xd, y, rcond=None)[0]
        elif p > n and np.all(lam > 0):
            Xl = Xd / lam
            Kmat = Xl @ Xd.T
            Kmat[np.diag_indices(n)] += n
            w = Xl.T @ sla.solve(Kmat, y, assume_a="pos")
        else:
            G = Xd.T @ Xd / n
            G[np.diag_indices(p)] += lam
            try:
                w = sla.solve(G, Xd.T @ y / n, assume_a="pos")
            except np.linalg.LinAlgError:
                w = np.linalg.lstsq(G, Xd.T @ y / n, rcond=None)[0]
        gap, _ = duality_gap(problem, penalty, w, 0.0)
        return SolveResult(w, 0.0, max(gap, 0.0), 1, True)


def ridge_grid(problem, alphas, weights=None) -> np.ndarray:
    """Ridge coefficients for every alpha from one SVD; returns shape (p, n_alphas).

    With feature weights ``c > 0`` the columns are rescaled by ``c^{-1/2}`` first.
    """
    Xd = _dense_centered(problem)
    n, p = Xd.shape
    alphas = np.asarray(alphas, dtype=np.float64)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if np.any(weights <= 0):
            raise ValueError("ridge_grid needs strictly positive weights; use ClosedForm per alpha")
        Xd = Xd / np.sqrt(weights)
    U, s, Vt = np.linalg.svd(Xd, full_matrices=False)
    Uty = U.T @ problem.y
    with np.errstate(divide="ignore", invalid="ignore"):
        d = s[:, None] / (s[:, None] ** 2 + n * alphas[None, :])
    d[~np.isfinite(d)] = 0.0
    coefs = Vt.T @ (d * Uty[:, None])
    if weights is not None:
        coefs = coefs / np.sqrt(weights)[:, None]
    return coefs
