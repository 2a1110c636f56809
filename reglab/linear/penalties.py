"""Separable penalties: L1 (lasso), L2 (ridge) and L1L2 (elastic net), with feature weights.

Every penalty here is a sum over coordinates of

.. math::

    g_j(w_j) = \\alpha c_j \\left( \\rho |w_j| + \\frac{1 - \\rho}{2} w_j^2 \\right)
               \\; [+\\, \\iota_{w_j \\geq 0} \\text{ if positive}],

with ``rho`` the L1 ratio (1 for L1, 0 for L2) and ``c_j >= 0`` the feature weights.  A zero
weight leaves feature ``j`` unpenalised.  The scaling is scikit-learn's (and glmnet's for the
Gaussian family): ``ElasticNet(alpha, l1_ratio)`` minimises
``1/(2n)||y - Xw||^2 + alpha * (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)``.

Because each ``g_j`` is a scaled absolute value plus a scaled square, every solver can read the
penalty as two arrays ``(a, b)`` with ``g_j(w) = a_j |w| + b_j w^2 / 2``
(:meth:`separable_coefficients`); coordinate descent uses exactly that.  The proximal operator
is soft-thresholding followed by shrinkage (Zou & Hastie, 2005, "Regularization and variable
selection via the elastic net", JRSS-B 67(2)).
"""

from __future__ import annotations

import numpy as np

from reglab.linear._validation import check_l1_ratio, check_scalar_nonneg, check_weights

__all__ = ["L1", "L2", "L1L2"]


