"""Least-squares paths on a Gram matrix, compiled end to end, and the Gram statistics of CV folds.

When ``n > p`` on dense ``X`` coordinate descent runs on ``G = X^T X / n``, ``q = X^T y / n`` and
``yy = ||y||^2 / n`` (covariance updates; Friedman, Hastie & Tibshirani, 2010, JSS 33(1)).
Once ``G`` is formed a solve costs O(p^2) per epoch and a path of 100 alphas on a 5000 x 200
problem takes milliseconds, so the Python around each solve (working-set bookkeeping, the gap,
the warm start) was a large share of a cross-validated fit: 600 solves of ~0.3 ms each.
:func:`gram_path` runs the whole warm-started path in one compiled call, with the same
working-set rule, inner solver (:func:`~reglab.linear.solvers._cd_kernels.gram_cd`), secant
warm start (:func:`reglab.linear.path._secant_start`) and duality-gap certificate at every alpha
as the Python loop of :meth:`CoordinateDescent._solve_gram` it replaces.

:func:`fold_gram` gives a training fold's centred, weighted Gram statistics from those of the
whole data set minus those of the fold's held-out rows: K folds then cost one Gram of the full
data plus K Grams of ``n / K`` rows (two full Grams in all for 5 folds, instead of four), and
the final refit reuses the full-data Gram.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg.blas as blas
from numba import njit

from reglab.linear.solvers import _cd_kernels as K


def syrk_gram(Z, scale):
    """``scale * Z^T Z`` as a full symmetric C-ordered array, one triangle computed (dsyrk).

    A C-ordered ``Z`` is the F-ordered ``Z^T``, whose ``A A^T`` is the same matrix: no copy.
    """
    if Z.flags.f_contiguous:
        G = blas.dsyrk(scale, Z, trans=1, lower=0)
    else:
        G = blas.dsyrk(scale, np.ascontiguousarray(Z).T, trans=0, lower=0)
    G = np.triu(G) + np.triu(G, 1).T
    return np.ascontiguousarray(G)


def problem_gram(problem):
    """``(G, q, yy)`` of a dense least-squares problem, computed once and cached on it."""
    if "gram" not in problem._cache:
        X, y = problem.X, problem.y
        n = X.shape[0]
        problem._cache["gram"] = (syrk_gram(X, 1.0 / n), X.T @ y / n, float(y @ y) / n)
    return problem._cache["gram"]


@njit(cache=True)
def _fresh_h(G, q, w, h):
    """``h = q - G w`` over the non-zero coefficients (a warm start is sparse)."""
    p = q.shape[0]
    for i in range(p):
        h[i] = q[i]
    for j in range(p):
        wj = w[j]
        if wj != 0.0:
            for i in range(p):
                h[i] -= wj * G[j, i]


@njit(cache=True)
def gram_solve(
    G, q, yy, w, h, a, b, norms, positive, tol_abs, max_iter, max_epochs, ws_start, anderson_k,
    use_ws,
):  # fmt: skip
    """One certified solve on the Gram form (``w`` and ``h = q - G w`` updated in place).

    Outer loop: the full duality gap from ``h`` (:func:`~._cd_kernels.gram_gap`), a working
    set of the support plus the features closest to violating optimality, about twice the
    support (doubled when the gap did not halve; Massias, Gramfort & Salmon, 2018), solved by
    :func:`~._cd_kernels.gram_cd` to 0.3 times the current gap.  Returns ``(gap, n_iter)``.
    """
    p = q.shape[0]
    ws_all = np.arange(p).astype(np.int32)
    nnz = 0
    for j in range(p):
        if w[j] != 0.0:
            nnz += 1
    size = min(p, max(ws_start, 2 * nnz))
    prev_gap = np.inf
    gap = np.inf
    n_iter = 0
    for it in range(1, max_iter + 1):
        n_iter = it
        gap = K.gram_gap(q, yy, w, h, a, b, ws_all, positive)
        if gap <= tol_abs or not np.isfinite(gap):
            break
        if not use_ws or size >= p:
            ws = ws_all
        else:
            ws = K.select_working_set(h, w, a, norms, positive, size)
        K.gram_cd(G, q, yy, w, h, a, b, ws, positive, 0.3 * gap, max_epochs, 10, anderson_k)
        nnz = 0
        for j in range(p):
            if w[j] != 0.0:
                nnz += 1
        new = min(p, max(ws_start, 2 * nnz))
        if gap > 0.5 * prev_gap:  # little progress: the working set misses violators
            new = max(new, min(p, 2 * ws.shape[0]))
        size = new
        prev_gap = gap
    return gap, n_iter


@njit(cache=True)
def gram_path(
    G, q, yy, alphas, a1, b1, positive, tol_abs, max_iter, max_epochs, ws_start, anderson_k,
    use_ws, w0, extrapolate, coefs, gaps, n_iters,
):  # fmt: skip
    """Warm-started path over ``alphas`` (decreasing); row ``k`` of ``coefs`` is alpha_k's solution.

    The penalty at ``alpha`` has coefficients ``alpha * a1`` (L1) and ``alpha * b1`` (L2).
    From the third alpha on each solve starts at the secant through the last two solutions,
    a coordinate that is zero at the last alpha or that the secant takes through zero
    starting at zero (as :func:`reglab.linear.path._secant_start`).  ``h`` is recomputed from
    the start point at every alpha, so no certificate inherits the drift of earlier updates.
    """
    p = q.shape[0]
    norms = np.empty(p)
    for j in range(p):
        norms[j] = G[j, j]
    w = w0.copy()
    h = np.empty(p)
    a = np.empty(p)
    b = np.empty(p)
    for k in range(alphas.shape[0]):
        if extrapolate and k >= 2:
            if alphas[k - 1] == alphas[k - 2]:
                for j in range(p):
                    w[j] = coefs[k - 1, j]
            else:
                t = (alphas[k] - alphas[k - 1]) / (alphas[k - 1] - alphas[k - 2])
                for j in range(p):
                    prev = coefs[k - 1, j]
                    s = prev + t * (prev - coefs[k - 2, j])
                    w[j] = 0.0 if s * prev <= 0.0 else s
        _fresh_h(G, q, w, h)
        for j in range(p):
            a[j] = alphas[k] * a1[j]
            b[j] = alphas[k] * b1[j]
        gap, it = gram_solve(
            G, q, yy, w, h, a, b, norms, positive, tol_abs, max_iter, max_epochs, ws_start,
            anderson_k, use_ws,
        )  # fmt: skip
        for j in range(p):
            coefs[k, j] = w[j]
        gaps[k] = gap
        n_iters[k] = it


def clip_rounding(gap, value_scale):
    """A gap below zero by rounding of ``F(0)``-sized terms is 0 (see ``cd._clip_rounding``)."""
    if 0.0 > gap >= -64 * np.finfo(np.float64).eps * value_scale:
        return 0.0
    return gap


def _anderson_depth(solver):
    """The solver's Anderson depth on a dense least-squares problem (5 unless set)."""
    return 5 if solver.anderson_k is None else solver.anderson_k


