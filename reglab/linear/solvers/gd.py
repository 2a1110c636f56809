"""First-order baselines: gradient descent (with iterate history) and subgradient descent.

:class:`GradientDescent` minimises a smooth objective ``F(w) + g(w)`` (``g`` must have a
gradient, i.e. the L2 penalty) with the constant step ``1/L``; with ``keep_history=True`` it
stores every iterate, the early-stopping baseline of Ali, Kolter & Tibshirani (2019, "A
continuous-time view of early stopping for least squares", AISTATS).

:class:`SubgradientDescent` (``Subgradient``) steps along ``-(grad F + s)`` with ``s`` a
subgradient of the penalty and diminishing steps ``step0 / sqrt(k + 1)``; it is here to show that
it does not produce exact zeros for the lasso (Shor, 1985; Boyd, "Subgradient methods").
With ``tol=None`` both run exactly ``max_iter`` steps and never warn, as an early-stopping
baseline should.
"""

from __future__ import annotations

import numpy as np

from reglab._validation import check_bool
from reglab.linear._problem import duality_gap
from reglab.linear._validation import check_positive_int, check_scalar_nonneg
from reglab.linear.solvers._base import Solver, SolveResult, init_coef


class _FirstOrder(Solver):
    def __init__(
        self,
        *,
        tol=1e-4,
        max_iter=1000,
        step=None,
        keep_history=False,
        check_every=10,
        verbose=False,
    ):
        super().__init__(tol=0.0 if tol is None else tol, max_iter=max_iter, verbose=verbose)
        self.fixed_steps = tol is None
        # step: None (1/L) or a positive finite number; keep_history a bool (bool("no") is True)
        self.step = None if step is None else check_scalar_nonneg(step, "step", allow_zero=False)
        self.keep_history = check_bool(keep_history, "keep_history")
        self.check_every = check_positive_int(check_every, "check_every")
        self.history_ = None

    def _direction(self, penalty, w, grad):  # pragma: no cover - abstract
        raise NotImplementedError

    def _step(self, step0, k):
        return step0

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        L = problem.lipschitz() + float(
            np.max(penalty.alpha * (1 - penalty._rho) * penalty._c((problem.n_features,)))
        )
        step0 = 1.0 / L if self.step is None else self.step
        tol_abs = self._tol_abs(problem)
        w, b = init_coef(problem, w0, b0)
        hist = [w.copy()] if self.keep_history else None
        best = (np.inf, w.copy(), b)
        gap = np.inf
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            G = df.raw_gradient(y, problem.predictor(w, b), sw)
            s = self._step(step0, n_iter - 1)
            w = w - s * self._direction(penalty, w, problem.rmatvec(G))
            if penalty.positive:
                w = np.maximum(w, 0.0)
            if problem.explicit_intercept:
                b = b - s * G.sum(axis=0)
            if hist is not None:
                hist.append(w.copy())
            if not self.fixed_steps and n_iter % self.check_every == 0:
                gap, _ = duality_gap(problem, penalty, w, b)
                if gap < best[0]:
                    best = (gap, w.copy(), b)
                if gap <= tol_abs or not np.isfinite(gap):
                    break
        if hist is not None:
            self.history_ = np.array(hist)
        if self.fixed_steps:
            gap, _ = duality_gap(problem, penalty, w, b)
            return SolveResult(w, b, gap, n_iter, True)
        gap_last, _ = duality_gap(problem, penalty, w, b)
        if gap_last > best[0]:
            gap, w, b = best
        else:
            gap = gap_last
        return self._finish(w, b, gap, n_iter, tol_abs)


class GradientDescent(_FirstOrder):
    """Plain gradient descent with constant step ``1/L`` (or ``step``).

    Parameters
    ----------
    tol : float or None, default=1e-4
        Stop when the duality gap is <= ``tol * F(0)``; None runs exactly ``max_iter`` steps.
    max_iter : int, default=1000
        Number of steps (maximum, unless ``tol=None``).
    step : float, optional
        Step size; default ``1/L`` with ``L`` the Lipschitz constant of the gradient.
    keep_history : bool, default=False
        Store every iterate in ``history_`` (shape (n_steps + 1, n_features)).
    """

    requires_datafit = ("raw_gradient", "dual_value")
    requires_penalty = ("gradient",)

    def _direction(self, penalty, w, grad):
        return grad + penalty.gradient(w)


class Subgradient(_FirstOrder):
    """Subgradient descent with steps ``step0 / sqrt(k + 1)``; returns the best iterate.

    Same parameters as :class:`GradientDescent`.  Its iterates are almost never exactly
    sparse, which is the point of having it.
    """

    requires_datafit = ("raw_gradient", "dual_value")
    requires_penalty = ("subgradient",)

    def _direction(self, penalty, w, grad):
        return grad + penalty.subgradient(w)

    def _step(self, step0, k):
        return step0 / np.sqrt(k + 1.0)
