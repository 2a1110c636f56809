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


# Label checks on a GPU are deferred: waiting for the device to read two numbers back would
# stall the launch queue every step. Each entry is (event, pinned host copy of [min, max],
# num_classes, message); later calls poll them.
_PENDING: list[tuple[object, torch.Tensor, int, str]] = []


def _raise_if_bad(lo: int, hi: int, num_classes: int, message: str, suffix: str = "") -> None:
    if lo < 0 or hi >= num_classes:
        raise ValueError(message.format(lo if lo < 0 else hi) + suffix)


def flush_label_checks(wait: bool = False) -> None:
    """Raise for any earlier deferred (GPU) label check that found a bad label.

    Parameters
    ----------
    wait : bool
        Wait for the device instead of only looking at checks that have completed.
    """
    global _PENDING
    still = []
    for i, (event, host, num_classes, message) in enumerate(_PENDING):
        if wait:
            event.synchronize()
        elif not event.query():
            still.append(_PENDING[i])
            continue
        try:
            _raise_if_bad(int(host[0]), int(host[1]), num_classes, message,
                          " (found on the GPU without waiting for it: these are the labels of "
                          "an earlier call, whose result used them as given)")  # fmt: skip
        except ValueError:
            _PENDING = still + _PENDING[i + 1 :]
            raise
    _PENDING = still


def check_labels(name: str, target: torch.Tensor, num_classes: int, *, ignore_index=None):
    """Check integer class labels lie in ``[0, num_classes)`` (``ignore_index`` allowed).

    On the CPU the check is immediate. On a CUDA device the minimum and maximum are computed
    there and copied back asynchronously: a bad label raises at a later call (or at
    :func:`flush_label_checks`), so that no step waits for the GPU.
    """
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {target.dtype}")
    if _PENDING:
        flush_label_checks()
    if target.numel() == 0:
        return
    message = f"{name} holds label {{}}, outside [0, {num_classes}) for num_classes={num_classes}"
    t = target if ignore_index is None else torch.where(target == ignore_index, 0, target)
    lo, hi = torch.aminmax(t)
    if target.device.type != "cuda":
        _raise_if_bad(int(lo), int(hi), num_classes, message)
        return
    host = torch.empty(2, dtype=torch.long, pin_memory=True)
    host.copy_(torch.stack([lo, hi]), non_blocking=True)
    event = torch.cuda.Event()
    event.record()
    _PENDING.append((event, host, num_classes, message))
