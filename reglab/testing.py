"""Public conformance checks: run them on any penalty or datafit, yours included.

Each check raises ``AssertionError`` with a message that names what failed; it returns
``None`` when everything holds.  They test mathematics, not code paths:

- :func:`check_penalty`: the prox against a numerical argmin, Fermat's rule at the prox
  (``subdiff_distance = 0``), the Fenchel-Young inequality for the conjugate, and that
  ``alpha_max`` gives the zero solution while a slightly smaller alpha does not;
- :func:`check_datafit`: the gradient against central finite differences, the Hessian
  diagonal against differences of the gradient, the Lipschitz constants on random pairs,
  Fenchel-Young equality of ``dual_value`` at ``theta = -grad``, and that integer sample
  weights equal repeated rows.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = ["check_penalty", "check_datafit"]


def _fail(msg: str) -> None:
    raise AssertionError(msg)


def check_penalty(penalty, *, n_features: int = 6, random_state: int = 0, atol: float = 1e-6):
    """Check a separable penalty's prox, subdifferential, conjugate and ``alpha_max``.

    Parameters
    ----------
    penalty : L1, L2, L1L2 or any object with the same methods
        Its ``weights`` (if any) must have ``n_features`` entries.
    n_features : int, default=6
    random_state : int, default=0
    atol : float, default=1e-6
        Tolerance on the prox against the numerical argmin.
    """
    rng = np.random.default_rng(random_state)
    name = repr(penalty)
    w = 2.0 * rng.standard_normal(n_features)
    w[0] = 0.0
    for step in (0.1, 1.0, 3.0):
        z = penalty.prox(w, step)
        if z.shape != w.shape:
            _fail(f"{name}: prox returned shape {z.shape}, expected {w.shape}")
        for j in range(n_features):

            def obj(t, j=j, z=z, step=step):
                v = z.copy()
                v[j] = t
                return (t - w[j]) ** 2 / (2 * step) + penalty.value(v)

            lo, hi = min(w[j], 0.0) - 1.0, max(w[j], 0.0) + 1.0
            if penalty.positive:
                lo = 0.0
            res = minimize_scalar(obj, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
            if obj(z[j]) > obj(res.x) + 1e-10 or abs(z[j] - res.x) > atol:
                _fail(
                    f"{name}: prox(w, {step})[{j}] = {z[j]!r} but the numerical argmin is "
                    f"{res.x!r} (objective {obj(z[j])!r} vs {obj(res.x)!r})"
                )
        # Fermat's rule: (w - z) / step is a subgradient of g at z
        dist = penalty.subdiff_distance(z, -(w - z) / step)
        if np.max(dist) > 1e-10:
            _fail(f"{name}: subdiff_distance at the prox point is {np.max(dist)!r}, expected 0")
    # Fenchel-Young: g(w) + g*(u) >= w.u, with equality at u in the subdifferential
    for _ in range(5):
        u = rng.standard_normal(n_features)
        wp = np.abs(w) if penalty.positive else w
        if penalty.value(wp) + penalty.conjugate(u) < wp @ u - 1e-10:
            _fail(f"{name}: Fenchel-Young inequality g(w) + g*(u) >= w.u fails")
    wp = np.abs(w) + 0.5
    wp[0] = 0.0
    u = penalty.subgradient(wp) if hasattr(penalty, "subgradient") else None
    if u is not None:
        gap = penalty.value(wp) + penalty.conjugate(u) - wp @ u
        if abs(gap) > 1e-8 * (1 + abs(wp @ u)):
            _fail(f"{name}: g(w) + g*(u) - w.u = {gap!r} at a subgradient u, expected 0")
    _check_alpha_max(penalty, n_features, rng, name)


def _check_alpha_max(penalty, n_features, rng, name):
    from reglab.linear._problem import make_problem
    from reglab.linear.datafits import Quadratic
    from reglab.linear.solvers import FISTA

    n = 3 * n_features
    X = rng.standard_normal((n, n_features))
    y = X @ rng.standard_normal(n_features) + rng.standard_normal(n)
    problem = make_problem(X, y, Quadratic(), fit_intercept=True)
    grad0 = problem.rmatvec(-problem.y / n)
    amax = penalty.alpha_max(grad0)
    pen_mask = penalty.with_alpha(1.0).is_penalized(n_features)
    if not np.isfinite(amax):
        if getattr(penalty, "_rho", 1.0) != 0:
            _fail(f"{name}: alpha_max is {amax!r} for a penalty with an L1 part")
        return
    if not np.all(pen_mask):
        return  # unpenalised features are fitted at zero penalty: alpha_max concerns the rest
    at_max = penalty.with_alpha(amax)
    if np.max(at_max.subdiff_distance(np.zeros(n_features), grad0)) > 1e-10 * (1 + amax):
        _fail(f"{name}: w = 0 is not optimal at alpha_max = {amax!r}")
    res = FISTA(tol=1e-10, max_iter=20000).solve(problem, at_max)
    if np.any(res.coef != 0):
        _fail(f"{name}: the solution at alpha_max = {amax!r} is not exactly zero: {res.coef!r}")
    below = penalty.with_alpha(0.9 * amax)
    if np.max(below.subdiff_distance(np.zeros(n_features), grad0)) <= 0:
        _fail(f"{name}: w = 0 is still optimal at 0.9 * alpha_max; alpha_max is too large")


def _problem_data(datafit, n, rng):
    from reglab.linear.datafits import Logistic, Multinomial

    if isinstance(datafit, Multinomial):
        return rng.integers(0, 3, n).astype(np.float64), 3
    if isinstance(datafit, Logistic):
        return np.where(rng.random(n) < 0.5, -1.0, 1.0), 1
    return rng.standard_normal(n), 1


def check_datafit(
    datafit, *, n_samples: int = 15, n_features: int = 4, random_state: int = 0, rtol: float = 1e-5
):
    """Check a datafit's derivatives, Lipschitz constants, dual and sample weights.

    Parameters
    ----------
    datafit : Quadratic, Logistic, Multinomial or an object with the same methods
    n_samples, n_features, random_state : int
    rtol : float, default=1e-5
        Relative tolerance against finite differences.
    """
    rng = np.random.default_rng(random_state)
    name = repr(datafit)
    y, K = _problem_data(datafit, n_samples, rng)
    X = rng.standard_normal((n_samples, n_features))
    shape = (n_features,) if K == 1 else (n_features, K)
    sw = rng.uniform(0.5, 2.0, n_samples)
    for weights in (None, sw):
        w = rng.standard_normal(shape)

        def f(v, weights=weights):
            return datafit.value(y, X @ v.reshape(shape), weights)

        g = datafit.gradient(X, y, w, 0.0, weights)
        h = 1e-6
        num = np.zeros(w.size)
        for k in range(w.size):
            e = np.zeros(w.size)
            e[k] = h
            num[k] = (f(w.ravel() + e) - f(w.ravel() - e)) / (2 * h)
        if not np.allclose(g.ravel(), num, rtol=rtol, atol=rtol * (1 + np.abs(num).max())):
            _fail(f"{name}: gradient differs from finite differences: {g.ravel()!r} vs {num!r}")
        if K == 1 and hasattr(datafit, "raw_hessian"):
            z = X @ w
            hd = datafit.raw_hessian(y, z, weights)
            num_h = (
                datafit.raw_gradient(y, z + h, weights) - datafit.raw_gradient(y, z - h, weights)
            ) / (2 * h)
            if not np.allclose(hd, num_h, rtol=1e-4, atol=1e-8):
                _fail(f"{name}: raw_hessian differs from differences of raw_gradient")
        L = datafit.lipschitz(X, weights)
        Lj = datafit.coordinate_lipschitz(X, weights)
        for _ in range(10):
            w1, w2 = rng.standard_normal(shape) * 3, rng.standard_normal(shape) * 3
            d = np.linalg.norm(
                datafit.gradient(X, y, w1, 0.0, weights) - datafit.gradient(X, y, w2, 0.0, weights)
            )
            if d > L * np.linalg.norm(w1 - w2) * (1 + 1e-8) + 1e-12:
                _fail(f"{name}: gradient is not {L!r}-Lipschitz: ||grad diff|| = {d!r}")
            j = int(rng.integers(n_features))
            w3 = w1.copy()
            w3[j] += 1.7
            dj = np.linalg.norm(
                (
                    datafit.gradient(X, y, w3, 0.0, weights)
                    - datafit.gradient(X, y, w1, 0.0, weights)
                )[j]
            )
            if dj > Lj[j] * 1.7 * (1 + 1e-8) * (np.sqrt(K) if K > 1 else 1) + 1e-12:
                _fail(f"{name}: coordinate {j} gradient exceeds its Lipschitz constant {Lj[j]!r}")
        # Fenchel-Young equality at theta = -grad F(z): -F*(-theta) = F(z) + z.theta
        z = X @ w
        theta = -datafit.raw_gradient(y, z, weights)
        lhs = datafit.dual_value(y, theta, weights)
        rhs = datafit.value(y, z, weights) + np.sum(z * theta)
        if not np.isclose(lhs, rhs, rtol=1e-8, atol=1e-10):
            _fail(
                f"{name}: dual_value at theta = -grad is {lhs!r}, expected F(z) + z.theta = {rhs!r}"
            )
        # weak duality: the dual at another feasible theta lies below F(z) + z.theta
        theta2 = -datafit.raw_gradient(y, X @ rng.standard_normal(shape), weights)
        if (
            datafit.dual_value(y, theta2, weights)
            > datafit.value(y, z, weights) + np.sum(z * theta2) + 1e-10
        ):
            _fail(f"{name}: dual_value violates the Fenchel-Young inequality")
    # integer weights equal repeated rows
    reps = rng.integers(1, 4, n_samples)
    w = rng.standard_normal(shape)
    z = X @ w
    a = datafit.value(y, z, reps.astype(float))
    b = datafit.value(np.repeat(y, reps), np.repeat(z, reps, axis=0), None)
    if not np.isclose(a, b, rtol=1e-10):
        _fail(f"{name}: integer sample weights ({a!r}) differ from repeated rows ({b!r})")
