r"""Sharpness of a loss at given parameters: Hessian spectrum edge, trace, epsilon-sharpness.

Design: every function takes ``(loss_fn, params)``, where ``params`` is a tensor, a sequence
of tensors or a dict of named tensors, and ``loss_fn(params)`` returns a scalar tensor (the
same structure is passed back). For an ``nn.Module`` use :func:`model_loss`, which builds
that pair with ``torch.func.functional_call`` and never touches the module's parameters::

    loss_fn, params = model_loss(model, torch.nn.functional.cross_entropy, (x, y))
    top_hessian_eigenvalue(loss_fn, params)

torch is imported inside the functions only, so ``import reglab.diagnostics`` stays
NumPy-only.

Methods. For lab-sized models (up to ``exact_max_params`` parameters) the Hessian is formed
exactly (the matrix of ``torch.func.hessian``, built as ``jacrev(jacrev(f))``) and
diagonalised. Beyond that, Hessian-vector products
(reverse-over-reverse, ``torch.func.vjp`` of ``torch.func.grad``) feed either power iteration
(largest |eigenvalue|) or Lanczos (SciPy's ARPACK ``eigsh``, largest algebraic eigenvalue).
Hutchinson's estimator tr(H) = E[v^T H v] with Rademacher v (Hutchinson 1989) comes with its
Monte-Carlo standard error. Epsilon-sharpness (Keskar et al. 2017, in the L2 ball of SAM,
Foret et al. 2021) is max_{||e|| <= rho} L(w + e) - L(w), found by projected gradient ascent
started from the SAM direction rho g/||g||.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reglab.diagnostics._validation import (
    MAX_COUNT,
    check_choice,
    check_int,
    check_real,
    check_seed,
)

__all__ = [
    "TraceEstimate",
    "epsilon_sharpness",
    "hessian_trace",
    "model_loss",
    "top_hessian_eigenvalue",
]


def model_loss(model, criterion, data):
    """Turn ``(model, criterion, (inputs, targets))`` into ``(loss_fn, params)``.

    ``loss_fn(params) = criterion(functional_call(model, params, inputs), targets)`` with
    ``params`` a dict of detached copies of the trainable parameters (buffers are used as
    they are). The module itself is not modified.

    A normalisation layer in training mode that tracks running statistics (BatchNorm,
    InstanceNorm with ``track_running_stats=True``) would update its buffers on every call,
    which torch's function transforms refuse half-way, after the buffers have changed; such
    a model is refused up front with a clear error and left untouched: call ``model.eval()``
    (the loss at the running statistics) first.
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(criterion):
        raise TypeError(f"criterion must be callable, got {type(criterion).__name__}")
    if not isinstance(data, tuple | list) or len(data) != 2:
        raise TypeError("data must be a pair (inputs, targets)")
    from torch.nn.modules.batchnorm import _NormBase

    updating = [
        name
        for name, m in model.named_modules()
        if isinstance(m, _NormBase) and m.training and m.track_running_stats
    ]
    if updating:
        raise ValueError(
            f"model has normalisation layers in training mode that update running statistics "
            f"({', '.join(updating[:3]) or type(model).__name__}); call model.eval() first "
            "(model_loss must not modify the module)"
        )
    inputs, targets = data
    params = {k: v.detach().clone() for k, v in model.named_parameters() if v.requires_grad}
    buffers = dict(model.named_buffers())

    def loss_fn(p):
        out = torch.func.functional_call(model, {**p, **buffers}, (inputs,))
        return criterion(out, targets)

    return loss_fn, params


class _Flat:
    """A flat view of a parameter structure: theta <-> tensor / sequence / dict."""

    def __init__(self, params):
        import torch

        if isinstance(params, torch.Tensor):
            self.kind, self.keys, tensors = "tensor", None, [params]
        elif isinstance(params, dict):
            self.kind, self.keys, tensors = "dict", list(params), list(params.values())
        elif isinstance(params, list | tuple):
            self.kind, self.keys, tensors = "seq", None, list(params)
        else:
            raise TypeError(
                "params must be a tensor, a sequence of tensors or a dict of tensors, "
                f"got {type(params).__name__}"
            )
        if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise TypeError("params must contain at least one tensor and only tensors")
        if not all(t.is_floating_point() for t in tensors):
            raise TypeError("params must be floating-point tensors")
        if any(t.numel() == 0 for t in tensors):
            raise ValueError("params contains an empty tensor; there is no curvature to measure")
        self.shapes = [t.shape for t in tensors]
        self.sizes = [t.numel() for t in tensors]
        self.theta = torch.cat([t.detach().reshape(-1) for t in tensors])

    def unflatten(self, theta):
        parts = [c.reshape(s) for c, s in zip(theta.split(self.sizes), self.shapes)]
        if self.kind == "tensor":
            return parts[0]
        if self.kind == "dict":
            return dict(zip(self.keys, parts))
        return parts