def run_gram_path(solver, G, q, yy, penalty, alphas, w0=None, extrapolate=True):
    """The compiled path for a :class:`CoordinateDescent` solver on Gram statistics.

    ``penalty`` is a separable penalty whose coefficients scale with alpha, every feature
    penalised.  Returns ``(coefs (p, n_alphas), gaps, n_iters, tol_abs)``; gaps are clipped
    for rounding as a single solve's are, and the caller warns where ``gap > tol_abs``.
    """
    p = q.shape[0]
    a1, b1 = penalty.with_alpha(1.0).separable_coefficients(p)
    # the stopping threshold tol * F(0), F(0) = ||y||^2 / (2n) = yy / 2 (Solver._tol_abs)
    scale = max(0.5 * yy, np.finfo(np.float64).tiny)
    tol_abs = solver.tol * scale
    alphas = np.ascontiguousarray(alphas, dtype=np.float64)
    coefs = np.zeros((alphas.size, p))
    gaps = np.zeros(alphas.size)
    n_iters = np.zeros(alphas.size, dtype=np.int64)
    w = np.zeros(p) if w0 is None else np.array(w0, dtype=np.float64).reshape(p)
    gram_path(
        G, q, float(yy), alphas, np.ascontiguousarray(a1), np.ascontiguousarray(b1),
        bool(penalty.positive), float(tol_abs), solver.max_iter, solver.max_epochs,
        solver.ws_start, _anderson_depth(solver), solver.use_working_sets, w,
        bool(extrapolate), coefs, gaps, n_iters,
    )  # fmt: skip
    gaps = np.array([clip_rounding(g, scale) for g in gaps])
    return coefs.T, gaps, n_iters, tol_abs


def held_out_grams(Z, tests):
    """``(T, [Z_te^T Z_te per fold])``: the whole data's Gram as the sum of the folds' own.

    When the held-out sets partition the rows (K-fold splitters: every row held out once)
    ``T = sum_k Z_te_k^T Z_te_k``, so the K held-out Grams the folds need anyway give the
    full one for free: one Gram's flops in all for any K, instead of two.  Kept only when the
    K matrices take no more memory than twice ``Z``; otherwise (or for splitters that
    repeat or skip rows) ``T`` is formed directly and the list holds ``None``.
    """
    n, p = Z.shape
    k = len(tests)
    seen = np.zeros(n, dtype=np.int64)
    for test in tests:
        np.add.at(seen, test, 1)
    if np.all(seen == 1) and k * p <= 2 * n:
        parts = [syrk_gram(Z[test], 1.0) for test in tests]
        T = parts[0].copy()
        for part in parts[1:]:
            T += part
        return T, parts
    return syrk_gram(Z, 1.0), [None] * k


