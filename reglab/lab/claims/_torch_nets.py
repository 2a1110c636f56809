"""Small torch networks, data and training loops shared by the lab's torch claims.

Everything here is seeded explicitly: layers are (re-)initialised from a
:class:`torch.Generator`, minibatches are drawn from one, and :class:`SeededDropout` draws
its masks from one, so a claim's ``run(params, seed)`` depends on ``seed`` alone and never on
torch's global RNG. The networks are tiny on purpose (the whole lab shares two CPU cores).

The registry imports every module under :mod:`reglab.lab.claims` and must not import torch,
so torch is imported inside the functions only; :class:`SeededDropout` is created on first
access (module ``__getattr__``, PEP 562).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn


def generator(seed: int) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded with ``seed`` (any non-negative int)."""
    import torch

    return torch.Generator().manual_seed(int(seed) % (2**63))


@functools.cache
def _seeded_dropout_class():
    from reglab.torch import Dropout, dropout

    class SeededDropout(Dropout):
        """:class:`reglab.torch.Dropout` drawing its masks from an explicit generator.

        A subclass, so :func:`reglab.torch.mc_predict` and :func:`reglab.torch.mc_dropout`
        recognise it as a dropout module.
        """

        def __init__(self, p: float, gen: torch.Generator) -> None:
            super().__init__(p)
            self.gen = gen

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return dropout(x, self.p, self.training, generator=self.gen)

    SeededDropout.__module__ = __name__
    return SeededDropout


def __getattr__(name: str):
    if name == "SeededDropout":
        return _seeded_dropout_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def init_(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """Re-initialise every Linear/Conv layer in place with torch's default distribution.

    torch's default (Kaiming-uniform with a = sqrt(5)) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for weights and biases alike; drawing it from ``gen`` makes the network a function of the
    seed only.
    """
    import torch
    from torch import nn

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | nn.modules.conv._ConvNd):
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                m.weight.uniform_(-bound, bound, generator=gen)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=gen)
    return model


def mlp(
    sizes: Sequence[int],
    gen: torch.Generator,
    *,
    p: float = 0.0,
    activation: type[nn.Module] | None = None,
    dtype: torch.dtype | None = None,
) -> nn.Sequential:
    """``Linear -> activation [-> SeededDropout(p)] -> ... -> Linear`` for ``sizes``.

    Dropout (when ``p > 0``) follows every hidden activation, i.e. it acts on the input of
    every Linear layer but the first. ``activation`` defaults to ``nn.ReLU``, ``dtype`` to
    float32.
    """
    import torch
    from torch import nn

    activation = nn.ReLU if activation is None else activation
    dtype = torch.float32 if dtype is None else dtype
    SeededDropout = _seeded_dropout_class()
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least input and output widths, got {sizes!r}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if i < len(sizes) - 2:
            layers.append(activation())
            if p > 0:
                layers.append(SeededDropout(p, gen))
    return init_(nn.Sequential(*layers), gen)


def digits(seed: int, n_train: int, *, dtype: torch.dtype | None = None):
    """scikit-learn's 8x8 digits, split at random by ``seed``, centred and scaled on the train part.

    Each pixel is divided by (its train std + 1): the +1 keeps the constant border pixels
    finite and barely changes the informative ones (std about 4-6 on the 0-16 scale).

    Returns ``(X_train, y_train, X_test, y_test)`` as tensors (all remaining rows are test),
    features in ``dtype`` (default float32).
    """
    import torch
    from sklearn.datasets import load_digits

    dtype = torch.float32 if dtype is None else dtype

    X, y = load_digits(return_X_y=True)
    if not 0 < n_train < len(y):
        raise ValueError(f"n_train must be in (0, {len(y)}), got {n_train!r}")
    order = np.random.default_rng(seed).permutation(len(y))
    tr, te = order[:n_train], order[n_train:]
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0) + 1.0  # +1: constant border pixels
    X = (X - mu) / sd

    def t(a, d):
        return torch.as_tensor(a, dtype=d)

    return t(X[tr], dtype), t(y[tr], torch.long), t(X[te], dtype), t(y[te], torch.long)


def train_classifier(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    gen: torch.Generator,
    *,
    epochs: int,
    lr: float,
    batch_size: int | None = None,
    weight_decay: float = 0.0,
) -> list[float]:
    """Minimise cross-entropy with Adam over shuffled minibatches drawn from ``gen``.

    ``batch_size=None`` is full batch. Leaves the model in training mode. Returns the mean
    minibatch loss of every epoch.
    """
    import torch
    from torch import nn

    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(y)
    bs = n if batch_size is None else int(batch_size)
    model.train()
    history = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, bs):
            idx = order[start : start + bs]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / n)
    return history


def error_rate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
    """Misclassification rate of ``model`` in evaluation mode (its mode is restored)."""
    import torch

    was = model.training
    model.eval()
    with torch.no_grad():
        err = float((model(X).argmax(dim=1) != y).double().mean())
    model.train(was)
    return err
