"""The dropout family: inverted dropout, channel dropout, locked dropout, DropConnect, DropPath.

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

from reglab.torch._checks import check_generator, check_probability, check_tensor

__all__ = [
    "ChannelDropout",
    "DropConnect",
    "DropPath",
    "Dropout",
    "LockedDropout",
    "channel_dropout",
    "drop_path",
    "drop_path_rates",
    "dropout",
    "locked_dropout",
]


def _p(p: object) -> float:
    # fast path first: this runs once per layer per step, inside the training loop
    if type(p) is float and 0.0 <= p <= 1.0:
        return p
    return check_probability("p", p)


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
        Drop probability in [0, 1]. ``p = 1`` returns zeros (no ``0/0``).
    training : bool
        When False the input object itself is returned.
    inplace : bool
        Write the result into ``x``.
    generator : torch.Generator, optional
        Source of randomness; must live on ``x``'s device.

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
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.zero_() if inplace else torch.zeros_like(x)
    keep = 1.0 - p
    # Elementwise: a 1-byte mask and two passes (multiply, divide) move less memory than a
    # float32 divisor of x's size; (x * m) / keep is exactly torch's x / (1 - p).
    if generator is not None:
        check_generator(generator, x.device)
    mask = torch.empty_like(x, dtype=torch.bool).bernoulli_(keep, generator=generator)
    if inplace:
        return x.mul_(mask).div_(keep)
    return x.mul(mask).div_(keep)


def _layout_mask_shape(x: torch.Tensor, layout: str) -> list[int]:
    if not isinstance(layout, str) or "C" not in layout or len(set(layout)) != len(layout):
        raise ValueError(
            f"layout must be a string of distinct axis letters containing 'C' "
            f"(e.g. 'NCHW', 'NLC', 'CHW'), got {layout!r}"
        )
    if len(layout) != x.ndim:
        raise ValueError(
            f"layout {layout!r} describes {len(layout)} dimensions but the input has "
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
    shape = _layout_mask_shape(x, layout)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x.zero_() if inplace else torch.zeros_like(x)
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
    if not isinstance(batch_first, bool):
        raise TypeError(f"batch_first must be True or False, got {batch_first!r}")
    if x.ndim < 2:
        raise ValueError(f"x must have a time and a batch dimension, got shape {tuple(x.shape)}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return torch.zeros_like(x)
    shape = list(x.shape)
    shape[1 if batch_first else 0] = 1  # the time axis
    keep = 1.0 - p
    return _apply(x, _divisor(x, shape, keep, generator), False)


def drop_path(
    x: torch.Tensor,
    p: float = 0.0,
    training: bool = True,
    *,
    residual: torch.Tensor | None = None,
    scale_by_keep: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DropPath / stochastic depth on a residual branch (Huang et al., 2016).

    One Bernoulli(1 - p) per sample, mask shape ``(B, 1, ..., 1)``: a dropped sample's
    branch output is 0, a kept one is scaled by ``1/(1 - p)`` (unless ``scale_by_keep`` is
    False). Use as ``x + drop_path(branch(x), p)``, or pass the residual stream to fuse the
    addition: ``drop_path(branch(x), p, residual=x)`` computes ``x + branch(x) * m / keep``
    in one kernel (``torch.addcmul``, in the wider of the two dtypes, with the factor
    ``m / keep`` rounded to float32), saving a pass over the activations forward and
    backward; the faster form for residual networks.

    Parameters
    ----------
    x : Tensor
        The branch output, ``(B, ...)``.
    p : float
        Drop probability in [0, 1].
    training : bool
        When False (or ``p == 0``) the branch is kept whole.
    residual : Tensor, optional
        Residual stream to add the dropped branch to (broadcastable to ``x``).
    scale_by_keep : bool
        Scale kept samples by ``1/(1 - p)``.
    generator : torch.Generator, optional
        On ``x``'s device.

    Returns
    -------
    Tensor
        Without ``residual``: ``x`` itself when ``p == 0`` or not training. With it:
        ``residual + x`` in those cases.
    """
    if not isinstance(x, torch.Tensor):
        check_tensor("x", x)
    p = _p(p)
    if not training or p == 0.0:
        return x if residual is None else residual + x
    if x.ndim < 1:
        raise ValueError("x must have a batch dimension, got a 0-d tensor")
    if p == 1.0 and residual is None:
        return torch.zeros_like(x)
    shape = [x.shape[0]] + [1] * (x.ndim - 1)
    if residual is not None:
        if residual.shape != x.shape:  # broadcasting: no fused kernel, plain sum
            return residual + _apply(
                x, _divisor(x, shape, 1.0 - p, generator, scale_by_keep), False
            )
        return _fused_residual(residual, x, shape, 1.0 - p, scale_by_keep, generator)
    return _apply(x, _divisor(x, shape, 1.0 - p, generator, scale_by_keep), False)


def _fused_residual(residual, x, shape, keep, scale_by_keep, generator):
    """``residual + x * m / keep`` in one ``addcmul`` (computed in the wider dtype)."""
    if generator is not None:
        check_generator(generator, x.device)
    dtype = torch.promote_types(torch.promote_types(residual.dtype, x.dtype), torch.float32)
    m = torch.empty(shape, device=x.device, dtype=dtype).bernoulli_(keep, generator=generator)
    if scale_by_keep:
        m.div_(keep)
    return _AddScaled.apply(residual, x, m)


