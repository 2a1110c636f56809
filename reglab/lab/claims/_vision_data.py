"""Small image / sequence data sets and one training loop for the lab's vision claims.

Shared by the perturbation (augmentation, MixUp, label smoothing), training (early stopping,
SGD noise) and architecture (convolution, pooling) claims. Everything here is sized to train
in about a second on one CPU thread:

* :func:`digits` - scikit-learn's bundled 8x8 digits (1797 images, 10 classes) as
  ``(N, 1, 8, 8)`` float32 tensors in [0, 1], split into train / test by the run's seed;
* :func:`mnist1d` - Greydanus's MNIST-1D (2020), generated locally (never downloaded) with its
  standard arguments and cached in the temp dir, as ``(N, 1, 40)`` float32 tensors; a
  sequence benchmark on which a CNN beats an MLP by a wide margin;
* :func:`fit` - mini-batch training with an explicit ``torch.Generator`` for the batch order,
  an optional per-batch transform (augmentation, mixing) and a per-epoch callback.

torch is imported inside the functions: the claims registry imports this module, and
``reglab list`` must never import torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "accuracy",
    "calibration_metrics",
    "digits",
    "fit",
    "logits",
    "mlp",
    "mnist1d",
    "probabilities",
]


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    # pixel intensities are integers 0..16
    return (data.images / 16.0).astype(np.float32), data.target.astype(np.int64)


def digits(seed: int, n_train: int, n_test: int | None = None):
    """The 8x8 digits split at random into train and test sets.

    Parameters
    ----------
    seed : int
        Seed of the split (``np.random.default_rng(seed)``).
    n_train : int
        Number of training images, ``1 <= n_train < 1797``.
    n_test : int, optional
        Number of test images (default: all the others).

    Returns
    -------
    x_train, y_train, x_test, y_test : torch.Tensor
        Images ``(N, 1, 8, 8)`` float32 in [0, 1] and int64 labels.
    """
    import torch

    images, labels = _digits_arrays()
    n = images.shape[0]
    if not 1 <= n_train < n:
        raise ValueError(f"n_train={n_train!r} must be in [1, {n - 1}]")
    rest = n - n_train
    n_test = rest if n_test is None else n_test
    if not 1 <= n_test <= rest:
        raise ValueError(f"n_test={n_test!r} must be in [1, {rest}] when n_train={n_train}")
    order = np.random.default_rng(seed).permutation(n)
    tr, te = order[:n_train], order[n_train : n_train + n_test]
    x = torch.from_numpy(images).unsqueeze(1)
    y = torch.from_numpy(labels)
    return x[tr], y[tr], x[te], y[te]


def _mnist1d_generate(num_samples: int, train_split: float) -> dict[str, np.ndarray]:
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    args.train_split = train_split
    # make_dataset seeds NumPy's and Python's global generators (with its fixed seed 42);
    # put them back so that generating the data leaves no trace on the caller's state.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return {
        "x": data["x"].astype(np.float32),
        "y": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }


@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(num_samples: int, train_split: float) -> tuple[np.ndarray, ...]:
    import os
    import tempfile
    from importlib.metadata import version

    # generation is slow (a Python loop, ~0.7 ms per sample) and deterministic, so the
    # arrays are cached in the temp dir, keyed by everything that determines them; the
    # write is atomic (rename), so parallel workers never read a partial file
    key = f"reglab-mnist1d-{version('mnist1d')}-{num_samples}-{train_split:.6f}.npz"
    path = os.path.join(tempfile.gettempdir(), key)
    names = ("x", "y", "x_test", "y_test")
    try:
        with np.load(path) as cached:
            return tuple(cached[k] for k in names)
    except (OSError, KeyError, ValueError):
        pass
    data = _mnist1d_generate(num_samples, train_split)
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=tempfile.gettempdir())
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **data)
        os.replace(tmp, path)
    except OSError:  # a read-only temp dir only costs the cache
        if os.path.exists(tmp):
            os.remove(tmp)
    return tuple(data[k] for k in names)


def mnist1d(num_samples: int = 5000, train_split: float = 0.8):
    """MNIST-1D with its standard generator arguments (Greydanus, 2020).

    The data set is generated locally with the package's fixed seed (42) and cached (in
    memory and in the temp dir); runs differ by initialisation and batch order, not by data.
    Generation costs about 0.7 ms per sample the first time.

    Parameters
    ----------
    num_samples : int
        Total number of sequences (train + test), at least 100.
    train_split : float
        Fraction of them in the training set, in (0, 1).

    Returns
    -------
    x_train, y_train, x_test, y_test : torch.Tensor
        Sequences ``(N, 1, 40)`` float32 (standardised) and int64 labels.
    """
    import torch

    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 100:
        raise ValueError(f"num_samples={num_samples!r} must be an int >= 100")
    if not 0.0 < train_split < 1.0:
        raise ValueError(f"train_split={train_split!r} must be in (0, 1)")
    x, y, xt, yt = _mnist1d_arrays(num_samples, float(train_split))
    return (
        torch.from_numpy(x).unsqueeze(1),
        torch.from_numpy(y),
        torch.from_numpy(xt).unsqueeze(1),
        torch.from_numpy(yt),
    )


def fit(
    model: Any,
    x: Any,
    y: Any,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: Any,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    loss_fn: Callable[[Any, Any], Any] | None = None,
    batch_transform: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    on_epoch: Callable[[int], bool | None] | None = None,
) -> None:
    """Train ``model`` in place by mini-batch gradient steps.

    Parameters
    ----------
    model : torch.nn.Module
    x, y : torch.Tensor
        Inputs and targets (``y`` integer labels unless ``loss_fn`` wants otherwise).
    epochs : int
        Passes over the data.
    batch_size : int
        Mini-batch size; ``batch_size >= len(x)`` is full-batch gradient descent.
    lr : float
        Learning rate.
    generator : torch.Generator
        Source of the batch order (and passed to nothing else: a ``batch_transform`` keeps
        its own generator).
    optimizer : {"adam", "sgd"}
        Adam (Kingma & Ba, 2015) or plain SGD without momentum.
    weight_decay : float
        Passed to the optimizer.
    loss_fn : callable, optional
        ``loss_fn(logits, target) -> scalar``; default cross-entropy.
    batch_transform : callable, optional
        ``batch_transform(xb, yb) -> (xb', target)`` applied to every mini-batch
        (augmentation, MixUp / CutMix).
    on_epoch : callable, optional
        Called with the epoch index (0-based) after each epoch, the model in train mode;
        returning ``True`` stops training.
    """
    import torch
    import torch.nn.functional as F

    if epochs < 0 or batch_size < 1 or not lr > 0:
        raise ValueError(
            f"need epochs >= 0, batch_size >= 1 and lr > 0, got epochs={epochs!r}, "
            f"batch_size={batch_size!r}, lr={lr!r}"
        )
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    loss_fn = F.cross_entropy if loss_fn is None else loss_fn
    n = x.shape[0]
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n, generator=generator) if batch_size < n else None
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size] if order is not None else slice(None)
            xb, target = x[idx], y[idx]
            if batch_transform is not None:
                xb, target = batch_transform(xb, target)
            opt.zero_grad(set_to_none=True)
            loss_fn(model(xb), target).backward()
            opt.step()
        if on_epoch is not None and on_epoch(epoch):
            break


def logits(model: Any, x: Any) -> Any:
    """The model's outputs on ``x`` in eval mode, without gradients (train flag restored)."""
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        model.train(was_training)


def probabilities(model: Any, x: Any) -> np.ndarray:
    """Softmax probabilities ``(N, K)`` as a float64 NumPy array."""
    import torch

    return torch.softmax(logits(model, x).double(), dim=1).numpy()


def accuracy(model: Any, x: Any, y: Any) -> float:
    """Fraction of ``x`` whose arg-max output equals the label ``y``."""
    return float((logits(model, x).argmax(1) == y).double().mean())


def mlp(d_in: int, seed: int, *, hidden: int = 256, depth: int = 2, n_classes: int = 10):
    """``Flatten`` then :func:`reglab.lab.claims._torch_nets.mlp` (ReLU, ``depth`` hidden
    layers of width ``hidden``), initialised from ``torch.Generator().manual_seed(seed)``."""
    from torch import nn

    from reglab.lab.claims._torch_nets import generator
    from reglab.lab.claims._torch_nets import mlp as _mlp

    if depth < 1:
        raise ValueError(f"depth={depth!r} must be >= 1")
    sizes = [d_in, *([hidden] * depth), n_classes]
    return nn.Sequential(nn.Flatten(), _mlp(sizes, generator(seed)))


def calibration_metrics(
    probs: np.ndarray, labels: np.ndarray, seed: int, n_boot: int = 200
) -> dict[str, float]:
    """ECE (15 equal-width bins) with a bootstrap standard error, confidence, accuracy, NLL.

    The ECE is :func:`reglab.diagnostics.ece`. Its standard error is the spread of the ECE
    over ``n_boot`` resamples (with replacement) of the test set, drawn from
    ``np.random.default_rng(seed)`` (Efron & Tibshirani, 1993): it measures the test-set
    sampling error of this model's ECE. The resamples are evaluated at once as multinomial
    weights, ``ECE_w = sum_m |sum_{i in B_m} w_i (hit_i - conf_i)| / n``, with the same
    equal-width bins.
    """
    from reglab.diagnostics import ece, nll

    labels = np.asarray(labels)
    n = labels.shape[0]
    conf = probs.max(axis=1)
    gap = (probs.argmax(axis=1) == labels) - conf
    bins = np.minimum((conf * 15).astype(int), 14)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=n_boot)
    per_bin = (weights * gap) @ np.eye(15)[bins]  # (n_boot, 15) weighted sums per bin
    boots = np.abs(per_bin).sum(axis=1) / n
    return {
        "ece": float(ece(probs, labels)),
        "ece_se": float(np.std(boots, ddof=1)),
        "confidence": float(conf.mean()),
        "accuracy": float((probs.argmax(axis=1) == labels).mean()),
        "nll": float(nll(probs, labels)),
    }
