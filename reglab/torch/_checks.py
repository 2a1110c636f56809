"""Argument checks shared by the torch regularizers.

Every public function validates its arguments here so that bad input gets the same kind of
message everywhere: a ``ValueError``/``TypeError`` naming the argument and the value.
"""

from __future__ import annotations

import math
from numbers import Real

import torch


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1] or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return value


def check_nonnegative(name: str, value: object, *, strict: bool = False) -> float:
    """Return ``value`` as a finite float >= 0 (> 0 when ``strict``) or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value) or value < 0.0 or (strict and value == 0.0)
    if bad:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return value


def check_positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum`` or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


def check_tensor(name: str, value: object) -> torch.Tensor:
    """Raise a ``TypeError`` naming ``name`` unless ``value`` is a tensor."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def check_generator(generator: torch.Generator | None, device: torch.device) -> None:
    """Check that ``generator`` can draw numbers on ``device``.

    torch raises an opaque error deep inside the kernel when the generator lives on another
    device; naming the argument here tells the user what to change.
    """
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    if torch.device(generator.device).type != torch.device(device).type:
        raise ValueError(
            f"generator is on device {generator.device}, but the tensor is on {device}: "
            f"create it with torch.Generator(device={str(device)!r})"
        )


def check_labels(name: str, target: torch.Tensor, num_classes: int, *, ignore_index=None) -> None:
    """Check integer class labels lie in ``[0, num_classes)`` (``ignore_index`` allowed).

    This reads two scalars back from the device (one host synchronisation), the price of a
    clear error instead of a device-side assert or a silently all-zero one-hot row.
    """
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {target.dtype}")
    if target.numel() == 0:
        return
    valid = target if ignore_index is None else target[target != ignore_index]
    if valid.numel() == 0:
        return
    lo, hi = torch.aminmax(valid)
    lo, hi = int(lo), int(hi)
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(
            f"{name} holds label {bad}, outside [0, {num_classes}) for num_classes={num_classes}"
        )
