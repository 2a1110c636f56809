"""The private problem representation that every solver, path and estimator shares.

:func:`make_problem` turns ``(X, y, sample_weight, fit_intercept)`` and a datafit into a
:class:`Problem`.  For the quadratic datafit the intercept is profiled out by weighted
centring, and sample weights are folded into the rows (``sqrt(n s_i / sum(s))``), so the
solvers see the unweighted objective ``1/(2n)||y_c - X_c w||^2``.  Sparse ``X`` is never
densified: centring is implicit, ``X_c = X_s - v mu^T`` with ``v`` the row scaling.  For the
other datafits the intercept is an explicit unpenalised variable.

:func:`duality_gap` computes the certificate ``P(w) - D(theta)`` at the dual point obtained by
rescaling ``-grad F`` into the dual feasible set (Massias et al., 2018).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from reglab.linear.datafits import Logistic, Multinomial, Quadratic, _norm_weights, _softmax_rows


@dataclass
class Problem:
    """Design, target and datafit of one fit (see module docstring)."""

    X: object  # dense (F-ordered) ndarray or CSC matrix
    y: np.ndarray
    datafit: object
    sample_weight: np.ndarray | None  # None for Quadratic (folded into the rows)
    fit_intercept: bool
    explicit_intercept: bool  # intercept is an optimisation variable
    mu: np.ndarray | None = None  # implicit centring of sparse X (Quadratic)
    v: np.ndarray | None = None  # row scaling vector for implicit centring
    X_offset: np.ndarray | None = None
    y_offset: float = 0.0
    n_classes: int = 1
    _cache: dict = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def is_sparse(self) -> bool:
        return sp.issparse(self.X)

    def matvec(self, w) -> np.ndarray:
        """``X_c w`` (``w`` of shape (p,) or (p, K))."""
        out = self.X @ w
        if self.mu is not None:
            out = out - np.multiply.outer(self.v, self.mu @ w)
        return np.asarray(out)

    def rmatvec(self, r) -> np.ndarray:
        """``X_c^T r``."""
        out = np.asarray(self.X.T @ r)
        if self.mu is not None:
            out = out - np.multiply.outer(self.mu, self.v @ r)
        return out

    def col_sq_norms(self) -> np.ndarray:
        """``sum_i s_i x_ij^2`` per column, ``s`` the sample weights (rescaled to mean 1).

        The working-set score divides by these norms; weighting them makes a weighted
        problem and its repeated-rows copy rank the features alike.  (Unweighted norms on the
        logistic datafits, where the weights are not folded into the rows, gave the two
        copies different working sets and fits 1e-4 apart at the same tolerance.)  For the
        quadratic datafit the weights are already in the rows.
        """
        if "norms" not in self._cache:
            X = self.X
            sw = self.sample_weight
            if sw is not None:
                sw = sw * (sw.shape[0] / sw.sum())
            if sp.issparse(X):
                X2 = X.multiply(X)
                n2 = np.asarray(X2.sum(axis=0) if sw is None else X2.T @ sw).ravel()
                if self.mu is not None:
                    xv = np.asarray(X.T @ self.v).ravel()
                    n2 = n2 - 2 * self.mu * xv + self.mu**2 * (self.v @ self.v)
            elif sw is None:
                n2 = np.einsum("ij,ij->j", X, X)
            else:
                n2 = np.einsum("ij,ij,i->j", X, X, sw)
            self._cache["norms"] = np.maximum(n2, 0.0)
        return self._cache["norms"]

    def fortran(self) -> np.ndarray:
        """Dense ``X`` in Fortran order (cached): what column-wise kernels stream through."""
        if "fortran" not in self._cache:
            self._cache["fortran"] = np.asfortranarray(self.X)
        return self._cache["fortran"]

    def fortran_float32(self) -> np.ndarray:
        """Float32 copy of dense ``X`` in Fortran order (cached), for mixed-precision kernels."""
        if "fortran32" not in self._cache:
            self._cache["fortran32"] = np.asfortranarray(self.X, dtype=np.float32)
        return self._cache["fortran32"]

    def predictor(self, w, b=0.0) -> np.ndarray:
        return self.matvec(w) + b

    def lipschitz(self) -> float:
        """Lipschitz constant of the datafit gradient in ``(w, b)``."""
        if "L" not in self._cache:
            sw = self.sample_weight
            Xop = self.X
            if self.mu is not None:
                Xop = sp.linalg.LinearOperator(
                    self.X.shape, matvec=self.matvec, rmatvec=self.rmatvec, dtype=np.float64
                )
            L = _op_norm2(Xop, _norm_weights(sw, self.n_samples))
            if self.explicit_intercept:
                L += 1.0  # ||[X, 1]||_C^2 <= ||X||_C^2 + ||1||_C^2 and ||1||_C^2 = 1
            self._cache["L"] = self.datafit.hessian_bound * L
        return self._cache["L"]

    def value_scale(self) -> float:
        """Datafit value at zero coefficients: the scale of the relative duality gap."""
        if "scale" not in self._cache:
            zshape = (self.n_samples, self.n_classes) if self.n_classes > 1 else self.n_samples
            b0 = self.optimal_intercept(np.zeros(zshape)) if self.explicit_intercept else 0.0
            val = self.datafit.value(self.y, np.zeros(zshape) + b0, self.sample_weight)
            self._cache["scale"] = max(val, np.finfo(np.float64).tiny)
        return self._cache["scale"]

    def optimal_intercept(self, z, b0=None, n_newton: int = 50):
        """Minimise the datafit over the intercept with ``Xw`` fixed (Newton's method).

        Solving the intercept exactly makes ``sum_i theta_i = 0``, the dual constraint it
        imposes, so the duality gap computed afterwards is a valid certificate.
        """
        df, y, sw = self.datafit, self.y, self.sample_weight
        if self.n_classes > 1:
            b = np.zeros(z.shape[1]) if b0 is None else np.array(b0, dtype=np.float64)
            c = _norm_weights(sw, len(y))
            cy = c @ Multinomial._onehot(y, z.shape[1])  # the weight of each class
            for _ in range(n_newton):
                P = _softmax_rows(z + b)  # one softmax per step for gradient and Hessian
                cP = c @ P
                g = cP - cy
                if np.max(np.abs(g)) < 1e-14:
                    break
                H = np.diag(cP) - (P * c[:, None]).T @ P
                b = b - np.linalg.lstsq(H, g, rcond=None)[0]
                b -= b.mean()
            return b
        b = 0.0 if b0 is None else float(b0)
        for _ in range(n_newton):
            g = df.raw_gradient(y, z + b, sw).sum()
            h = df.raw_hessian(y, z + b, sw).sum()
            if abs(g) < 1e-15 or h <= 0:
                break
            b -= g / h
        return b


def _op_norm2(X, weights) -> float:
    if isinstance(X, np.ndarray) and min(X.shape) <= 300:
        return float(np.linalg.norm(X * np.sqrt(weights)[:, None], 2) ** 2)
    sq = np.sqrt(weights)
    op = sp.linalg.LinearOperator(
        X.shape,
        matvec=lambda w: sq * (X @ np.ravel(w)),
        rmatvec=lambda r: X.T @ (sq * np.ravel(r)),
        dtype=np.float64,
    )
    if min(X.shape) <= 2:
        dense = op @ np.eye(X.shape[1])
        return float(np.linalg.norm(dense, 2) ** 2)
    s = sp.linalg.svds(op, k=1, return_singular_vectors=False, random_state=0)
    return float(s[0] ** 2) * (1 + 1e-6)


def _writeable(X):
    """Contiguous writeable float64 (dense, C or F order kept) or CSC with int32 indices.

    Dense X keeps its memory order: the Gram matrix and the matrix products take either, and
    an F-ordered copy of a tall C-ordered X costs as much as the Gram matrix itself; the
    column-wise kernels get F order through :meth:`Problem.fortran`.
    """
    if sp.issparse(X):
        X = sp.csc_matrix(X, dtype=np.float64, copy=True)
        X.indices = X.indices.astype(np.int32)
        X.indptr = X.indptr.astype(np.int32)
        return X
    X = np.asarray(X, dtype=np.float64)
    if not (X.flags.c_contiguous or X.flags.f_contiguous):
        X = np.asfortranarray(X)
    return X if X.flags.writeable else X.copy(order="K")


def make_problem(X, y, datafit, *, sample_weight=None, fit_intercept=True, n_classes=1):
    """Build a :class:`Problem` from validated arrays (see the module docstring)."""
    n = X.shape[0]
    if isinstance(datafit, Quadratic):
        sw = _norm_weights(sample_weight, n)  # sums to 1
        if fit_intercept:
            X_offset = np.asarray(X.T @ sw).ravel() if sp.issparse(X) else sw @ X
            y_offset = float(sw @ y)
        else:
            X_offset, y_offset = np.zeros(X.shape[1]), 0.0
        rows = np.sqrt(sw * n)
        yc = (y - y_offset) * rows
        mu = v = None
        if sp.issparse(X):
            Xs = sp.csc_matrix(sp.diags(rows) @ X) if sample_weight is not None else X
            if fit_intercept:
                mu, v = X_offset.astype(np.float64), rows
        else:
            Xs = X - X_offset if fit_intercept else X
            if sample_weight is not None:
                Xs = Xs * rows[:, None]
        return Problem(
            X=_writeable(Xs),
            y=np.asarray(yc, dtype=np.float64),
            datafit=datafit,
            sample_weight=None,
            fit_intercept=fit_intercept,
            explicit_intercept=False,
            mu=mu,
            v=v,
            X_offset=X_offset,
            y_offset=y_offset,
        )
    if isinstance(datafit, Logistic | Multinomial):
        X = _writeable(X)
        return Problem(
            X=X,
            y=np.asarray(y, dtype=np.float64),
            datafit=datafit,
            sample_weight=sample_weight,
            fit_intercept=fit_intercept,
            explicit_intercept=fit_intercept,
            n_classes=n_classes,
        )
    raise TypeError(
        f"datafit must be a Quadratic, Logistic or Multinomial instance, got {datafit!r}"
    )


def duality_gap(problem: Problem, penalty, w, b=0.0, theta=None):
    """Return ``(gap, primal)`` at coefficients ``w`` and intercept ``b``.

    The dual point is ``theta = -raw_gradient`` (or the given ``theta``), rescaled into the
    dual feasible set.  Unpenalised features must satisfy ``X_j^T theta = 0``: for the
    quadratic datafit ``theta`` is projected onto that subspace; otherwise the certificate
    falls back to the largest subdifferential distance (still zero exactly at optimum).
    """
    df, y, sw = problem.datafit, problem.y, problem.sample_weight
    z = problem.predictor(w, b)
    primal = df.value(y, z, sw) + penalty.value(w)
    if theta is None:
        theta = -df.raw_gradient(y, z, sw)
    u = problem.rmatvec(theta)
    unpen = ~penalty.is_penalized(problem.n_features)
    if np.any(unpen):
        if not isinstance(df, Quadratic):
            return float(np.max(penalty.subdiff_distance(w, -u))), primal
        XU = problem.matvec(np.eye(problem.n_features)[:, unpen])
        theta = theta - XU @ np.linalg.lstsq(XU, theta, rcond=None)[0]
        u = problem.rmatvec(theta)
        u[unpen] = 0.0
    scale = max(1.0, penalty.dual_scaling(u))
    theta, u = theta / scale, u / scale
    dual = df.dual_value(y, theta, sw) - penalty.conjugate(u)
    return float(primal - dual), float(primal)