def _flat_loss(loss_fn, params):
    import torch

    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    flat = _Flat(params)
    if not bool(torch.isfinite(flat.theta).all()):
        raise ValueError("params contains NaN or inf; curvature is undefined there")
    try:
        value = loss_fn(flat.unflatten(flat.theta))
    except Exception as exc:  # noqa: BLE001 - re-raised with the context the user needs
        raise ValueError(
            f"loss_fn(params) failed: {type(exc).__name__}: {exc} (check that params has "
            "the structure and shapes loss_fn expects)"
        ) from exc
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(
            f"loss_fn must return a scalar tensor, got {shape}; reduce it (e.g. .mean())"
        )
    if not bool(torch.isfinite(value).all()):
        raise ValueError(f"loss_fn returned a non-finite loss ({float(value)}) at params")

    def f(theta):
        return loss_fn(flat.unflatten(theta)).reshape(())

    return f, flat.theta


def _hvp(f, theta):
    import torch

    # reverse-over-reverse: H is symmetric, so the vector-Jacobian product of the gradient
    # is H v; forward-mode AD would do the same but its first use on torch 2.13 emits a
    # torch.jit.script DeprecationWarning while loading its decompositions
    _, vjp = torch.func.vjp(torch.func.grad(f), theta)

    def hvp(v):
        return vjp(v)[0]

    return hvp


def _hessian(f, theta):
    """Exact Hessian, the matrix of ``torch.func.hessian`` (built reverse-over-reverse)."""
    import torch

    H = torch.func.jacrev(torch.func.jacrev(f))(theta)
    return 0.5 * (H + H.T)


def top_hessian_eigenvalue(
    loss_fn,
    params,
    *,
    method: str = "auto",
    max_iter: int = 200,
    tol: float = 1e-6,
    exact_max_params: int = 2000,
    seed: int = 0,
) -> float:
    """Largest eigenvalue of the Hessian of ``loss_fn`` at ``params``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params) -> scalar tensor``.
    params : tensor, sequence of tensors or dict of tensors
    method : {"auto", "exact", "power", "lanczos"}, default="auto"
        ``"exact"``: full Hessian (torch.func.hessian) and ``eigvalsh``; ``"power"``: power
        iteration with Hessian-vector products, which converges to the eigenvalue of largest
        *magnitude* (equal to the top one at a minimum, where H is positive semi-definite);
        ``"lanczos"``: ARPACK Lanczos on Hessian-vector products (largest algebraic).
        ``"auto"`` is exact up to ``exact_max_params`` parameters, Lanczos beyond.
    max_iter, tol : int, float
        Iteration cap and relative tolerance for the iterative methods.
    seed : int
        Seed of the starting vector.

    Returns
    -------
    float
    """
    import torch

    check_choice(method, "method", ("auto", "exact", "power", "lanczos"))
    max_iter = check_int(max_iter, "max_iter", low=1, high=MAX_COUNT)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    exact_max_params = check_int(exact_max_params, "exact_max_params", low=1)
    seed = check_seed(seed, allow_generator=False) or 0
    f, theta = _flat_loss(loss_fn, params)
    n = theta.numel()
    if method == "auto":
        method = "exact" if n <= exact_max_params else "lanczos"
    if method == "exact" or n == 1:
        return _finite_result(float(torch.linalg.eigvalsh(_hessian(f, theta))[-1]), "params")
    hvp = _hvp(f, theta)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v0 = torch.randn(n, generator=gen, dtype=theta.dtype).to(theta.device)
    if method == "power":
        v = v0 / v0.norm()
        value = 0.0
        for _ in range(max_iter):
            w = hvp(v)
            new = float(v @ w)
            norm = w.norm()
            if norm == 0:
                return 0.0
            v = w / norm
            if abs(new - value) <= tol * max(abs(new), 1e-12):
                return _finite_result(new, "params")
            value = new
        return _finite_result(value, "params")
    from scipy.sparse.linalg import LinearOperator, eigsh

    def matvec(x):
        xt = torch.as_tensor(np.ascontiguousarray(x).ravel(), dtype=theta.dtype).to(theta.device)
        return hvp(xt).detach().cpu().double().numpy()

    op = LinearOperator((n, n), matvec=matvec, dtype=np.float64)
    vals = eigsh(
        op,
        k=1,
        which="LA",
        v0=v0.cpu().double().numpy(),
        maxiter=max_iter * 10,
        tol=tol,
        return_eigenvectors=False,
    )
    return _finite_result(float(vals[0]), "params")


