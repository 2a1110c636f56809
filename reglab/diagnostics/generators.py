"""Data generators that know the truth, for bias-variance measurements.

A bias-variance decomposition needs *fresh* training sets from one distribution and the true
regression function (or class probabilities) at the test points. mlxtend's
``bias_variance_decomp`` resamples one training set and cannot separate noise from bias;
reglab asks a generator instead. Anything that follows the :class:`Generator` protocol works:

``task``
    ``"regression"`` or ``"classification"``.
``n_classes``
    number of classes (classification; labels are ``0 .. n_classes - 1``).
``is_estimate``
    ``True`` when the truth is not known and the decomposition is only an estimate
    (the bootstrap generator over real data).
``sample(n, rng) -> (X, y)``
    a fresh training set of ``n`` rows.
``test_set(n, rng) -> TestSet``
    test points with their truth (regression mean and noise variance, or class
    probabilities, or fixed observed labels).

Shipped: :class:`SyntheticRegression`, :class:`SyntheticClassification` and
:class:`BootstrapGenerator`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from reglab.diagnostics._validation import (
    MAX_ABS,
    MAX_COUNT,
    check_array,
    check_choice,
    check_elements,
    check_int,
    check_real,
    check_seed,
)

__all__ = [
    "Generator",
    "TestSet",
    "SyntheticRegression",
    "SyntheticClassification",
    "BootstrapGenerator",
]


@dataclass(frozen=True)
class TestSet:
    """Test points and what is known about their labels.

    Attributes
    ----------
    X : ndarray of shape (n_test, n_features)
    mean : ndarray of shape (n_test,) or None
        Regression function f(x) = E[y | x] (regression only).
    noise_var : ndarray of shape (n_test,) or None
        Var[y | x] (regression only; zero when unknown and ``y`` is fixed).
    proba : ndarray of shape (n_test, n_classes) or None
        True class probabilities p(y | x) (classification only).
    y : ndarray of shape (n_test,) or None
        Fixed observed labels. When given, every round is scored against these labels
        instead of fresh draws (bootstrap estimates on real data).
    """

    __test__ = False  # not a pytest test class despite its name

    X: np.ndarray
    mean: np.ndarray | None = None
    noise_var: np.ndarray | None = None
    proba: np.ndarray | None = None
    y: np.ndarray | None = None


@runtime_checkable
class Generator(Protocol):
    """Protocol of a data generator for :func:`reglab.diagnostics.bias_variance`."""

    task: str
    n_classes: int
    is_estimate: bool

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw a fresh training set ``(X, y)`` of ``n`` rows."""
        ...

    def test_set(self, n: int, rng: np.random.Generator) -> TestSet:
        """Draw ``n`` test points with their truth."""
        ...


