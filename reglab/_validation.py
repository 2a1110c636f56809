"""Argument checks shared by the NumPy-side packages (diagnostics, augment, the top level).

Every check raises a ``ValueError`` (wrong value) or ``TypeError`` (wrong kind of object)
whose message starts with the argument's name and shows the value it got, so that a user
never meets a NaN, an inf, a hang or a raw NumPy error instead of a sentence about their
input.

Why not :mod:`reglab.linear._validation`: importing it imports :mod:`reglab.linear`, and
with it numba (about 1.5 s), which ``import reglab.diagnostics`` and ``import
reglab.augment`` must not pay. Its checks are the same in spirit (name and value in the
message, bool refused as a number); these are the dependency-free versions, and the
package modules :mod:`reglab.diagnostics._validation` and :mod:`reglab.augment._validation`
build on them.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_bool",
    "check_choice",
    "check_int",
    "check_keys",
    "check_real",
    "check_seed",
    "short_repr",
]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` as a bool; only ``True``/``False`` (and NumPy bools) are accepted.

    A string is refused: ``bool("no")`` is ``True``, so accepting it would switch an option
    on when the user meant off.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_show(value)} ({type(value).__name__})")


def check_int(value: Any, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int after checking ``low <= value <= high``.

    Python ints and integer NumPy scalars (``np.int64(3)``) are accepted; bools, floats
    (even ``3.0``) and strings are refused with a TypeError.
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be an integer, got the bool {value!r}")
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {_show(value)} ({type(value).__name__})"
        ) from None
    if (low is not None and out < low) or (high is not None and out > high):
        raise ValueError(f"{name} must be an integer {_interval(low, high)}, got {name}={out!r}")
    return int(out)


def _interval(low, high, low_open: bool = False, high_open: bool = False) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return "finite"


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite float inside the given interval.

    Real numbers and real NumPy scalars (or 0-d arrays) are accepted; bools, strings and
    complex numbers are refused with a TypeError, NaN, inf and out-of-range values with a
    ValueError.
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {_show(value)} ({type(value).__name__})"
        )
    out = float(value)
    bad = not math.isfinite(out)
    if low is not None:
        bad = bad or out < low or (low_open and out == low)
    if high is not None:
        bad = bad or out > high or (high_open and out == high)
    if bad:
        where = _interval(low, high, low_open, high_open)
        raise ValueError(f"{name} must be finite and {where}, got {name}={out!r}")
    return out


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of the strings ``choices``."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {name}={_show(value)}")
    return value


def check_keys(mapping: Any, name: str, allowed: Iterable[str]) -> Mapping:
    """Check that ``mapping`` is a mapping whose keys all belong to ``allowed``.

    A mistyped key is an error, not a silently ignored entry.
    """
    allowed = tuple(allowed)
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(mapping).__name__}")
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        raise ValueError(f"{name} has unknown keys {unknown}; allowed keys are {list(allowed)}")
    return mapping


def check_seed(seed: Any, name: str = "seed", *, allow_generator: bool = True) -> Any:
    """Check a seed: None, a non-negative int, or (when allowed) a ``numpy.random.Generator``."""
    if seed is None or (allow_generator and isinstance(seed, np.random.Generator)):
        return seed
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        kinds = "None, a non-negative int or a numpy.random.Generator"
        if not allow_generator:
            kinds = "None or a non-negative int"
        raise TypeError(f"{name} must be {kinds}, got {_show(seed)} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{name} must be >= 0, got {name}={int(seed)}")
    return int(seed)


def check_array(
    value: Any,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    finite: bool = True,
    allow_empty: bool = False,
    nonneg: bool = False,
    dtype: Any = float,
    max_abs: float | None = None,
) -> np.ndarray:
    """Return ``value`` as a NumPy array of ``dtype`` after checking rank, size and values.

    Strings, objects and other non-numeric input are refused with a TypeError naming
    ``name`` (instead of NumPy's "could not convert string to float").
    """
    if isinstance(value, str | bytes):
        raise TypeError(f"{name} must be a numeric array, got the string {_show(value)}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {_show(value)}: {err}") from None
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got dtype {raw.dtype}")
    if raw.dtype.kind == "b" and dtype is not None:
        # True/False where numbers belong is a mix-up (a flag passed in the wrong place)
        raise TypeError(f"{name} must be numeric, got booleans {_show(value)}")
    arr = raw.astype(dtype, copy=False) if dtype is not None else raw
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in dims:
            want = " or ".join(f"{d}-D" for d in dims)
            raise ValueError(f"{name} must be {want}, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = "NaN" if np.any(np.isnan(arr)) else "inf"
        raise ValueError(f"{name} contains {bad}; it must be finite")
    if nonneg and arr.size and np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got a value {float(np.min(arr))!r}")
    if max_abs is not None and arr.size and arr.dtype.kind in "iuf":
        top = float(np.max(np.abs(arr)))
        if top > max_abs:
            raise ValueError(
                f"{name} has entries up to {top:.3g} in magnitude; beyond {max_abs:g} their "
                "squares and sums overflow float64: rescale it"
            )
    return arr


def short_repr(obj: Any, fields: Iterable[str]) -> str:
    """``Name(a=1.0, b=array(shape=(3, 4)), ...)``: scalars shown, arrays by their shape.

    For result objects whose default dataclass repr would print thousands of numbers.
    """
    parts = []
    for f in fields:
        v = getattr(obj, f)
        if isinstance(v, np.ndarray):
            text = f"array(shape={v.shape})"
        elif isinstance(v, float):
            text = f"{v:.6g}"
        elif isinstance(v, dict):
            text = "{" + ", ".join(map(repr, v)) + "}"
        elif isinstance(v, list | tuple) and len(v) > 3:
            text = f"<{type(v).__name__} of {len(v)}>"
        else:
            text = _show(v)
        parts.append(f"{f}={text}")
    return f"{type(obj).__name__}({', '.join(parts)})"
