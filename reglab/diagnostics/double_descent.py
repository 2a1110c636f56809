r"""Double descent of minimum-norm least squares and random-features regression.

Isotropic linear model (Hastie, Montanari, Rosset & Tibshirani, 2019, "Surprises in
high-dimensional ridgeless least squares interpolation", Theorems 1-2): x ~ N(0, I_p),
y = x^T beta + sigma eps, ||beta|| = r, n training rows, gamma = p/n. The minimum-norm
least-squares estimator beta_hat = X^+ y has, as n, p -> infinity with p/n -> gamma,

    R(gamma) = sigma^2 gamma / (1 - gamma)                        for gamma < 1,
    R(gamma) = r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1)          for gamma > 1,

where R = E ||beta_hat - beta||^2 = E[(x^T beta_hat - x^T beta)^2] is the *excess* test risk.
Convention: reglab reports the excess risk; ``include_noise=True`` adds the irreducible
sigma^2 of a noisy test label. The risk diverges at gamma = 1 (interpolation threshold).

The optimally tuned ridge (lam = p sigma^2 / r^2 in X^T X units, the posterior mean under
beta ~ N(0, r^2/p I), which is asymptotically optimal for this model; Dobriban & Wager 2018)
has no peak.

Random ReLU features (Belkin et al. 2019; Mei & Montanari 2019): phi(x) = max(0, W x) with
W_ij ~ N(0, 1/d), minimum-norm least squares on N features. The peak sits near, not exactly
at, N = n on real data: :attr:`DoubleDescentResult.threshold` is the measured arg-max.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reglab.diagnostics._validation import (
    MAX_ABS,
    MAX_COUNT,
    check_array,
    check_bool,
    check_elements,
    check_int,
    check_nonneg_grid,
    check_real,
    check_seed,
    short_repr,
)
from reglab.diagnostics.sweep import ridge_predictions

__all__ = [
    "DoubleDescentResult",
    "double_descent",
    "min_norm_asymptotic_risk",
    "random_features_double_descent",
]


def min_norm_asymptotic_risk(
    gamma, *, signal: float = 1.0, noise: float = 1.0, include_noise: bool = False
):
    """Asymptotic risk of min-norm least squares, isotropic features (Hastie et al. 2019).

    Parameters
    ----------
    gamma : float or array
        p / n (> 0). gamma = 1 gives ``inf``.
    signal : float, default=1.0
        r = ||beta||.
    noise : float, default=1.0
        sigma, the noise standard deviation.
    include_noise : bool, default=False
        Add sigma^2 (test risk against noisy labels instead of excess risk).
    """
    g = check_nonneg_grid(gamma, "gamma", positive=True)
    signal = check_real(signal, "signal", low=0.0, high=MAX_ABS)
    noise = check_real(noise, "noise", low=0.0, high=MAX_ABS)
    include_noise = check_bool(include_noise, "include_noise")
    s2, r2 = noise**2, signal**2
    with np.errstate(divide="ignore", invalid="ignore"):
        under = s2 * g / (1.0 - g)
        over = r2 * (1.0 - 1.0 / g) + s2 / (g - 1.0)
    out = np.where(g < 1, under, np.where(g > 1, over, np.inf))
    if include_noise:
        out = out + s2
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True, repr=False)
class DoubleDescentResult:
    """Test risk along the number of features (or samples).

    Attributes
    ----------
    axis : {"n_features", "n_train"}
        What varies.
    values : ndarray
        Its values.
    n_train : ndarray
        Training-set size for every value.
    risk, risk_se : ndarray
        Mean test risk of the minimum-norm fit over rounds, and its standard error.
    ridge_risk : ndarray
        Test risk of optimally tuned ridge.
    closed_form : ndarray or None
        The asymptotic formula at gamma = p/n (isotropic linear model only).
    threshold : int
        Measured interpolation threshold: the value with the largest mean risk.
    include_noise : bool
    """

    axis: str
    values: np.ndarray
    n_train: np.ndarray
    risk: np.ndarray
    risk_se: np.ndarray
    ridge_risk: np.ndarray
    closed_form: np.ndarray | None
    threshold: int
    include_noise: bool = False

    def __repr__(self) -> str:
        return short_repr(
            self, ("axis", "values", "risk", "ridge_risk", "threshold", "include_noise")
        )

    def plot(self):
        """Risk curve figure (see :func:`plot_double_descent`)."""
        from reglab.diagnostics.plotting import plot_double_descent

        return plot_double_descent(self)


def _positive_ints(name: str, value) -> np.ndarray:
    if isinstance(value, str | bool | np.bool_):
        raise TypeError(f"{name} must be a positive integer or 1-D integers, got {value!r}")
    arr = np.atleast_1d(np.asarray(value))
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer) or np.any(arr < 1):
        raise ValueError(f"{name} must be a positive integer or 1-D integers, got {value!r}")
    return arr.astype(int)


def _ridge_solve(X, y, lam: float) -> np.ndarray:
    """(X^T X + lam I)^{-1} X^T y, through the smaller Gram matrix (push-through identity).

    lam = 0 gives the minimum-norm least-squares solution X^+ y when X has full rank
    (always, almost surely, for Gaussian X); a numerically singular Gram falls back to lstsq.
    """
    n, p = X.shape
    try:
        if p <= n:
            return np.linalg.solve(X.T @ X + lam * np.eye(p), X.T @ y)
        return X.T @ np.linalg.solve(X @ X.T + lam * np.eye(n), y)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(X, y, rcond=None)[0]


def double_descent(
    n_train,
    n_features,
    *,
    signal: float = 1.0,
    noise: float = 1.0,
    rounds: int = 10,
    include_noise: bool = False,
    seed: int = 0,
) -> DoubleDescentResult:
    """Simulate min-norm least squares on the isotropic linear model.

    Exactly one of ``n_train`` and ``n_features`` is a sequence (the axis swept). Each round
    draws beta uniformly on the sphere of radius ``signal``, X with N(0, 1) entries and
    y = X beta + noise * eps, and measures the exact excess risk ||beta_hat - beta||^2
    (valid for isotropic features, no test sampling needed).

    Returns
    -------
    DoubleDescentResult
        With the closed form of :func:`min_norm_asymptotic_risk` for comparison.
    """
    ns, ps = _positive_ints("n_train", n_train), _positive_ints("n_features", n_features)
    if (ns.size > 1) == (ps.size > 1) and not (ns.size == ps.size == 1):
        raise ValueError("exactly one of n_train and n_features must be a sequence")
    rounds = check_int(rounds, "rounds", low=2, high=MAX_COUNT)
    signal = check_real(signal, "signal", low=0.0, low_open=True, high=MAX_ABS)
    noise = check_real(noise, "noise", low=0.0, high=MAX_ABS)
    # each round draws an n x p Gaussian matrix
    check_elements("n_train * n_features", ns.max(), ps.max())
    include_noise = check_bool(include_noise, "include_noise")
    check_seed(seed, allow_generator=False)
    axis = "n_features" if ps.size > 1 or ns.size == 1 else "n_train"
    values = ps if axis == "n_features" else ns
    ns, ps = np.broadcast_arrays(ns, ps)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(values))]
    risk = np.empty((len(values), rounds))
    ridge = np.empty_like(risk)
    for i, (n, p, rng) in enumerate(zip(ns, ps, rngs)):
        lam = p * noise**2 / signal**2
        for r in range(rounds):
            beta = rng.standard_normal(p)
            beta *= signal / np.linalg.norm(beta)
            X = rng.standard_normal((n, p))
            y = X @ beta + noise * rng.standard_normal(n)
            risk[i, r] = np.sum((_ridge_solve(X, y, 0.0) - beta) ** 2)
            ridge[i, r] = np.sum((_ridge_solve(X, y, lam) - beta) ** 2)
    extra = noise**2 if include_noise else 0.0
    mean = risk.mean(axis=1) + extra
    return DoubleDescentResult(
        axis=axis,
        values=values,
        n_train=np.asarray(ns),
        risk=mean,
        risk_se=risk.std(axis=1, ddof=1) / np.sqrt(rounds),
        ridge_risk=ridge.mean(axis=1) + extra,
        closed_form=min_norm_asymptotic_risk(
            ps / ns, signal=signal, noise=noise, include_noise=include_noise
        ),
        threshold=int(values[int(np.argmax(mean))]),
        include_noise=include_noise,
    )


def random_features_double_descent(
    X_train,
    y_train,
    X_test,
    y_test,
    n_features,
    *,
    rounds: int = 3,
    ridge_alphas=None,
    seed: int = 0,
) -> DoubleDescentResult:
    """Test MSE of min-norm least squares on N random ReLU features, for each N.

    Features: phi(x) = max(0, W x) / sqrt(N), W_ij ~ N(0, 1/d), a fresh W per round. Ridge
    on the same features is tuned per N as an oracle on the test set over ``ridge_alphas``
    (default: 30 values geometrically spaced from 1e-6 to 1e2 times the largest squared
    singular value), which is the "optimally tuned ridge" curve. The test risk is the mean
    squared error against ``y_test`` (noise included).
    """
    X_train = check_array(X_train, "X_train", ndim=2, max_abs=MAX_ABS)
    X_test = check_array(X_test, "X_test", ndim=2, max_abs=MAX_ABS)
    y_train = check_array(y_train, "y_train", ndim=1, max_abs=MAX_ABS)
    y_test = check_array(y_test, "y_test", ndim=1, max_abs=MAX_ABS)
    if X_train.shape[1] != X_test.shape[1]:
        raise ValueError(
            f"X_train and X_test must be 2-D with the same columns, got {X_train.shape} "
            f"and {X_test.shape}"
        )
    if y_train.shape != (X_train.shape[0],) or y_test.shape != (X_test.shape[0],):
        raise ValueError(
            f"y_train and y_test must be 1-D matching X, got {y_train.shape} and {y_test.shape}"
        )
    Ns = _positive_ints("n_features", n_features)
    rounds = check_int(rounds, "rounds", low=2, high=MAX_COUNT)
    check_seed(seed, allow_generator=False)
    check_elements("n_samples * n_features", X_train.shape[0] + X_test.shape[0], Ns.max())
    if ridge_alphas is not None:
        ridge_alphas = np.atleast_1d(check_nonneg_grid(ridge_alphas, "ridge_alphas"))
    d = X_train.shape[1]
    rng = np.random.default_rng(seed)
    risk = np.empty((len(Ns), rounds))
    ridge = np.empty_like(risk)
    rel = np.geomspace(1e-6, 1e2, 30) if ridge_alphas is None else None
    for r in range(rounds):
        W_full = rng.standard_normal((int(Ns.max()), d)) / np.sqrt(d)
        for i, N in enumerate(Ns):
            W = W_full[:N]
            F_tr = np.maximum(X_train @ W.T, 0.0) / np.sqrt(N)
            F_te = np.maximum(X_test @ W.T, 0.0) / np.sqrt(N)
            if rel is not None:
                alphas = rel * np.linalg.norm(F_tr, 2) ** 2
            else:
                alphas = np.asarray(ridge_alphas, dtype=float)
            preds = ridge_predictions(
                F_tr, y_train, F_te, np.concatenate([[0.0], alphas]), fit_intercept=False
            )
            mse = np.mean((preds - y_test) ** 2, axis=1)
            risk[i, r], ridge[i, r] = mse[0], mse[1:].min()
    mean = risk.mean(axis=1)
    return DoubleDescentResult(
        axis="n_features",
        values=Ns,
        n_train=np.full(len(Ns), X_train.shape[0]),
        risk=mean,
        risk_se=risk.std(axis=1, ddof=1) / np.sqrt(rounds),
        ridge_risk=ridge.mean(axis=1),
        closed_form=None,
        threshold=int(Ns[int(np.argmax(mean))]),
        include_noise=True,
    )
