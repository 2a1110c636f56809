"""Proximal gradient: ISTA and FISTA (Beck & Teboulle, 2009, SIAM J. Imaging Sci. 2(1)).

``w+ = prox_{g/L}(w - grad F(w) / L)``; FISTA adds Nesterov momentum with the gradient-based
adaptive restart of O'Donoghue & Candès (2015, "Adaptive restart for accelerated gradient
schemes", FoCM 15).  Works for every datafit with ``raw_gradient`` and every penalty with
``prox``, including the multinomial datafit; the intercept is an unpenalised variable.
"""

from __future__ import annotations

import numpy as np

from reglab.linear._problem import duality_gap
from reglab.linear.solvers._base import Solver, SolveResult, init_coef


class _ProxGrad(Solver):
    requires_datafit = ("raw_gradient", "dual_value")
    requires_penalty = ("prox", "conjugate", "dual_scaling")
    _momentum = True

    def __init__(self, *, tol=1e-4, max_iter=10000, check_every=10, verbose=False):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.check_every = int(check_every)

    def _certificate(self, problem, penalty, w, b):
        if problem.explicit_intercept:
            b = problem.optimal_intercept(problem.matvec(w), b)
        return duality_gap(problem, penalty, w, b)[0], b

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        step = 1.0 / problem.lipschitz()
        tol_abs = self.tol * problem.value_scale()
        w, b = init_coef(problem, w0, b0)
        yw, yb = w.copy(), b
        t = 1.0
        gap, b_cert = self._certificate(problem, penalty, w, b)
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            if gap <= tol_abs:
                n_iter -= 1
                break
            G = df.raw_gradient(y, problem.predictor(yw, yb), sw)
            w_new = penalty.prox(yw - step * problem.rmatvec(G), step)
            b_new = yb - step * G.sum(axis=0) if problem.explicit_intercept else b
            if self._momentum:
                # restart when the momentum points uphill
                if np.sum((yw - w_new) * (w_new - w)) > 0:
                    t = 1.0
                t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
                beta = (t - 1.0) / t_new
                yw = w_new + beta * (w_new - w)
                yb = b_new + beta * (b_new - b)
                t = t_new
            else:
                yw, yb = w_new, b_new
            w, b = w_new, b_new
            if n_iter % self.check_every == 0:
                gap, b_cert = self._certificate(problem, penalty, w, b)
        else:
            gap, b_cert = self._certificate(problem, penalty, w, b)
        return self._finish(w, b_cert, gap, max(n_iter, 0), tol_abs)


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
