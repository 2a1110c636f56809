"""Function penalties: spectral norms of layers and the input-output Jacobian.

Two different "spectral norms" of a convolution are in use. torch's
``nn.utils.spectral_norm`` (Miyato et al., 2018) normalises the *reshaped* kernel matrix
``W.reshape(out_channels, -1)``; that is not the operator norm of the convolution as a map
between images (e.g. 1.86 vs 1 for a 3x3 kernel). :func:`operator_norm` computes the
latter by power iteration on the layer itself: ``v <- A^T A v / ||A^T A v||`` with ``A^T``
obtained by autograd (a vector-Jacobian product), ``sigma = ||A v||``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from reglab.torch._checks import (
    MAX_COUNT,
    _compiling,
    check_bool,
    check_generator,
    check_keys,
    check_module,
    check_positive_int,
    check_real,
    check_tensor,
)

__all__ = ["jacobian_penalty", "operator_norm", "spectral_norm_penalty"]

_LINEAR_OPS = (nn.Linear, nn.modules.conv._ConvNd)


def _linear_part(module: nn.Module, weight: torch.Tensor):
    """The layer as a linear map (bias dropped), with an explicit weight for autograd."""
    if isinstance(module, nn.Linear):
        return lambda x: F.linear(x, weight)
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        raise TypeError("transposed convolutions are not supported; got " + type(module).__name__)
    if isinstance(module, nn.modules.conv._ConvNd):
        return lambda x: module._conv_forward(x, weight, None)
    raise TypeError(f"module must be nn.Linear or nn.ConvNd, got {type(module).__name__}")


_CONV_INPUT_GRAD = {1: torch.nn.grad.conv1d_input, 2: torch.nn.grad.conv2d_input,
                    3: torch.nn.grad.conv3d_input}  # fmt: skip


def _transpose(module: nn.Module, w: torch.Tensor, shape, op):
    """``y -> A^T y``: the layer's input gradient, computed directly when possible."""
    if isinstance(module, nn.Linear):
        return lambda y: y @ w
    if module.padding_mode == "zeros" and not isinstance(module.padding, str):
        grad_input = _CONV_INPUT_GRAD[w.ndim - 2]
        kw = dict(stride=module.stride, padding=module.padding, dilation=module.dilation,
                  groups=module.groups)  # fmt: skip
        return lambda y: grad_input(shape, w, y, **kw)

    def by_autograd(y):  # other padding modes: let autograd transpose the padding too
        with torch.enable_grad():
            x = torch.zeros(shape, dtype=w.dtype, device=w.device, requires_grad=True)
            return torch.autograd.grad(op(x), x, y)[0]

    return by_autograd


def _input_shape(input_shape: object) -> tuple[int, ...]:
    if isinstance(input_shape, str | bytes) or not isinstance(input_shape, Sequence | torch.Size):
        raise TypeError(f"input_shape must be a sequence of ints, got {input_shape!r}")
    dims = tuple(input_shape)
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims):
        raise ValueError(f"input_shape must be a non-empty sequence of ints >= 1, got {dims!r}")
    return dims


