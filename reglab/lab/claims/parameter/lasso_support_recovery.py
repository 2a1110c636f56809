"""Claim ``lasso-support-recovery``: with p >> n the lasso finds the true features once
n exceeds about 2 s log(p - s).

Deep dive, section 4 ("When to use: ... High-dimensional, low-sample" [p >> n]). The lasso is
recommended when there are many more features than rows. What makes that work is a sharp
threshold: Wainwright (2009, "Sharp thresholds for high-dimensional and noisy sparsity
recovery using l1-constrained quadratic programming (Lasso)", IEEE Trans. Inf. Theory 55)
proves that for a standard Gaussian design, s non-zero coefficients out of p and the
penalty ``lambda_n = sqrt(2 sigma^2 log(s) log(p - s) / n)``, the probability that the lasso
recovers the signed support exactly goes to 1 when the control parameter
``theta = n / (2 s log(p - s))`` is above 1 and to 0 below it: the rows needed grow with
log p, not with p.

Experiment, Wainwright's setting scaled down: X with i.i.d. N(0, 1) entries, s = 8 non-zero
coefficients equal to +-1 on a random support, sigma = 0.5, p in {256, 1024} and theta in
{0.5, 1, 1.5, 2, 3} (n from 45 to 333; below p except p = 256 at theta = 3, n = 265),
10 problems per run;
``reglab.linear.Lasso`` (objective ``1/(2n)||y - Xw||^2 + lambda ||w||_1``, Wainwright's
scaling, relative gap 1e-8) at ``lambda_n``; success when ``sign(w) == sign(beta)`` exactly.

Protocol. Metric: the success rate of a run (10 problems). Primary effect per p: the
difference success(theta = 2) - success(theta = 0.5), taken repetition by repetition (the
draws are independent, so the paired t is valid, only not more powerful), a factor of four in n
across the predicted threshold; smallest effect of interest 0.5 (from mostly failing to
mostly succeeding); both p must show it (intersection-union, each at 5%). Secondary,
reported: at each theta the difference between the two p (the curves should collapse when
plotted against theta). Power: a 30-problem pilot per cell gave rates 0.0 / 0.73 (p = 256)
and 0.0 / 0.97 (p = 1024) at theta 0.5 / 2; with 10 problems per run the sd of the difference
over runs is at most about 0.15, ``seeds_for_power(0.15, 0.5)`` = 5; we run 6.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
lasso-support-recovery -j 1`: default grid 60 runs, 5.4 s CPU (19 s wall), smoke grid 3.3 s
CPU; both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

S, SIGMA, N_PROBLEMS = 8, 0.5, 10
THETAS = [0.5, 1.0, 1.5, 2.0, 3.0]
LOW, HIGH = 0.5, 2.0

PROTOCOL = Protocol(
    version=1,
    metric="success_rate",
    effect="difference by repetition (independent draws): exact signed-support recovery rate at "
    "theta = n / (2 s log(p - s)) = 2 minus at theta = 0.5, per p",
    smallest_effect=0.5,
    direction="increase",
    analysis="t over repetitions per p; intersection-union over p in {256, 1024}",
    seeds=6,
    pilot_sd=0.15,
)


def n_for(theta: float, p: int, s: int = S) -> int:
    """Rows for control parameter ``theta = n / (2 s log(p - s))`` (rounded up)."""
    return int(np.ceil(theta * 2 * s * np.log(p - s)))


def wainwright_lambda(n: int, p: int, s: int = S, sigma: float = SIGMA) -> float:
    """Wainwright's (2009) penalty ``sqrt(2 sigma^2 log(s) log(p - s) / n)``."""
    return float(np.sqrt(2 * sigma**2 * np.log(s) * np.log(p - s) / n))


