r"""Calibration of predicted probabilities: ECE, MCE, NLL, Brier and reliability bins.

Inputs are either binary probabilities of the positive class, shape (n,), with labels in
{0, 1}, or class probabilities, shape (n, K), with integer labels in [0, K).

Binning (Naeini, Cooper & Hauskrecht 2015; Guo et al. 2017). For binary input the score is
p = P(y = 1) and the outcome 1[y = 1] (scikit-learn's ``calibration_curve``); for class
probabilities the score is the top-label confidence max_k p_k and the outcome is whether the
arg-max is correct. With bins B_1..B_M,

    ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)|,     MCE = max_m |acc(B_m) - conf(B_m)|,

over the non-empty bins. ``strategy="uniform"`` uses M equal-width bins on [0, 1] (15 by
default, as torchmetrics and netcal); ``"quantile"`` uses equal-mass bins (edges at quantiles
of the scores; tied scores can leave a bin empty). Empty bins are *reported*
(:class:`CalibrationBins.counts` is 0 and their means are NaN) rather than silently dropped
as scikit-learn's ``calibration_curve`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reglab.diagnostics._validation import (
    MAX_COUNT,
    check_array,
    check_choice,
    check_int,
    short_repr,
)

__all__ = [
    "CalibrationBins",
    "calibration_bins",
    "check_probabilities",
    "ece",
    "mce",
    "nll",
    "brier",
]

_ATOL = 1e-6  # tolerance on [0, 1] and on row sums: float32 softmax outputs pass


def check_probabilities(probs, *, name: str = "probs") -> np.ndarray:
    """Validate probabilities: finite, in [0, 1], and rows summing to 1 when 2-D."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    p = check_array(probs, name, finite=False, allow_empty=True)
    if p.ndim not in (1, 2) or p.shape[0] == 0 or p.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D or 2-D array, got shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite, got {p[~np.isfinite(p)][:3]}")
    lo, hi = p.min(), p.max()
    if lo < -_ATOL or hi > 1 + _ATOL:
        bad = lo if lo < -_ATOL else hi
        raise ValueError(f"{name} must lie in [0, 1], got a value {float(bad)}")
    if p.ndim == 2:
        sums = p.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > _ATOL * max(1, p.shape[1]):
            raise ValueError(
                f"rows of {name} must sum to 1, row {worst} sums to {float(sums[worst])}"
            )
    return np.clip(p, 0.0, 1.0)


def _check_labels(labels, probs: np.ndarray) -> np.ndarray:
    y = check_array(labels, "labels", dtype=None, allow_empty=True, finite=False)
    if y.shape != (probs.shape[0],):
        raise ValueError(f"labels must have shape ({probs.shape[0]},), got {y.shape}")
    K = 2 if probs.ndim == 1 else probs.shape[1]
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.isfinite(y)):
            raise ValueError(f"labels must be finite integers, got {y[~np.isfinite(y)][:3]}")
        if not np.all(np.mod(y, 1) == 0):
            raise ValueError(f"labels must be integers, got {y[np.mod(y, 1) != 0][:3]}")
        y = y.astype(int)
    if y.min() < 0 or y.max() >= K:
        raise ValueError(f"labels must lie in [0, {K}), got values in [{y.min()}, {y.max()}]")
    return y


def _scores(probs, labels) -> tuple[np.ndarray, np.ndarray]:
    p = check_probabilities(probs)
    y = _check_labels(labels, p)
    if p.ndim == 1:
        return p, (y == 1).astype(float)
    return p.max(axis=1), (p.argmax(axis=1) == y).astype(float)


@dataclass(frozen=True, repr=False)
class CalibrationBins:
    """Reliability bins.

    Attributes
    ----------
    edges : ndarray of shape (n_bins + 1,)
    counts : ndarray of shape (n_bins,)
        Number of predictions per bin; 0 marks an empty bin.
    confidence : ndarray of shape (n_bins,)
        Mean score per bin (NaN for empty bins).
    accuracy : ndarray of shape (n_bins,)
        Mean outcome per bin (NaN for empty bins).
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    def __repr__(self) -> str:
        return short_repr(self, ("edges", "counts", "confidence", "accuracy"))

    @property
    def empty(self) -> np.ndarray:
        """Boolean mask of the empty bins."""
        return self.counts == 0

    @property
    def gaps(self) -> np.ndarray:
        """``|accuracy - confidence|`` per bin (NaN for empty bins)."""
        return np.abs(self.accuracy - self.confidence)


def calibration_bins(probs, labels, *, n_bins: int = 15, strategy: str = "uniform"):
    """Bin the predictions by score; see the module docstring.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, K)
    labels : array-like of shape (n,)
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"

    Returns
    -------
    CalibrationBins
    """
    n_bins = check_int(n_bins, "n_bins", low=1, high=MAX_COUNT)
    check_choice(strategy, "strategy", ("uniform", "quantile"))
    score, outcome = _scores(probs, labels)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    else:
        edges = np.quantile(score, np.linspace(0.0, 1.0, n_bins + 1))
        edges[0], edges[-1] = 0.0, 1.0
    # right-closed bins (a, b], the first one closed on both sides
    idx = np.clip(np.searchsorted(edges, score, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, weights=score, minlength=n_bins) / counts
        acc = np.bincount(idx, weights=outcome, minlength=n_bins) / counts
    conf[counts == 0] = np.nan
    acc[counts == 0] = np.nan
    return CalibrationBins(edges=edges, counts=counts, confidence=conf, accuracy=acc)


def ece(probs, labels, *, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Expected calibration error, ``sum_m |B_m|/n |acc(B_m) - conf(B_m)|``.

    Parameters
    ----------
    probs : array-like of shape (n,) or (n, K)
        Positive-class probabilities or class probabilities (rows summing to 1).
    labels : array-like of shape (n,)
    n_bins : int, default=15
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width or equal-mass bins.

    Returns
    -------
    float
    """
    b = calibration_bins(probs, labels, n_bins=n_bins, strategy=strategy)
    full = ~b.empty
    return float(np.sum(b.counts[full] * b.gaps[full]) / b.counts.sum())


def mce(probs, labels, *, n_bins: int = 15, strategy: str = "uniform") -> float:
    """Maximum calibration error, max over non-empty bins of ``|acc - conf|``."""
    b = calibration_bins(probs, labels, n_bins=n_bins, strategy=strategy)
    return float(np.max(b.gaps[~b.empty]))


def nll(probs, labels) -> float:
    """Mean negative log-likelihood -1/n sum_i log p_i(y_i).

    A probability of exactly 0 on the observed class gives ``inf`` (the true value); no
    clipping is applied.
    """
    p = check_probabilities(probs)
    y = _check_labels(labels, p)
    picked = np.where(y == 1, p, 1 - p) if p.ndim == 1 else p[np.arange(len(y)), y]
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(picked)))


def brier(probs, labels) -> float:
    """Brier score.

    Class probabilities: 1/n sum_i sum_k (p_ik - 1[y_i = k])^2 (Brier 1950, range [0, 2]).
    Binary positive-class probabilities: 1/n sum_i (p_i - y_i)^2 (scikit-learn's
    ``brier_score_loss``, range [0, 1]), which is half the two-column value.
    """
    p = check_probabilities(probs)
    y = _check_labels(labels, p)
    if p.ndim == 1:
        return float(np.mean((p - y) ** 2))
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum((p - onehot) ** 2, axis=1)))
