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
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.solvers import _cd_kernels as K
from reglab.linear.solvers._base import SolveResult

#: the largest support polished: the system costs O(|S|^3) and forming it O(n |S|^2)
MAX_SUPPORT = 500
#: rounds of the active-set loop (features joining or leaving S) before the polish gives up
MAX_ROUNDS = 8
#: forming ``X_S^T X_S`` is skipped when it costs more than this many passes over X ...
MAX_PASSES = 20
#: ... and more than this many multiply-adds (below, a few milliseconds: always worth it)
SMALL_WORK = 10**7


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
    w_cur = w.copy()
    for _ in range(MAX_ROUNDS):
        S = np.flatnonzero(in_S)
        if S.size == 0 or S.size > MAX_SUPPORT:
            return res
        solved = _solve_on_support(problem, S, a[S], b[S], s[S])
        if solved is None:
            return res
        wS, XS, v = solved
        if wS is None:
            # singular: more features in S than the rank of X_S (e.g. more than n - 1).
            # Along a null direction v of X_S the fit is unchanged and the objective moves
            # linearly, with slope a_S s_S . v; moving downhill until a coefficient reaches
            # 0 removes it from S without increasing the objective (the reduction to a
            # solution with independent columns, Tibshirani, 2013, "The lasso problem and
            # uniqueness", EJS 7)
            if (a[S] * s[S]) @ v > 0:
                v = -v
            ws = w_cur[S]
            toward = ws * v < 0  # coefficients that this direction moves toward 0
            if not np.any(toward):
                return res
            steps = -ws[toward] / v[toward]
            k = int(np.argmin(steps))
            w_cur[S] = ws + steps[k] * v
            dropped = S[toward][k]
            w_cur[dropped] = 0.0
            in_S[dropped] = False
            continue
        fixed = (a[S] > 0) | positive  # coefficients whose sign the system assumed
        flips = fixed & (np.sign(wS) != s[S])
        if np.any(flips):
            # a sign the system assumed is not the optimum's: on the segment from the
            # current point to w_S the objective decreases (convex, and equal to the
            # sign-fixed quadratic until a coefficient crosses 0); step to the first
            # crossing and drop that coefficient (Osborne, Presnell & Turlach, 2000)
            ws = w_cur[S]
            if np.any(ws[flips] == 0) or np.any(np.sign(ws[flips]) != s[S][flips]):
                return res  # a joining feature whose sign was wrong: no segment to follow
            frac = ws[flips] / (ws[flips] - wS[flips])
            k = int(np.argmin(frac))
            w_cur[S] = ws + frac[k] * (wS - ws)
            dropped = S[flips][k]
            w_cur[dropped] = 0.0
            in_S[dropped] = False
            continue
        w_new = np.zeros(p)
        w_new[S] = wS
        w_cur = w_new
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
    """The minimiser on ``S`` with signs ``s``: ``(w_S, X_S, None)``.

    ``(None, X_S, v)`` when the system is singular, with ``v`` its direction of least
    curvature (a null direction of ``X_S``); None when forming the system costs too much.
    """
    system = _normal_equations(problem, S)
    if system is None:
        return None
    G, q, XS = system
    H = G + np.diag(b)
    try:
        factor = scipy.linalg.cho_factor(H, lower=True, check_finite=False)
        pivots = np.diag(factor[0]) ** 2
        # a pivot at rounding of the largest: numerically singular, the solve meaningless
        if pivots.min() > 1e-10 * pivots.max():
            wS = scipy.linalg.cho_solve(factor, q - a * s, check_finite=False)
            return (wS, XS, None) if np.all(np.isfinite(wS)) else None
    except (np.linalg.LinAlgError, ValueError):
        pass
    lam, V = np.linalg.eigh(H)
    if not np.all(np.isfinite(lam)) or lam[0] > 1e-8 * lam[-1]:
        return None
    return None, XS, V[:, 0]


def _normal_equations(problem, S):
    """``(X_S^T X_S / n, X_S^T y / n, X_S)`` of the centred problem, None when too costly.

    ``X_S`` is None when the cached Gram matrix gives the system (nothing of X is read).
    """
    y, n = problem.y, problem.n_samples
    cached = problem._cache.get("gram")  # X^T X / n, X^T y / n of CD's Gram solver
    if cached is not None:
        G, q, _ = cached
        return G[np.ix_(S, S)], q[S], None
    XS = _columns(problem, S)
    if XS is None:
        return None
    if sp.issparse(XS):
        G = (XS.T @ XS).toarray()
        q = np.asarray(XS.T @ y).ravel()
        if problem.mu is not None:
            # implicit centring X_c = X - v mu^T, expanded without densifying X
            mu, v = problem.mu[S], problem.v
            xv = np.asarray(XS.T @ v).ravel()
            G = G - np.outer(xv, mu) - np.outer(mu, xv) + (v @ v) * np.outer(mu, mu)
            q = q - mu * (v @ y)
        return G / n, q / n, XS
    return XS.T @ XS / n, XS.T @ y / n, XS