def _finite_result(value: float, name: str) -> float:
    """The curvature is finite at finite params of a finite loss unless the loss overflows."""
    if not np.isfinite(value):
        raise ValueError(f"the result is {value}: the loss overflows near these {name}")
    return value


@dataclass(frozen=True)
class TraceEstimate:  # three floats: the dataclass repr is already short
    """Hutchinson estimate of tr(H) with its Monte-Carlo standard error."""

    trace: float
    standard_error: float
    samples: int


def hessian_trace(loss_fn, params, *, samples: int = 100, seed: int = 0) -> TraceEstimate:
    """Hutchinson's estimate tr(H) ~ 1/m sum_j v_j^T H v_j, v_j Rademacher.

    Returns the estimate and the standard error std(v^T H v) / sqrt(m), from ``samples``
    Hessian-vector products (m >= 2).
    """
    import torch

    samples = check_int(samples, "samples", low=2, high=MAX_COUNT)
    seed = check_seed(seed, allow_generator=False) or 0
    f, theta = _flat_loss(loss_fn, params)
    hvp = _hvp(f, theta)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    vals = np.empty(samples)
    for j in range(samples):
        v = torch.randint(0, 2, (theta.numel(),), generator=gen).to(theta) * 2 - 1
        vals[j] = float(v @ hvp(v))
    _finite_result(float(vals.sum()), "params")
    return TraceEstimate(
        trace=float(vals.mean()),
        standard_error=float(vals.std(ddof=1) / np.sqrt(samples)),
        samples=samples,
    )


def epsilon_sharpness(
    loss_fn,
    params,
    *,
    rho: float = 0.05,
    steps: int = 20,
    step_size: float | None = None,
    seed: int = 0,
) -> float:
    """Largest loss increase in an L2 ball, max_{||e|| <= rho} L(w + e) - L(w).

    Projected gradient ascent on e: start at rho g/||g|| (SAM's first-order maximiser; a
    random direction when g = 0), then ``steps`` normalised ascent steps of length
    ``step_size`` (default rho/2), each projected back onto the ball; the best value seen is
    returned. A lower bound on the true maximum that is exact for a quadratic at its minimum
    once the iterate aligns with the top eigenvector.
    """
    import torch

    rho = check_real(rho, "rho", low=0.0, low_open=True)
    steps = check_int(steps, "steps", low=0, high=MAX_COUNT)
    seed = check_seed(seed, allow_generator=False) or 0
    step = (
        rho / 2 if step_size is None else check_real(step_size, "step_size", low=0, low_open=True)
    )
    f, theta = _flat_loss(loss_fn, params)
    base = float(f(theta))
    grad = torch.func.grad(f)

    def project(e):
        norm = e.norm()
        return e * (rho / norm) if norm > rho else e

    g = grad(theta)
    if float(g.norm()) == 0.0:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        g = torch.randn(theta.numel(), generator=gen, dtype=theta.dtype).to(theta.device)
    e = rho * g / g.norm()
    best = float(f(theta + e)) - base
    for _ in range(steps):
        g = grad(theta + e)
        gn = g.norm()
        if float(gn) == 0.0:
            break
        e = project(e + step * g / gn)
        best = max(best, float(f(theta + e)) - base)
    if not np.isfinite(best):
        raise ValueError(
            f"rho={rho!r}: the loss is not finite inside the ball of this radius; use a smaller rho"
        )
    return best
