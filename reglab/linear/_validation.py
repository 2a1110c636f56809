"""Input checks shared by the linear solvers, paths and estimators.

Every check raises a ``ValueError`` or ``TypeError`` that names the offending argument and
its value, so that a user never meets an ``assert``, a NaN or a silently wrong answer.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from reglab._validation import _show


def as_float(value, name: str, dtype=np.float64):
    """``np.asarray(value, dtype)``, with a conversion failure naming the argument."""
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be numeric, got {name}={_show(value)} of type {type(value).__name__} "
            f"({err})"
        ) from None


def check_scalar_nonneg(value, name: str, *, allow_zero: bool = True) -> float:
    """Return ``value`` as a float after checking it is a finite non-negative number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {name}={value!r}")
    return value


def check_l1_ratio(l1_ratio) -> float:
    """Return ``l1_ratio`` as a float after checking it lies in [0, 1]."""
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"l1_ratio must be a real number in [0, 1], got {l1_ratio!r}")
    l1_ratio = float(l1_ratio)
    if not 0.0 <= l1_ratio <= 1.0:
        raise ValueError(f"l1_ratio must be in [0, 1], got l1_ratio={l1_ratio!r}")
    return l1_ratio


def check_weights(weights, n_features: int | None = None) -> np.ndarray | None:
    """Check per-feature penalty weights: finite, non-negative, 1-D, of the right length."""
    if weights is None:
        return None
    w = as_float(weights, "weights")
    if w.ndim != 1:
        raise ValueError(f"weights must be 1-D, got an array of shape {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"weights must be finite and >= 0, got weights={w!r}")
    if n_features is not None and w.shape[0] != n_features:
        raise ValueError(
            f"weights has {w.shape[0]} entries but X has {n_features} features; they must match"
        )
    return w


def check_finite(a, name: str) -> None:
    """Raise a ValueError naming ``name`` if ``a`` (dense or sparse) holds NaN or inf."""
    data = a.data if sp.issparse(a) else np.asarray(a)
    if data.size and not np.all(np.isfinite(data)):
        bad = "NaN" if np.any(np.isnan(data)) else "inf"
        raise ValueError(f"{name} contains {bad}; remove or impute non-finite values first")


def check_X_y(X, y, *, accept_sparse: bool = True, dtype=(np.float64, np.float32), y_2d=False):
    """Validate a design matrix and a target for the solvers.

    Returns ``X`` as a C/F-contiguous float array or a CSC matrix, and ``y`` as a float
    array of X's dtype.  Raises on empty input, mismatched shapes and non-finite entries.
    """
    if sp.issparse(X):
        if not accept_sparse:
            raise TypeError("X is sparse but this solver needs a dense array; use X.toarray()")
        X = sp.csc_matrix(X)
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        X.sort_indices()
    else:
        X = np.asarray(X)
        if X.dtype not in (np.float32, np.float64):
            X = as_float(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X is empty: got shape {X.shape}; need at least one sample and feature")
    fast = _finite_and_in_scale(X)
    if not fast:
        check_finite(X, "X")
    y = np.asarray(y)
    if y.dtype.kind not in "fiub":
        raise TypeError(f"y must be numeric, got dtype {y.dtype}")
    y = y.astype(X.dtype)
    if not y_2d and y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y have mismatched shapes: X has {X.shape[0]} samples, y has {y.shape[0]}"
        )
    check_finite(y, "y")
    if not fast:
        check_scale(X, "X")
    check_scale(y, "y")
    return X, y


def _finite_and_in_scale(X) -> bool:
    """True when one pass proves dense ``X`` finite and within :func:`check_scale`'s limit.

    ``s = sum x_ij^2`` (one BLAS dot, no temporary) is finite only if every entry is, and
    ``max x_ij^2 <= s``, so ``n s <= 1e300`` implies the scale check.  Otherwise (or for
    sparse ``X``) the exact checks decide and name the problem.  On a 20000 x 500 design the
    two exact checks allocated 90 MB of temporaries and took 20-40 ms, a fifth of a tall
    lasso path on its Gram matrix.
    """
    if sp.issparse(X) or not (X.flags.c_contiguous or X.flags.f_contiguous):
        return False
    v = X.ravel(order="K")
    with np.errstate(over="ignore", invalid="ignore"):
        s = float(np.dot(v, v))
    return bool(np.isfinite(s) and s * max(X.shape[0], 1) <= 1e300)


def check_scale(a, name: str) -> None:
    """Refuse ``a`` whose squared sums overflow float64 (``n * max|a|^2 > 1e300``).

    Every objective here sums squares or products of entries (``||y - Xw||^2``,
    ``X^T X``, ``X^T y``, the Lipschitz constant ``||X||^2``): with entries near 1e300 these
    are ``inf`` and the duality gap NaN, so a solver could never certify anything.  The margin
    (1e300 rather than 1.8e308) leaves room for the products with ``y`` and ``alpha``.
    """
    data = a.data if sp.issparse(a) else np.asarray(a)
    if not data.size:
        return
    amax = float(np.max(np.abs(data)))
    n = a.shape[0]
    if amax > 0 and (np.log10(amax) * 2 + np.log10(max(n, 1))) > 300:
        raise ValueError(
            f"{name} is too large for float64 arithmetic: max |{name}| = {amax:.3e} with "
            f"{n} samples makes the sums of squares of the objective overflow (limit "
            f"n * max|{name}|^2 <= 1e300); rescale {name} (e.g. StandardScaler)"
        )


def check_sample_weight(sample_weight, n_samples: int, dtype) -> np.ndarray | None:
    """Validate sample weights: finite, >= 0, not all zero, one per sample."""
    if sample_weight is None:
        return None
    # converted first: a string or an opaque object must fail naming sample_weight, not in
    # NumPy's float() of a 0-d array
    sw = as_float(sample_weight, "sample_weight", dtype)
    if sw.ndim == 0:
        sw = np.full(n_samples, sw, dtype=dtype)
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {sw.shape} but X has {n_samples} samples; they must match"
        )
    check_finite(sw, "sample_weight")
    if np.any(sw < 0):
        raise ValueError(f"sample_weight must be >= 0, got min(sample_weight)={sw.min()!r}")
    if not np.any(sw > 0):
        raise ValueError("sample_weight is zero everywhere; at least one weight must be > 0")
    return sw