#: Newton steps of the logistic polish (quadratic convergence from a certified start)
MAX_NEWTON = 10


def _columns(problem, S, classes=1):
    """``X_S`` (sparse stays sparse), or None when ``X_S^T D X_S`` costs too many passes."""
    X, n, p = problem.X, problem.n_samples, problem.n_features
    if sp.issparse(X):
        XS = sp.csc_matrix(X[:, S])
        row_nnz = np.bincount(XS.indices, minlength=n).astype(np.float64)
        cost = classes * classes * (row_nnz @ row_nnz)
        budget = max(MAX_PASSES * classes * X.nnz, SMALL_WORK)
        return XS if cost <= budget else None
    cost = classes * classes * n * S.size * S.size
    return X[:, S] if cost <= max(MAX_PASSES * classes * n * p, SMALL_WORK) else None


def _weighted_gram(XS, d, intercept):
    """``[X_S, 1]^T diag(d) [X_S, 1]`` (without the column of ones if no intercept)."""
    if sp.issparse(XS):
        H = np.asarray((XS.T @ XS.multiply(d[:, None]).tocsc()).toarray())
    else:
        H = XS.T @ (XS * d[:, None])
    if not intercept:
        return H
    xd = np.asarray(XS.T @ d).ravel()
    return np.block([[H, xd[:, None]], [xd[None, :], np.array([[d.sum()]])]])


def _newton(value, derivatives, x, n_null):
    """Damped Newton from ``x`` on a smooth convex function; None if it cannot proceed.

    ``derivatives(x)`` gives the gradient and the (positive semi-definite) Hessian; the step
    is the Hessian's pseudo-inverse applied to the gradient, so the ``n_null`` directions
    the function ignores (the softmax's common shift of the intercepts) are left alone.
    More (numerically) singular directions than that mean the minimiser is not unique or
    not attained (separable data, fewer samples than coefficients): None, the solver's
    point is kept.  Armijo backtracking (sigma = 1e-4) while the decrease is above rounding
    of ``f``, full steps below it; stops once the gradient is at rounding.
    """
    f = value(x)
    eps = np.finfo(np.float64).eps
    previous = np.inf
    for _ in range(MAX_NEWTON):
        g, H = derivatives(x)
        lam, V = np.linalg.eigh(H)
        if not np.all(np.isfinite(lam)) or lam[-1] <= 0:
            return None
        keep = lam > 1e-8 * lam[-1]
        if np.count_nonzero(~keep) > n_null:
            return None
        step = -(V[:, keep] @ ((V[:, keep].T @ g) / lam[keep]))
        decrement = -float(g @ step)  # twice the quadratic model's decrease
        # converged: the gradient is at rounding (the decrement of a gradient of a few ulps
        # is ~eps^2 |f|), or the decrements stopped contracting (quadratically, near the
        # minimiser), which only rounding does
        if not np.isfinite(decrement) or decrement <= 100 * eps * eps * max(abs(f), 1.0):
            break
        if decrement >= previous:
            break
        previous = decrement
        if decrement <= 4 * eps * abs(f):
            # the decrease is below rounding of f, which then cannot judge the step: the full
            # Newton step, as in the quadratically convergent phase it always is
            x = x + step
            f = value(x)
            continue
        t = 1.0
        for _ in range(30):  # Armijo, sigma = 1e-4
            f_new = value(x + t * step)
            if f_new <= f - 1e-4 * t * decrement:
                break
            t *= 0.5
        else:
            break
        x, f = x + t * step, f_new
    return x


def _accept(problem, penalty, res, W, b):
    """The polished result, if its certified gap is no larger than the solver's (or ~0)."""
    if problem.explicit_intercept:  # exact intercept: the dual constraint sum(theta) = 0
        b = problem.optimal_intercept(np.asarray(problem.matvec(W)), b)
    gap = duality_gap(problem, penalty, W, b)[0]
    rounding = 64 * np.finfo(np.float64).eps * problem.value_scale()
    if not (-rounding <= gap <= max(res.dual_gap, rounding)):
        return res
    return SolveResult(
        W, b if problem.explicit_intercept else res.intercept, max(gap, 0.0), res.n_iter, True
    )


