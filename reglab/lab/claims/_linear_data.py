"""Data and small measurements shared by the parameter-penalty claims (private).

Designs are standardised so that every column has mean 0 and ``||x_j||^2 = n``: then the
1/(2n) objective scaling of :mod:`reglab.linear` puts ``X^T X / n`` on the correlation scale
and one ``alpha`` means the same thing on every design. Everything random is drawn from a
``numpy.random.Generator`` built from the run's seed.
"""

from __future__ import annotations

import warnings

import numpy as np


def standardize(X: np.ndarray) -> np.ndarray:
    """Centre each column and scale it to unit variance (``||x_j||^2 = n``)."""
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    sd = X.std(axis=0)
    if np.any(sd == 0):
        raise ValueError(f"X has constant columns {np.flatnonzero(sd == 0).tolist()}")
    return X / sd


def diabetes(rng: np.random.Generator, *, bootstrap: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes data (442 x 10), resampled with replacement when ``bootstrap``.

    Returns the standardised design and the centred target.
    """
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    if bootstrap:
        idx = rng.integers(0, X.shape[0], X.shape[0])
        X, y = X[idx], y[idx]
    return standardize(X), y - y.mean()


def correlated_gaussian(rng: np.random.Generator, n: int, p: int, rho: float) -> np.ndarray:
    """``n`` draws of a p-variate Gaussian with equicorrelation ``rho`` in [0, 1), standardised.

    ``x = sqrt(rho) z + sqrt(1 - rho) e`` with one shared ``z`` per row: the population
    ``X^T X / n`` has one eigenvalue ``1 + (p - 1) rho`` and ``p - 1`` equal to ``1 - rho``.
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got rho={rho!r}")
    shared = rng.standard_normal((n, 1))
    return standardize(np.sqrt(rho) * shared + np.sqrt(1.0 - rho) * rng.standard_normal((n, p)))


def correlated_pairs(
    rng: np.random.Generator, n: int, n_pairs: int, rho: float, n_noise: int = 0
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Columns ``(2k, 2k+1)`` share a latent factor with correlation ``rho``.

    The two columns of a pair are ``sqrt(rho) z_k + sqrt(1 - rho) e``, so their population
    correlation is ``rho``; ``n_noise`` independent columns follow. The target is
    ``y = sum_k (x_{2k} + x_{2k+1}) + noise`` (unit noise): both members of every pair carry
    the same true weight, so the balanced answer is the right one.

    Returns
    -------
    X : ndarray of shape (n, 2 n_pairs + n_noise), standardised
    y : ndarray of shape (n,), centred
    pairs : list of (int, int)
    """
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1), got rho={rho!r}")
    cols = []
    for _ in range(n_pairs):
        z = rng.standard_normal(n)
        for _ in range(2):
            cols.append(np.sqrt(rho) * z + np.sqrt(1.0 - rho) * rng.standard_normal(n))
    cols += [rng.standard_normal(n) for _ in range(n_noise)]
    X = standardize(np.column_stack(cols))
    y = X[:, : 2 * n_pairs].sum(axis=1) + rng.standard_normal(n)
    return X, y - y.mean(), [(2 * k, 2 * k + 1) for k in range(n_pairs)]


def breast_cancer_pairs(
    rng: np.random.Generator, *, min_corr: float = 0.95, bootstrap: bool = True
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """breast_cancer (569 x 30, standardised), its label as a centred 0/1 target.

    ``pairs`` are the feature pairs whose correlation on the full data exceeds ``min_corr``
    (mean radius / mean perimeter reach 0.998), taken greedily from the most correlated so
    that no feature is in two pairs.
    """
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    C = np.corrcoef(X, rowvar=False)
    iu = np.triu_indices_from(C, k=1)
    order = np.argsort(-C[iu])
    used: set[int] = set()
    pairs = []
    for k in order:
        i, j = int(iu[0][k]), int(iu[1][k])
        if C[i, j] < min_corr:
            break
        if i not in used and j not in used:
            pairs.append((i, j))
            used |= {i, j}
    if bootstrap:
        idx = rng.integers(0, X.shape[0], X.shape[0])
        X, y = X[idx], y[idx]
    y = y.astype(np.float64)
    return standardize(X), y - y.mean(), pairs


def pair_imbalance(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """``|w1 - w2| / (|w1| + |w2|)`` (NaN where both are zero).

    For two weights of the same sign this is 0 when they are equal and 1 when one of them
    is exactly zero; it does not care which one dominates.
    """
    w1, w2 = np.asarray(w1, dtype=float), np.asarray(w2, dtype=float)
    den = np.abs(w1) + np.abs(w2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, np.abs(w1 - w2) / den, np.nan)


def flip_rate(w1: np.ndarray, w2: np.ndarray) -> float:
    """Fraction of resamples in which the usually smaller member of a pair dominates.

    With ``d_b = [|w1_b| > |w2_b|]`` over the resamples where the two differ, the flip rate
    is ``min(mean(d), 1 - mean(d))``: 0 when the same feature always wins, 0.5 for a coin flip.
    """
    a1, a2 = np.abs(np.asarray(w1, dtype=float)), np.abs(np.asarray(w2, dtype=float))
    differ = a1 != a2
    if not np.any(differ):
        return 0.0
    d = float(np.mean(a1[differ] > a2[differ]))
    return min(d, 1.0 - d)


def fit_quiet(estimator, X: np.ndarray, y: np.ndarray):
    """Fit ``estimator`` and return ``(estimator, converged)``.

    A ConvergenceWarning is recorded instead of raised (the lab runs under warnings-as-errors
    in tests); the claim reports non-convergence in its metrics, never hides it.
    """
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(X, y)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    return estimator, converged


def path_quiet(path_fn, X: np.ndarray, y: np.ndarray, **kwargs):
    """Call a path function (``lasso_path``, ``enet_path``...) as :func:`fit_quiet` does."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        res = path_fn(X, y, **kwargs)
    converged = not any(issubclass(c.category, ConvergenceWarning) for c in caught)
    return res, converged
