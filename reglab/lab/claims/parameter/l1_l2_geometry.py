"""Claim ``l1-l2-geometry``: the L1 ball's corners catch the optimum; the L2 ball has none.

Deep dive, sections 3 and 4 ("Geometry"). Constrained least squares
``min ||y - Xw||^2 / (2n)`` subject to ``||w||_q <= t`` (with ``t`` below the norm of the
least-squares solution, so the constraint binds) is solved where a level set of the loss
(an ellipse in 2-D) first touches the ball. The L1 ball is a diamond whose corners lie on the
axes: for a whole cone of loss orientations the first contact is a corner, i.e. a solution
with one coordinate exactly zero. The L2 ball is a circle, smooth everywhere: the contact
point is on an axis only if the ellipse's centre already is, a probability-zero event
(Tibshirani, 1996, Fig. 2; Hastie, Tibshirani & Friedman, ESL Fig. 3.11).

The experiment draws random 2-D regression problems (n = 20, the two features correlated
with a random sign and magnitude ``corr``, true weights N(0, I), noise sd 0.5), a budget
fraction ``u ~ U(0.05, 0.95)`` and sets ``t_1 = u ||w_ols||_1`` and ``t_2 = u ||w_ols||_2``:
both balls shrink the least-squares solution by the same fraction. The constrained problems
are solved through their penalised (Lagrangian) forms with reglab's estimators: the lasso's
``||w(alpha)||_1`` and ridge's ``||w(alpha)||_2`` decrease continuously in alpha, so Brent's
method on log alpha finds the alpha whose solution has exactly the budget (the KKT conditions
of the penalised problem at that alpha are those of the constrained one). A solution is on an
axis when a coordinate is exactly zero for the lasso; for ridge we are generous and count
``min_j |w_j| <= 1e-6 ||w||`` as on the axis.

Protocol v2 (empirical). Primary metric ``axis_gap``: per run (40 problems), the share of
problems whose L1 optimum has a coordinate exactly zero minus the share whose L2 optimum is
on an axis (paired: the same problems and budgets). Effect: its mean over seeds, 95%
t-interval, per feature correlation |corr| in {0, 0.5, 0.9}; direction increase; smallest
effect of interest 0.2, required to be excluded ("often": at least one problem in five more
than for L2; ``require_smallest``); intersection-union over the three correlations (each at
5%). Secondary, reported: the L2 axis share itself ("almost never"). Power: with 40 problems
per run the binomial sd of a share is at most 0.08, so ``seeds_for_power(0.08, 0.2)`` = 5.
Default grid: 15 runs x 40 problems, the same 600 problems as v1.

History. v1 pooled all problems and required L2 <= 1%, L1 >= 20% and a ratio >= 10 without
intervals (PASS: L1 about 40%, L2 0%).

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run l1-l2-geometry
-j 1`: default grid 15 runs, 10.5 s CPU (44 s wall), smoke grid 3.6 s CPU; both include about
2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

N_SAMPLES = 20
AXIS_RTOL_L2 = 1e-6
MAX_L2_AXIS = 0.01
MIN_RATIO = 10.0
MIN_L1_AXIS = 0.2


def _problem(rng: np.random.Generator, corr: float) -> tuple[np.ndarray, np.ndarray]:
    from reglab.lab.claims._linear_data import standardize

    c = corr * rng.choice([-1.0, 1.0])
    z = rng.standard_normal((N_SAMPLES, 2))
    X = standardize(np.column_stack([z[:, 0], c * z[:, 0] + np.sqrt(1 - c**2) * z[:, 1]]))
    y = X @ rng.standard_normal(2) + 0.5 * rng.standard_normal(N_SAMPLES)
    return X, y - y.mean()


def _at_budget(fit, norm, t: float, lo: float, hi: float) -> tuple[np.ndarray, float]:
    """The penalised solution whose ``norm`` equals ``t``: Brent's method on log alpha.

    ``norm(fit(alpha))`` decreases continuously from above ``t`` at ``lo`` to below at ``hi``.
    """
    from scipy.optimize import brentq

    log_a = brentq(lambda s: norm(fit(np.exp(s))) - t, np.log(lo), np.log(hi), xtol=1e-12)
    return fit(np.exp(log_a)), float(np.exp(log_a))


class L1L2Geometry(Claim):
    id = "l1-l2-geometry"
    kind = Kind.PARAMETER
    section = "4. L1 (Lasso), geometry (vs 3. L2 geometry)"
    statement = (
        "L1's level sets are diamonds with corners on the axes, so the constrained optimum "
        "often lands at a corner (a coordinate exactly zero); L2's circles have no corners, "
        "so its optimum almost never lies on an axis."
    )
    interview = (
        "Picture the loss contours as ellipses around the least-squares solution and grow "
        "them until they touch the constraint set. The L2 ball is round: the touching point "
        "moves smoothly with the ellipse and sits on an axis only if the centre does, so ridge "
        "shrinks but never zeros. The L1 ball is a diamond whose corners poke out along the "
        "axes; a whole range of ellipse positions and orientations touches a corner first, "
        "and a corner is a point with a coordinate exactly zero. In higher dimensions the "
        "cross-polytope has corners and low-dimensional edges everywhere, so most contacts are "
        "sparse. Equivalently: the L1 subdifferential at zero is an interval, so a zero "
        "coordinate is stable under small changes of the data."
    )
    grid = {"corr": [0.0, 0.5, 0.9], "n_problems": [40]}
    smoke = {"corr": [0.0, 0.9], "n_problems": [20]}
    seeds = 5
    smoke_seeds = 1
    protocol = Protocol(
        version=2,
        metric="axis_gap",
        effect="mean over seeds of (share of L1 optima on an axis - share of L2 optima on an "
        "axis), the same 40 problems per run, per feature correlation",
        smallest_effect=0.2,
        direction="increase",
        analysis='t over seeds per correlation, the smallest effect required ("often"); '
        "intersection-union over |corr| in {0, 0.5, 0.9}",
        seeds=5,
        pilot_sd=0.08,
        history=("v1: pooled shares, L2 <= 1%, L1 >= 20%, ratio >= 10, no intervals (PASS)",),
    )

    def run(self, params, seed):
        from reglab.lab.claims._linear_data import fit_quiet
        from reglab.linear import Lasso, Ridge

        corr = float(params["corr"])
        n_problems = int(params.get("n_problems", 100))
        if n_problems < 1:
            raise ValueError(f"n_problems must be >= 1, got n_problems={n_problems!r}")
        if not 0.0 <= corr < 1.0:
            raise ValueError(f"corr must be in [0, 1), got corr={corr!r}")
        rng = np.random.default_rng(seed)
        on_axis_l1, on_axis_l2, budgets, mismatch, converged = [], [], [], [], True
        example, best_score = None, -1.0
        for _ in range(n_problems):
            X, y = _problem(rng, corr)
            u = float(rng.uniform(0.05, 0.95))
            n = X.shape[0]
            w_ols = np.linalg.lstsq(X, y, rcond=None)[0]
            t1, t2 = u * np.sum(np.abs(w_ols)), u * np.linalg.norm(w_ols)
            a_max = float(np.max(np.abs(X.T @ y)) / n)

            def lasso(a, X=X, y=y):
                nonlocal converged
                model, ok = fit_quiet(Lasso(a, fit_intercept=False, tol=1e-12, max_iter=1000), X, y)
                converged &= ok
                return model.coef_

            def ridge(a, X=X, y=y):
                return Ridge(a, fit_intercept=False).fit(X, y).coef_

            w1, _ = _at_budget(lasso, lambda w: np.sum(np.abs(w)), t1, 1e-8 * a_max, a_max)
            w2, _ = _at_budget(ridge, np.linalg.norm, t2, 1e-12, 10 * a_max / t2)
            on1 = bool(np.any(w1 == 0.0))
            on2 = bool(np.min(np.abs(w2)) <= AXIS_RTOL_L2 * np.linalg.norm(w2))
            on_axis_l1.append(float(on1))
            on_axis_l2.append(float(on2))
            budgets.append(u)
            mismatch.append(max(abs(np.sum(np.abs(w1)) / t1 - 1), abs(np.linalg.norm(w2) / t2 - 1)))
            # the figure's example: a corner solution whose least-squares point is far from
            # both axes (the most telling picture)
            # (a mid-sized ball first: a tiny or near-full one makes a poor picture)
            score = float(np.min(np.abs(w_ols)) / np.linalg.norm(w_ols)) + (0.35 <= u <= 0.65)
            if on1 and score > best_score:
                best_score = score
                G = X.T @ X / n
                example = [G[0, 0], G[0, 1], G[1, 1], *(X.T @ y / n), *w_ols, *w1, *w2]
        return {
            "axis_gap": float(np.mean(on_axis_l1) - np.mean(on_axis_l2)),
            "frac_axis_l1": float(np.mean(on_axis_l1)),
            "frac_axis_l2": float(np.mean(on_axis_l2)),
            "n_problems": float(n_problems),
            "max_budget_mismatch": float(max(mismatch)),
            "converged": float(converged),
            "budget": budgets,
            "axis_l1": on_axis_l1,
            "example": [float(v) for v in example] if example is not None else [],
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        n_tot = float(rows.values("n_problems").sum())
        w = rows.values("n_problems") / n_tot
        p1 = float(np.sum(w * rows.values("frac_axis_l1")))
        p2 = float(np.sum(w * rows.values("frac_axis_l2")))
        ratio = p1 / max(p2, 1.0 / n_tot)
        mismatch = float(rows.values("max_budget_mismatch").max())
        converged = rows.all("converged")
        from reglab.lab.stats import decide, intersection_union, mean_effect

        prot = self.protocol
        assert prot is not None
        effects, outcomes = {}, {}
        for c, g in rows.by("corr").items():
            e = mean_effect(
                g.values("axis_gap"),
                name=f"share on an axis, L1 - L2 (|corr| = {c:g})",
                smallest=prot.smallest_effect,
                regime=f"corr={c:g}",
            )
            effects[c] = e
            outcomes[f"corr={c:g}"] = decide(
                e, prot.direction, prot.smallest_effect, require_smallest=True
            )
        outcome = intersection_union(outcomes)
        l2 = mean_effect(rows.values("frac_axis_l2"), name="share of L2 optima on an axis")
        head = {
            "SUPPORTED": "Supported",
            "NOT SUPPORTED": "Not supported",
            "INCONCLUSIVE": "Inconclusive",
        }[outcome]
        sentence = (
            f"{head}: the L1-constrained optimum had a coordinate exactly zero in {p1:.0%} of "
            f"random 2-D problems and the L2 optimum in {p2:.1%}; the gap per feature "
            "correlation: "
            + "; ".join(
                f"|corr| {c:g}: {e.estimate:.2f} [{e.low:.2f}, {e.high:.2f}]"
                for c, e in effects.items()
            )
            + "."
        )
        per_corr = {
            c: (g.mean("frac_axis_l1"), g.mean("frac_axis_l2")) for c, g in rows.by("corr").items()
        }
        evidence = (
            f"{n_tot:.0f} random 2-D problems, budget t = u * ||w_ols|| with u ~ U(0.05, 0.95) "
            f"for both balls (largest relative budget mismatch {mismatch:.1e}; lasso fits "
            f"converged: {converged})\n"
            f"L1 optimum on an axis (a coordinate exactly 0): {p1:.1%} of problems\n"
            f"L2 optimum on an axis (min |w_j| <= {AXIS_RTOL_L2:g} ||w||): {p2:.1%}; "
            f"{l2.format()}\n"
            f"ratio L1/L2 (L2 floored at 1/{n_tot:.0f}) = {ratio:.0f}\n"
            "by feature correlation: "
            + "; ".join(f"|corr| = {c:g}: L1 {a:.0%}, L2 {b:.0%}" for c, (a, b) in per_corr.items())
        )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 4.2))
        ex = next((r.metrics["example"] for r in rows if r.metrics["example"]), None)
        if ex is not None:
            _draw_example(ax1, np.asarray(ex))
        budget = np.concatenate([r.metrics["budget"] for r in rows])
        axis1 = np.concatenate([r.metrics["axis_l1"] for r in rows])
        edges = np.linspace(0.05, 0.95, 7)
        idx = np.clip(np.digitize(budget, edges) - 1, 0, edges.size - 2)
        frac = [
            axis1[idx == k].mean() if np.any(idx == k) else np.nan for k in range(edges.size - 1)
        ]
        centres = (edges[:-1] + edges[1:]) / 2
        ax2.bar(centres, frac, width=np.diff(edges) * 0.9, alpha=0.7, label="L1 (diamond)")
        ax2.axhline(p2, color="C3", lw=2, label=f"L2 (circle): {p2:.1%} overall")
        ax2.set_xlabel("budget u = t / ||w_ols||")
        ax2.set_ylabel("fraction of optima on an axis")
        ax2.set_ylim(0, 1)
        ax2.set_title(f"On an axis: L1 {p1:.0%} vs L2 {p2:.1%}", fontsize=10)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        return empirical_verdict(
            prot,
            [*effects.values(), l2],
            outcome,
            sentence=sentence,
            figure=fig,
            evidence=sentence + "\n" + evidence,
            numbers={"frac_axis_l1": p1, "frac_axis_l2": p2, "ratio": ratio},
        )


def _draw_example(ax, ex: np.ndarray) -> None:
    """Loss contours, the diamond and the circle of one stored problem, with both optima."""
    g00, g01, g11, b0, b1 = ex[:5]
    w_ols, w1, w2 = ex[5:7], ex[7:9], ex[9:11]
    t1, t2 = np.sum(np.abs(w1)), np.linalg.norm(w2)
    span = 1.3 * max(np.max(np.abs(w_ols)), t1, t2)
    g = np.linspace(-span, span, 300)
    A, B = np.meshgrid(g, g)
    # the loss up to a constant: w^T G w / 2 - b^T w, with G = X^T X / n, b = X^T y / n
    loss = 0.5 * (g00 * A**2 + 2 * g01 * A * B + g11 * B**2) - b0 * A - b1 * B
    G, b = np.array([[g00, g01], [g01, g11]]), np.array([b0, b1])

    def f(w):
        return 0.5 * w @ G @ w - b @ w

    # contours through both optima, and a few scaled around the L1 one
    d = f(w1) - f(w_ols)
    levels = np.unique([f(w_ols) + d * k for k in (0.1, 0.4, 1.0, 2.0)] + [f(w2)])
    ax.contour(A, B, loss, levels=levels, colors="grey", linewidths=0.7)
    ax.plot([t1, 0, -t1, 0, t1], [0, t1, 0, -t1, 0], "C0-", lw=1.5, label="||w||_1 = t_1")
    th = np.linspace(0, 2 * np.pi, 200)
    ax.plot(t2 * np.cos(th), t2 * np.sin(th), "C3-", lw=1.5, label="||w||_2 = t_2")
    ax.plot(*w_ols, "k*", ms=10, label="least squares")
    ax.plot(*w1, "C0o", ms=7, label="L1 optimum (corner)")
    ax.plot(*w2, "C3s", ms=6, label="L2 optimum")
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("w_1")
    ax.set_ylabel("w_2")
    ax.set_title("Contours touch the diamond at a corner", fontsize=10)
    ax.legend(fontsize=6, loc="best", framealpha=0.9)
