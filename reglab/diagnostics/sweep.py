r"""Bias-variance along a hyper-parameter: the U-curve.

Every round draws *one* training set and fits every value of the parameter on it (common
random numbers), so differences between neighbouring values are not blurred by different
training sets.

Ridge fast path. For scikit-learn's ``Ridge`` (and reglab's, whose alpha is converted:
alpha_sklearn = n alpha) swept over ``alpha`` (objective
||y - Xw||^2 + alpha ||w||^2, intercept unpenalised), one thin SVD of the centred training
matrix X_c = U S V^T gives every alpha at once:

    yhat(alpha) = ybar + (X_test - xbar) V diag(s_i / (s_i^2 + alpha)) U^T (y - ybar),

so a round costs one SVD plus an (n_test x k) by (k x n_alphas) product instead of one
factorisation per alpha.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reglab.diagnostics.bias_variance import BiasVarianceResult, _run
from reglab.diagnostics.generators import Generator

__all__ = ["BiasVarianceSweep", "bias_variance_sweep"]


@dataclass(frozen=True)
class BiasVarianceSweep:
    """Bias-variance results along one parameter.

    Attributes
    ----------
    param : str
    values : ndarray
    results : list of BiasVarianceResult
        One per value, all from the same training sets.
    """

    param: str
    values: np.ndarray
    results: list

    def _get(self, name: str) -> np.ndarray:
        return np.array([getattr(r, name) for r in self.results])

    @property
    def bias2(self) -> np.ndarray:
        return self._get("bias2")

    @property
    def variance(self) -> np.ndarray:
        return self._get("variance")

    @property
    def noise(self) -> np.ndarray:
        return self._get("noise")

    @property
    def expected_loss(self) -> np.ndarray:
        return self._get("expected_loss")

    @property
    def standard_error(self) -> np.ndarray:
        return self._get("standard_error")

    @property
    def identity_error(self) -> np.ndarray:
        return self._get("identity_error")

    @property
    def best_value(self):
        """The value with the lowest measured expected test loss."""
        return self.values[int(np.argmin(self.expected_loss))]

    def plot(self):
        """The U-curve figure (see :func:`plot_bias_variance_sweep`)."""
        from reglab.diagnostics.plotting import plot_bias_variance_sweep

        return plot_bias_variance_sweep(self)


def bias_variance_sweep(
    make_estimator,
    generator: Generator,
    *,
    param: str = "alpha",
    values,
    n_train: int,
    n_test: int,
    rounds: int,
    loss: str = "squared",
    n_jobs: int = 1,
    scheduler=None,
    seed: int = 0,
) -> BiasVarianceSweep:
    """Bias, variance and test loss for every value of one hyper-parameter.

    Parameters
    ----------
    make_estimator : scikit-learn estimator or callable
        As in :func:`bias_variance`; the parameter is set with ``set_params(param=value)``
        or passed to a training function as the keyword ``param=value``.
    param : str, default="alpha"
    values : sequence
        Values of ``param`` (at least one).
    n_train, n_test, rounds, loss, n_jobs, scheduler, seed
        As in :func:`bias_variance`.

    Returns
    -------
    BiasVarianceSweep
    """
    if not isinstance(param, str) or not param:
        raise ValueError(f"param must be a parameter name, got {param!r}")
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {values.shape}")
    results: list[BiasVarianceResult] = _run(
        make_estimator,
        generator,
        n_train,
        n_test,
        rounds,
        loss,
        n_jobs,
        scheduler,
        seed,
        param,
        values,
    )
    return BiasVarianceSweep(param=param, values=values, results=results)


def _ridge_alpha_scale(est, param: str, loss: str, n: int) -> float | None:
    """Factor turning ``est``'s alpha into scikit-learn's, or None if no fast path.

    scikit-learn's ``Ridge``: 1. reglab's ``Ridge`` (1/(2n) scaling, exact closed-form
    solver, no feature weights): n.
    """
    if param != "alpha" or loss != "squared" or not hasattr(est, "get_params"):
        return None
    p = est.get_params()
    if p.get("positive", False) or np.ndim(p.get("alpha")) != 0:
        return None
    cls = type(est)
    if cls.__name__ != "Ridge":
        return None
    if cls.__module__.startswith("sklearn.linear_model"):
        return 1.0
    if cls.__module__.startswith("reglab.linear") and p.get("weights") is None:
        if p.get("solver") in ("auto", "closed_form"):
            return float(n)
    return None


def ridge_predictions(
    X, y, X_test, alphas, *, fit_intercept: bool = True, method: str = "auto"
) -> np.ndarray:
    """Ridge predictions for every alpha from one factorisation, shape (n_alphas, n_test).

    Objective ||y - X w - b||^2 + alpha ||w||^2 (scikit-learn's ``Ridge``), intercept b
    unpenalised.

    Parameters
    ----------
    method : {"auto", "gram", "svd"}, default="auto"
        ``"gram"``: one eigendecomposition of the smaller Gram matrix, X^T X = V diag(l) V^T
        (n >= p; predictions z V diag(1/(l + alpha)) V^T X^T y) or X X^T (n < p, through the
        kernel form); about 5x cheaper than the SVD for tall X, with the accuracy of a
        Cholesky solve, so it needs alpha > 0. ``"svd"``: thin SVD X = U S V^T; directions
        with s_i <= max(n, p) eps s_max are dropped, which gives the minimum-norm solution
        at alpha = 0. ``"auto"``: Gram when every alpha > 0, SVD otherwise.
    """
    X, y, X_test = np.asarray(X, float), np.asarray(y, float), np.asarray(X_test, float)
    alphas = np.asarray(alphas, dtype=float)
    if np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alphas must be finite and non-negative, got {alphas}")
    if method not in ("auto", "gram", "svd"):
        raise ValueError(f"method must be 'auto', 'gram' or 'svd', got {method!r}")
    if method == "auto":
        method = "gram" if np.all(alphas > 0) else "svd"
    if method == "gram" and np.any(alphas <= 0):
        raise ValueError("method='gram' needs every alpha > 0; use method='svd' for alpha = 0")
    if fit_intercept:
        x_mean, y_mean = X.mean(axis=0), y.mean()
    else:
        x_mean, y_mean = np.zeros(X.shape[1]), 0.0
    Xc, yc, Zc = X - x_mean, y - y_mean, X_test - x_mean
    if method == "gram":
        n, p = Xc.shape
        if n >= p:
            lam, V = np.linalg.eigh(Xc.T @ Xc)
            proj, z = V.T @ (Xc.T @ yc), Zc @ V
        else:  # w = X^T (X X^T + alpha)^{-1} y
            lam, U = np.linalg.eigh(Xc @ Xc.T)
            proj, z = U.T @ yc, Zc @ Xc.T @ U
        filt = 1.0 / (np.maximum(lam, 0.0)[:, None] + alphas[None, :])
        return (z @ (filt * proj[:, None])).T + y_mean
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    keep = s > max(X.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    filt = s[:, None] / (s[:, None] ** 2 + alphas[None, :])  # (k, n_alphas)
    return ((Zc @ Vt.T) @ (filt * (U.T @ yc)[:, None])).T + y_mean


def fast_ridge_predictions(est, param, values, X, y, X_test, loss):
    """All-alpha predictions for a plain ridge estimator, or None if not applicable."""
    scale = _ridge_alpha_scale(est, param, loss, len(y))
    if scale is None:
        return None
    values = np.asarray(values, dtype=float)
    if np.any(values <= 0):
        return None  # the estimators' own alpha=0 handling differs by solver: do not emulate
    fit_intercept = est.get_params()["fit_intercept"]
    return ridge_predictions(X, y, X_test, scale * values, fit_intercept=fit_intercept)
