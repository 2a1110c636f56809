r"""How ridge regularisation conditions least squares.

With the thin SVD X = U diag(s) V^T (p directions; s_i = 0 for the missing ones when n < p)
and ridge strength ``lam`` in the units of X^T X (scikit-learn's ``Ridge(alpha=lam)``; in the
1/(2n) objective scaling of :mod:`reglab.linear`, lam = n * alpha):

- condition number of X^T X + lam I:  (s_max^2 + lam) / (s_min^2 + lam);
- shrinkage factor of direction i:    d_i = s_i^2 / (s_i^2 + lam)  (ridge multiplies the
  least-squares fit along u_i by d_i; Hastie, Tibshirani & Friedman, ESL 3.4.1);
- effective degrees of freedom:       df(lam) = sum_i d_i = tr(X (X^T X + lam I)^{-1} X^T),
  the trace of the hat matrix.
"""

from __future__ import annotations

import numpy as np

from reglab.diagnostics._validation import check_nonneg_grid, check_X, rank_tolerance

__all__ = ["condition_number", "effective_dof", "ridge_shrinkage_factors", "singular_values"]


def _check_lam(lam) -> np.ndarray:
    return check_nonneg_grid(lam, "lam")


def singular_values(X) -> np.ndarray:
    """All p singular values of X, zeros appended when n < p, in decreasing order.

    Values at or below the rank tolerance max(n, p) * eps * s_max (numpy's ``matrix_rank``)
    are round-off, not directions, and are returned as exact zeros, so a duplicated or
    collinear column gives a zero singular value and every quantity below sees rank(X).
    """
    X = check_X(X)
    s = np.linalg.svd(X, compute_uv=False)
    s = np.where(s > rank_tolerance(X.shape, s[0]), s, 0.0)
    return np.concatenate([s, np.zeros(X.shape[1] - s.size)])


def condition_number(X, lam=0.0):
    """Condition number of X^T X + lam I, (s_max^2 + lam) / (s_min^2 + lam).

    Parameters
    ----------
    X : array-like of shape (n, p)
    lam : float or array of floats, default=0.0
        Ridge strength in X^T X units (scikit-learn's alpha).

    Returns
    -------
    float or ndarray
        ``inf`` when lam = 0 and X^T X is singular (n < p or collinear columns: a
        singular value at or below max(n, p) * eps * s_max counts as zero).
    """
    s2 = singular_values(X) ** 2
    lam = _check_lam(lam)
    num, den = s2[0] + lam, s2[-1] + lam
    # den == 0 exactly when lam = 0 and s_min was below the rank tolerance (set to 0 above)
    with np.errstate(divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out


def ridge_shrinkage_factors(X, lam) -> np.ndarray:
    """Shrinkage s_i^2 / (s_i^2 + lam) of each singular direction, shape (p,) or (n_lam, p).

    At lam = 0 the factor is 1 on the directions with s_i above the rank tolerance
    max(n, p) * eps * s_max and 0 on the (numerical) null space: the minimum-norm
    least-squares solution, as ``numpy.linalg.lstsq`` computes it.
    """
    s2 = singular_values(X) ** 2
    lam = _check_lam(lam)
    lam_col = lam[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(s2 > 0, s2 / (s2 + lam_col), 0.0)
    return d


def effective_dof(X, lam):
    """Effective degrees of freedom df(lam) = sum_i s_i^2 / (s_i^2 + lam).

    Equals the trace of the ridge hat matrix X (X^T X + lam I)^{-1} X^T (Hastie, Tibshirani
    & Friedman, ESL eq. 3.50); df(0) = rank(X), the numerical rank with numpy's tolerance
    max(n, p) * eps * s_max (a duplicated column does not add a degree of freedom).
    """
    d = ridge_shrinkage_factors(X, lam)
    out = d.sum(axis=-1)
    return float(out) if np.ndim(out) == 0 else out
