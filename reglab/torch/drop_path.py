"""DropPath / stochastic depth (Huang et al., 2016, "Deep networks with stochastic depth").

A residual block ``x + f(x)`` keeps its branch ``f(x)`` with probability ``1 - p`` per
sample; kept branches are scaled by ``1/(1 - p)``. The function/module pair follows
:mod:`reglab.torch.dropout`'s conventions, and the fused form ``drop_path(f(x), p,
residual=x)`` does the addition in the same kernel (the fast form for residual networks).
"""

from __future__ import annotations

import torch
from torch import nn

from reglab.torch._checks import (
    MAX_COUNT,
    _compiling,
    check_bool,
    check_generator,
    check_positive_int,
    check_probability,
    check_tensor,
    check_traceable_generator,
)
from reglab.torch._transfer import to_device_async
from reglab.torch.dropout import _all_dropped, _apply, _check_floating, _divisor, _generator_arg, _p

__all__ = ["DropPath", "drop_path", "drop_path_rates"]


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
    as torch's ``add(x, branch(x), alpha=1/keep)`` (the same kernel as the plain residual sum,
    in the promoted dtype of the two) followed by a copy of the residual into the dropped
    samples' rows; backward is one multiply written in the branch's dtype. That is the fast
    form for residual networks: no per-sample factor is broadcast over the activations.

    The B draws are made on the CPU (with ``generator``, or torch's default CPU generator
    when it is None) and shipped to ``x``'s device without a synchronisation. Pass a
    generator that lives on ``x``'s device to draw there instead (for CUDA-graph capture,
    where host-side draws would be frozen into the graph); the fused form then multiplies
    by the broadcast per-sample factor in one ``addcmul``.

    Parameters
    ----------
    x : Tensor
        The branch output, ``(B, ...)``.
    p : float
        Drop probability in [0, 1].
    training : bool
        When False (or ``p == 0``) the branch is kept whole.
    residual : Tensor, optional
        Residual stream to add the dropped branch to (fused when its shape equals ``x``'s;
        otherwise broadcast in a plain sum).
    scale_by_keep : bool
        Scale kept samples by ``1/(1 - p)``.
    generator : torch.Generator, optional
        A CPU generator, or one on ``x``'s device (see above). Under ``torch.compile`` pass
        None: the draws then come from the default generator of ``x``'s device and select
        rows with a broadcast mask instead of the eager path's row indices (no graph break).
        dynamo cannot trace a generator: with ``fullgraph=True`` it fails with a message
        naming it; without, the draws are made with it outside the graph (a graph break).

    Returns
    -------
    Tensor
        Without ``residual``: ``x`` itself when ``p == 0`` or not training. With it:
        ``residual + x`` in those cases.
    """
    if not isinstance(x, torch.Tensor):
        check_tensor("x", x)
    p = _p(p)
    if type(training) is not bool or type(scale_by_keep) is not bool:
        check_bool("training", training)
        check_bool("scale_by_keep", scale_by_keep)
    if residual is not None and not isinstance(residual, torch.Tensor):
        check_tensor("residual", residual)
    if not x.is_floating_point():
        _check_floating(x)
    if not training or p == 0.0:
        return x if residual is None else residual + x
    if x.ndim < 1:
        raise ValueError("x must have a batch dimension, got a 0-d tensor")
    if p == 1.0 and residual is None:
        return _all_dropped(x)
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.ndim - 1)  # one draw per sample
    fused = residual is not None and residual.shape == x.shape
    if _compiling():
        kept = None
        if generator is not None:  # fullgraph: a clear error; else a graph break here
            check_traceable_generator(generator)
            on_host = _draws_on_host(x, generator)
            draw_on = torch.device("cpu") if on_host else x.device
            kept = torch.empty(shape, dtype=torch.float32, device=draw_on)
            kept = kept.bernoulli_(keep, generator=generator).to(x.device)
        out = _drop_path_traced(x, keep, shape, residual if fused else None, scale_by_keep, kept)
        return out if residual is None or fused else residual + out
    if fused and p == 1.0:  # every row is the residual's; no 0 * inf from the branch
        every = torch.arange(x.shape[0], device=x.device)
        return _KeepRows.apply(residual, x, keep, scale_by_keep, every)
    if _draws_on_host(x, generator):
        out = _keep_rows(residual if fused else None, x, keep, scale_by_keep, generator)
    elif fused:
        return _add_scaled_device(residual, x, shape, keep, scale_by_keep, generator)
    else:
        out = _apply(x, _divisor(x, shape, keep, generator, scale_by_keep), False)
    # a residual that only broadcasts against x: no fused kernel, the plain sum
    return out if residual is None or fused else residual + out


def _drop_path_traced(x, keep, shape, residual, scale_by_keep, kept=None):
    """DropPath without data-dependent shapes, for ``torch.compile``.

    The eager fast path gathers the dropped rows' indices (``nonzero``: an output whose size
    depends on the draws, which breaks the graph). Here the per-sample keep mask is a
    broadcast select over the activations, which the compiler fuses into the surrounding
    kernel. The draws are the eager path's: ``B`` float32 Bernoulli draws from the default
    generator of ``x``'s device (on the CPU the same numbers, so compiled equals eager for
    the same ``torch.manual_seed``); the values are the eager ones too: kept rows
    ``x / keep`` (fused: ``residual + x * (1 / keep)``, torch's ``add(alpha=...)``), dropped
    rows exactly 0 (fused: the residual), never ``0 * inf``. ``kept`` (float32 draws of
    ``shape``) is given when a generator made them outside the graph.
    """
    if kept is None:
        kept = torch.empty(shape, dtype=torch.float32, device=x.device).bernoulli_(keep)
    kept = kept != 0
    if residual is None:
        scaled = x.div(keep) if scale_by_keep else x
        return torch.where(kept, scaled, 0)
    alpha = 1.0 / keep if scale_by_keep and keep > 0 else 1.0
    summed = torch.add(residual, x, alpha=alpha)
    return torch.where(kept, summed, residual.to(summed.dtype))


def _draws_on_host(x: torch.Tensor, generator: torch.Generator | None) -> bool:
    """Whether the B per-sample draws are made on the CPU (the default) or on x's device
    (only when ``generator`` lives there)."""
    if generator is None:
        return True
    if not isinstance(generator, torch.Generator):
        check_generator(generator, x.device)  # raises the TypeError naming the argument
    if torch.device(generator.device).type == "cpu":
        return True
    check_generator(generator, x.device)  # a device generator must be on x's device
    return False


def _keep_rows(residual, x, keep, scale_by_keep, generator):
    """DropPath with the B draws made on the CPU and only scalar factors on the device.

    The kept samples' values come from one whole-tensor kernel with a scalar factor (torch's
    ``x / keep``, or ``add(residual, x, alpha=1/keep)`` for the fused form: the same
    contiguous kernel as the plain residual sum), and only the dropped samples' rows (a
    fraction ``p`` of the batch) are written again. A per-sample factor ``(B, 1, ..., 1)``
    broadcast over the activations would instead send every element through torch's
    strided-index path: on an H200 ViT-S step that is +27 us forward and +52 us backward per
    residual sum, 1.042x the plain step against 1.026x this way (benchmarks/gpu_overhead.py).
    """
    kept = torch.empty(x.shape[0], dtype=torch.float32).bernoulli_(keep, generator=generator)
    dropped = (kept == 0).nonzero().flatten()
    rows = to_device_async(dropped, x.device) if dropped.numel() else None
    return _KeepRows.apply(residual, x, keep, scale_by_keep, rows)


class _KeepRows(torch.autograd.Function):
    """``y = r + x / keep`` (``r`` optional, ``x / keep`` only with ``scale_by_keep``) with
    the rows ``D`` of ``y`` equal to ``r`` (0 without it).

    Forward: one whole-tensor kernel plus a write of the rows in ``D``. Backward:
    ``dy/dr = 1``; ``dy/dx = 1/keep`` outside ``D`` and 0 on ``D``, written straight in
    ``x``'s dtype (one kernel; no float32 copy of a half-precision branch).
    """

    @staticmethod
    def forward(ctx, r, x, keep, scale_by_keep, rows):
        ctx.save_for_backward(rows)
        ctx.keep, ctx.scale_by_keep, ctx.x_dtype = keep, scale_by_keep, x.dtype
        ctx.r_dtype = None if r is None else r.dtype
        if r is None:  # torch's own x / keep, so kept values are exactly x / (1 - p)
            out = x.div(keep) if scale_by_keep else x.clone()
            return out if rows is None else out.index_fill_(0, rows, 0)
        out = torch.add(r, x, alpha=1.0 / keep if scale_by_keep and keep > 0 else 1.0)
        if rows is not None:
            out.index_copy_(0, rows, r.index_select(0, rows).to(out.dtype))
        return out

    @staticmethod
    def backward(ctx, grad):
        (rows,) = ctx.saved_tensors
        grad_r = None
        if ctx.r_dtype is not None:
            grad_r = grad if grad.dtype == ctx.r_dtype else grad.to(ctx.r_dtype)
        if ctx.keep == 0:
            return grad_r, torch.zeros_like(grad, dtype=ctx.x_dtype), None, None, None
        if torch.is_grad_enabled():  # double backward: stay differentiable
            grad_x = (grad.div(ctx.keep) if ctx.scale_by_keep else grad).to(ctx.x_dtype)
            if rows is not None:
                grad_x = grad_x.index_fill(0, rows, 0)
            return grad_r, grad_x, None, None, None
        grad_x = torch.empty_like(grad, dtype=ctx.x_dtype)
        if ctx.scale_by_keep:
            torch.div(grad, ctx.keep, out=grad_x)
        else:
            grad_x.copy_(grad)
        if rows is not None:
            grad_x.index_fill_(0, rows, 0)
        return grad_r, grad_x, None, None, None


def _add_scaled_device(residual, x, shape, keep, scale_by_keep, generator):
    """``residual + x * m / keep`` in one ``addcmul``, ``m`` drawn on x's device by
    ``generator`` (graph-capturable; the per-sample factor is broadcast over x)."""
    dtype = torch.promote_types(torch.promote_types(residual.dtype, x.dtype), torch.float32)
    m = torch.empty(shape, device=x.device, dtype=dtype).bernoulli_(keep, generator=generator)
    if scale_by_keep:
        m.div_(keep)
    return _AddScaled.apply(residual, x, m)


class _AddScaled(torch.autograd.Function):
    """``y = r + x * m`` in one kernel each way: forward one ``addcmul`` written in the
    promoted dtype of ``r`` and ``x``, backward one multiply written straight in ``x``'s
    dtype (autograd's own addcmul backward multiplies in float32 and then casts, and
    autocast would first copy a bfloat16 ``x`` to float32: two extra passes over the
    activations, measured +2% of a ViT-S step on an H200)."""

    @staticmethod
    def forward(ctx, r, x, m):
        ctx.save_for_backward(m)
        ctx.x_dtype, ctx.r_dtype = x.dtype, r.dtype
        out = torch.empty_like(x, dtype=torch.promote_types(r.dtype, x.dtype))
        device = x.device.type
        if not torch.is_autocast_enabled(device):
            return torch.addcmul(r, x, m, out=out)
        # addcmul mixes dtypes itself; switch autocast off around it (cheaper than a
        # context manager, this runs once per block per step)
        torch.set_autocast_enabled(device, False)
        try:
            return torch.addcmul(r, x, m, out=out)
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
    depth = check_positive_int("depth", depth, maximum=MAX_COUNT)
    max_rate = check_probability("max_rate", max_rate)
    if schedule == "linspace":
        if depth == 1:
            return [0.0]
        return [max_rate * i / (depth - 1) for i in range(depth)]
    if schedule == "huang":
        return [max_rate * l / depth for l in range(1, depth + 1)]
    raise ValueError(f"schedule must be 'linspace' or 'huang', got {schedule!r}")


class DropPath(nn.Module):
    """Module form of :func:`drop_path`."""

    def __init__(
        self,
        p: float = 0.0,
        *,
        scale_by_keep: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.p = check_probability("p", p)
        self.scale_by_keep = check_bool("scale_by_keep", scale_by_keep)
        self.generator = _generator_arg(generator)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``drop_path(x)``, or ``residual + drop_path(x)`` fused when ``residual`` is given."""
        return drop_path(
            x,
            self.p,
            self.training,
            residual=residual,
            scale_by_keep=self.scale_by_keep,
            generator=self.generator,
        )

    def extra_repr(self) -> str:
        return f"p={self.p}, scale_by_keep={self.scale_by_keep}"
