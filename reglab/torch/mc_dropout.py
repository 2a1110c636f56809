"""Monte-Carlo dropout: dropout on, everything else in evaluation mode (Gal & Ghahramani, 2016).

``model.eval()`` turns BatchNorm *and* dropout off, ``model.train()`` turns both on (and lets
BatchNorm update its running statistics on test data). MC dropout needs the mix: stochastic
layers sampling, normalisation layers frozen.

Dropout is not only held in dropout modules. torch's built-in layers gate dropout on their
*own* ``training`` flag: ``nn.MultiheadAttention`` (attention dropout), ``nn.RNN``/``LSTM``/
``GRU`` (the dropout between stacked layers), and ``nn.TransformerEncoderLayer`` /
``TransformerEncoder``, which in evaluation mode take a fused fast path
(``torch._transformer_encoder_layer_fwd``) that skips their dropout submodules altogether.
Switching on only the ``nn.Dropout`` submodules of such a model samples nothing: the
variance is exactly zero. These layers are therefore in :data:`STOCHASTIC_MODULES` too (their
training mode changes nothing but dropout and the fast path).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from reglab.torch._checks import MAX_COUNT, check_bool, check_module, check_positive_int
from reglab.torch.drop_path import DropPath
from reglab.torch.dropout import ChannelDropout, DropConnect, Dropout, LockedDropout

__all__ = ["STOCHASTIC_MODULES", "mc_dropout", "mc_dropout_modules", "mc_predict"]

#: Module types switched to training mode by :func:`mc_dropout`: the dropout modules, and
#: torch's layers whose own ``training`` flag gates a dropout inside them (or a fused
#: evaluation fast path that skips their dropout submodules).
STOCHASTIC_MODULES: tuple[type[nn.Module], ...] = (
    nn.modules.dropout._DropoutNd,  # Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout
    Dropout,
    ChannelDropout,
    LockedDropout,
    DropPath,
    DropConnect,
    nn.MultiheadAttention,  # attention dropout: dropout_p if self.training else 0
    nn.RNNBase,  # RNN/LSTM/GRU: dropout between stacked layers only in training mode
    nn.TransformerEncoderLayer,  # eval mode: fused fast path, dropout skipped
    nn.TransformerEncoder,  # eval mode: nested-tensor fast path
    nn.TransformerDecoderLayer,
    nn.TransformerDecoder,
    nn.Transformer,
)


def _check_types(types: object) -> tuple[type[nn.Module], ...]:
    ok = isinstance(types, tuple) and all(
        isinstance(t, type) and issubclass(t, nn.Module) for t in types
    )
    if not ok:
        raise TypeError(f"types must be a tuple of nn.Module subclasses, got {types!r}")
    return types


def mc_dropout_modules(
    model: nn.Module, types: tuple[type[nn.Module], ...] = STOCHASTIC_MODULES
) -> list[str]:
    """Names (as in ``model.named_modules()``, ``''`` for the model itself) of the modules
    :func:`mc_dropout` switches to training mode: the ones that will sample."""
    check_module("model", model)
    types = _check_types(types)
    return [name for name, m in model.named_modules() if isinstance(m, types)]


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
    check_module("model", model)
    types = _check_types(types)
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
    return_modules: bool = False,
):
    """Mean and variance of ``samples`` stochastic forward passes under :func:`mc_dropout`.

    Every dropout that torch's built-in modules hold is sampled (see
    :data:`STOCHASTIC_MODULES`: dropout modules, attention dropout, recurrent inter-layer
    dropout, transformer layers without their fused evaluation path); BatchNorm and every
    other module stay in evaluation mode. A model with no module of ``types`` is refused (its
    variance would be exactly zero). Dropout applied by a custom module through
    ``F.dropout(..., training=self.training)`` samples only if that module's type is listed
    in ``types``.

    Parameters
    ----------
    model : nn.Module
    x : input passed to ``model``
    samples : int
        ``T >= 1`` forward passes.
    types : tuple of nn.Module subclasses
        Which modules to switch to training mode.
    return_modules : bool
        Also return the names of the modules switched on (:func:`mc_dropout_modules`).

    Returns
    -------
    mean, var[, modules] : Tensor, Tensor[, list of str]
        ``mean = 1/T sum_t f_t(x)`` and ``var = 1/T sum_t (f_t(x) - mean)^2`` (the MC
        estimate of the predictive variance, no Bessel correction), elementwise over the
        model's output, accumulated in float32 or better. Seed torch (``torch.manual_seed``)
        for reproducible draws: torch's dropout modules use the global generator.
    """
    samples = check_positive_int("samples", samples, maximum=MAX_COUNT)
    return_modules = check_bool("return_modules", return_modules)
    switched = mc_dropout_modules(model, types)
    if not switched:
        raise ValueError(
            f"model holds no module of types {[t.__name__ for t in types]}: MC dropout would "
            "sample nothing and return zero variance (pass types= to name its stochastic "
            "modules)"
        )
    mean = m2 = None
    with mc_dropout(model, types):
        for t in range(1, samples + 1):
            if t > 1:
                out = model(x)
            else:  # the first pass tells a bad x from a bad model: name the argument
                try:
                    out = model(x)
                except torch.OutOfMemoryError:
                    raise
                except (TypeError, ValueError, RuntimeError) as err:
                    kind = TypeError if isinstance(err, TypeError) else ValueError
                    raise kind(
                        f"model(x) failed on x ({type(x).__name__}"
                        f"{tuple(x.shape) if isinstance(x, torch.Tensor) else ''}): {err}"
                    ) from err
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
    if return_modules:
        return mean, m2 / samples, switched
    return mean, m2 / samples
