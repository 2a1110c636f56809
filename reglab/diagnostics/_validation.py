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

#: largest |entry| of data arrays: squares summed over up to 1e8 entries stay far below
#: float64's 1.8e308 ((1e100)^2 * 1e8 = 1e208); larger data is unscaled, and X^T X, s^2 or
#: a residual sum of squares would overflow to inf
MAX_ABS = 1e100
#: largest count of rounds, samples, steps, bins, points: a typo (10**12) must fail in one
#: line instead of exhausting memory or running for days
MAX_COUNT = 10**7
#: largest number of entries of an array a function allocates from its size arguments
MAX_ELEMENTS = 10**8

__all__ = [
    "MAX_ABS",
    "MAX_COUNT",
    "MAX_ELEMENTS",
    "check_X",
    "check_Xy",
    "check_count",
    "check_elements",
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
    """A non-empty, finite, 2-D float array whose scale does not overflow its squares."""
    return check_array(X, name, ndim=2, max_abs=MAX_ABS)


def check_Xy(X: Any, y: Any, *, x_name: str = "X", y_name: str = "y"):
    """A design matrix and a target with as many rows, both finite."""
    X = check_X(X, x_name)
    y = check_array(y, y_name, ndim=1, max_abs=MAX_ABS)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"{x_name} and {y_name} must have as many rows, got {x_name} {X.shape} and "
            f"{y_name} {y.shape}"
        )
    return X, y


def check_count(value: Any, name: str, *, low: int = 1) -> int:
    """An integer count in [low, MAX_COUNT]."""
    return check_int(value, name, low=low, high=MAX_COUNT)


def check_elements(name: str, *sizes: int) -> None:
    """Refuse sizes whose product (the entries to allocate) exceeds MAX_ELEMENTS."""
    total = 1
    for s in sizes:
        total *= int(s)
    if total > MAX_ELEMENTS:
        raise ValueError(
            f"{name} asks for {total:.3g} array entries (over {MAX_ELEMENTS:.0e}, "
            f"{8 * MAX_ELEMENTS / 2**30:.0f} GiB of float64); lower it"
        )


def check_nonneg_grid(value: Any, name: str, *, positive: bool = False) -> np.ndarray:
    """A finite scalar or 1-D array of non-negative (or, with ``positive``, > 0) floats."""
    arr = check_array(value, name, ndim=(0, 1), nonneg=True, max_abs=MAX_ABS)
    if positive and np.any(arr == 0):
        raise ValueError(f"{name} must be > 0, got a zero in {name}={value!r}")
    return arr