def check_labels(y) -> None:
    """Refuse class labels that hold NaN or None (they would become a class of their own)."""
    arr = np.asarray(y)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
    elif arr.dtype.kind == "O":
        bad = np.array(
            [v is None or (isinstance(v, float) and not np.isfinite(v)) for v in arr.ravel()]
        )
    else:
        return
    if np.any(bad):
        raise ValueError(
            f"y contains {int(np.sum(bad))} missing or non-finite labels (NaN, inf or None); "
            "a class label must be a finite number or a string"
        )


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {name}={value!r}")
    return int(value)


# more alphas than this is a mistake (each costs a solve); it also bounds the grid's memory
MAX_ALPHAS = 100_000


def check_n_jobs(n_jobs) -> None:
    """joblib's ``n_jobs``: None or a non-zero integer."""
    if n_jobs is None:
        return
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer, got n_jobs={n_jobs!r}")


def check_cv_arg(cv, n_samples: int) -> None:
    """``cv``: None, an int in [2, n_samples], a splitter (with ``split``) or an iterable of splits."""
    if isinstance(cv, bool) or isinstance(cv, str | bytes | float):  # a str has .split too
        raise TypeError(
            f"cv must be None, an int, a CV splitter or an iterable of (train, test), got cv={cv!r}"
        )
    if cv is None or hasattr(cv, "split"):
        return
    if isinstance(cv, numbers.Integral):
        if not 2 <= cv <= n_samples:
            raise ValueError(f"cv={cv!r} folds: need 2 <= cv <= n_samples = {n_samples}")
        return
    if not np.iterable(cv):
        raise TypeError(
            f"cv must be None, an int, a CV splitter or an iterable of (train, test), got cv={cv!r}"
        )
