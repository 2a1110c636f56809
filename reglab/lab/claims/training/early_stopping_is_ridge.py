r"""Claim ``early-stopping-is-ridge``: GD stopped after t steps behaves like ridge at 1/(lr t).

Deep dive, section 7 ("Connection to L2"): "for squared loss with gradient flow, early
stopping at time t is approximately equivalent to L2 with lambda = 1/t".

Mathematics. Least squares f(w) = 1/(2n) ||y - X w||^2 with the thin SVD X = U diag(s) V^T.
Gradient descent from w_0 = 0 with step lr, gradient flow at time T = lr t and ridge
(1/(2n) ||y - Xw||^2 + lam/2 ||w||^2) are all spectral filters w = V diag(phi_i / s_i) U^T y:

    GD:     phi_i = 1 - (1 - lr s_i^2 / n)^t
    flow:   phi_i = 1 - exp(-T s_i^2 / n)
    ridge:  phi_i = s_i^2 / (s_i^2 + n lam),

and with x_i = T s_i^2 / n the choice lam = 1/T = 1/(lr t) makes the flow's and ridge's
filters agree to first order in x_i. Ali, Kolter & Tibshirani (2019, "A continuous-time view
of early stopping for least squares", AISTATS, Theorem 1) prove, for *every* design X and
every true coefficient vector, bias^2(flow, T) <= bias^2(ridge, 1/T) and
var(flow, T) <= 1.6862 var(ridge, 1/T), hence

    risk(flow, T) <= 1.6862 risk(ridge, 1/T),   risk = E ||w_hat - beta||^2.

The coefficients themselves differ (the filters are different functions of s_i), so the
claim compares risks, not coefficients. Discrete GD is "ahead" of the flow
((1 - a)^t <= exp(-a t)), so its ratio is not covered by the theorem at large steps: the
claim is tested on GD itself, at the usual step lr = 1/L (L = s_max^2 / n) and at a small
step lr = 0.2 / L, as the deep dive states it for training.

Experiment. Three designs per seed: isotropic (n = 100, p = 50), AR(1)-correlated features
(rho = 0.9, condition number of X^T X in the hundreds) and wide (n = 50, p = 100, where the
null space of X counts fully in both biases); beta on the unit sphere, noise sigma = 1.
``reglab.diagnostics.early_stopping_as_ridge`` gives the exact risks of GD, flow and ridge
for t on a geometric grid from 1 step until every direction is fitted (lam = 1/(lr t) falls
to s_min^2 / (20 n)). Then the risks are *measured*: for ``mc_draws`` fresh noise vectors
we run actual gradient descent (``reglab.diagnostics.gradient_descent_iterates``) and fit
scikit-learn's ``Ridge(alpha = n / (lr t), fit_intercept=False)`` (the unit trap: its
objective is the unscaled sum) and average ||w - beta||^2 at four checkpoints.

An exact check (``result_kind = "exact"``; experiment unchanged from v1): the sentence is
about gradient flow, for which the bound is a theorem, so its failure would be a bug; the
exact risks are cross-checked against simulated GD and scikit-learn's Ridge (a Monte-Carlo
band of 4 standard errors, which catches a wrong formula, not a finding). Discrete GD's ratio
is not covered by the theorem; v1 required it below 1.6862 too (it held: max 1.50 over the default grid at
lr = 1/L in the first wave); it is now reported, not part of PASS/FAIL.

Thresholds (fixed before running).

- Theorem: risk(flow)/risk(ridge) <= 1.6862 at every t (the theorem's constant: the
  maximum of (1 - e^-x)^2 (1 + x)^2 / x^2 is 1.68591, at x = 1.79; 1e-9 relative is
  allowed for round-off).
- Claim: risk(GD)/risk(ridge) <= 1.6862 at every t, design, step and seed. No slack is
  added for discretisation: if GD at lr = 1/L left the factor, the verdict would say so.
- Measurement: the Monte-Carlo mean of ||w - beta||^2 must agree with the exact risk within
  4 standard errors at every checkpoint, for GD and for ridge. With about 150 comparisons a
  4-sigma band keeps the family-wise false-alarm rate near 1% (Bonferroni).
- The iterates of the GD loop must equal the spectral formula's coefficients to a relative
  1e-8 (both are exact; t <= 1000 steps of round-off stay near 1e-13).

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
early-stopping-is-ridge -j 1`: default grid 18 runs, 14.4 s CPU (57 s wall), smoke grid 3.5 s
CPU; both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

AKT_BOUND = 1.6862  # Ali, Kolter & Tibshirani (2019), Theorem 1, variance constant
ROUNDOFF = 1e-9
MC_SIGMAS = 4.0
ITERATE_RTOL = 1e-8
CHECKPOINTS = (3, 30, 300, 1000)  # GD steps where risks are measured by Monte Carlo
NOISE = 1.0


def _design(design: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A design matrix and a unit-norm true coefficient vector drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    if design == "isotropic":
        X = rng.standard_normal((100, 50))
    elif design == "correlated":
        p, rho = 50, 0.9
        cov = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
        X = rng.standard_normal((100, p)) @ np.linalg.cholesky(cov).T
    elif design == "wide":
        X = rng.standard_normal((50, 100))
    else:
        raise ValueError(f"design must be 'isotropic', 'correlated' or 'wide', got {design!r}")
    beta = rng.standard_normal(X.shape[1])
    return X, beta / np.linalg.norm(beta)


class EarlyStoppingIsRidge(Claim):
    id = "early-stopping-is-ridge"
    kind = Kind.TRAINING
    section = "7. Early stopping, connection to L2"
    statement = (
        "For squared loss with gradient flow, early stopping at time t is approximately "
        "equivalent to L2 with lambda = 1/t: stopping early = strong L2, running long = weak "
        "L2. Tested on gradient descent after t steps against ridge at lambda = 1/(lr t): "
        "their risks stay within the factor 1.69 of Ali, Kolter & Tibshirani (2019)."
    )
    interview = (
        "On least squares, gradient descent from zero never leaves the span of the singular "
        "vectors, so after t steps it is a spectral filter: direction i is fitted by a "
        "fraction 1 - (1 - lr s_i^2/n)^t, large singular directions first. Ridge is also a "
        "filter, s_i^2/(s_i^2 + n lambda). With lambda = 1/(lr t) the two curves have the "
        "same shape: directions with s_i^2/n well above lambda are fitted, those well below "
        "are suppressed. They are not the same estimator, the coefficients differ by tens "
        "of percent, but Ali, Kolter and Tibshirani proved that the risk of gradient flow is "
        "never more than 1.69 times the ridge risk at lambda = 1/t, for any design, and "
        "each tuned at its best the two are within a few percent. So the "
        "number of steps is a regularisation knob: stopping early is strong L2, training "
        "long is weak L2, and the validation curve over t plays the role of the "
        "cross-validation curve over lambda."
    )
    result_kind = "exact"
    grid = {"design": ["isotropic", "correlated", "wide"], "step": [1.0, 0.2]}
    # mc_draws: noise vectors for the measured risks (default 40)
    smoke = {"design": ["isotropic", "wide"], "step": [1.0], "mc_draws": [20]}
    seeds = 3
    smoke_seeds = 1

    def run(self, params, seed):
        from sklearn.linear_model import Ridge

        from reglab.diagnostics import early_stopping_as_ridge, gradient_descent_iterates

        X, beta = _design(params["design"], seed)
        n = X.shape[0]
        s = np.linalg.svd(X, compute_uv=False)
        s = s[s > max(X.shape) * np.finfo(float).eps * s[0]]
        lr = float(params["step"]) * n / s[0] ** 2  # step / L, L = s_max^2 / n
        # run until lam = 1/(lr t) is 20x below the smallest s^2/n: every direction fitted
        t_max = int(np.ceil(20 * n / (lr * s[-1] ** 2)))
        steps = np.unique(np.geomspace(1, t_max, 40).astype(int))
        rng = np.random.default_rng([seed, 1])
        y = X @ beta + NOISE * rng.standard_normal(n)
        curves = {k: [] for k in ("gd", "gf", "ridge", "ratio_gd", "ratio_gf")}
        for t in steps:
            r = early_stopping_as_ridge(X, y, lr, int(t), coef=beta, noise=NOISE).risks
            for k in ("gd", "gf", "ridge"):
                curves[k].append(r[k][2])
            curves["ratio_gd"].append(r["ratio_gd"])
            curves["ratio_gf"].append(r["ratio_gf"])

        # measured risks at the checkpoints: real GD iterates and scikit-learn's ridge
        draws = int(params.get("mc_draws", 40))
        checks = [t for t in CHECKPOINTS if t <= t_max]
        gd_err = np.empty((draws, len(checks)))
        ridge_err = np.empty_like(gd_err)
        coef_gap = []
        iterate_err = 0.0
        for d in range(draws):
            y_d = X @ beta + NOISE * rng.standard_normal(n)
            W = gradient_descent_iterates(X, y_d, lr, checks[-1])
            for j, t in enumerate(checks):
                ridge = Ridge(alpha=n / (lr * t), fit_intercept=False, solver="svd")
                w_ridge = ridge.fit(X, y_d).coef_
                gd_err[d, j] = np.sum((W[t] - beta) ** 2)
                ridge_err[d, j] = np.sum((w_ridge - beta) ** 2)
                if d == 0:
                    es = early_stopping_as_ridge(X, y_d, lr, t)
                    scale = np.linalg.norm(es.gd_coef)
                    iterate_err = max(iterate_err, np.linalg.norm(W[t] - es.gd_coef) / scale)
                    coef_gap.append(np.linalg.norm(W[t] - w_ridge) / np.linalg.norm(w_ridge))
        exact = {"gd": [], "ridge": []}
        for t in checks:
            r = early_stopping_as_ridge(X, y, lr, t, coef=beta, noise=NOISE).risks
            exact["gd"].append(r["gd"][2])
            exact["ridge"].append(r["ridge"][2])
        z_gd = (gd_err.mean(0) - exact["gd"]) / (gd_err.std(0, ddof=1) / np.sqrt(draws))
        z_ridge = (ridge_err.mean(0) - exact["ridge"]) / (ridge_err.std(0, ddof=1) / np.sqrt(draws))
        mid = int(steps[len(steps) // 2])
        es_mid = early_stopping_as_ridge(X, y, lr, mid)
        return {
            "lr": lr,
            "t_max": float(t_max),
            "max_ratio_gd": float(np.max(curves["ratio_gd"])),
            "min_ratio_gd": float(np.min(curves["ratio_gd"])),
            "max_ratio_gf": float(np.max(curves["ratio_gf"])),
            "max_abs_z": float(max(np.max(np.abs(z_gd)), np.max(np.abs(z_ridge)))),
            "iterate_rel_error": float(iterate_err),
            "max_coef_gap": float(np.max(coef_gap)),
            "min_coef_gap": float(np.min(coef_gap)),
            "steps": steps.astype(float).tolist(),
            "risk_gd": curves["gd"],
            "risk_gf": curves["gf"],
            "risk_ridge": curves["ridge"],
            "ratio_gd": curves["ratio_gd"],
            "checkpoints": [float(t) for t in checks],
            "mc_risk_gd": gd_err.mean(0).tolist(),
            "mc_risk_ridge": ridge_err.mean(0).tolist(),
            "singular_values": s.tolist(),
            "filter_steps": float(mid),
            "filter_gd": es_mid.gd_filter.tolist(),
            "filter_ridge": es_mid.ridge_filter.tolist(),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        max_gd = float(rows.values("max_ratio_gd").max())
        min_gd = float(rows.values("min_ratio_gd").min())
        max_gf = float(rows.values("max_ratio_gf").max())
        max_z = float(rows.values("max_abs_z").max())
        it_err = float(rows.values("iterate_rel_error").max())
        gap_lo = float(rows.values("min_coef_gap").min())
        gap_hi = float(rows.values("max_coef_gap").max())
        # reported, not required: optimally stopped GD vs optimally tuned ridge on the t grid
        best = np.array(
            [
                (
                    min(r.metrics["risk_gd"]) / min(r.metrics["risk_ridge"]),
                    r.metrics["steps"][int(np.argmin(r.metrics["risk_gd"]))]
                    / r.metrics["steps"][int(np.argmin(r.metrics["risk_ridge"]))],
                )
                for r in rows
            ]
        )
        per = []
        for design, group in rows.by("design").items():
            for step, g in group.by("step").items():
                per.append(
                    f"  {design}, lr = {step:g}/L: risk(GD)/risk(ridge) in "
                    f"[{g.values('min_ratio_gd').min():.3f}, {g.values('max_ratio_gd').max():.3f}]"
                )
        evidence = (
            f"{len(rows)} runs; t from 1 step until lam = 1/(lr t) < s_min^2/(20 n)\n"
            f"max risk(GD, t)/risk(ridge, 1/(lr t)) = {max_gd:.4f} (reported; <= {AKT_BOUND} would extend the theorem to GD): "
            f"min = {min_gd:.4f}\n"
            + "\n".join(per)
            + f"\nmax risk(flow, T)/risk(ridge, 1/T) = {max_gf:.4f} (theorem: <= {AKT_BOUND})\n"
            f"Monte-Carlo risks (real GD iterates, sklearn Ridge(alpha=n/(lr t))) vs exact: "
            f"max |z| = {max_z:.2f} (threshold {MC_SIGMAS:g})\n"
            f"GD iterates vs spectral formula: max relative error {it_err:.1e} "
            f"(threshold {ITERATE_RTOL:g})\n"
            f"coefficients differ: ||w_GD - w_ridge|| / ||w_ridge|| from {gap_lo:.1%} to "
            f"{gap_hi:.1%}, so the match is in risk, not in the weights\n"
            f"reported: optimally stopped GD / optimally tuned ridge risk in "
            f"[{best[:, 0].min():.3f}, {best[:, 0].max():.3f}]; best t(GD) / best "
            f"1/(lr lam)(ridge) in [{best[:, 1].min():.2f}, {best[:, 1].max():.2f}]"
        )

        fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
        first = rows.where(design="correlated", step=1.0) or rows.where(step=1.0) or rows
        r0 = first[0].metrics
        s = np.asarray(r0["singular_values"])
        ax = axes[0]
        ax.semilogx(s, r0["filter_gd"], "o", ms=3, label=f"GD, t = {r0['filter_steps']:g}")
        ax.semilogx(s, r0["filter_ridge"], "x", ms=4, label="ridge, lam = 1/(lr t)")
        ax.set_xlabel("singular value s_i")
        ax.set_ylabel("filter factor phi_i")
        ax.set_title(f"filter factors ({first[0].params['design']} design)", fontsize=9)
        ax.legend(fontsize=7)
        ax = axes[1]
        steps = np.asarray(r0["steps"])
        ax.loglog(steps, r0["risk_gd"], "-", label="GD after t steps (exact)")
        ax.loglog(steps, r0["risk_ridge"], "--", label="ridge, lam = 1/(lr t)")
        ax.loglog(
            steps, AKT_BOUND * np.asarray(r0["risk_ridge"]), "k:", lw=0.8, label="1.6862 x ridge"
        )
        ax.loglog(r0["checkpoints"], r0["mc_risk_gd"], "o", ms=4, label="GD, Monte Carlo")
        ax.loglog(
            r0["checkpoints"],
            r0["mc_risk_ridge"],
            "s",
            ms=4,
            mfc="none",
            label="ridge, Monte Carlo",
        )
        ax.set_xlabel("steps t")
        ax.set_ylabel("risk E||w - beta||^2")
        ax.set_title("risk along the steps", fontsize=9)
        ax.legend(fontsize=7)
        ax = axes[2]
        for row in rows:
            if row.repetition == 0:
                ax.semilogx(
                    row.metrics["steps"],
                    row.metrics["ratio_gd"],
                    lw=1,
                    label=f"{row.params['design']}, lr = {row.params['step']:g}/L",
                )
        ax.axhline(AKT_BOUND, color="k", ls=":", lw=1, label="Ali et al. bound 1.6862")
        ax.axhline(1.0, color="grey", lw=0.6)
        ax.set_xlabel("steps t")
        ax.set_ylabel("risk(GD) / risk(ridge)")
        ax.set_title("risk ratio stays under the bound", fontsize=9)
        ax.legend(fontsize=6)
        fig.tight_layout()
        from reglab.lab.claims._linear_data import exact_checks_verdict

        return exact_checks_verdict(
            {
                "risk(flow, T) / risk(ridge, 1/T)": (max_gf, AKT_BOUND * (1 + ROUNDOFF)),
                "GD iterates = spectral formula (relative)": (it_err, ITERATE_RTOL),
                "Monte-Carlo risks vs exact (max |z|)": (max_z, MC_SIGMAS),
            },
            primary="risk(flow, T) / risk(ridge, 1/T)",
            what="gradient flow stopped at T has at most 1.6862 times the risk of ridge with "
            "lambda = 1/T on every design (Ali, Kolter & Tibshirani 2019)",
            figure=fig,
            evidence=evidence,
            numbers={
                "max_ratio_gd": max_gd,
                "max_ratio_gf": max_gf,
                "max_abs_z": max_z,
                "iterate_rel_error": it_err,
            },
        )
