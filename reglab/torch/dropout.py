"""The dropout family: inverted dropout, channel dropout, locked dropout, DropConnect
(DropPath is in :mod:`reglab.torch.drop_path`).

Every function is pure and takes its randomness explicitly (``generator=``); every module is
a thin :class:`torch.nn.Module` that stores hyper-parameters and routes ``self.training``.
``p=0`` and evaluation mode return the input object itself, so the regularizer costs nothing
when it is off. Kept entries are scaled by ``1/(1-p)`` ("inverted" dropout, Srivastava et al.,
2014), so the expectation of the output equals the input and inference needs no rescaling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from reglab.torch._checks import (
    check_bool,
    check_generator,
    check_module,
    check_probability,
    check_tensor,
)

__all__ = [
    "ChannelDropout",
    "DropConnect",
    "Dropout",
    "LockedDropout",
    "channel_dropout",
    "dropout",
    "locked_dropout",
]


def _p(p: object) -> float:
    # fast path first: this runs once per layer per step, inside the training loop
    if type(p) is float and 0.0 <= p <= 1.0:
        return p
    return check_probability("p", p)


def _generator_arg(generator: object) -> torch.Generator | None:
    """Check a module's ``generator`` argument at construction (device checked per call)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    return generator


def _check_floating(x: torch.Tensor) -> None:
    if not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")


def _all_dropped(x: torch.Tensor) -> torch.Tensor:
    """Zeros shaped like ``x`` that stay in the graph: ``dy/dx = 0``.

    ``torch.zeros_like(x)`` would cut the result off from ``x`` (``backward()`` fails when it
    is the only path, gradients become None instead of 0); torch's ``F.dropout(x, 1.0)``
    computes ``x * 0`` (zero gradient, but NaN where ``x`` is infinite). A select keeps both:
    exact zeros and a zero gradient.
    """
    if not x.requires_grad:
        return torch.zeros_like(x)
    return torch.where(torch.zeros((), dtype=torch.bool, device=x.device), x, 0)


def _divisor(
    x: torch.Tensor,
    shape: Sequence[int],
    keep: float,
    generator: torch.Generator | None,
    scale: bool = True,
) -> torch.Tensor:
    """Random divisor ``d`` of ``shape``: ``keep`` with probability ``keep``, else ``inf``.

    ``x / d`` is then exactly ``x / keep`` where kept and 0 where dropped, in *one* pass
    over ``x`` (a mask multiply followed by a division would take two). ``d`` is float32
    (float64 for float64 ``x``): the draws are not quantised to bfloat16's 256 levels and
    ``keep`` is not rounded to ``x``'s dtype (bfloat16 would bias ``1/keep`` by up to 0.2%).
    With ``scale=False`` the kept entries of ``d`` are 1.
    """
    if generator is not None:
        check_generator(generator, x.device)
    dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    if len(shape) == x.ndim and all(a == b for a, b in zip(shape, x.shape)):
        d = torch.empty_like(x, dtype=dtype)  # keeps channels_last strides
    else:
        d = torch.empty(shape, device=x.device, dtype=dtype)
    d.bernoulli_(keep, generator=generator).reciprocal_()  # 1 -> 1, 0 -> inf
    return d.mul_(keep) if scale else d


class _DivideBy(torch.autograd.Function):
    """``y = x / d`` computed in float32 and written in ``x``'s (half) dtype in one kernel;
    ``dy/dx = 1 / d``."""

    @staticmethod
    def forward(ctx, x, d):
        ctx.save_for_backward(d)
        return torch.div(x, d, out=torch.empty_like(x))

    @staticmethod
    def backward(ctx, grad):
        (d,) = ctx.saved_tensors
        if torch.is_grad_enabled():  # double backward (e.g. a Jacobian penalty): differentiable
            return (grad / d).to(grad.dtype), None
        return torch.div(grad, d, out=torch.empty_like(grad)), None


def _apply(x: torch.Tensor, d: torch.Tensor, inplace: bool) -> torch.Tensor:
    if inplace:
        return x.div_(d)
    if x.dtype == d.dtype:  # float32/float64: torch's own division and autograd
        return x / d
    return _DivideBy.apply(x, d)