class _AddScaled(torch.autograd.Function):
    """``y = r + x * m`` in one kernel each way: forward one ``addcmul``, backward one
    multiply written straight in ``x``'s dtype (autograd's own addcmul backward multiplies
    in float32 and then casts, and autocast would first copy a bfloat16 ``x`` to float32:
    two extra passes over the activations, measured +2% of a ViT-S step on an H200)."""

    @staticmethod
    def forward(ctx, r, x, m):
        ctx.save_for_backward(m)
        ctx.x_dtype, ctx.r_dtype = x.dtype, r.dtype
        device = x.device.type
        if not torch.is_autocast_enabled(device):
            return torch.addcmul(r, x, m)
        # addcmul mixes dtypes itself; switch autocast off around it (cheaper than a
        # context manager, this runs once per block per step)
        torch.set_autocast_enabled(device, False)
        try:
            return torch.addcmul(r, x, m)
        finally:
            torch.set_autocast_enabled(device, True)

    @staticmethod
    def backward(ctx, grad):
        (m,) = ctx.saved_tensors
        grad_r = grad if grad.dtype == ctx.r_dtype else grad.to(ctx.r_dtype)
        if torch.is_grad_enabled():  # double backward: stay differentiable
            return grad_r, (grad * m).to(ctx.x_dtype), None
        return grad_r, torch.mul(grad, m, out=torch.empty_like(grad, dtype=ctx.x_dtype)), None


def drop_path_rates(depth: int, max_rate: float, *, schedule: str = "linspace") -> list[float]:
    """Per-block DropPath rates rising linearly with depth.

    ``schedule='linspace'`` (DeiT/timm for block-wise models): ``rate_i = max_rate * i /
    (depth - 1)`` for ``i = 0..depth-1``, so the first block is never dropped and the last is
    dropped with ``max_rate``; ``depth = 1`` gives ``[0.0]``.
    ``schedule='huang'`` (the paper's linear decay rule, Huang et al. 2016, eq. 4):
    ``rate_l = max_rate * l / depth`` for ``l = 1..depth`` (the input, block 0, is not part
    of the list), so the first block already has ``max_rate / depth``.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    max_rate = check_probability("max_rate", max_rate)
    if schedule == "linspace":
        if depth == 1:
            return [0.0]
        return [max_rate * i / (depth - 1) for i in range(depth)]
    if schedule == "huang":
        return [max_rate * l / depth for l in range(1, depth + 1)]
    raise ValueError(f"schedule must be 'linspace' or 'huang', got {schedule!r}")


class Dropout(nn.Module):
    """Module form of :func:`dropout` (uses torch's global RNG; the function takes a
    generator)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class ChannelDropout(nn.Module):
    """Module form of :func:`channel_dropout`; ``layout`` is required."""

    def __init__(self, p: float = 0.5, *, layout: str, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        if not isinstance(layout, str) or "C" not in layout:
            raise ValueError(f"layout must be a string containing 'C', got {layout!r}")
        self.layout = layout
        self.inplace = inplace

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_dropout(x, self.p, self.training, layout=self.layout, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, layout={self.layout!r}, inplace={self.inplace}"


class LockedDropout(nn.Module):
    """Module form of :func:`locked_dropout`; ``batch_first`` is required."""

    def __init__(self, p: float = 0.5, *, batch_first: bool) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be True or False, got {batch_first!r}")
        self.batch_first = batch_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return locked_dropout(x, self.p, self.training, batch_first=self.batch_first)

    def extra_repr(self) -> str:
        return f"p={self.p}, batch_first={self.batch_first}"


class DropPath(nn.Module):
    """Module form of :func:`drop_path`."""

    def __init__(self, p: float = 0.0, *, scale_by_keep: bool = True) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.scale_by_keep = scale_by_keep

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``drop_path(x)``, or ``residual + drop_path(x)`` fused when ``residual`` is given."""
        return drop_path(
            x, self.p, self.training, residual=residual, scale_by_keep=self.scale_by_keep
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, scale_by_keep={self.scale_by_keep}"


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

    def __init__(self, module: nn.Module, p: float = 0.5, names: Sequence[str] = ("weight",)):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be an nn.Module, got {type(module).__name__}")
        self.module = module
        self.p = check_probability("p", p)
        own = dict(module.named_parameters())
        names = (names,) if isinstance(names, str) else tuple(names)
        missing = [n for n in names if n not in own]
        if missing or not names:
            raise ValueError(f"names {missing or names!r} not among the parameters {list(own)}")
        self.names = names

    def forward(self, *args, **kwargs):
        if not self.training or self.p == 0.0:
            return self.module(*args, **kwargs)
        params = dict(self.module.named_parameters())
        dropped = {n: dropout(params[n], self.p, True) for n in self.names}
        return torch.func.functional_call(self.module, dropped, args, kwargs)

    def extra_repr(self) -> str:
        return f"p={self.p}, names={self.names}"
