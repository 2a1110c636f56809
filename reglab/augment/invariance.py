"""How much a model's predictions change under a transformation of its input.

For inputs ``x_i``, a model with logits ``f`` and a transformation ``T``, let
``p_i = softmax(f(x_i))`` and ``q_i = softmax(f(T(x_i)))``. The invariance gap reports

* the mean Kullback-Leibler divergence ``(1/n) sum_i KL(p_i || q_i)``
  ``= (1/n) sum_i sum_k p_ik (log p_ik - log q_ik)``, zero iff the predictive distributions agree;
* the flip rate ``(1/n) #{i : argmax p_i != argmax q_i}``, the fraction of decisions the
  transformation changes.

Both are zero for a model exactly invariant to ``T``; augmenting the training data with ``T``
is meant to drive them towards zero (Simard et al., ICDAR 2003; the deep dive, section 8).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reglab.augment._validation import check_bool

__all__ = ["InvarianceGap", "invariance_gap"]


@dataclass(frozen=True)
class InvarianceGap:
    """Result of :func:`invariance_gap`.

    Attributes
    ----------
    mean_kl : float
        Mean of ``KL(p_i || q_i)`` in nats over the ``n`` inputs.
    flip_rate : float
        Fraction of inputs whose arg-max class changes under the transformation.
    n : int
        Number of inputs measured.
    """

    mean_kl: float
    flip_rate: float
    n: int


def _batches(data: Any) -> Iterable[Any]:
    import torch

    if isinstance(data, torch.Tensor):
        return [data]
    if isinstance(data, Iterable):
        return data
    raise TypeError(f"data must be a torch.Tensor or an iterable of batches, got {type(data)}")


def invariance_gap(
    model: Callable[[Any], Any],
    transform: Callable[[Any], Any],
    data: Any,
    *,
    eval_mode: bool = True,
) -> InvarianceGap:
    """Measure the mean KL divergence and arg-max flip rate of ``model`` under ``transform``.

    Parameters
    ----------
    model : callable
        Maps a batch of inputs to logits of shape ``(B, K)`` (e.g. a ``torch.nn.Module``).
    transform : callable
        Maps a batch of inputs to a transformed batch of the same size; a
        :class:`reglab.augment.image.Pipeline` (whose output's ``images`` are used) works;
        for a reproducible measurement pass a seeded one, e.g.
        ``lambda x: pipe(x, generator=g)`` with ``g = torch.Generator().manual_seed(0)``.
    data : torch.Tensor or iterable
        One batch of inputs, or an iterable of batches; a batch may also be an ``(inputs,
        labels, ...)`` tuple or list, in which case its first element is used.
    eval_mode : bool
        If the model is a ``torch.nn.Module``, measure it in eval mode (no dropout noise in
        the comparison) and restore its training flag afterwards.

    Returns
    -------
    InvarianceGap
        ``mean_kl`` (nats), ``flip_rate`` and the number of inputs ``n``.
    """
    import torch

    if not callable(model):
        raise TypeError(f"model must be callable, got {type(model)}")
    if not callable(transform):
        raise TypeError(f"transform must be callable, got {type(transform)}")
    eval_mode = check_bool(eval_mode, "eval_mode")
    module = model if isinstance(model, torch.nn.Module) else None
    was_training = module.training if module is not None else False
    if module is not None and eval_mode:
        module.eval()
    kl_sum, flips, n = 0.0, 0, 0
    try:
        with torch.no_grad():
            for batch in _batches(data):
                x = batch[0] if isinstance(batch, tuple | list) else batch
                if isinstance(x, torch.Tensor) and (x.ndim == 0 or x.shape[0] == 0):
                    raise ValueError(f"data contains an empty batch (shape {tuple(x.shape)})")
                if not isinstance(x, torch.Tensor):
                    raise TypeError(f"data must hold torch tensors, got {type(x).__name__}")
                if x.is_floating_point() and not bool(torch.isfinite(x).all()):
                    raise ValueError("data contains NaN or inf")
                tx = transform(x)
                tx = getattr(tx, "images", tx)
                try:
                    logits, logits_t = model(x), model(tx)
                except (RuntimeError, TypeError, ValueError) as exc:
                    # a batch the model cannot take (shape, dtype): say which input it was
                    raise ValueError(
                        f"model failed on a batch of data of shape {tuple(x.shape)} and dtype "
                        f"{x.dtype}: {type(exc).__name__}: {exc}"
                    ) from exc
                if not isinstance(logits, torch.Tensor) or not isinstance(logits_t, torch.Tensor):
                    raise TypeError(
                        f"model must return a logits tensor, got {type(logits).__name__}"
                    )
                if logits.ndim != 2 or logits.shape != logits_t.shape:
                    raise ValueError(
                        "model must return logits of shape (B, K) for both batches, got "
                        f"{tuple(logits.shape)} and {tuple(logits_t.shape)}"
                    )
                log_p = torch.log_softmax(logits.double(), dim=1)
                log_q = torch.log_softmax(logits_t.double(), dim=1)
                kl = (log_p.exp() * (log_p - log_q)).sum(dim=1)
                kl_sum += float(kl.sum())
                flips += int((log_p.argmax(1) != log_q.argmax(1)).sum())
                n += logits.shape[0]
    finally:
        if module is not None:
            module.train(was_training)
    if n == 0:
        raise ValueError("data is empty: no inputs to measure")
    mean_kl = kl_sum / n
    if not math.isfinite(mean_kl):
        raise ValueError(f"mean KL is not finite ({mean_kl}); the model returned non-finite logits")
    return InvarianceGap(mean_kl=max(mean_kl, 0.0), flip_rate=flips / n, n=n)