def polish_logistic(problem, penalty, res: SolveResult) -> SolveResult:
    """Logistic and multinomial: Newton's method on the support with the signs fixed.

    On a fixed support ``S`` (the non-zero coefficients) with signs ``s_S`` the objective
    ``F(X W + b) + sum_S a s w + b/2 w^2`` is smooth and convex, so Newton's method with an
    Armijo search converges quadratically from the solver's certified point; a few steps
    reach its minimiser to rounding.  As for least squares (:func:`polish_quadratic`) the
    result is kept only if every sign is kept and the duality gap does not increase beyond
    rounding.  Multinomial: the Hessian in the scores is ``c_i (diag(p_i) - p_i p_i^T)`` per
    sample; a feature with only an L1 penalty whose ``K`` coefficients are all non-zero
    with unbalanced signs is left to the solver (along the common shift of its row the
    restricted objective is linear, its minimum on the boundary of the sign pattern).

    Parameters
    ----------
    problem : Problem
        The problem (Logistic or Multinomial datafit, explicit intercept if fitted).
    penalty : L1, L2 or L1L2
    res : SolveResult

    Returns
    -------
    SolveResult
        ``res`` itself, or the polished coefficients and intercept with their duality gap.
    """
    if (
        not res.converged
        or not isinstance(problem.datafit, Logistic | Multinomial)
        or not hasattr(penalty, "separable_coefficients")
    ):
        return res
    df, y, sw = problem.datafit, problem.y, problem.sample_weight
    K, p, n = problem.n_classes, problem.n_features, problem.n_samples
    W = np.asarray(res.coef, dtype=np.float64).reshape(p, K)
    a, bq = penalty.separable_coefficients(p)
    positive = bool(penalty.positive)
    free = ~penalty.is_penalized(p) & (not positive)
    E = (W != 0) | free[:, None]  # the (feature, class) entries that move
    U = np.flatnonzero(E.any(axis=1))
    if U.size == 0 or U.size * K > MAX_SUPPORT:
        return res
    sgn = np.sign(W[U])
    l1_only = (a[U] > 0) & (bq[U] == 0)
    if K > 1 and np.any(l1_only & E[U].all(axis=1) & (sgn.sum(axis=1) != 0)):
        return res
    XS = _columns(problem, U, K)
    if XS is None:
        return res
    icpt = problem.explicit_intercept
    mask = E[U].ravel()  # row-major (feature, class) entries of W[U] that move
    lin = (a[U][:, None] * sgn).ravel()[mask]
    quad = np.repeat(bq[U], K)[mask]
    nw = int(mask.sum())
    c = np.full(n, 1.0 / n) if sw is None else sw / sw.sum()
    onehot = Multinomial._onehot(y, K) if K > 1 else None

    def unpack(x):
        WU = np.zeros(U.size * K)
        WU[mask] = x[:nw]
        return WU.reshape(U.size, K), (x[nw:] if icpt else np.zeros(K))

    def scores(x):
        WU, b = unpack(x)
        return np.asarray(XS @ WU).reshape(n, K) + b

    def value(x):
        Z = scores(x)
        wv = x[:nw]
        return df.value(y, Z[:, 0] if K == 1 else Z, sw) + lin @ wv + 0.5 * quad @ (wv * wv)

    def derivatives(x):
        Z = scores(x)
        if K == 1:
            G = df.raw_gradient(y, Z[:, 0], sw)[:, None]
            blocks = [[_weighted_gram(XS, df.raw_hessian(y, Z[:, 0], sw), icpt)]]
        else:
            P = np.exp(Z - Z.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            G = c[:, None] * (P - onehot)
            blocks = [
                [
                    _weighted_gram(XS, c * (P[:, k] * (k == m) - P[:, k] * P[:, m]), icpt)
                    for m in range(K)
                ]
                for k in range(K)
            ]
        # order the variables as (feature, class) entries of W[U], then the intercepts
        q = U.size + int(icpt)
        Hfull = np.block(blocks)  # class-major blocks of size q
        perm_w = np.array([k * q + j for j in range(U.size) for k in range(K)], dtype=int)
        perm = perm_w[mask]
        if icpt:
            perm = np.concatenate([perm, [k * q + U.size for k in range(K)]])
        gfull = np.concatenate(
            [
                np.concatenate(
                    [np.asarray(XS.T @ G[:, k]).ravel(), [G[:, k].sum()] if icpt else []]
                )
                for k in range(K)
            ]
        )
        g = gfull[perm]
        H = Hfull[np.ix_(perm, perm)]
        g[:nw] += lin + quad * x[:nw]
        H[np.arange(nw), np.arange(nw)] += quad
        return g, H

    b0 = np.atleast_1d(np.asarray(res.intercept, dtype=np.float64)) if icpt else np.zeros(0)
    x0 = np.concatenate([W[U].ravel()[mask], b0])
    # the softmax ignores a common shift of the K intercepts
    x = _newton(value, derivatives, x0, int(K > 1 and icpt))
    if x is None or not np.all(np.isfinite(x)):
        return res
    WU, b = unpack(x)
    fixed = ((a[U] > 0) | positive)[:, None] & E[U]
    if np.any(np.sign(WU[fixed]) != sgn[fixed]):
        return res
    W_new = np.zeros((p, K))
    W_new[U] = WU
    if K == 1:
        return _accept(problem, penalty, res, W_new[:, 0], float(b[0]) if icpt else 0.0)
    return _accept(problem, penalty, res, W_new, b if icpt else res.intercept)