def _check_positive_int(name: str, value: object) -> int:
    return check_int(value, name, low=1, high=MAX_COUNT)


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def _draw_features(kind: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.standard_normal((n, d))
    return rng.uniform(-1.0, 1.0, size=(n, d))


class SyntheticRegression:
    r"""Regression data y = f(x) + sigma * eps with f and sigma known.

    Parameters
    ----------
    n_features : int, default=10
    noise : float, default=1.0
        Noise standard deviation sigma (so the irreducible error is sigma^2).
    function : {"linear", "sine"} or callable, default="linear"
        ``"linear"``: f(x) = x^T beta with beta drawn once from ``seed`` on the sphere of
        radius ``signal`` (the isotropic model of Hastie et al. 2019).
        ``"sine"``: f(x) = signal * sin(pi * x_1) (a curve that low-capacity models underfit).
        A callable maps ``X`` of shape (n, n_features) to f(X) of shape (n,).
    signal : float, default=1.0
        ||beta|| for the linear function, amplitude for the sine.
    features : {"normal", "uniform"}, default="normal"
        x ~ N(0, I) or x ~ U[-1, 1]^d.
    seed : int, default=0
        Seed of the fixed parameters beta (not of the draws, which use the ``rng`` given to
        :meth:`sample`).
    """

    task = "regression"
    n_classes = 0
    is_estimate = False

    def __init__(
        self,
        n_features: int = 10,
        *,
        noise: float = 1.0,
        function: str | Callable[[np.ndarray], np.ndarray] = "linear",
        signal: float = 1.0,
        features: str = "normal",
        seed: int = 0,
    ) -> None:
        self.n_features = _check_positive_int("n_features", n_features)
        self.noise = check_real(noise, "noise", low=0.0, high=MAX_ABS)
        self.features = check_choice(features, "features", ("normal", "uniform"))
        if not callable(function):
            check_choice(function, "function", ("linear", "sine"))
        self.function = function
        self.signal = check_real(signal, "signal", low=0.0, high=MAX_ABS)
        check_seed(seed, allow_generator=False)
        beta = np.random.default_rng(seed).standard_normal(self.n_features)
        self.coef = self.signal * beta / np.linalg.norm(beta)

    def f(self, X: np.ndarray) -> np.ndarray:
        """True regression function E[y | x]."""
        if callable(self.function):
            out = np.asarray(self.function(X), dtype=float)
            if out.shape != (X.shape[0],) or not np.all(np.isfinite(out)):
                raise ValueError(
                    f"function must map X of shape {X.shape} to finite values of shape "
                    f"({X.shape[0]},), got shape {out.shape}"
                    + ("" if out.shape != (X.shape[0],) else " with NaN or inf")
                )
            return out
        if self.function == "linear":
            return X @ self.coef
        return self.signal * np.sin(np.pi * X[:, 0])

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` rows: x from the feature distribution, y = f(x) + noise."""
        n, rng = _check_positive_int("n", n), _check_rng(rng)
        check_elements("n * n_features", n, self.n_features)
        X = _draw_features(self.features, n, self.n_features, rng)
        return X, self.f(X) + self.noise * rng.standard_normal(n)

    def test_set(self, n: int, rng: np.random.Generator) -> TestSet:
        """Draw ``n`` test points with f(x) and noise variance sigma^2."""
        n, rng = _check_positive_int("n", n), _check_rng(rng)
        check_elements("n * n_features", n, self.n_features)
        X = _draw_features(self.features, n, self.n_features, rng)
        return TestSet(X=X, mean=self.f(X), noise_var=np.full(n, self.noise**2))


class SyntheticClassification:
    r"""Classification data with known class probabilities p(y | x) = softmax(s * W x).

    Parameters
    ----------
    n_features : int, default=2
    n_classes : int, default=2
    separation : float, default=3.0
        Scale s of the logits: larger means less label noise (lower Bayes error).
    function : {"linear", "xor"}, default="linear"
        ``"linear"``: logits s * W x with W fixed from ``seed``. ``"xor"`` (two classes only):
        logit s * x_1 * x_2, which no linear classifier can follow.
    seed : int, default=0
        Seed of W.
    """

    task = "classification"
    is_estimate = False

    def __init__(
        self,
        n_features: int = 2,
        *,
        n_classes: int = 2,
        separation: float = 3.0,
        function: str = "linear",
        seed: int = 0,
    ) -> None:
        self.n_features = _check_positive_int("n_features", n_features)
        self.n_classes = _check_positive_int("n_classes", n_classes)
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes!r}")
        check_choice(function, "function", ("linear", "xor"))
        if function == "xor" and (self.n_classes != 2 or self.n_features < 2):
            raise ValueError("function='xor' needs n_classes=2 and n_features >= 2")
        self.separation = check_real(separation, "separation", low=0.0, high=MAX_ABS)
        check_elements("n_classes * n_features", self.n_classes, self.n_features)
        check_seed(seed, allow_generator=False)
        self.function = function
        W = np.random.default_rng(seed).standard_normal((self.n_classes, self.n_features))
        self.weights = W / np.linalg.norm(W, axis=1, keepdims=True)

    def proba(self, X: np.ndarray) -> np.ndarray:
        """True class probabilities p(y | x), shape (n, n_classes)."""
        if self.function == "xor":
            z = self.separation * X[:, 0] * X[:, 1]
            logits = np.stack([np.zeros_like(z), z], axis=1)
        else:
            logits = self.separation * X @ self.weights.T
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def _labels(self, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        # inverse-CDF sampling, one uniform per row
        u = rng.random(p.shape[0])[:, None]
        return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), self.n_classes - 1)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` rows: x ~ N(0, I), y ~ p(y | x)."""
        n, rng = _check_positive_int("n", n), _check_rng(rng)
        check_elements("n * n_features", n, self.n_features)
        X = rng.standard_normal((n, self.n_features))
        return X, self._labels(self.proba(X), rng)

    def test_set(self, n: int, rng: np.random.Generator) -> TestSet:
        """Draw ``n`` test points with their true class probabilities."""
        n, rng = _check_positive_int("n", n), _check_rng(rng)
        check_elements("n * n_features", n, self.n_features)
        X = rng.standard_normal((n, self.n_features))
        return TestSet(X=X, proba=self.proba(X))


class BootstrapGenerator:
    """Bootstrap resamples of real data: the decomposition becomes an *estimate*.

    The data are split once (by ``seed``) into a training pool and a held-out test part of
    ``test_fraction``. Each round's training set is drawn with replacement from the pool;
    every round is scored on the same observed held-out labels.

    With observed labels the noise cannot be separated from the bias: for squared loss
    E_eps[(y - ybar)^2] = (f - ybar)^2 + sigma^2, so the reported bias^2 *includes* the noise
    unless ``noise_var`` is given (an external estimate of sigma^2), in which case it is
    subtracted and reported as the noise. For classification the observed label plays the
    role of the truth (one-hot probabilities) and the noise term is zero. Results carry
    ``is_estimate=True``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
    task : {"regression", "classification"}, default="regression"
    test_fraction : float, default=0.25
    noise_var : float, optional
        Known or separately estimated noise variance (regression only).
    seed : int, default=0
        Seed of the train/test split.
    """

    is_estimate = True

    def __init__(
        self,
        X,
        y,
        *,
        task: str = "regression",
        test_fraction: float = 0.25,
        noise_var: float | None = None,
        seed: int = 0,
    ) -> None:
        X = check_array(X, "X", ndim=2, max_abs=MAX_ABS)
        y = check_array(y, "y", ndim=1, dtype=None, max_abs=MAX_ABS)
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("y contains NaN or inf; it must be finite")
        if X.shape[0] != y.shape[0]:
            raise ValueError(
                f"X must be 2-D and y 1-D with as many rows, got X {X.shape} and y {y.shape}"
            )
        if X.shape[0] < 2:
            raise ValueError(f"X needs at least 2 rows (a pool and a test part), got {X.shape}")
        check_choice(task, "task", ("regression", "classification"))
        test_fraction = check_real(
            test_fraction, "test_fraction", low=0.0, high=1.0, low_open=True, high_open=True
        )
        if noise_var is not None:
            noise_var = check_real(noise_var, "noise_var", low=0.0, high=MAX_ABS)
            if task != "regression":
                raise ValueError(f"noise_var is for regression only, got task={task!r}")
        check_seed(seed, allow_generator=False)
        self.task = task
        self.noise_var = noise_var
        if task == "classification":
            classes, y = np.unique(y, return_inverse=True)
            self.classes_ = classes
            self.n_classes = len(classes)
        else:
            y = y.astype(float)
            self.n_classes = 0
        perm = np.random.default_rng(seed).permutation(len(y))
        n_test = min(max(1, int(round(test_fraction * len(y)))), len(y) - 1)
        self._test_idx, self._pool_idx = perm[:n_test], perm[n_test:]
        self._X, self._y = X, y

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` rows with replacement from the training pool."""
        n, rng = _check_positive_int("n", n), _check_rng(rng)
        idx = self._pool_idx[rng.integers(0, len(self._pool_idx), size=n)]
        return self._X[idx], self._y[idx]

    def test_set(self, n: int, rng: np.random.Generator) -> TestSet:
        """The first ``n`` held-out rows with their observed labels (``rng`` unused)."""
        n = _check_positive_int("n", n)
        if n > len(self._test_idx):
            raise ValueError(
                f"n_test={n} exceeds the {len(self._test_idx)} held-out rows of the bootstrap "
                "generator; lower n_test or raise test_fraction"
            )
        idx = self._test_idx[:n]
        y = self._y[idx]
        if self.task == "classification":
            return TestSet(X=self._X[idx], proba=np.eye(self.n_classes)[y], y=y)
        noise = 0.0 if self.noise_var is None else self.noise_var
        return TestSet(X=self._X[idx], mean=y, noise_var=np.full(n, noise), y=y)
