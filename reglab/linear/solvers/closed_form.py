"""Closed-form ridge: Cholesky on the normal equations or on the kernel (dual) form.

For ``1/(2n)||y - Xw||^2 + 1/2 w^T Lambda w`` with ``Lambda = diag(alpha c)``:

- ``n >= p`` (or some feature unpenalised): ``(X^T X / n + Lambda) w = X^T y / n``;
- ``p > n``: ``w = Lambda^{-1} X^T (X Lambda^{-1} X^T + n I)^{-1} y`` (the kernel form,
  Saunders, Gammerman & Vovk, 1998, "Ridge regression learning algorithm in dual variables").

:func:`ridge_grid` solves a whole grid of alphas from one SVD, ``X = U S V^T``:
``w(alpha) = V diag(s / (s^2 + n alpha)) U^T y`` (Hoerl & Kennard, 1970).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

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
    """Exact ridge solution (Cholesky; kernel form when ``p > n``), certified.

    When the Cholesky solution's duality gap exceeds ``tol * F(0)`` (or the factorisation
    fails), the solve falls back to the SVD of the stacked system ``[X; sqrt(n Lambda)]``
    with Newton refinement (:func:`_svd_refined`), and warns with a ConvergenceWarning if
    even that does not meet ``tol``.

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
        tol_abs = self.tol * problem.value_scale()
        w = None
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                # an ill-conditioned Cholesky is a failed one: the SVD route below handles it
                warnings.simplefilter("error", sla.LinAlgWarning)
                w = _normal_equations(Xd, y, lam)
        except (np.linalg.LinAlgError, ValueError, sla.LinAlgWarning):
            w = None  # singular or non-finite factorisation: the stable route below
        gap = np.inf
        if w is not None and np.all(np.isfinite(w)):
            gap = duality_gap(problem, penalty, w, 0.0)[0]
        if not gap <= tol_abs:
            # Cholesky squares the condition number (a column scaled by 1e8 next to unit
            # columns loses every digit); the SVD of the stacked system does not
            w, gap = _svd_refined(problem, penalty, Xd, y, lam, tol_abs)
        gap = max(gap, 0.0)
        if not gap <= tol_abs:
            warnings.warn(
                f"ClosedForm: the ridge solution's duality gap {gap:.3e} exceeds tol * F(0) = "
                f"{tol_abs:.3e} even from the SVD; X is too ill-conditioned for this alpha in "
                "float64 (rescale the columns of X or increase alpha).",
                ConvergenceWarning,
                stacklevel=4,
            )
        return SolveResult(w, 0.0, gap, 1, bool(gap <= tol_abs))


def _normal_equations(Xd, y, lam) -> np.ndarray:
    """Cholesky on the normal equations, or on the kernel form when ``p > n``."""
    n, p = Xd.shape
    if np.all(lam == 0):
        return np.linalg.lstsq(Xd, y, rcond=None)[0]
    if p > n and np.all(lam > 0):
        Xl = Xd / lam
        Kmat = Xl @ Xd.T
        Kmat[np.diag_indices(n)] += n
        return Xl.T @ sla.solve(Kmat, y, assume_a="pos")
    G = Xd.T @ Xd / n
    G[np.diag_indices(p)] += lam
    try:
        return sla.solve(G, Xd.T @ y / n, assume_a="pos")
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(G, Xd.T @ y / n, rcond=None)[0]


def _svd_refined(problem, penalty, Xd, y, lam, tol_abs, max_refine=3):
    """Ridge from the SVD of the stacked system ``A = [X; sqrt(n Lambda)]``, refined by Newton.

    ``1/(2n)||y - Xw||^2 + 1/2 w^T Lambda w = 1/(2n)||A w - [y; 0]||^2``: its conditioning is
    that of ``X`` (not of ``X^T X``), and zero entries of ``Lambda`` (unpenalised features)
    need no special case (minimum-norm solution when ``A`` is rank-deficient).  With
    ``A = U S V^T``, ``w = V S^+ U^T [y; 0]``; then Newton steps
    ``w -= n V S^{-2} V^T grad`` with the gradient ``X^T(Xw - y)/n + Lambda w`` computed from
    the residual (iterative refinement): a column scaled by 1e8 leaves the first solution's
    gradient O(1) in that coordinate, a rounding error the step removes.  Returns the
    iterate with the smallest duality gap.
    """
    n, p = Xd.shape
    A = np.vstack([Xd, np.diag(np.sqrt(n * lam))])
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > s[0] * max(A.shape) * np.finfo(np.float64).eps if s.size else s > 0
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    w = Vt.T @ ((U[:n].T @ y) / s)
    best_w, best_gap = w, duality_gap(problem, penalty, w, 0.0)[0]
    for _ in range(max_refine):
        if best_gap <= tol_abs:
            break
        grad = Xd.T @ (Xd @ w - y) / n + lam * w
        w = w - n * (Vt.T @ ((Vt @ grad) / s**2))
        gap = duality_gap(problem, penalty, w, 0.0)[0]
        if not gap < best_gap:
            break
        best_w, best_gap = w, gap
    return best_w, best_gap


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
