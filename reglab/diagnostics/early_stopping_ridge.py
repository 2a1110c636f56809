r"""Early-stopped gradient descent as ridge regression.

Least squares in the 1/(2n) scaling, f(w) = 1/(2n) ||y - X w||^2, no intercept (centre X and
y first). With the thin SVD X = U diag(s) V^T every method below is a *spectral filter*:
w = V diag(phi_i / s_i) U^T y, and they differ only in phi:

- gradient descent from w_0 = 0 with step ``lr``, after t steps
  (w_t = w_{t-1} + lr/n X^T (y - X w_{t-1})):   phi_i = 1 - (1 - lr s_i^2 / n)^t;
- gradient flow at time T = lr t:                   phi_i = 1 - exp(-T s_i^2 / n);
- ridge, min 1/(2n) ||y - Xw||^2 + lam/2 ||w||^2:   phi_i = s_i^2 / (s_i^2 + n lam).

Matching T = 1/lam gives lam = 1/(lr t) in the 1/(2n) scaling. scikit-learn's ``Ridge``
minimises ||y - Xw||^2 + alpha ||w||^2, so the same estimator is ``Ridge(alpha=n/(lr t),
fit_intercept=False)``.

Ali, Kolter & Tibshirani (2019, "A continuous-time view of early stopping for least
squares", AISTATS) show for every X and every coefficient vector beta that
bias^2(GF, T) <= bias^2(ridge, 1/T) (since exp(-x) <= 1/(1+x)) and
var(GF, T) <= 1.6862 var(ridge, 1/T) (the maximum over x of
(1 - exp(-x))^2 (1 + x)^2 / x^2), hence risk(GF, T) <= 1.6862 risk(ridge, 1/T). The
coefficients themselves differ; compare risks.

Risk here is the estimation risk E ||w_hat - beta||^2 over the noise, for fixed X and
y = X beta + sigma eps; for isotropic features (x ~ N(0, I)) it equals the excess
out-of-sample prediction risk. Coefficients outside the row space of X are never learnt and
count fully in the bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reglab.diagnostics._validation import (
    MAX_ABS,
    MAX_COUNT,
    check_array,
    check_int,
    check_nonneg_grid,
    check_real,
    check_Xy,
    rank_tolerance,
    short_repr,
)

__all__ = [
    "ALI_KOLTER_TIBSHIRANI_BOUND",
    "EarlyStoppingRidge",
    "early_stopping_as_ridge",
    "gd_filter",
    "gradient_descent_iterates",
    "ridge_filter",
]

#: max_x (1 - e^{-x})^2 (1 + x)^2 / x^2, the variance constant of Ali, Kolter & Tibshirani
ALI_KOLTER_TIBSHIRANI_BOUND = 1.6862


def _check_s_n(s, n) -> tuple[np.ndarray, int]:
    s = check_array(s, "s", ndim=1, nonneg=True, max_abs=MAX_ABS)
    return s, check_int(n, "n", low=1)


def gd_filter(s, lr: float, steps, n: int) -> np.ndarray:
    """GD filter factors 1 - (1 - lr s^2 / n)^t, shape (len(steps), len(s)) or (len(s),).

    Parameters
    ----------
    s : array-like of shape (k,)
        Singular values of X (finite, >= 0).
    lr : float
        Step size (> 0). Beyond the stability bound 2 n / s_i^2 the factor of direction i
        grows without bound, exactly as gradient descent diverges there.
    steps : int or array-like of ints
        Number of steps t (>= 0).
    n : int
        Number of rows of X (>= 1), the 1/(2n) scaling of the loss.
    """
    s, n = _check_s_n(s, n)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    t = check_nonneg_grid(steps, "steps")
    if np.any(t != np.round(t)):
        raise ValueError(f"steps must be whole numbers of steps, got steps={steps!r}")
    with np.errstate(over="ignore"):
        out = 1.0 - (1.0 - lr * s**2 / n) ** t[..., None]
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"lr={lr!r} is beyond the stability bound 2n/s_max^2 = {2 * n / np.max(s) ** 2:.4g} "
            "and the filter overflows: gradient descent diverges at this step size"
        )
    return out


def gf_filter(s, time, n: int) -> np.ndarray:
    """Gradient-flow filter factors 1 - exp(-T s^2 / n), time T >= 0."""
    s, n = _check_s_n(s, n)
    T = check_nonneg_grid(time, "time")
    return -np.expm1(-T[..., None] * s**2 / n)


def ridge_filter(s, lam, n: int) -> np.ndarray:
    """Ridge filter factors s^2 / (s^2 + n lam) for lam in the 1/(2n) scaling.

    ``lam`` (finite, >= 0; scalar or 1-D) may be 0 only where every s > 0 (0/0 otherwise).
    """
    s, n = _check_s_n(s, n)
    lam = check_nonneg_grid(lam, "lam")
    den = s**2 + n * lam[..., None]
    if np.any(den == 0):
        raise ValueError("lam=0 with a zero singular value gives 0/0; use lam > 0")
    return s**2 / den


def gradient_descent_iterates(X, y, lr: float, steps: int) -> np.ndarray:
    """Plain gradient descent on 1/(2n) ||y - Xw||^2 from zero; all iterates.

    Runs :class:`reglab.linear.GradientDescent` (fixed step ``lr``, exactly ``steps`` steps,
    no intercept, iterate history kept) through ``reglab.linear.Ridge(alpha=0)``; the
    spectral formula of :func:`early_stopping_as_ridge` is checked against it.

    Parameters
    ----------
    X : array-like of shape (n, p)
    y : array-like of shape (n,)
    lr : float
        Step size, 0 < lr < 2 / L with L = s_max^2 / n the Lipschitz constant of the
        gradient; at or beyond 2 / L the iterates diverge (their error along the top
        singular direction is multiplied by ``|1 - lr L| >= 1`` at every step), so such a step
        is refused with the bound in the message.
    steps : int
        Number of steps (>= 1).

    Returns
    -------
    ndarray of shape (steps + 1, p)
        w_0 = 0, w_1, ..., w_steps.
    """
    from reglab.linear import GradientDescent, Ridge

    X, y = check_Xy(X, y)
    steps = check_int(steps, "steps", low=1, high=MAX_COUNT)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    L = np.linalg.norm(X, 2) ** 2 / X.shape[0]
    if lr >= 2.0 / L:
        raise ValueError(
            f"lr={lr!r} is at or beyond the stability bound 2/L = {2.0 / L:.6g} "
            f"(L = s_max^2 / n = {L:.6g}): gradient descent would diverge"
        )
    gd = GradientDescent(tol=None, max_iter=steps, step=lr, keep_history=True)
    Ridge(alpha=0.0, solver=gd, fit_intercept=False).fit(X, y)
    return gd.history_


def _risk(phi, s, beta_v, beta_null2, noise):
    """bias^2 and variance of the filter estimator V diag(phi/s) U^T y."""
    bias2 = np.sum((1.0 - phi) ** 2 * beta_v**2, axis=-1) + beta_null2
    var = noise**2 * np.sum(phi**2 / s**2, axis=-1)
    return bias2, var


@dataclass(frozen=True, repr=False)
class EarlyStoppingRidge:
    """Gradient descent after ``steps`` steps and its ridge counterpart.

    Attributes
    ----------
    lr, steps : float, int
    time : float
        Gradient-flow time T = lr * steps.
    lam : float
        Equivalent ridge strength 1/(lr * steps) in the 1/(2n) scaling.
    sklearn_alpha : float
        The same for scikit-learn's ``Ridge``: n / (lr * steps).
    singular_values : ndarray (k,)
    gd_filter, gf_filter, ridge_filter : ndarray (k,)
    gd_coef, ridge_coef : ndarray (p,)
    risks : dict or None
        With a true coefficient vector: ``{"gd", "gf", "ridge"}`` -> (bias^2, variance,
        risk), plus ``"ratio_gf"`` = risk(GF)/risk(ridge) and ``"ratio_gd"``.
    curve : dict or None
        Risks along a grid of steps (``"steps"``, ``"gd"``, ``"gf"``, ``"ridge"``), for the
        figure.
    """

    lr: float
    steps: int
    time: float
    lam: float
    sklearn_alpha: float
    singular_values: np.ndarray
    gd_filter: np.ndarray
    gf_filter: np.ndarray
    ridge_filter: np.ndarray
    gd_coef: np.ndarray
    ridge_coef: np.ndarray
    risks: dict | None = None
    curve: dict | None = None

    def __repr__(self) -> str:
        return short_repr(
            self, ("lr", "steps", "time", "lam", "sklearn_alpha", "singular_values", "risks")
        )

    def plot(self):
        """Filter factors and risk curves (see :func:`plot_early_stopping`)."""
        from reglab.diagnostics.plotting import plot_early_stopping

        return plot_early_stopping(self)


def early_stopping_as_ridge(
    X, y, lr: float, steps: int, *, coef=None, noise: float | None = None, generator=None
) -> EarlyStoppingRidge:
    """Compare gradient descent after ``steps`` steps with ridge at lam = 1/(lr * steps).

    Parameters
    ----------
    X : array-like of shape (n, p)
    y : array-like of shape (n,)
    lr : float
        Step size, 0 < lr < 2 n / s_max^2 (GD diverges beyond).
    steps : int
        Number of GD steps (>= 1).
    coef : array-like of shape (p,), optional
        True coefficients; with ``noise`` gives the exact risks.
    noise : float, optional
        Noise standard deviation sigma.
    generator : SyntheticRegression, optional
        A linear generator; supplies ``coef`` and ``noise``.

    Returns
    -------
    EarlyStoppingRidge
    """
    X, y = check_Xy(X, y)
    steps = check_int(steps, "steps", low=1, high=MAX_COUNT)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    n = X.shape[0]
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    if s[0] == 0:
        raise ValueError("X is all zeros: there is nothing to fit")
    keep = s > rank_tolerance(X.shape, s[0])
    U, s, Vt = U[:, keep], s[keep], Vt[keep]
    lr_max = 2 * n / s[0] ** 2
    if lr >= lr_max:
        raise ValueError(f"lr must be in (0, 2n/s_max^2) = (0, {lr_max:.4g}), got {lr!r}")
    time = lr * steps
    lam = 1.0 / time
    phi_gd = gd_filter(s, lr, steps, n)
    phi_gf = gf_filter(s, time, n)
    phi_r = ridge_filter(s, lam, n)
    uty = U.T @ y
    risks = curve = None
    if generator is not None:
        if getattr(generator, "function", None) != "linear" or not hasattr(generator, "coef"):
            raise ValueError("generator must be a linear SyntheticRegression (function='linear')")
        coef, noise = generator.coef, generator.noise
    if coef is not None:
        coef = check_array(coef, "coef", ndim=1)
        if coef.shape != (X.shape[1],):
            raise ValueError(f"coef must have shape ({X.shape[1]},), got {coef.shape}")
        if noise is None:
            raise ValueError("noise must be given with coef (the noise standard deviation)")
        noise = check_real(noise, "noise", low=0.0)
        beta_v = Vt @ coef
        beta_null2 = max(float(coef @ coef - beta_v @ beta_v), 0.0)
        risks = {}
        for name, phi in (("gd", phi_gd), ("gf", phi_gf), ("ridge", phi_r)):
            b, v = _risk(phi, s, beta_v, beta_null2, noise)
            risks[name] = (float(b), float(v), float(b + v))
        risks["ratio_gf"] = risks["gf"][2] / risks["ridge"][2]
        risks["ratio_gd"] = risks["gd"][2] / risks["ridge"][2]
        grid = np.unique(np.geomspace(1, max(steps, 2) * 4, 60).astype(int))
        curve = {"steps": grid, "lr": lr}
        for name, phi in (
            ("gd", gd_filter(s, lr, grid, n)),
            ("gf", gf_filter(s, lr * grid, n)),
            ("ridge", ridge_filter(s, 1.0 / (lr * grid), n)),
        ):
            b, v = _risk(phi, s, beta_v, beta_null2, noise)
            curve[name] = b + v
    elif noise is not None:
        raise ValueError("noise without coef has no effect; pass coef too (or a generator)")
    return EarlyStoppingRidge(
        lr=float(lr),
        steps=int(steps),
        time=float(time),
        lam=float(lam),
        sklearn_alpha=float(n * lam),
        singular_values=s,
        gd_filter=phi_gd,
        gf_filter=phi_gf,
        ridge_filter=phi_r,
        gd_coef=Vt.T @ (phi_gd / s * uty),
        ridge_coef=Vt.T @ (phi_r / s * uty),
        risks=risks,
        curve=curve,
    )