class LassoSupportRecovery(Claim):
    id = "lasso-support-recovery"
    kind = Kind.PARAMETER
    section = "4. L1 (Lasso), when to use"
    statement = "When to use [L1]: high-dimensional, low-sample (p >> n)."
    interview = (
        "The lasso is the tool for p >> n because the number of rows it needs to find the "
        "right features grows with s log p, not with p. Wainwright made that sharp: with a "
        "Gaussian design, s true features and lambda of order sigma sqrt(log p / n), exact "
        "recovery of the signed support switches from almost never to almost always around "
        "n = 2 s log(p - s). With 8 true features among 1024, about 110 rows are the "
        "threshold (the support is recovered in about one problem in six), 220 rows recover "
        "it in four problems in five and 330 rows almost always, far fewer rows than "
        "features; below the threshold the failures are mostly extra, false features. "
        "Conditions matter: the irrepresentable condition (irrelevant features not "
        "too correlated with relevant ones) and a minimum signal size; with correlated "
        "designs the lasso picks the wrong member of a group, which is where the elastic net "
        "helps."
    )
    grid = {"p": [256, 1024], "theta": THETAS}
    smoke = {"p": [256], "theta": [LOW, HIGH]}
    seeds = 6
    smoke_seeds = 2
    protocol = PROTOCOL

    def run(self, params, seed):
        from reglab.lab.claims._linear_data import fit_quiet
        from reglab.linear import Lasso

        p, theta = int(params["p"]), float(params["theta"])
        if p <= 2 * S or theta <= 0:
            raise ValueError(f"need p > {2 * S} and theta > 0, got p={p!r}, theta={theta!r}")
        n = n_for(theta, p)
        lam = wainwright_lambda(n, p)
        rng = np.random.default_rng(seed)
        successes, converged, false_pos, false_neg = 0, True, 0, 0
        for _ in range(N_PROBLEMS):
            X = rng.standard_normal((n, p))
            beta = np.zeros(p)
            beta[rng.choice(p, S, replace=False)] = rng.choice([-1.0, 1.0], S)
            y = X @ beta + SIGMA * rng.standard_normal(n)
            model, ok = fit_quiet(Lasso(lam, fit_intercept=False, tol=1e-8, max_iter=2000), X, y)
            converged &= ok
            w = model.coef_
            successes += int(np.array_equal(np.sign(w), np.sign(beta)))
            false_pos += int(np.sum((w != 0) & (beta == 0)))
            false_neg += int(np.sum((w == 0) & (beta != 0)))
        return {
            "success_rate": successes / N_PROBLEMS,
            "n": float(n),
            "lambda": lam,
            "false_positives": false_pos / N_PROBLEMS,
            "false_negatives": false_neg / N_PROBLEMS,
            "converged": float(converged),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        from reglab.lab.stats import decide, intersection_union, paired_effect

        prot = self.protocol
        assert prot is not None
        effects, outcomes = {}, {}
        ps = rows.param_values("p")
        for p in ps:
            g = rows.where(p=p)
            hi, lo = g.where(theta=HIGH), g.where(theta=LOW)
            if not len(hi) or not len(lo):
                continue
            by_seed_hi = {r.repetition: r.metrics["success_rate"] for r in hi}
            by_seed_lo = {r.repetition: r.metrics["success_rate"] for r in lo}
            reps = sorted(set(by_seed_hi) & set(by_seed_lo))
            e = paired_effect(
                [by_seed_hi[k] for k in reps],
                [by_seed_lo[k] for k in reps],
                name=f"recovery rate theta {HIGH:g} - theta {LOW:g} (p = {p})",
                smallest=prot.smallest_effect,
                regime=f"p={p}",
            )
            effects[p] = e
            outcomes[p] = decide(e, prot.direction, prot.smallest_effect)
        outcome = intersection_union({f"p={p}": o for p, o in outcomes.items()})
        rate = {
            (p, t): rows.where(p=p, theta=t).mean("success_rate")
            for p in ps
            for t in rows.param_values("theta")
            if len(rows.where(p=p, theta=t))
        }
        head = {
            "SUPPORTED": "Supported",
            "NOT SUPPORTED": "Not supported",
            "INCONCLUSIVE": "Inconclusive",
        }[outcome]
        parts = [
            f"p = {p} (n {n_for(LOW, p)} -> {n_for(HIGH, p)}): {rate[(p, LOW)]:.0%} -> "
            f"{rate[(p, HIGH)]:.0%}, +{e.estimate:.2f} [{e.low:.2f}, {e.high:.2f}]"
            for p, e in effects.items()
        ]
        sentence = (
            f"{head}: with far fewer rows than features, exact support recovery by the lasso "
            f"jumps across n = 2 s log(p - s) as Wainwright (2009) predicts: "
            + "; ".join(parts)
            + f" ({min(e.n for e in effects.values())} seeds x {N_PROBLEMS} problems)."
        )
        lines = [sentence, f"all fits converged: {rows.all('converged')}"]
        for (p, t), r in sorted(rate.items()):
            g = rows.where(p=p, theta=t)
            lines.append(
                f"p = {p}, theta = {t:g} (n = {n_for(t, p)}, lambda = "
                f"{wainwright_lambda(n_for(t, p), p):.3f}): recovery {r:.0%}; per problem "
                f"{g.mean('false_positives'):.2f} false and {g.mean('false_negatives'):.2f} "
                f"missed features"
            )
        if len(ps) == 2:
            gaps = [
                abs(rate[(ps[0], t)] - rate[(ps[1], t)])
                for t in rows.param_values("theta")
                if (ps[0], t) in rate and (ps[1], t) in rate
            ]
            lines.append(
                f"collapse against theta (secondary): largest gap between p = {ps[0]} and "
                f"p = {ps[1]} at equal theta {max(gaps):.2f}"
            )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        for p in ps:
            ts = [t for t in rows.param_values("theta") if (p, t) in rate]
            ax1.plot([n_for(t, p) for t in ts], [rate[(p, t)] for t in ts], "o-", label=f"p={p}")
            ax2.plot(ts, [rate[(p, t)] for t in ts], "o-", label=f"p={p}")
        ax1.set_xlabel("n (rows)")
        ax1.set_ylabel("P(exact signed support)")
        ax1.set_title(f"Lasso, s = {S}, sigma = {SIGMA}", fontsize=10)
        ax2.axvline(1.0, color="k", ls="--", lw=1, label="Wainwright threshold")
        ax2.set_xlabel("theta = n / (2 s log(p - s))")
        ax2.set_title("Curves collapse in theta", fontsize=10)
        for ax in (ax1, ax2):
            ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=7)
        fig.tight_layout()
        return empirical_verdict(
            prot,
            list(effects.values()),
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers={f"recovery[p={p}, theta={t:g}]": r for (p, t), r in rate.items()},
        )
