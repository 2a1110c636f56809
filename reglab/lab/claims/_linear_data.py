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


def lasso_duality_gap(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> float:
    """Duality gap of ``P(w) = 1/(2n)||y - Xw||^2 + alpha ||w||_1`` (no intercept).

    The dual is ``D(theta) = (y^T theta - ||theta||^2 / 2) / n`` subject to
    ``||X^T theta||_inf <= n alpha``; the residual ``r = y - Xw`` rescaled into that set is a
    dual point, so ``P(w) - D(theta) >= P(w) - P(w*) >= 0`` certifies ``w`` (computed here
    independently of the solver that produced ``w``).
    """
    n = X.shape[0]
    r = y - X @ w
    primal = r @ r / (2 * n) + alpha * np.sum(np.abs(w))
    scale = max(1.0, float(np.max(np.abs(X.T @ r))) / (n * alpha))
    theta = r / scale
    dual = (y @ theta - theta @ theta / 2) / n
    return float(primal - dual)


def lasso_kkt_excess(
    X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float, gap: float
) -> tuple[float, float]:
    """How far ``w`` breaks the lasso's KKT conditions beyond what its gap allows.

    At the optimum ``|X_j^T r*| / n <= alpha`` where ``w_j = 0`` and ``X_j^T r* / n =
    alpha sign(w_j)`` elsewhere. Since ``P`` is ``1/n``-strongly convex in the fitted values,
    ``||X(w - w*)||^2 / (2n) <= P(w) - P(w*) <= gap``, hence ``||r - r*|| <= sqrt(2 n gap)``
    and each correlation may move by at most ``||X_j|| sqrt(2 gap / n)``. Returns the largest
    excess over that slack (plus 1e3 eps of rounding) for the zero and the non-zero
    coefficients, in units of ``alpha``; both are <= 0 for a certified solution.
    """
    n = X.shape[0]
    corr = X.T @ (y - X @ w) / n
    col_norm = np.linalg.norm(X, axis=0)
    slack = col_norm * np.sqrt(2 * max(gap, 0.0) / n)
    slack += 1e3 * np.finfo(float).eps * col_norm * np.linalg.norm(y) / np.sqrt(n)
    zero = w == 0
    excess_zero = np.abs(corr[zero]) - alpha - slack[zero]
    excess_active = np.abs(corr[~zero] - alpha * np.sign(w[~zero])) - slack[~zero]
    worst = [float(np.max(e)) / alpha if e.size else -np.inf for e in (excess_zero, excess_active)]
    return worst[0], worst[1]


def correlated_pairs_bootstrap(
    design: str,
    seed: int,
    *,
    rho: float = 0.95,
    n_boot: int = 50,
    ratio: float = 0.1,
    l1_ratio: float = 0.5,
) -> dict:
    """Lasso and elastic net on bootstrap resamples of a design with correlated pairs.

    Both are fitted at ``ratio`` times their own ``alpha_max`` (``||X^T y||_inf / (n l1_ratio)``),
    i.e. at the same position on their paths, so the elastic net's L1 part equals the
    lasso's and an L2 part of the same size is added. ``design`` is ``"synthetic"``
    (:func:`correlated_pairs` with n = 100, 3 pairs at correlation ``rho``, 4 noise features)
    or ``"breast_cancer"`` (:func:`breast_cancer_pairs`, pairs correlated above 0.99).

    Returns
    -------
    dict
        ``pairs``, the correlations of the pairs on the original sample, and for
        ``"lasso"`` and ``"enet"``: coefficient arrays ``w1, w2`` of shape (n_boot, n_pairs)
        and ``converged``; for the elastic net also ``grouping_ratio``, the largest
        ``|w_i - w_j|`` over the Zou & Hastie (2005) bound ``||x_i - x_j|| ||y|| / (n alpha
        (1 - l1_ratio))`` among same-sign pairs (<= 1 at the optimum).
    """
    from reglab.linear import ElasticNet, Lasso

    rng = np.random.default_rng(seed)
    if design == "synthetic":
        X, y, pairs = correlated_pairs(rng, 100, 3, rho, n_noise=4)
    elif design == "breast_cancer":
        X, y, pairs = breast_cancer_pairs(rng, min_corr=0.99, bootstrap=False)
    else:
        raise ValueError(f"design must be 'synthetic' or 'breast_cancer', got design={design!r}")
    n = X.shape[0]
    corr = [float(np.corrcoef(X[:, i], X[:, j])[0, 1]) for i, j in pairs]
    i_idx, j_idx = np.array(pairs).T
    out: dict = {"pairs": pairs, "corr": corr}
    coefs: dict[str, list[np.ndarray]] = {"lasso": [], "enet": []}
    converged = {"lasso": True, "enet": True}
    grouping = 0.0
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        Xb, yb = standardize(X[idx]), y[idx] - y[idx].mean()
        a_max = float(np.max(np.abs(Xb.T @ yb)) / n)
        lasso, ok_l = fit_quiet(
            Lasso(ratio * a_max, fit_intercept=False, tol=1e-10, max_iter=1000), Xb, yb
        )
        a_enet = ratio * a_max / l1_ratio
        enet, ok_e = fit_quiet(
            ElasticNet(a_enet, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-10, max_iter=1000),
            Xb,
            yb,
        )
        converged["lasso"] &= ok_l
        converged["enet"] &= ok_e
        coefs["lasso"].append(lasso.coef_)
        coefs["enet"].append(enet.coef_)
        w = enet.coef_
        same_sign = w[i_idx] * w[j_idx] >= 0
        bound = (
            np.linalg.norm(Xb[:, i_idx] - Xb[:, j_idx], axis=0)
            * np.linalg.norm(yb)
            / (n * a_enet * (1 - l1_ratio))
        )
        if np.any(same_sign):
            grouping = max(
                grouping, float(np.max((np.abs(w[i_idx] - w[j_idx]) / bound)[same_sign]))
            )
    for name, cs in coefs.items():
        C = np.array(cs)
        out[name] = {"w1": C[:, i_idx], "w2": C[:, j_idx], "converged": converged[name]}
    out["enet"]["grouping_ratio"] = grouping
    return out


def pair_summary(w1: np.ndarray, w2: np.ndarray) -> dict:
    """Imbalance, flip rate and how often both are kept, over resamples and pairs.

    ``w1, w2`` have shape (n_resamples, n_pairs). The imbalance is averaged over the
    (resample, pair) cells where at least one weight is non-zero; the flip rate
    (:func:`flip_rate`) is computed per pair over the resamples and averaged over pairs;
    ``share`` lists ``|w1| / (|w1| + |w2|)`` over the active cells (0.5 = an even split).
    """
    imb = pair_imbalance(w1, w2)
    active = ~np.isnan(imb)
    both = (w1 != 0) & (w2 != 0)
    return {
        "imbalance": float(np.mean(imb[active])) if np.any(active) else float("nan"),
        "share": (np.abs(w1[active]) / (np.abs(w1[active]) + np.abs(w2[active]))).tolist(),
        "flip_rate": float(np.mean([flip_rate(w1[:, k], w2[:, k]) for k in range(w1.shape[1])])),
        "both_kept": float(np.sum(both) / max(np.sum(active), 1)),
        "one_kept": float(np.sum(active & ~both) / max(np.sum(active), 1)),
    }


def exact_checks_verdict(
    checks: dict[str, tuple[float, float]],
    *,
    primary: str,
    what: str,
    figure=None,
    evidence: str = "",
    numbers: dict[str, float] | None = None,
):
    """The exact verdict of a claim with several identities, each ``name: (error, tolerance)``.

    When every error is within its tolerance the verdict reports ``primary`` (the identity the
    sentence is about) with its own error and tolerance; otherwise it reports the check with
    the largest ``error / tolerance``, named, so a FAIL (a bug) says which identity broke.
    The evidence lists every check.
    """
    from reglab.lab.claim import exact_verdict

    if primary not in checks:
        raise ValueError(f"primary={primary!r} is not one of the checks {sorted(checks)}")
    for name, (_err, tol) in checks.items():
        if not (np.isfinite(tol) and tol > 0):
            raise ValueError(f"checks[{name!r}] has tolerance={tol!r}; it must be finite and > 0")
    ratio = {k: (e / t if np.isfinite(e) else np.inf) for k, (e, t) in checks.items()}
    worst = max(ratio, key=lambda k: ratio[k])
    lines = [
        f"{'ok  ' if ratio[k] <= 1 else 'FAIL'} {k}: error {e:.3g}, tolerance {t:.3g}"
        for k, (e, t) in checks.items()
    ]
    name = primary if ratio[worst] <= 1 else worst
    err, tol = checks[name]
    label = what if name == primary else f"{what}; check '{name}'"
    nums = {f"error[{k}]": float(e) for k, (e, _) in checks.items()}
    nums.update(numbers or {})
    body = "\n".join(lines) + ("\n" + evidence if evidence else "")
    return exact_verdict(err, tol, what=label, figure=figure, evidence=body, numbers=nums)
