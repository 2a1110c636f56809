"""Monte-Carlo dropout: dropout on, everything else in evaluation mode (Gal & Ghahramani, 2016).

``model.eval()`` turns BatchNorm *and* dropout off, ``model.train()`` turns both on (and lets
BatchNorm update its running statistics on test data). MC dropout needs the mix: stochastic
layers sampling, normalisation layers frozen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from reglab.torch._checks import check_positive_int
from reglab.torch.drop_path import DropPath
from reglab.torch.dropout import ChannelDropout, DropConnect, Dropout, LockedDropout

__all__ = ["STOCHASTIC_MODULES", "mc_dropout", "mc_predict"]

#: Module types switched to training mode by :func:`mc_dropout`.
STOCHASTIC_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.dropout._DropoutNd,  # Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout
    Dropout,
    ChannelDropout,
    LockedDropout,
    DropPath,
    DropConnect,
)


@contextmanager
def mc_dropout(
    model: nn.Module, types: tuple[type[nn.Module], ...] = STOCHASTIC_MODULES
) -> Iterator[nn.Module]:
    """Context manager: put ``model`` in eval mode except its dropout modules.

    Only the ``training`` flag of modules that are instances of ``types`` is set (not
    recursively), so BatchNorm keeps using and never updates its running statistics. On exit
    every module's ``training`` flag is restored to what it was, whatever it was.

    Yields
    ------
    nn.Module
        ``model`` itself.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    saved = [(m, m.training) for m in model.modules()]
    try:
        for m, _ in saved:
            m.training = isinstance(m, types)
        yield model
    finally:
        for m, flag in saved:
            m.training = flag


@torch.no_grad()
def mc_predict(
    model: nn.Module,
    x: torch.Tensor,
    samples: int = 30,
    *,
    types: tuple[type[nn.Module], ...] = STOCHASTIC_MODULES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of ``samples`` stochastic forward passes under :func:`mc_dropout`.

    Returns
    -------
    mean, var : Tensor
        ``mean = 1/T sum_t f_t(x)`` and ``var = 1/T sum_t (f_t(x) - mean)^2`` (the MC
        estimate of the predictive variance, no Bessel correction), elementwise over the
        model's output, accumulated in float32 or better. Seed torch (``torch.manual_seed``)
        for reproducible draws: torch's dropout modules use the global generator.
    """
    samples = check_positive_int("samples", samples)
    mean = m2 = None
    with mc_dropout(model, types):
        for t in range(1, samples + 1):
            out = model(x)
            if not isinstance(out, torch.Tensor):
                raise TypeError(f"model must return a tensor, got {type(out).__name__}")
            out = out.to(torch.promote_types(out.dtype, torch.float32))
            if mean is None:
                mean, m2 = out.clone(), torch.zeros_like(out)
                continue
            # Welford's update: no cancellation from E[f^2] - E[f]^2
            delta = out - mean
            mean += delta / t
            m2 += delta * (out - mean)
    return mean, m2 / samples
