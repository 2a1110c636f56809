"""Proximal gradient: ISTA and FISTA (Beck & Teboulle, 2009, SIAM J. Imaging Sci. 2(1)).

``w+ = prox_{g/L}(w - grad F(w) / L)``; FISTA adds Nesterov momentum with the gradient-based
adaptive restart of O'Donoghue & Candès (2015, "Adaptive restart for accelerated gradient
schemes", FoCM 15).  Works for every datafit with ``raw_gradient`` and every separable penalty,
including the multinomial datafit; the intercept is an unpenalised variable.

The iterations run on an equivalent, better-conditioned problem: with an intercept the
columns are centred (``Xw + b = (X - 1 m^T) w + (b + m^T w)``) and every column is scaled to
unit norm (``w~ = s * w``, the penalty's coefficients divided by ``s`` and ``s^2``).  Both are
exact reparametrisations, so the objective, the dual point and the duality gap are those of
the original problem; uncentred features (a mean of 100 next to the intercept) no longer make
the Lipschitz constant useless.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from reglab.linear._problem import _op_norm2, duality_gap
from reglab.linear._validation import check_positive_int
from reglab.linear.datafits import _norm_weights
from reglab.linear.solvers._base import Solver, SolveResult, init_coef


def _prox_ab(v, step, a, b, positive):
    """Coordinate-wise prox of ``a|w| + b w^2 / 2`` (a, b broadcast against v)."""
    thr = step * a
    z = np.maximum(v - thr, 0.0) if positive else np.sign(v) * np.maximum(np.abs(v) - thr, 0.0)
    return z / (1.0 + step * b)


class _Reparam:
    """Centred, column-scaled operator ``X~ = (X_c - 1 m^T) diag(1/s)`` of a problem."""

    def __init__(self, problem):
        self.problem = problem
        n = problem.n_samples
        self.center = problem.explicit_intercept
        c = _norm_weights(problem.sample_weight, n)
        X = problem.X
        self.m = np.asarray(problem.rmatvec(c)).ravel() if self.center else None
        # weighted column scales sqrt(sum_i c_i (x_ij - m_j)^2): a weighted problem and its
        # repeated-rows copy then get the same reparametrisation, hence the same iterates
        if sp.issparse(X):
            sq = np.asarray(X.multiply(X).T @ c).ravel()
        else:
            sq = np.einsum("ij,ij,i->j", X, X, c)
        if self.center:
            sq = sq - self.m**2
        self.s = np.sqrt(np.maximum(sq, 0.0))
        self.s[self.s == 0] = 1.0
        self.dense = None
        if not sp.issparse(X) and problem.mu is None:
            Xd = X - self.m if self.center else X
            self.dense = Xd / self.s

    def matvec(self, wt):
        if self.dense is not None:
            return self.dense @ wt
        w = wt / (self.s if wt.ndim == 1 else self.s[:, None])
        out = self.problem.matvec(w)
        if self.center:
            out = out - np.multiply.outer(np.ones(out.shape[0]), self.m @ w)
        return out

    def diag_hessian(self, D):
        """``sum_i D_i x~_ij^2`` per column (and per class for ``D`` of shape (n, K)).

        The diagonal of ``X~^T diag(D) X~``: the Jacobi preconditioner of Newton-CG.
        """
        if self.dense is not None:
            return (self.dense * self.dense).T @ D
        problem = self.problem
        X = problem.X
        sq = X.multiply(X) if sp.issparse(X) else X * X
        out = np.asarray(sq.T @ D)
        if problem.mu is not None:  # implicit centring: columns x_j - mu_j v
            mu = problem.mu if D.ndim == 1 else problem.mu[:, None]
            v = problem.v if D.ndim == 1 else problem.v[:, None]
            out = out - 2 * mu * np.asarray(X.T @ (v * D)) + mu**2 * (v * v * D).sum(axis=0)
        if self.center:  # sum_i D_i (x_ij - m_j)^2 for the problem's columns x_j
            xd = np.asarray(problem.rmatvec(D))
            m = self.m if D.ndim == 1 else self.m[:, None]
            out = out - 2 * m * xd + m**2 * D.sum(axis=0)
        s2 = self.s**2
        return out / (s2 if out.ndim == 1 else s2[:, None])

    def rmatvec(self, R):
        if self.dense is not None:
            return self.dense.T @ R
        out = self.problem.rmatvec(R)
        if self.center:
            out = out - np.multiply.outer(self.m, R.sum(axis=0))
        return out / (self.s if out.ndim == 1 else self.s[:, None])

    def lipschitz(self):
        p = self.problem
        n, d = p.n_samples, p.n_features
        op = self.dense
        if op is None:
            op = sp.linalg.LinearOperator(
                (n, d),
                matvec=lambda w: self.matvec(np.ravel(w)),
                rmatvec=lambda r: self.rmatvec(np.ravel(r)),
                dtype=np.float64,
            )
        L = _op_norm2(op, _norm_weights(p.sample_weight, n))
        if p.explicit_intercept:
            L += 1.0
        return p.datafit.hessian_bound * L

    def to_original(self, wt, bt):
        w = wt / (self.s if wt.ndim == 1 else self.s[:, None])
        b = bt - self.m @ w if self.center else bt
        return w, b

    def from_original(self, w, b):
        wt = w * (self.s if w.ndim == 1 else self.s[:, None])
        bt = b + self.m @ w if self.center else b
        return wt, bt


class _ProxGrad(Solver):
    requires_datafit = ("raw_gradient", "dual_value")
    requires_penalty = ("separable_coefficients", "conjugate", "dual_scaling")
    _momentum = True

    def __init__(self, *, tol=1e-4, max_iter=10000, check_every=10, verbose=False):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.check_every = check_positive_int(check_every, "check_every")

    def _certificate(self, problem, penalty, w, b):
        if problem.explicit_intercept:
            b = problem.optimal_intercept(problem.matvec(w), b)
        return duality_gap(problem, penalty, w, b)[0], b

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        op = _Reparam(problem)
        step = 1.0 / op.lipschitz()
        a, bq = penalty.separable_coefficients(problem.n_features)
        a, bq = a / op.s, bq / op.s**2
        if problem.n_classes > 1:
            a, bq = a[:, None], bq[:, None]
        tol_abs = self._tol_abs(problem)
        w, b = init_coef(problem, w0, b0)
        gap, b_cert = self._certificate(problem, penalty, w, b)
        wt, bt = op.from_original(w, b)
        yw, yb = wt.copy(), bt
        t = 1.0
        n_iter = 0
        while gap > tol_abs and n_iter < self.max_iter:  # a NaN gap stops too
            n_iter += 1
            G = df.raw_gradient(y, op.matvec(yw) + yb, sw)
            w_new = _prox_ab(yw - step * op.rmatvec(G), step, a, bq, penalty.positive)
            b_new = yb - step * G.sum(axis=0) if problem.explicit_intercept else bt
            if self._momentum:
                if np.sum((yw - w_new) * (w_new - wt)) > 0:  # momentum points uphill: restart
                    t = 1.0
                t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta = (t - 1.0) / t_new
                yw = w_new + beta * (w_new - wt)
                yb = b_new + beta * (b_new - bt)
                t = t_new
            else:
                yw, yb = w_new, b_new
            wt, bt = w_new, b_new
            if n_iter % self.check_every == 0 or n_iter == self.max_iter:
                w, b = op.to_original(wt, bt)
                gap, b_cert = self._certificate(problem, penalty, w, b)
        w, _ = op.to_original(wt, bt)
        return self._finish(w, b_cert, gap, max(n_iter, 1), tol_abs)


class FISTA(_ProxGrad):
    """Accelerated proximal gradient with adaptive restart.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol * F(0)``.
    max_iter : int, default=10000
        Maximum number of iterations.
    check_every : int, default=10
        Compute the duality gap every this many iterations.
    """


class ISTA(_ProxGrad):
    """Proximal gradient without momentum (same parameters as :class:`FISTA`)."""

    _momentum = False
