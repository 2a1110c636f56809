"""Argument checks shared by the torch regularizers: the package's one validation layer.

Every public function and class of :mod:`reglab.torch` validates its arguments here so that
bad input gets the same kind of message everywhere: a ``ValueError``/``TypeError`` naming the
argument and the value. The rules:

- booleans are ``bool`` (or NumPy's ``bool_``): a string such as ``"no"`` or an int is refused,
  never read by its truthiness;
- integers are ``int`` or NumPy integers, never ``bool`` or ``float``;
- reals are finite unless stated, and probabilities lie in [0, 1] (NaN refused);
- mappings keyed by names (masks, input shapes) may only name keys that exist;
- integer class labels are checked against ``[0, num_classes)``: at once on the CPU, deferred
  on CUDA (no step waits for the device), and under ``torch.compile`` as an asynchronous
  assert traced into the graph (no graph break).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from numbers import Integral, Real

import numpy as np
import torch

#: Largest count accepted for loop lengths (samples, iterations, projections, depth): a
#: larger one is a typo that would run for hours, not a request.
MAX_COUNT = 10**7
#: Largest number of classes (class indices beyond int32 are not a classification task).
MAX_CLASSES = 2**31 - 1
#: Largest scale of noise or perturbation: one float32 can hold (the draws are float32).
MAX_SCALE = float(torch.finfo(torch.float32).max)


def _compiling() -> bool:
    """Whether torch.compile (dynamo) is tracing the caller."""
    return torch.compiler.is_compiling()


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` as a bool; refuse anything but ``bool``/``numpy.bool_``, naming
    ``name`` (a string like ``"no"`` would otherwise switch an option on)."""
    if type(value) is bool:  # fast path: runs per step for ``training``/``inplace``
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {value!r}")


def check_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """Return ``value`` as an int (NumPy integers accepted, bools refused), >= ``minimum``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    finite: bool = True,
) -> float:
    """Return ``value`` as a float (finite unless ``finite=False``; never NaN) within
    ``[low, high]``, or raise naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ValueError(f"{name} must be {'finite' if finite else 'a number'}, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(
            f"{name} must be in [{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}], got {value!r}"
        )
    return value


def check_choice(name: str, value: object, choices: Collection[object]) -> object:
    """Raise naming ``name`` unless ``value`` is one of ``choices`` (compared by type too:
    ``True`` is not ``1``)."""
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_keys(name: str, mapping: object, known: Collection[str], *, what: str) -> Mapping:
    """Raise naming ``name`` unless ``mapping`` is a mapping whose keys are all in ``known``
    (a mistyped key would otherwise be silently ignored)."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping, got {type(mapping).__name__}")
    unknown = [k for k in mapping if k not in known]
    if unknown:
        sample = sorted(known)[:8]
        more = ", ..." if len(known) > 8 else ""
        raise ValueError(
            f"{name} names {unknown!r}, which are not {what} (known: "
            f"{', '.join(map(repr, sample))}{more})"
        )
    return mapping


def check_module(name: str, value: object) -> torch.nn.Module:
    """Raise a ``TypeError`` naming ``name`` unless ``value`` is an ``nn.Module``."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be an nn.Module, got {type(value).__name__}")
    return value


def check_float_dtype(name: str, value: object) -> torch.dtype:
    """Raise naming ``name`` unless ``value`` is a floating-point ``torch.dtype``."""
    if not isinstance(value, torch.dtype) or not value.is_floating_point:
        raise TypeError(f"{name} must be a floating-point torch.dtype, got {value!r}")
    return value


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1] or raise naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number in [0, 1], got {value!r}")
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return value


def check_nonnegative(
    name: str, value: object, *, strict: bool = False, maximum: float | None = None
) -> float:
    """Return ``value`` as a finite float >= 0 (> 0 when ``strict``, <= ``maximum`` when
    given) or raise naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    bad = not math.isfinite(value) or value < 0.0 or (strict and value == 0.0)
    if bad:
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:.4g} (float32's largest), got {value!r}")
    return value


def check_positive_int(
    name: str, value: object, *, minimum: int = 1, maximum: int | None = None
) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]`` or raise naming ``name`` (NumPy
    integers accepted; bools and floats refused)."""
    if type(value) is int and value >= minimum and (maximum is None or value <= maximum):
        return value  # fast path
    value = check_int(name, value, minimum=minimum)
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an int <= {maximum}, got {value!r}")
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
    check_traceable_generator(generator)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    if torch.device(generator.device).type != torch.device(device).type:
        raise ValueError(
            f"generator is on device {generator.device}, but the tensor is on {device}: "
            f"create it with torch.Generator(device={str(device)!r})"
        )


_GENERATOR_UNTRACEABLE = (
    "generator= cannot be traced by torch.compile (dynamo has no torch.Generator support): "
    "under torch.compile(fullgraph=True) pass generator=None and seed torch's default "
    "generator (torch.manual_seed); without fullgraph the call graph-breaks and honours it"
)


def _generator_graph_break() -> None:
    """A no-op that dynamo does not trace (see :func:`check_traceable_generator`)."""


_generator_graph_break = torch.compiler.disable(
    _generator_graph_break, reason=_GENERATOR_UNTRACEABLE
)


def check_traceable_generator(generator: object) -> None:
    """Under ``torch.compile``, break the graph at a ``generator`` argument with a message
    naming it.

    dynamo cannot put a ``torch.Generator`` into a graph (it stops at the random op with
    "Failed to convert args/kwargs to proxy"). A call of a ``torch.compiler.disable``'d no-op
    here makes ``fullgraph=True`` fail with this module's message instead, and lets
    ``fullgraph=False`` run the draw eagerly, where the generator is honoured.
    """
    if generator is not None and _compiling():
        _generator_graph_break()


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
    wait = check_bool("wait", wait)
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

    On the CPU the check is immediate (``ValueError``). On a CUDA device the minimum and
    maximum are computed there and copied back asynchronously: a bad label raises at a later
    call (or at :func:`flush_label_checks`), so that no step waits for the GPU. Under
    ``torch.compile`` the check is ``torch._assert_async`` in the graph: no graph break, and a
    bad label raises a ``RuntimeError`` with the same message (on CUDA, a device-side assert).
    """
    if target.dtype.is_floating_point or target.dtype.is_complex or target.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {target.dtype}")
    if target.numel() == 0:
        return
    t = target if ignore_index is None else torch.where(target == ignore_index, 0, target)
    if _compiling():
        lo, hi = torch.aminmax(t)
        torch._assert_async(
            (lo >= 0) & (hi < num_classes),
            f"{name} holds a label outside [0, {num_classes}) for num_classes={num_classes}",
        )
        return
    if _PENDING:
        flush_label_checks()
    message = f"{name} holds label {{}}, outside [0, {num_classes}) for num_classes={num_classes}"
    lo, hi = torch.aminmax(t)
    if target.device.type != "cuda":
        _raise_if_bad(int(lo), int(hi), num_classes, message)
        return
    host = torch.empty(2, dtype=torch.long, pin_memory=True)
    host.copy_(torch.stack([lo, hi]), non_blocking=True)
    event = torch.cuda.Event()
    event.record()
    _PENDING.append((event, host, num_classes, message))
