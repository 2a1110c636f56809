"""What every solver shares: declared requirements, tolerance semantics and the result type.

A solver lists the methods it needs from the datafit and the penalty
(``requires_datafit`` / ``requires_penalty``); :meth:`Solver.check` fails before any work,
naming each missing method and the object that lacks it.  Stopping is by the duality gap
relative to the datafit at zero, ``gap <= tol * F(0)``; iteration caps only guard against
non-convergence, which raises a :class:`~sklearn.exceptions.ConvergenceWarning` with the gap
reached.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from reglab._validation import check_int
from reglab.linear._validation import check_scalar_nonneg


class SolveResult(NamedTuple):
    """Coefficients, intercept, certificate and effort of one solve."""

    coef: np.ndarray
    intercept: float | np.ndarray
    dual_gap: float
    n_iter: int
    converged: bool


class Solver:
    """Base class; subclasses implement :meth:`solve`."""

    requires_datafit: tuple[str, ...] = ()
    requires_penalty: tuple[str, ...] = ()

    def __init__(self, *, tol: float = 1e-4, max_iter: int = 1000, verbose: bool = False):
        self.tol = check_scalar_nonneg(tol, "tol")
        if isinstance(max_iter, bool) or not isinstance(max_iter, int | np.integer) or max_iter < 1:
            raise ValueError(f"max_iter must be a positive integer, got max_iter={max_iter!r}")
        self.max_iter = int(max_iter)
        # scikit-learn's convention: a bool or a non-negative int (a string is refused)
        self.verbose = (
            bool(verbose)
            if isinstance(verbose, bool | np.bool_)
            else check_int(verbose, "verbose", low=0)
        )

    def check(self, datafit, penalty) -> None:
        """Raise ``TypeError`` naming every method this solver needs and does not find."""
        missing = [
            f"datafit.{m} ({type(datafit).__name__} has none)"
            for m in self.requires_datafit
            if not callable(getattr(datafit, m, None))
        ] + [
            f"penalty.{m} ({type(penalty).__name__} has none)"
            for m in self.requires_penalty
            if not callable(getattr(penalty, m, None))
        ]
        if missing:
            raise TypeError(
                f"solver {type(self).__name__} cannot handle this problem: it needs "
                + ", ".join(missing)
            )

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:  # pragma: no cover
        raise NotImplementedError

    def _tol_abs(self, problem) -> float:
        """The stopping threshold ``tol * F(0)``: relative, with no absolute floor.

        Scaling ``y`` (and ``alpha``) by ``s`` scales ``F`` and the gap by ``s^2``, so the
        stopping point of a problem and of its rescaled copy are the same up to that scaling
        (an absolute floor such as ``1e-15`` would stop the rescaled copy early).
        """
        return self.tol * problem.value_scale()

    def _finish(self, w, b, gap, n_iter, tol_abs) -> SolveResult:
        if not np.isfinite(gap):
            raise ValueError(
                f"{type(self).__name__}: the duality gap is {gap} after {n_iter} iterations; "
                "the objective overflows float64 at this scale of X, y or alpha (rescale X "
                "and y, e.g. with StandardScaler)"
            )
        converged = bool(gap <= tol_abs)
        if not converged:
            warnings.warn(
                f"{type(self).__name__} did not converge in {n_iter} iterations: duality gap "
                f"{gap:.3e} > tol * F(0) = {tol_abs:.3e}. Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return SolveResult(w, b, float(gap), int(n_iter), converged)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(tol={self.tol!r}, max_iter={self.max_iter!r})"


def init_coef(problem, w0, b0):
    """Initial coefficients (copied, float64) and intercept for a warm or cold start."""
    shape = (
        (problem.n_features,) if problem.n_classes == 1 else (problem.n_features, problem.n_classes)
    )
    w = np.zeros(shape) if w0 is None else np.array(w0, dtype=np.float64).reshape(shape)
    if b0 is None or not problem.explicit_intercept:
        b = 0.0 if problem.n_classes == 1 else np.zeros(problem.n_classes)
    else:
        b = float(b0) if problem.n_classes == 1 else np.array(b0, dtype=np.float64)
    return w, b
