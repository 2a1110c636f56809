"""Claim ``l2-shrinks-proportionally``: ridge scales each SVD direction by s^2/(s^2 + lambda).

Deep dive, section 3 ("Geometry": "the result is proportional shrinkage: every coefficient
pulled toward zero by a fraction"). Write the design's thin SVD ``X = U S V^T``. Least squares
has coordinates ``z_ols = V^T w_ols = S^{-1} U^T y`` in the right-singular basis, and ridge,
``(X^T X + lambda I)^{-1} X^T y``, has

    z_ridge_i = s_i^2 / (s_i^2 + lambda) * z_ols_i,

a fixed fraction per direction (Hoerl & Kennard, 1970; Hastie, Tibshirani & Friedman, ESL
section 3.4.1). reglab's :class:`~reglab.linear.Ridge` minimises
``1/(2n)||y - Xw||^2 + alpha/2 ||w||^2``, so ``lambda = n alpha`` and the factor is
``e_i / (e_i + alpha)`` with ``e_i = s_i^2 / n``. No factor is zero, so no coefficient
becomes exactly zero (unlike the lasso). The fraction is per *direction*: in the original
coordinates, with correlated features, a coefficient can shrink by a different fraction,
grow, or even change sign; the evidence reports how often that happens.

The experiment fits ``reglab.linear.Ridge(alpha, fit_intercept=False)`` on standardised,
centred designs (diabetes, bootstrapped by the seed; an equicorrelated Gaussian design with
rho = 0.9), rotates the coefficients into the SVD basis and compares them with the factor
times the least-squares coordinates (``numpy.linalg.lstsq``), over alpha from 1e-3 to 10
(the e_i of these designs run from about 0.005 to 10, so the factors cover (0, 1)).

Thresholds. Both sides are exact linear algebra: Cholesky of ``X^T X + n alpha I`` and an SVD
solve, each backward stable, with relative errors of order eps * kappa. The condition numbers
here are below 1e4, so rounding leaves errors around 1e-12; we accept
``max_i |z_ridge_i - f_i z_ols_i| <= 1e-8 ||z_ridge||``, four orders above rounding and far
below a real departure (a factor off by 1% would give 1e-2). Exact zeros: none allowed.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

FACTOR_RTOL = 1e-8


def _design(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from reglab.lab.claims._linear_data import correlated_gaussian, diabetes

    if name == "diabetes":
        return diabetes(rng)
    if name == "correlated":
        X = correlated_gaussian(rng, 80, 12, 0.9)
        y = X @ rng.standard_normal(12) + rng.standard_normal(80)
        return X, y - y.mean()
    raise ValueError(f"design must be 'diabetes' or 'correlated', got design={name!r}")


class L2ShrinksProportionally(Claim):
    id = "l2-shrinks-proportionally"
    kind = Kind.PARAMETER
    section = "3. L2 (Ridge), geometry"
    statement = (
        "L2 gives proportional shrinkage: ridge pulls the solution toward zero by a fraction, "
        "s^2/(s^2 + lambda) along each singular direction of X, and never sets a coefficient "
        "exactly to zero."
    )
    interview = (
        "Take the SVD X = U S V^T. Least squares has coordinate u_i^T y / s_i along the i-th "
        "right singular vector; ridge has s_i u_i^T y / (s_i^2 + lambda), i.e. the same "
        "coordinate times s_i^2/(s_i^2 + lambda). High-variance directions (large s_i) are "
        "almost untouched, low-variance ones, where the data say little and the noise is "
        "amplified by 1/s_i, are damped hard. The factor is strictly between 0 and 1, so "
        "nothing is exactly zero: ridge shrinks, it does not select. And the fraction is per "
        "direction, not per coefficient: with correlated features an individual coefficient "
        "can shrink by more or less, or even grow, which is why 'ridge shrinks every weight' is "
        "only true for orthogonal designs."
    )
    grid = {"design": ["diabetes", "correlated"], "alpha": [1e-3, 1e-2, 1e-1, 1.0, 10.0]}
    smoke = {"design": ["diabetes", "correlated"], "alpha": [1e-2, 1.0]}
    seeds = 2
    smoke_seeds = 1

    def run(self, params, seed):
        from reglab.linear import Ridge

        alpha = float(params["alpha"])
        rng = np.random.default_rng(seed)
        X, y = _design(str(params["design"]), rng)
        n = X.shape[0]
        model = Ridge(alpha=alpha, fit_intercept=False).fit(X, y)
        w_ridge = np.asarray(model.coef_, dtype=np.float64)
        w_ols = np.linalg.lstsq(X, y, rcond=None)[0]

        _, s, Vt = np.linalg.svd(X, full_matrices=False)
        e = s**2 / n
        factor = e / (e + alpha)
        z_ridge, z_ols = Vt @ w_ridge, Vt @ w_ols
        err = np.max(np.abs(z_ridge - factor * z_ols)) / np.linalg.norm(z_ridge)
        coord_ratio = w_ridge / w_ols
        return {
            "factor_error": float(err),
            "n_exact_zeros": float(np.sum(w_ridge == 0.0)),
            "n_coef": float(w_ridge.size),
            # coefficients that did not shrink by a fraction in (0, 1]: grew or flipped sign
            "n_coord_not_shrunk": float(np.sum((coord_ratio <= 0) | (coord_ratio > 1))),
            "min_abs_coef": float(np.min(np.abs(w_ridge))),
            "dual_gap": float(model.dual_gap_),
            "e_over_alpha": (e / alpha).tolist(),
            "measured_factor": (z_ridge / z_ols).tolist(),
            "coord_ratio": coord_ratio.tolist(),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        err = float(rows.values("factor_error").max())
        zeros = int(rows.values("n_exact_zeros").sum())
        n_coef = int(rows.values("n_coef").sum())
        not_shrunk = int(rows.values("n_coord_not_shrunk").sum())
        min_abs = float(rows.values("min_abs_coef").min())
        passed = err <= FACTOR_RTOL and zeros == 0
        alphas = rows.param_values("alpha")
        evidence = (
            f"{len(rows)} ridge fits (designs {rows.param_values('design')}, alpha in {alphas} "
            f"in reglab's 1/(2n) units, lambda = n alpha)\n"
            f"max_i |z_ridge_i - s_i^2/(s_i^2 + lambda) z_ols_i| / ||z_ridge|| = {err:.2e} "
            f"(threshold {FACTOR_RTOL:g})\n"
            f"exact zeros among {n_coef} ridge coefficients: {zeros} (allowed 0); smallest "
            f"|coefficient| {min_abs:.2e}\n"
            f"note: in the original coordinates {not_shrunk} of {n_coef} coefficients did not "
            f"shrink by a fraction in (0, 1] (they grew or flipped sign): the proportional "
            f"shrinkage is per SVD direction"
        )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        markers = {"diabetes": "o", "correlated": "s"}
        colors = {"diabetes": "C0", "correlated": "C1"}
        for design, group in rows.by("design").items():
            x = np.concatenate([np.asarray(r.metrics["e_over_alpha"]) for r in group])
            f = np.concatenate([np.asarray(r.metrics["measured_factor"]) for r in group])
            ax1.semilogx(
                x,
                f,
                markers.get(design, "o"),
                ms=3.5,
                alpha=0.6,
                label=design,
                color=colors.get(design, "C2"),
            )
        lo, hi = ax1.get_xlim()
        grid = np.geomspace(lo, hi, 200)
        ax1.semilogx(grid, grid / (1 + grid), "k-", lw=1, label="s^2 / (s^2 + lambda)")
        ax1.set_xlabel("s_i^2 / lambda (per singular direction)")
        ax1.set_ylabel("z_ridge,i / z_ols,i")
        ax1.set_title("Per SVD direction: s^2/(s^2+lambda)", fontsize=10)
        ax1.legend(fontsize=7)
        for design, group in rows.by("design").items():
            for alpha, sub in group.by("alpha").items():
                # clipped for display: a near-zero w_ols gives ratios in the hundreds
                ratios = np.clip(np.asarray(sub[0].metrics["coord_ratio"]), -1.5, 2.5)
                ax2.semilogx(
                    np.full(ratios.size, alpha),
                    ratios,
                    markers.get(design, "o"),
                    ms=3,
                    alpha=0.5,
                    color=colors.get(design, "C2"),
                )
        ax2.axhspan(0, 1, color="grey", alpha=0.12, label="shrunk by a fraction")
        ax2.set_xlabel("alpha")
        ax2.set_ylim(-1.6, 2.6)
        ax2.set_ylabel("w_ridge,j / w_ols,j (clipped to [-1.5, 2.5])")
        ax2.set_title("Per coefficient: not a common fraction", fontsize=10)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        return Verdict(
            passed,
            evidence,
            fig,
            {
                "factor_error": err,
                "exact_zeros": float(zeros),
                "coords_not_shrunk": float(not_shrunk),
            },
        )