def dropout(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    *,
    inplace: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inverted dropout: ``y = x * m / (1 - p)`` with ``m ~ Bernoulli(1 - p)`` elementwise.

    Parameters
    ----------
    x : Tensor
        Input of any shape, dtype, device and memory format (all preserved).
    p : float
        Drop probability in [0, 1]. ``p = 1`` returns zeros (no ``0/0``, no ``0 * inf``) that
        stay in the autograd graph with a zero gradient, as torch's ``F.dropout(x, 1.0)``.
    training : bool
        When False the input object itself is returned.
    inplace : bool
        Write the result into ``x``.
    generator : torch.Generator, optional
        Source of randomness; must live on ``x``'s device. dynamo cannot trace a generator:
        under ``torch.compile(fullgraph=True)`` pass None and seed torch's default generator
        (with a generator the compile fails with a message naming it; without
        ``fullgraph`` the draw graph-breaks and honours it). On CUDA (not ``inplace``, not
        during graph capture) torch's own fused dropout kernel is used, drawing from
        ``generator`` or, when None, the device's default generator; elsewhere a 1-byte
        mask is drawn, multiplied and divided (on an H200 ViT-S step with dropout in every
        MLP: 1.059x the plain step with the fused kernel, as torch's ``nn.Dropout``; 1.21x
        with the separate mask).

    Returns
    -------
    Tensor
        Kept entries equal ``x / (1 - p)`` exactly as torch computes it on that device (a
        true division on the CPU, a multiplication by the float32 reciprocal on CUDA),
        dropped ones are 0, so ``E[y] = x``
        (Srivastava et al., 2014, "Dropout: a simple way to prevent neural networks from
        overfitting", JMLR).
    """
    if not isinstance(x, torch.Tensor):
        check_tensor("x", x)
    p = _p(p)
    if type(training) is not bool or type(inplace) is not bool:
        check_bool("training", training)
        check_bool("inplace", inplace)
    if not x.is_floating_point():
        _check_floating(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.zero_() if inplace else _all_dropped(x)
    keep = 1.0 - p
    if generator is not None:
        check_generator(generator, x.device)
    if x.device.type == "cuda" and not inplace:
        # torch's fused kernel: mask and product in one pass, backward in one; its kept
        # values are x * fl32(1/keep), which is what x / keep computes on CUDA
        if generator is None:
            return torch.native_dropout(x, p, True)[0]
        if not torch.cuda.is_current_stream_capturing():
            return _native_dropout_with(generator, x, p)
    # Elementwise: a 1-byte mask and two passes (multiply, divide) move less memory than a
    # float32 divisor of x's size; (x * m) / keep is exactly torch's x / (1 - p).
    mask = torch.empty_like(x, dtype=torch.bool).bernoulli_(keep, generator=generator)
    if inplace:
        return x.mul_(mask).div_(keep)
    return x.mul(mask).div_(keep)


def _native_dropout_with(generator: torch.Generator, x: torch.Tensor, p: float) -> torch.Tensor:
    """torch's fused CUDA dropout drawing from ``generator`` instead of the device default.

    ``native_dropout`` takes no generator, and a CUDA generator's state is a (seed, Philox
    offset) pair held on the host: the default generator is given ``generator``'s state for
    the one call, ``generator`` takes the advanced state back, and the default generator's
    own state is restored, so neither stream sees the other's draws (the default generator
    must not be used by another thread meanwhile). On an H200 ViT-S step this is torch's
    1.06x instead of 1.21x for a separately drawn mask.
    """
    index = x.device.index if x.device.index is not None else torch.cuda.current_device()
    default = torch.cuda.default_generators[index]
    saved = default.get_state()
    default.set_state(generator.get_state())
    try:
        out = torch.native_dropout(x, p, True)[0]
        generator.set_state(default.get_state())
    finally:
        default.set_state(saved)
    return out


def _check_layout(layout: object) -> str:
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a string such as 'NCHW', got {layout!r}")
    ok = layout.isalpha() and "C" in layout and len(set(layout)) == len(layout)
    if not ok or layout.count("N") > 1 or ("N" in layout and layout[0] != "N"):
        raise ValueError(
            f"layout must be a string of distinct axis letters containing 'C', with 'N' (if "
            f"any) first (e.g. 'NCHW', 'NLC', 'CHW'), got {layout!r}"
        )
    return layout


def _layout_mask_shape(x: torch.Tensor, layout: str) -> list[int]:
    _check_layout(layout)
    if len(layout) != x.ndim:
        raise ValueError(
            f"layout {layout!r} describes {len(layout)} dimensions but x has "
            f"{x.ndim} (shape {tuple(x.shape)})"
        )
    return [x.shape[i] if axis in "NC" else 1 for i, axis in enumerate(layout)]


def channel_dropout(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    *,
    layout: str,
    inplace: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Channel ("spatial") dropout: zero whole feature maps (Tompson et al., 2015).

    One Bernoulli(1 - p) draw per (sample, channel) pair, broadcast over every other axis,
    kept maps scaled by ``1/(1 - p)``. The layout is explicit: torch's ``dropout2d`` guesses
    from ``x.ndim`` and silently acts as elementwise 1-D dropout on a 3-D input
    (pytorch#77081); here a layout that does not match ``x.ndim`` is an error.

    Parameters
    ----------
    x : Tensor
        Input; memory format (e.g. channels_last) is preserved.
    p : float
        Drop probability in [0, 1].
    training : bool
        When False the input object itself is returned.
    layout : str
        One letter per dimension of ``x``: ``'N'`` batch, ``'C'`` channels, any other letter a
        spatial/time axis the mask is shared over, e.g. ``'NCHW'``, ``'NLC'``, ``'CHW'``
        (unbatched).
    inplace : bool
        Write the result into ``x``.
    generator : torch.Generator, optional
        Source of randomness; must live on ``x``'s device.
    """
    check_tensor("x", x)
    p = check_probability("p", p)
    check_bool("training", training)
    check_bool("inplace", inplace)
    _check_floating(x)
    shape = _layout_mask_shape(x, layout)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.zero_() if inplace else _all_dropped(x)
    keep = 1.0 - p
    return _apply(x, _divisor(x, shape, keep, generator), inplace)


