"""The one place where reglab.diagnostics checks its arguments.

Every public function and class of the package passes its arguments through these helpers
(built on :mod:`reglab._validation`), so bad input ends in a ``ValueError`` or ``TypeError``
that names the argument and its value: never a NaN or inf result, a hang, or a raw NumPy,
SciPy or torch error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reglab._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_keys,
    check_real,
    check_seed,
    short_repr,
)

__all__ = [
    "check_X",
    "check_Xy",
    "check_array",
    "check_bool",
    "check_choice",
    "check_int",
    "check_keys",
    "check_nonneg_grid",
    "check_real",
    "check_seed",
    "rank_tolerance",
    "short_repr",
]


def rank_tolerance(shape: tuple[int, ...], s_max: float) -> float:
    """Singular values at or below ``max(n, p) * eps * s_max`` count as zero.

    The default of ``numpy.linalg.matrix_rank`` and LAPACK's least-squares drivers: an exact
    ``s > 0`` test would count round-off (about eps * s_max) as a direction, so a duplicated
    column would look like full rank.
    """
    return max(shape) * np.finfo(float).eps * float(s_max)


def check_X(X: Any, name: str = "X") -> np.ndarray:
    """A non-empty, finite, 2-D float array."""
    return check_array(X, name, ndim=2)


def check_Xy(X: Any, y: Any, *, x_name: str = "X", y_name: str = "y"):
    """A design matrix and a target with as many rows, both finite."""
    X = check_X(X, x_name)
    y = check_array(y, y_name, ndim=1)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have as many rows, got {x_name} {X.shape} and "
            f"{y_name} {y.shape}"
        )
    return X, y


def check_nonneg_grid(value: Any, name: str, *, positive: bool = False) -> np.ndarray:
    """A finite scalar or 1-D array of non-negative (or, with ``positive``, > 0) floats."""
    arr = check_array(value, name, ndim=(0, 1), nonneg=True)
    if positive and np.any(arr == 0):
        raise ValueError(f"{name} must be > 0, got a zero in {name}={value!r}")
    return arr