def operator_norm(
    module: nn.Module,
    input_shape: Sequence[int],
    *,
    n_iter: int = 100,
    tol: float = 1e-7,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Largest singular value of a Linear/Conv layer as a linear map on ``input_shape``.

    Power iteration on ``A^T A`` where ``A x = layer(x) - bias`` acts on inputs of shape
    ``input_shape`` (one sample, no batch dimension; padding and stride are the layer's).
    The result ``sigma = <u, A v>`` (u, v the converged singular vectors, detached) is
    differentiable in the weight with gradient ``u v^T``, so it can be used as a penalty.

    Parameters
    ----------
    module : nn.Linear or nn.Conv1d/2d/3d
    input_shape : sequence of int
        E.g. ``(C, H, W)`` for a Conv2d, ``(in_features,)`` for a Linear.
    n_iter : int
        Maximum iterations.
    tol : float
        Stop when the eigen-residual ``||A^T A v - lambda v|| <= tol * lambda`` (checked
        every 10 iterations). Power iteration converges like ``(sigma_2 / sigma_1)^(2k)``:
        slowly when the top two singular values are close. The value is a lower bound.
        Under ``torch.compile`` all ``n_iter`` iterations run (the stopping test reads the
        device and would break the graph).
    generator : torch.Generator, optional
        For the random start, on the weight's device.
    """
    if not isinstance(module, _LINEAR_OPS):
        raise TypeError(f"module must be nn.Linear or nn.ConvNd, got {type(module).__name__}")
    weight = module.weight
    apply = _linear_part(module, weight)
    n_iter = check_positive_int("n_iter", n_iter, maximum=MAX_COUNT)
    tol = check_real("tol", tol, low=0.0)
    shape = (1, *_input_shape(input_shape))
    check_generator(generator, weight.device)
    w = weight.detach()
    op = _linear_part(module, w)
    v = torch.randn(shape, device=w.device, dtype=w.dtype, generator=generator)
    v /= v.norm()
    transpose = _transpose(module, w, shape, op)
    tiny = torch.finfo(w.dtype).tiny
    for i in range(n_iter):
        ata_v = transpose(op(v))
        if i % 10 == 9 and not _compiling():  # read back (a sync) only every 10 iterations
            # eigen-residual of A^T A: the Rayleigh quotient's error is <= residual^2 / gap
            lam = (ata_v * v).sum()
            if float((ata_v - lam * v).norm()) <= tol * float(lam):
                break
        v = ata_v / ata_v.norm().clamp_min(tiny)
    with torch.no_grad():
        u = op(v)
        u = u / u.norm().clamp_min(tiny)
    # ||A v|| = <u, A v> <= sigma_max; differentiable in the weight with gradient u v^T
    return (u * apply(v)).sum()


def _matrix_sigma(w: torch.Tensor, n_iter: int, generator) -> torch.Tensor:
    mat = w.reshape(w.shape[0], -1)
    with torch.no_grad():
        v = torch.randn(mat.shape[1], device=w.device, dtype=w.dtype, generator=generator)
        for _ in range(n_iter):
            u = F.normalize(mat @ v, dim=0)
            v = F.normalize(mat.T @ u, dim=0)
        u = F.normalize(mat @ v, dim=0)
    return u @ mat @ v


def spectral_norm_penalty(
    model: nn.Module,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    n_iter: int = 30,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``1/2 * sum_l sigma(W_l)^2`` over the Linear and Conv layers of ``model``
    (spectral norm regularisation, Yoshida & Miyato, 2017).

    ``sigma`` is the largest singular value of the reshaped weight matrix
    ``W.reshape(out, -1)`` (what torch's ``spectral_norm`` controls), by ``n_iter`` power
    iterations from a random start; for layers named in ``input_shapes`` it is the true
    operator norm (:func:`operator_norm`) on inputs of that shape. Gradient: ``sigma u v^T``
    per layer.
    """
    check_module("model", model)
    n_iter = check_positive_int("n_iter", n_iter, maximum=MAX_COUNT)
    layers = {n: m for n, m in model.named_modules() if isinstance(m, _LINEAR_OPS)}
    if input_shapes is None:
        input_shapes = {}
    input_shapes = dict(check_keys("input_shapes", input_shapes, layers,
                                   what="Linear/Conv layers of model"))  # fmt: skip
    check_generator(generator, next(iter(layers.values())).weight.device if layers else "cpu")
    terms = []
    for name, m in layers.items():
        if name in input_shapes:
            sigma = operator_norm(m, input_shapes[name], n_iter=n_iter, generator=generator)
        else:
            sigma = _matrix_sigma(m.weight, n_iter, generator)
        terms.append(0.5 * sigma.to(torch.promote_types(sigma.dtype, torch.float32)) ** 2)
    if not terms:
        raise ValueError("model has no nn.Linear or nn.ConvNd layer to penalise")
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in terms) else torch.float32
    return torch.stack([t.to(dtype) for t in terms]).sum()


def jacobian_penalty(
    x: torch.Tensor,
    y: torch.Tensor,
    projections: int | None = 1,
    *,
    generator: torch.Generator | None = None,
    create_graph: bool = True,
) -> torch.Tensor:
    """``1/2 * mean_b ||J_b||_F^2`` with ``J_b = dy_b/dx_b`` (Hoffman, Roberts & Yaida, 2019,
    "Robust learning with Jacobian regularization").

    Random projections: for ``v`` uniform on the unit sphere of the output space
    (dimension ``C``), ``E[C ||v^T J||^2] = ||J||_F^2``; the estimate averages
    ``projections`` such draws (one backward pass each). ``projections=None`` uses all ``C``
    basis vectors and is exact.

    Parameters
    ----------
    x : Tensor
        ``(B, ...)`` input with ``requires_grad=True``, from which ``y`` was computed.
    y : Tensor
        ``(B, ...)`` output; samples must not interact (no BatchNorm in training mode).
    projections : int or None
        Number of random projections, or None for the exact value.
    generator : torch.Generator, optional
        On ``y``'s device.
    create_graph : bool
        Keep the graph so the penalty can be backpropagated (training).
    """
    check_tensor("x", x)
    check_tensor("y", y)
    create_graph = check_bool("create_graph", create_graph)
    if not x.is_floating_point() or not y.is_floating_point():
        raise TypeError(
            f"x and y must be floating-point tensors, got dtypes {x.dtype} and {y.dtype}"
        )
    if not x.requires_grad:
        raise ValueError("x must require grad (x.requires_grad_(True) before computing y)")
    if not y.requires_grad:
        raise ValueError("y must be computed from x (y does not require grad)")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same batch size, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    b = y.shape[0]
    c = y[0].numel()
    if projections is None:
        eye = torch.eye(c, device=y.device, dtype=y.dtype)
        vs = [eye[k].expand(b, c) for k in range(c)]
        factor = 1.0
    else:
        projections = check_positive_int("projections", projections, maximum=MAX_COUNT)
        check_generator(generator, y.device)
        vs = []
        for _ in range(projections):
            v = torch.randn(b, c, device=y.device, dtype=y.dtype, generator=generator)
            vs.append(F.normalize(v, dim=1))
        factor = c / projections
    total = x.new_zeros(b, dtype=torch.promote_types(x.dtype, torch.float32))
    for v in vs:
        (jv,) = torch.autograd.grad(
            y, x, v.reshape(y.shape), create_graph=create_graph, retain_graph=True,
            allow_unused=True,
        )  # fmt: skip
        if jv is None:
            raise ValueError("y must be computed from x (x is not in y's graph)")
        total = total + jv.reshape(b, -1).to(total.dtype).square().sum(1)
    return 0.5 * factor * total.mean()
