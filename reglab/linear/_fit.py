"""The one private fit routine behind estimators, paths and CV.

:func:`prepare` validates the data and builds the :class:`~reglab.linear._problem.Problem`;
:func:`solve` runs a solver and maps the result back to the original (uncentred) features.
"""

from __future__ import annotations

import numpy as np

from reglab.linear._problem import make_problem
from reglab.linear._validation import check_sample_weight, check_X_y
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.solvers import FISTA, ClosedForm, CoordinateDescent, Solver


def prepare(X, y, datafit, *, sample_weight=None, fit_intercept=True, n_classes=1):
    """Validate ``X, y, sample_weight`` and build the problem (``y`` already encoded)."""
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
    """Closed form for ridge, CD for lasso/enet and binary logistic, FISTA for multinomial."""
    if isinstance(datafit, Multinomial):
        return FISTA(tol=tol, max_iter=max(max_iter, 1000) * 10)
    if (
        isinstance(datafit, Quadratic)
        and callable(getattr(penalty, "hessian_diag", None))
        and not penalty.positive
    ):
        return ClosedForm(tol=tol)
    return CoordinateDescent(tol=tol, max_iter=max_iter)


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
    }
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


__all__ = ["prepare", "resolve_solver", "unscale", "encode_binary", "Logistic"]