class _SeparablePenalty:
    """Shared implementation of ``alpha * c_j * (rho |w_j| + (1 - rho)/2 w_j^2)``."""

    _rho: float = 1.0

    def __init__(self, alpha: float = 1.0, *, weights=None, positive: bool = False):
        self.alpha = check_scalar_nonneg(alpha, "alpha")
        self.weights = check_weights(weights)
        if not isinstance(positive, bool | np.bool_):
            raise TypeError(f"positive must be a bool, got {positive!r}")
        self.positive = bool(positive)

    # ----------------------------------------------------------------- helpers
    def with_alpha(self, alpha: float):
        """Return a copy of this penalty with another ``alpha`` (used along paths)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.alpha = check_scalar_nonneg(alpha, "alpha")
        return new

    def _c(self, shape) -> np.ndarray:
        """Feature weights broadcast to the coefficient array's shape (p,) or (p, K)."""
        p = shape[0]
        if self.weights is None:
            c = np.ones(p)
        else:
            if self.weights.shape[0] != p:
                raise ValueError(
                    f"weights has {self.weights.shape[0]} entries but the coefficients have {p}"
                    " features; they must match"
                )
            c = self.weights
        return c.reshape((p,) + (1,) * (len(shape) - 1))

    def separable_coefficients(self, n_features: int) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(a, b)`` with ``g_j(w) = a_j |w| + b_j w^2 / 2`` for every feature."""
        c = self._c((n_features,)).astype(np.float64)
        return self.alpha * self._rho * c, self.alpha * (1.0 - self._rho) * c

    def is_penalized(self, n_features: int) -> np.ndarray:
        """Boolean mask of the features actually penalised (``alpha * c_j > 0``)."""
        return self.alpha * self._c((n_features,)) > 0

    # ------------------------------------------------------------ the penalty
    def value(self, w) -> float:
        """Penalty value ``sum_j g_j(w_j)`` (``inf`` if ``positive`` and some ``w_j < 0``)."""
        w = np.asarray(w, dtype=np.float64)
        if self.positive and np.any(w < 0):
            return np.inf
        c = self._c(w.shape)
        return float(
            self.alpha * np.sum(c * (self._rho * np.abs(w) + 0.5 * (1 - self._rho) * w**2))
        )

    def prox(self, w, step: float) -> np.ndarray:
        """Proximal operator ``argmin_z ||z - w||^2 / (2 step) + g(z)``, coordinate-wise.

        Soft-thresholding at ``step * a_j`` then division by ``1 + step * b_j``; with
        ``positive`` the threshold is one-sided.
        """
        w = np.asarray(w)
        c = self._c(w.shape)
        thr = step * self.alpha * self._rho * c
        shrink = 1.0 + step * self.alpha * (1.0 - self._rho) * c
        if self.positive:
            z = np.maximum(w - thr, 0.0)
        else:
            z = np.sign(w) * np.maximum(np.abs(w) - thr, 0.0)
        return (z / shrink).astype(w.dtype, copy=False)

    def subdiff_distance(self, w, grad) -> np.ndarray:
        """Distance from ``-grad`` to the subdifferential of ``g`` at ``w``, per coordinate.

        Zero everywhere exactly when ``w`` minimises ``F + g`` for a datafit ``F`` with
        gradient ``grad`` at ``w`` (Fermat's rule), so its maximum is an optimality measure.
        """
        w = np.asarray(w, dtype=np.float64)
        grad = np.asarray(grad, dtype=np.float64)
        c = self._c(w.shape)
        a = self.alpha * self._rho * c
        b = self.alpha * (1.0 - self._rho) * c
        g_smooth = grad + b * w
        at_zero = w == 0
        if self.positive:
            dist_zero = np.maximum(-g_smooth - a, 0.0)
            dist = np.where(w > 0, np.abs(g_smooth + a), np.inf)
        else:
            dist_zero = np.maximum(np.abs(g_smooth) - a, 0.0)
            dist = np.abs(g_smooth + a * np.sign(w))
        return np.where(at_zero, dist_zero, dist)

    def subgradient(self, w) -> np.ndarray:
        """One subgradient: ``a_j sign(w_j) + b_j w_j`` (zero at ``w_j = 0``)."""
        w = np.asarray(w)
        c = self._c(w.shape)
        return self.alpha * c * (self._rho * np.sign(w) + (1.0 - self._rho) * w)

    def alpha_max(self, grad0) -> float:
        """Smallest ``alpha`` for which ``w = 0`` (on penalised features) is optimal.

        ``grad0`` is the datafit gradient at ``w = 0`` (after fitting the intercept and any
        unpenalised feature), so ``alpha_max = max_j |grad0_j| / (rho c_j)`` over penalised
        features; ``inf`` for the pure L2 penalty (``rho = 0``), whose solution is never zero.
        """
        grad0 = np.asarray(grad0, dtype=np.float64)
        c = self._c(grad0.shape)
        c = np.broadcast_to(c, grad0.shape)
        g = np.maximum(-grad0, 0.0) if self.positive else np.abs(grad0)
        pen = c > 0
        if not np.any(pen):
            return 0.0
        if self._rho == 0:
            return np.inf if np.any(g[pen] > 0) else 0.0
        return float(np.max(g[pen] / (self._rho * c[pen])))

    def conjugate(self, u) -> float:
        """Fenchel conjugate ``sum_j g_j^*(u_j)`` (``inf`` outside its domain).

        ``g_j^*(u) = max(|u| - a_j, 0)^2 / (2 b_j)`` when ``b_j > 0``, and the indicator of
        ``|u| <= a_j`` when ``b_j = 0``; with ``positive``, ``|u|`` becomes ``u``.  Used by
        the duality gap.
        """
        u = np.asarray(u, dtype=np.float64)
        c = self._c(u.shape)
        a = np.broadcast_to(self.alpha * self._rho * c, u.shape)
        b = np.broadcast_to(self.alpha * (1.0 - self._rho) * c, u.shape)
        excess = np.maximum((u if self.positive else np.abs(u)) - a, 0.0)
        quad = b > 0
        # a relative slack absorbs rounding in the dual rescaling
        if np.any(excess[~quad] > 1e-9 * (1.0 + a[~quad])):
            return np.inf
        return float(np.sum(excess[quad] ** 2 / (2.0 * b[quad])))

    def dual_scaling(self, u) -> float:
        """Largest violation ``max_j |u_j| / a_j`` over features with ``b_j = 0 < a_j``.

        Dividing a dual point by ``max(1, dual_scaling)`` makes it feasible.
        """
        u = np.asarray(u, dtype=np.float64)
        c = self._c(u.shape)
        a = np.broadcast_to(self.alpha * self._rho * c, u.shape)
        b = np.broadcast_to(self.alpha * (1.0 - self._rho) * c, u.shape)
        mask = (b == 0) & (a > 0)
        if not np.any(mask):
            return 0.0
        v = np.maximum(u, 0.0) if self.positive else np.abs(u)
        return float(np.max(v[mask] / a[mask]))

    def __repr__(self) -> str:
        extra = "" if self.weights is None else ", weights=..."
        pos = ", positive=True" if self.positive else ""
        return f"{type(self).__name__}(alpha={self.alpha!r}{self._repr_extra()}{extra}{pos})"

    def _repr_extra(self) -> str:
        return ""


class L1(_SeparablePenalty):
    """Lasso penalty ``alpha * sum_j c_j |w_j|`` (Tibshirani, 1996, JRSS-B 58(1)).

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength (>= 0).
    weights : array of shape (n_features,), optional
        Non-negative feature weights ``c_j``; zero leaves a feature unpenalised.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    """

    _rho = 1.0


class L2(_SeparablePenalty):
    """Ridge penalty ``alpha/2 * sum_j c_j w_j^2`` (Hoerl & Kennard, 1970, Technometrics 12).

    Smooth, so it also exposes :meth:`gradient` and :meth:`hessian_diag`, which the
    closed-form and gradient-descent solvers need.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength (>= 0).
    weights : array of shape (n_features,), optional
        Non-negative feature weights ``c_j``; zero leaves a feature unpenalised.
    positive : bool, default=False
        Constrain the coefficients to be non-negative (then not usable in closed form).
    """

    _rho = 0.0

    def gradient(self, w) -> np.ndarray:
        """Gradient ``alpha * c * w``."""
        w = np.asarray(w)
        return self.alpha * self._c(w.shape) * w

    def hessian_diag(self, n_features: int) -> np.ndarray:
        """Diagonal of the (diagonal) Hessian, ``alpha * c``."""
        return self.alpha * self._c((n_features,))


class L1L2(_SeparablePenalty):
    """Elastic-net penalty ``alpha * sum_j c_j (l1_ratio |w_j| + (1 - l1_ratio)/2 w_j^2)``.

    Zou & Hastie (2005), with scikit-learn's parametrisation.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength (>= 0).
    l1_ratio : float, default=0.5
        Mix between L1 (1.0) and L2 (0.0); must lie in [0, 1].
    weights : array of shape (n_features,), optional
        Non-negative feature weights ``c_j``; zero leaves a feature unpenalised.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    """

    def __init__(self, alpha: float = 1.0, l1_ratio: float = 0.5, *, weights=None, positive=False):
        super().__init__(alpha, weights=weights, positive=positive)
        self.l1_ratio = check_l1_ratio(l1_ratio)

    @property
    def _rho(self) -> float:  # type: ignore[override]
        return self.l1_ratio

    def _repr_extra(self) -> str:
        return f", l1_ratio={self.l1_ratio!r}"