def fold_gram(T, Z, yz, rows, test, center=True, zy=None, zr=None, Tte=None):
    """Centred, weighted Gram statistics ``(G, q, yy, x_shift, y_shift)`` of a training fold.

    The whole data set enters as its least-squares problem does (``make_problem``): rows
    ``z_i = r_i (x_i - m)`` and ``yz_i = r_i (y_i - ybar)``, ``r_i^2 = w_i`` up to a constant
    factor (``w`` the sample weights, ``m`` and ``ybar`` the weighted means of all rows),
    ``T = Z^T Z``.  The training fold ``R`` (every row not in ``test``), with weights
    ``r_i^2 / W_R`` (``W_R = sum_R r_i^2``), has weighted means ``m + d`` and ``ybar + e``,

        d = Z_R^T r_R / W_R,        e = yz_R . r_R / W_R,

    and its problem's Gram statistics (``G = X_c^T X_c / n_R`` of its own centred, weighted
    rows, ``q = X_c^T y_c / n_R``, ``yy = ||y_c||^2 / n_R``) are

        G = (T - Z_te^T Z_te) / W_R - d d^T,
        q = Z_R^T yz_R / W_R - d e,        yy = ||yz_R||^2 / W_R - e^2.

    Only the held-out rows' Gram is formed (``n / K`` rows): K folds cost one Gram of all the
    rows plus K of ``n / K`` rows, two full Grams in all for 5 folds instead of four.  The
    whole data set is centred first, so ``- d d^T`` (``d`` of the order of the spread over
    ``sqrt(n_R)``) does not cancel the digits a large feature mean would.  When the held-out
    rows outnumber the training rows the training rows' Gram is formed directly (the
    difference would then lose digits).  ``d`` and ``e`` map the fold's solution back to its
    intercept.  Without an intercept (``center=False``: ``Z`` the uncentred weighted rows)
    ``d = 0`` and ``e = 0``.  ``zy = Z^T yz``, ``zr = Z^T rows`` (shared by all folds) and the
    held-out rows' ``Tte = Z_te^T Z_te`` (:func:`held_out_grams`) may be passed precomputed.
    """
    n = Z.shape[0]
    if 2 * test.size > n:
        # more held-out rows than training rows: the differences would lose digits, so the
        # training rows' statistics are formed directly (their own "T" and sums)
        mask = np.ones(n, dtype=bool)
        mask[test] = False
        Zr, yr, rr = Z[mask], yz[mask], rows[mask]
        empty = np.zeros(0, dtype=np.intp)
        return fold_gram(syrk_gram(Zr, 1.0), Zr, yr, rr, empty, center=center)[:5] + (None,)
    Zt, yt, rt = Z[test], yz[test], rows[test]
    # Z_te^T [r_te, yz_te] in one pass over the held-out rows; the training rows' sums are
    # the whole data's minus these (Z^T r is 0 by the centring, up to rounding: computed)
    zt = Zt.T @ np.column_stack((rt, yt))
    W_R = float(rows @ rows) - float(rt @ rt)
    zy_R = Z.T @ yz - zt[:, 1] if zy is None else zy - zt[:, 1]
    yy_R = float(yz @ yz) - float(yt @ yt)
    if center:
        d = ((Z.T @ rows if zr is None else zr) - zt[:, 0]) / W_R
        e = (float(yz @ rows) - float(rt @ yt)) / W_R
    else:
        d, e = np.zeros(Z.shape[1]), 0.0
    q = zy_R / W_R - d * e
    yy = yy_R / W_R - e * e
    if not test.size:
        return T / W_R - np.outer(d, d), q, max(yy, 0.0), d, e, None
    Tte = syrk_gram(Zt, 1.0) if Tte is None else Tte
    G = (T - Tte) / W_R
    held_out = (Tte, zt, float(yt @ yt), float(rt @ rt), float(rt @ yt))
    G -= np.outer(d, d)
    return G, q, max(yy, 0.0), d, e, held_out


def held_out_mse(held_out, coefs, d, e):
    """Weighted held-out MSE of every column of ``coefs`` from the held-out rows' Gram.

    With ``Z_te``, ``yz_te``, ``r_te`` the held-out rows as :func:`fold_gram` takes them and
    the fold's intercept ``c = e - d^T w`` (in the whole data's centred coordinates), the
    scaled residuals are ``yz_te - Z_te w - c r_te``, so the MSE, weighted by ``r_i^2``, is

        (yz.yz - 2 w^T Z^T yz + w^T (Z^T Z) w - 2 c (r.yz - w^T Z^T r) + c^2 r.r) / r.r

    over the held-out rows: O(p^2) per alpha instead of O(n_te p), from the Gram matrix the
    fold needed anyway.  As a difference of terms it loses digits when the residual is tiny
    against them; where it falls below 1e-6 of their size (a relative error above ~1e-10)
    ``None`` is returned and the caller forms the residuals directly.
    """
    Tte, zt, yy, rr, ry = held_out
    TW = Tte @ coefs
    quad = np.einsum("ij,ij->j", coefs, TW)
    lin_y = zt[:, 1] @ coefs
    lin_r = zt[:, 0] @ coefs
    c = e - d @ coefs
    total = yy - 2.0 * lin_y + quad - 2.0 * c * (ry - lin_r) + c * c * rr
    size = yy + 2.0 * np.abs(lin_y) + quad + 2.0 * np.abs(c * (ry - lin_r)) + c * c * rr
    if not np.all(total >= 1e-6 * size):
        return None
    return total / rr
