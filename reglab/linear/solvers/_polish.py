"""Exact polish of a certified least-squares solution on its support (lasso / elastic net).

Once coordinate descent has met ``gap <= tol * F(0)``, the support ``S`` and the signs
``s_S`` of the solution are, in all but degenerate cases, those of the optimum.  On a fixed
support with fixed signs the objective

.. math::

    \\frac{1}{2n} \\|y - X w\\|^2 + \\sum_j a_j |w_j| + \\frac{b_j}{2} w_j^2

is a quadratic in ``w_S``, whose minimiser solves the ``|S| x |S|`` linear system of the
optimality conditions (Osborne, Presnell & Turlach, 2000, "A new approach to variable
selection in least squares problems", IMA J. Numer. Anal. 20(3); the same step closes the
LARS and homotopy algorithms)

.. math::

    \\left(\\tfrac{1}{n} X_S^\\top X_S + \\operatorname{diag}(b_S)\\right) w_S
    = \\tfrac{1}{n} X_S^\\top y - a_S \\odot s_S.

Its solution is the exact optimum up to rounding when the support and signs were right.
A feature off ``S`` that then violates its optimality condition ``|x_j^T r| / n <= a_j``
joins ``S`` with the sign of its correlation and the system is solved again (a pivot of
the active-set method, at most :data:`MAX_ROUNDS`).  The result is accepted only if it
keeps every sign and its duality gap (the certificate) is no larger than the solver's, or
zero to rounding (within ``64 eps F(0)``, where the solver's gap may already be);
otherwise the solver's certified point is kept, so the polish never loses accuracy.

Why: a gap of ``tol * F(0)`` certifies the objective, not the coefficients.  On an
ill-conditioned problem two fits of the same optimum (a weighted dataset and its
repeated-rows copy) can stop on different sides of it, ``1e-6`` apart in their predictions
at ``tol=1e-4``; after the polish both are the optimum to rounding (``~1e-12``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from reglab.linear._problem import duality_gap
from reglab.linear.datafits import Quadratic
from reglab.linear.solvers import _cd_kernels as K
from reglab.linear.solvers._base import SolveResult

#: the largest support polished: the system costs O(|S|^3) and forming it O(n |S|^2)
MAX_SUPPORT = 500
#: pivots of the active-set loop (features joining S) before the polish gives up
MAX_ROUNDS = 4
#: forming ``X_S^T X_S`` is skipped when it costs more than this many passes over X
MAX_PASSES = 20


def polish_quadratic(problem, penalty, res: SolveResult) -> SolveResult:
    """Replace a converged least-squares solution by the exact optimum on its support.

    Parameters
    ----------
    problem : Problem
        The (centred, row-scaled) least-squares problem that ``res`` solved.
    penalty : L1, L2 or L1L2
        Its separable penalty ``a_j |w_j| + b_j w_j^2 / 2`` (``positive`` respected).
    res : SolveResult
        The solver's result; left as it is unless converged, single-output, with a support
        of at most :data:`MAX_SUPPORT` features and the system cheap to form.

    Returns
    -------
    SolveResult
        ``res`` itself, or the polished coefficients with their (no larger) duality gap.
    """
    if (
        not res.converged
        or not isinstance(problem.datafit, Quadratic)
        or problem.n_classes != 1
        or not hasattr(penalty, "separable_coefficients")
    ):
        return res
    w = np.asarray(res.coef, dtype=np.float64)
    p = problem.n_features
    a, b = penalty.separable_coefficients(p)
    positive = bool(penalty.positive)
    # unpenalised features belong to the system whatever their value (no sign to keep),
    # unless positive=True holds one at its bound 0
    free = ~penalty.is_penalized(p) & (not positive)
    in_S = (w != 0) | free
    s = np.sign(w)
    for _ in range(MAX_ROUNDS):
        S = np.flatnonzero(in_S)
        if S.size == 0 or S.size > MAX_SUPPORT:
            return res
        solved = _solve_on_support(problem, S, a[S], b[S], s[S])
        if solved is None:
            return res
        wS, XS = solved
        fixed = (a[S] > 0) | positive  # coefficients whose sign the system assumed
        if np.any(np.sign(wS[fixed]) != s[S][fixed]):
            return res  # a sign of the support is not the optimum's
        w_new = np.zeros(p)
        w_new[S] = wS
        # off the support the optimality condition is |x_j^T r| / n <= a_j (x_j^T r <= a_j
        # with positive); a feature violating it joins S with the sign of its correlation,
        # one pivot of the active-set method (Osborne, Presnell & Turlach, 2000)
        corr, gap = _correlations_and_gap(problem, penalty, w_new, S, XS, a, b)
        excess = (corr if positive else np.abs(corr)) - a
        joins = ~in_S & (excess > 1e-12 * np.maximum(a, np.abs(corr)))
        if not np.any(joins):
            break
        in_S |= joins
        s[joins] = np.sign(corr[joins])
    else:
        return res
    if gap is None:  # unpenalised features: the gap projects the dual point (general form)
        gap = duality_gap(problem, penalty, w_new, 0.0)[0]
    # primal and dual are each ~F(0) and cancel at the optimum, so a computed gap within a
    # few ulps of F(0) of zero (either side) is zero to rounding: accepted, as is any gap no
    # larger than the solver's; anything else is refused
    rounding = 64 * np.finfo(np.float64).eps * problem.value_scale()
    if not (-rounding <= gap <= max(res.dual_gap, rounding)):
        return res
    return SolveResult(w_new, res.intercept, max(gap, 0.0), res.n_iter, True)


def _correlations_and_gap(problem, penalty, w, S, XS, a, b):
    """``X^T r / n`` at ``w`` and the duality gap at the dual point ``r / n`` (rescaled).

    The same certificate as :func:`~reglab.linear._problem.duality_gap`, from one product
    with ``X^T`` and one with the support's columns ``X_S`` (or none, from CD's cached Gram
    matrix); the gap is None when some feature is unpenalised (its dual point needs the
    projection that ``duality_gap`` does).
    """
    p, n = problem.n_features, problem.n_samples
    all_penalised = bool(np.all(penalty.is_penalized(p)))
    cached = problem._cache.get("gram")
    if cached is not None:
        G, q, yy = cached
        h = q - G[:, S] @ w[S]
        if not all_penalised:
            return h, None
        ws = np.arange(p, dtype=np.int32)
        return h, float(K.gram_gap(q, yy, w, h, a, b, ws, bool(penalty.positive)))
    r = problem.y - np.asarray(XS @ w[S]).ravel()
    if problem.mu is not None:  # implicitly centred sparse X: X_c w = X w - v (mu . w)
        r += problem.v * (problem.mu[S] @ w[S])
    corr = np.asarray(problem.rmatvec(r)).ravel() / n
    if not all_penalised:
        return corr, None
    primal = float(r @ r) / (2 * n) + penalty.value(w)
    scale = max(1.0, penalty.dual_scaling(corr))
    dual = problem.datafit.dual_value(problem.y, r / (n * scale)) - penalty.conjugate(corr / scale)
    return corr, primal - dual


def _solve_on_support(problem, S, a, b, s):
    """``(w_S, X_S)``: the minimiser on ``S`` with signs ``s``; None if costly or singular."""
    system = _normal_equations(problem, S)
    if system is None:
        return None
    G, q, XS = system
    try:
        factor = scipy.linalg.cho_factor(G + np.diag(b), lower=True, check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        return None  # singular on S (|S| >= rank): the optimum is not unique there
    wS = scipy.linalg.cho_solve(factor, q - a * s, check_finite=False)
    return (wS, XS) if np.all(np.isfinite(wS)) else None


def _normal_equations(problem, S):
    """``(X_S^T X_S / n, X_S^T y / n, X_S)`` of the centred problem, None when too costly.

    ``X_S`` is None when the cached Gram matrix gives the system (nothing of X is read).
    """
    X, y, n = problem.X, problem.y, problem.n_samples
    cached = problem._cache.get("gram")  # X^T X / n, X^T y / n of CD's Gram solver
    if cached is not None:
        G, q, _ = cached
        return G[np.ix_(S, S)], q[S], None
    if sp.issparse(X):
        XS = sp.csc_matrix(X[:, S])
        # cost of X_S^T X_S: sum over rows of (row's non-zeros in S)^2
        row_nnz = np.bincount(XS.indices, minlength=n).astype(np.float64)
        if row_nnz @ row_nnz > MAX_PASSES * max(X.nnz, 1):
            return None
        G = (XS.T @ XS).toarray()
        q = np.asarray(XS.T @ y).ravel()
        if problem.mu is not None:
            # implicit centring X_c = X - v mu^T, expanded without densifying X
            mu, v = problem.mu[S], problem.v
            xv = np.asarray(XS.T @ v).ravel()
            G = G - np.outer(xv, mu) - np.outer(mu, xv) + (v @ v) * np.outer(mu, mu)
            q = q - mu * (v @ y)
        return G / n, q / n, XS
    if S.size * S.size > MAX_PASSES * X.shape[1]:
        return None
    XS = X[:, S]
    return XS.T @ XS / n, XS.T @ y / n, XS
