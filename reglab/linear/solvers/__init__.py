"""Solvers for penalised linear models; each declares the datafit/penalty methods it needs."""

from reglab.linear.solvers._base import Solver, SolveResult
from reglab.linear.solvers.cd import CoordinateDescent
from reglab.linear.solvers.closed_form import ClosedForm, ridge_grid
from reglab.linear.solvers.fista import FISTA, ISTA
from reglab.linear.solvers.gd import GradientDescent, Subgradient
from reglab.linear.solvers.lbfgs import LBFGS, NewtonCG

__all__ = [
    "Solver",
    "SolveResult",
    "ClosedForm",
    "CoordinateDescent",
    "FISTA",
    "LBFGS",
    "NewtonCG",
    "ISTA",
    "GradientDescent",
    "Subgradient",
    "ridge_grid",
]
