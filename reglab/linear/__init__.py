"""Penalised linear models: certified solvers, warm-started paths and CV (NumPy + numba).

The design is Penalty x Datafit x Solver (see ``DESIGN.md``): a penalty (:class:`L1`,
:class:`L2`, :class:`L1L2`) and a datafit (:class:`Quadratic`, :class:`Logistic`,
:class:`Multinomial`) define the objective ``F(Xw + b) + penalty(w)`` with scikit-learn's
scaling; a solver (:class:`ClosedForm`, :class:`CoordinateDescent`, :class:`FISTA`,
:class:`ISTA`, :class:`Subgradient`, :class:`GradientDescent`, :class:`NewtonCG`,
:class:`LBFGS`) minimises it and reports the
duality gap it stopped on.  Estimators and path functions only choose the triple.
torch is imported only by the optional GPU path (``enet_path(..., device='cuda')``).
"""

from reglab.linear.cv import ElasticNetCV, LassoCV, LogisticRegressionCV, RidgeCV
from reglab.linear.datafits import Logistic, Multinomial, Quadratic
from reglab.linear.estimators import (
    ElasticNet,
    GeneralizedLinearEstimator,
    Lasso,
    LogisticRegression,
    Ridge,
)
from reglab.linear.path import (
    PathResult,
    alpha_grid,
    alpha_max,
    enet_path,
    lasso_path,
    logistic_path,
    ridge_path,
)
from reglab.linear.penalties import L1, L1L2, L2
from reglab.linear.solvers import (
    FISTA,
    ISTA,
    LBFGS,
    ClosedForm,
    CoordinateDescent,
    GradientDescent,
    NewtonCG,
    Subgradient,
)

__all__ = [
    "Ridge",
    "Lasso",
    "ElasticNet",
    "LogisticRegression",
    "RidgeCV",
    "LassoCV",
    "ElasticNetCV",
    "LogisticRegressionCV",
    "GeneralizedLinearEstimator",
    "ridge_path",
    "lasso_path",
    "enet_path",
    "logistic_path",
    "alpha_max",
    "alpha_grid",
    "PathResult",
    "L1",
    "L2",
    "L1L2",
    "Quadratic",
    "Logistic",
    "Multinomial",
    "ClosedForm",
    "CoordinateDescent",
    "FISTA",
    "ISTA",
    "Subgradient",
    "GradientDescent",
    "NewtonCG",
    "LBFGS",
]