def locked_dropout(
    x: torch.Tensor,
    p: float = 0.5,
    training: bool = True,
    *,
    batch_first: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Locked (variational) dropout: one mask per sequence, shared over time (Gal & Ghahramani,
    2016; Merity et al., 2018).

    Parameters
    ----------
    x : Tensor
        Sequence of shape ``(T, B, *features)`` or, with ``batch_first=True``,
        ``(B, T, *features)``.
    p : float
        Drop probability in [0, 1].
    training : bool
        When False the input object itself is returned.
    batch_first : bool
        Required: the popular implementation assumes time-first and, given batch-first input,
        silently shares one mask across the whole batch instead of across time.
    generator : torch.Generator, optional
        Source of randomness; must live on ``x``'s device.
    """
    check_tensor("x", x)
    p = check_probability("p", p)
    check_bool("batch_first", batch_first)
    check_bool("training", training)
    _check_floating(x)
    if x.ndim < 2:
        raise ValueError(f"x must have a time and a batch dimension, got shape {tuple(x.shape)}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return _all_dropped(x)
    shape = list(x.shape)
    shape[1 if batch_first else 0] = 1  # the time axis
    keep = 1.0 - p
    return _apply(x, _divisor(x, shape, keep, generator), False)


class Dropout(nn.Module):
    """Module form of :func:`dropout`.

    ``generator`` (optional, on the input's device) makes the masks reproducible without
    touching torch's global RNG; it is not part of the ``state_dict``.
    """

    def __init__(
        self, p: float = 0.5, inplace: bool = False, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.inplace = check_bool("inplace", inplace)
        self.generator = _generator_arg(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, inplace=self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class ChannelDropout(nn.Module):
    """Module form of :func:`channel_dropout`; ``layout`` is required."""

    def __init__(
        self,
        p: float = 0.5,
        *,
        layout: str,
        inplace: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.layout = _check_layout(layout)
        self.inplace = check_bool("inplace", inplace)
        self.generator = _generator_arg(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_dropout(
            x,
            self.p,
            self.training,
            layout=self.layout,
            inplace=self.inplace,
            generator=self.generator,
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, layout={self.layout!r}, inplace={self.inplace}"


class LockedDropout(nn.Module):
    """Module form of :func:`locked_dropout`; ``batch_first`` is required."""

    def __init__(
        self, p: float = 0.5, *, batch_first: bool, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.batch_first = check_bool("batch_first", batch_first)
        self.generator = _generator_arg(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return locked_dropout(
            x, self.p, self.training, batch_first=self.batch_first, generator=self.generator
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"


class DropConnect(nn.Module):
    """DropConnect: drop weight entries, fresh mask every forward (Wan et al., 2013; the
    weight-dropped LSTM of Merity et al., 2018).

    The wrapped module is called through :func:`torch.func.functional_call` with dropped
    copies of the named weights, so its ``_parameters`` are never rewritten (the popular
    wrapper did that and broke on newer torch, pytorch#32346). Gradients flow to the raw
    weights through the mask: ``dL/dW = m / (1 - p) * dL/dW_dropped``.

    Parameters
    ----------
    module : nn.Module
        E.g. ``nn.Linear`` or ``nn.LSTM``.
    p : float
        Drop probability in [0, 1].
    names : sequence of str
        Parameter names (as in ``module.named_parameters()``) to drop; default ``('weight',)``.
        For an LSTM use e.g. ``('weight_hh_l0',)``.
    """

    def __init__(
        self,
        module: nn.Module,
        p: float = 0.5,
        names: Sequence[str] = ("weight",),
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.generator = _generator_arg(generator)
        self.module = check_module("module", module)
        self.p = check_probability("p", p)
        own = dict(module.named_parameters())
        if not isinstance(names, str | Sequence):
            raise TypeError(f"names must be a sequence of parameter names, got {names!r}")
        names = (names,) if isinstance(names, str) else tuple(names)
        if not all(isinstance(n, str) for n in names):
            raise TypeError(f"names must be parameter names (strings), got {names!r}")
        missing = [n for n in names if n not in own]
        if missing or not names:
            raise ValueError(f"names {missing or names!r} not among the parameters {list(own)}")
        self.names = names

    def forward(self, *args, **kwargs):
        if not self.training or self.p == 0.0:
            return self.module(*args, **kwargs)
        params = dict(self.module.named_parameters())
        dropped = {
            n: dropout(params[n], self.p, True, generator=self.generator) for n in self.names
        }
        return torch.func.functional_call(self.module, dropped, args, kwargs)

    def extra_repr(self) -> str:
        return f"p={self.p}, names={self.names}"
