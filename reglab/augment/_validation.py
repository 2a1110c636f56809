"""The one place where reglab.augment checks its arguments.

Built on :mod:`reglab._validation`: every public function and class of the package passes
its arguments through these helpers, so bad input ends in a ``ValueError`` or ``TypeError``
naming the argument and its value, never in non-finite audio, a silently misread string
(``Rotation(degrees="15")`` iterating the characters ``"1"``, ``"5"``) or a raw NumPy,
SciPy, kornia or torch error. Importing this module imports neither torch nor SciPy.
"""

from __future__ import annotations

from typing import Any

from reglab._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_keys,
    check_real,
    check_seed,
)

__all__ = [
    "check_array",
    "check_bool",
    "check_choice",
    "check_int",
    "check_interval",
    "check_keys",
    "check_probability",
    "check_real",
    "check_seed",
    "check_str",
]


def check_probability(value: Any, name: str = "p") -> float:
    """A real number in [0, 1]."""
    return check_real(value, name, low=0.0, high=1.0)


def check_str(value: Any, name: str, *, allow_empty: bool = True) -> str:
    """A ``str`` (not bytes, not a number)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {value!r} ({type(value).__name__})")
    if not allow_empty and not value:
        raise ValueError(f"{name} must be a non-empty str, got {value!r}")
    return value


def check_interval(
    value: Any, name: str, *, low: float, high: float, symmetric: bool
) -> tuple[float, float]:
    """A scalar or a ``(min, max)`` pair of finite reals with ``low <= min <= max <= high``.

    A scalar ``v`` means ``(-v, v)`` when ``symmetric`` and ``(v, v)`` otherwise. Strings
    are refused: a string is a sequence, and ``"15"`` would otherwise be read as the pair
    ``("1", "5")``.
    """
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a number or a (min, max) pair, got the string {value!r}")
    if isinstance(value, bool) or not hasattr(value, "__len__"):
        v = check_real(value, name)
        pair = (-v, v) if symmetric else (v, v)
    else:
        if len(value) != 2:
            raise ValueError(f"{name} must be a (min, max) pair, got {len(value)} values: {value}")
        pair = (check_real(value[0], f"{name}[0]"), check_real(value[1], f"{name}[1]"))
    if not low <= pair[0] <= pair[1] <= high:
        raise ValueError(
            f"{name} must be an interval (min, max) inside [{low}, {high}], got {value}"
        )
    return pair
