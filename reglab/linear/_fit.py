"""The one private fit routine behind estimators, paths and CV.

:func:`prepare` validates the data and builds the :class:`~reglab.linear._problem.Problem`;
:func:`solve` runs a solver and maps the result back to the original (uncentred) features.
"""

from __future__ import annotations

import numpy as np

from reglab.linear._problem import make_problem
from reglab.linear._validation import check_sample_weight, check_X_y
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.solvers import ClosedForm, CoordinateDescent, NewtonCG, Solver
from reglab.linear.solvers._polish import polish_logistic, polish_quadratic


def prepare(X, y, datafit, *, sample_weight=None, fit_intercept=True, n_classes=1):
    """Validate ``X, y, sample_weight`` and build the problem (``y`` already encoded)."""
    if not isinstance(fit_intercept, bool | np.bool_):
        raise TypeError(f"fit_intercept must be a bool, got fit_intercept={fit_intercept!r}")
    X, y = check_X_y(X, y)
    sw = check_sample_weight(sample_weight, X.shape[0], np.float64)
    if sw is not None and not np.all(sw > 0):
        # zero-weight rows do not enter the objective: drop them so every solver agrees
        keep = sw > 0
        X, y, sw = X[keep], y[keep], sw[keep]
    if not isinstance(datafit, Quadratic) and np.unique(y).size < 2:
        raise ValueError(
            "y has a single class among the samples with positive sample_weight: got 1 class, "
            "a classifier needs at least two"
        )
    Xf = X.astype(np.float64) if X.dtype != np.float64 else X
    return make_problem(
        Xf,
        np.asarray(y, dtype=np.float64),
        datafit,
        sample_weight=sw,
        fit_intercept=fit_intercept,
        n_classes=n_classes,
    ), X.dtype


def default_solver(datafit, penalty, tol, max_iter) -> Solver:
    """Closed form for ridge; CD for lasso/enet, logistic and multinomial L1/enet; Newton-CG for smooth multinomial and unpenalised logistic."""
    alpha, rho = getattr(penalty, "alpha", 1.0), getattr(penalty, "_rho", 1.0)
    smooth = alpha == 0 or rho == 0
    if isinstance(datafit, Multinomial):
        # second order for the smooth objective (superlinear: digits in ~10 iterations),
        # max_iter honoured
        if smooth and not penalty.positive:
            return NewtonCG(tol=tol, max_iter=max_iter)
        # L1 / elastic net: prox-Newton with the coupled Hessian, CD over (feature, class)
        return CoordinateDescent(tol=tol, max_iter=max_iter)
    if isinstance(datafit, Logistic) and alpha == 0 and not penalty.positive:
        # unpenalised (C=inf): prox-Newton CD has no curvature floor; Newton-CG is exact here
        return NewtonCG(tol=tol, max_iter=max_iter)
    if (
        isinstance(datafit, Quadratic)
        and callable(getattr(penalty, "hessian_diag", None))
        and not penalty.positive
    ):
        return ClosedForm(tol=tol)
    return CoordinateDescent(tol=tol, max_iter=max_iter)


def solve_polished(solver, problem, penalty, w0=None, b0=None):
    """One estimator fit: the solver's certified solution, then its exact polish.

    A converged least-squares, logistic or multinomial iterate is replaced by the optimum on its
    support with its signs fixed (:func:`~reglab.linear.solvers._polish.polish_quadratic`,
    :func:`~reglab.linear.solvers._polish.polish_logistic`) when that keeps every sign and
    does not increase the duality gap; the closed form is exact already.  Paths do not
    polish each alpha: they are certified by the gap, and only a final fit is compared to
    the optimum coefficient by coefficient (a weighted fit against its repeated rows).
    """
    res = solver.solve(problem, penalty, w0, b0)
    if isinstance(solver, ClosedForm):
        return res
    if isinstance(problem.datafit, Logistic | Multinomial):
        return polish_logistic(problem, penalty, res)
    return polish_quadratic(problem, penalty, res)


def resolve_solver(solver, datafit, penalty, tol, max_iter) -> Solver:
    """Turn a solver name or instance into a checked :class:`Solver`."""
    from reglab.linear import solvers as S

    names = {
        "auto": None,
        "cd": S.CoordinateDescent,
        "closed_form": S.ClosedForm,
        "fista": S.FISTA,
        "ista": S.ISTA,
        "gd": S.GradientDescent,
        "subgradient": S.Subgradient,
        "lbfgs": S.LBFGS,
        "newton-cg": S.NewtonCG,
    }
    refused = {
        "liblinear": "liblinear's penalised synthetic intercept feature",
        "sag": "stochastic average gradient",
        "saga": "SAGA",
        "newton-cholesky": "Newton with a Cholesky-factorised Hessian",
        "svd": None,
        "cholesky": None,
        "lsqr": "LSQR",
        "sparse_cg": "conjugate gradient on the normal equations",
    }
    if isinstance(solver, str) and solver in ("svd", "cholesky"):
        solver = "closed_form"  # scikit-learn's exact ridge solvers: the certified closed form
    if isinstance(solver, str) and solver in refused:
        raise ValueError(
            f"solver={solver!r} ({refused[solver]}) is scikit-learn's and not available in "
            f"reglab; use one of {sorted(names)} (every one reaches the same certified optimum)"
        )
    if isinstance(solver, Solver):
        out = solver
    elif isinstance(solver, str) and solver in names:
        if solver == "auto":
            out = default_solver(datafit, penalty, tol, max_iter)
        elif solver == "closed_form":
            out = S.ClosedForm(tol=tol)
        else:
            out = names[solver](tol=tol, max_iter=max_iter)
    else:
        raise ValueError(
            f"solver must be one of {sorted(names)} or a Solver instance, got solver={solver!r}"
        )
    out.check(datafit, penalty)
    return out


def unscale(problem, coef, intercept):
    """Map a solution of the centred problem back to the original features' intercept."""
    if problem.explicit_intercept or not problem.fit_intercept:
        return coef, intercept if problem.explicit_intercept else 0.0
    return coef, problem.y_offset - float(problem.X_offset @ coef)


def encode_binary(y):
    """Map two class labels to {-1, +1}; returns ``(classes, y_pm)``."""
    classes, y_idx = np.unique(y, return_inverse=True)
    return classes, np.where(y_idx == 1, 1.0, -1.0)


__all__ = ["prepare", "resolve_solver", "solve_polished", "unscale", "encode_binary", "Logistic"]
