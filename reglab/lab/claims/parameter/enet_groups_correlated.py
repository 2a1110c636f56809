"""Claim ``enet-groups-correlated``: the elastic net selects correlated groups whole; the lasso not.

Deep dive, section 5 ("Correlated features: L1 alone arbitrarily picks one of a correlated
pair; elastic net groups them"). The elastic net
``1/(2n)||y - Xw||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)`` is strictly
convex, and subtracting the KKT conditions of two same-sign coefficients gives the grouping
effect of Zou & Hastie (2005, Theorem 1), in our scaling

    |w_i - w_j| <= ||x_i - x_j|| ||y|| / (n alpha (1 - l1_ratio)),

so near-copies are forced to near-equal weights and enter the model together, while the
lasso (l1_ratio = 1) tends to keep one member of a group and drop the rest.

Design (protocol v2): Zou & Hastie's (2005) simulation example 4, the setting the grouping
sentence comes from. p = 40 features: three groups of five near-copies,
``x_i = Z_g + 0.1 e_i`` (within-group correlation about 0.99), and 25 independent N(0, 1)
noise features; ``beta = (3 x 15, 0 x 25)``, noise sd 15; n = 50 training and 50 validation
rows. For each l1_ratio in {1 (the lasso, the baseline the sentence names), 0.9, 0.7, 0.5,
0.2} ``reglab.linear.enet_path`` (with intercept, 50 alphas down to alpha_max / 1000) is fitted
on the training rows and alpha is chosen by the validation error, as Zou & Hastie do; the
test error is the mean squared error on 1000 fresh rows.

Primary metric: the whole-group rate, the fraction of the three true groups whose five
members are all non-zero in the tuned model. Effect: paired difference (same data per seed)
elastic net at l1_ratio 0.5 (reglab's default) minus lasso. Smallest effect of interest 0.2:
one group in five more often kept whole is a difference a practitioner reading the selected
features would notice. Direction increase; analysis paired t over seeds; the other l1_ratios
are reported with Holm's correction (secondary). Power: the pilot (30 seeds) gave whole-group
rates 0.00 (lasso) and 1.00 (l1_ratio 0.5) in every seed, paired sd 0, so
``seeds_for_power`` gives the minimum of 5; we run 10 (one run takes about 0.05 s).

History. v1 (first wave) bootstrapped a lasso and an elastic net on synthetic exchangeable
twins and on breast_cancer's near-duplicate feature pairs and required a pair imbalance
``|w1 - w2| / (|w1| + |w2|) <= 0.2``; it FAILED on breast_cancer (imbalance 0.56) because
those twins are not exchangeable (they relate differently to the other size features), an
operationalisation problem, not a finding. v2 measures the sentence on the design of the paper
that made it. The Zou & Hastie bound itself (an inequality at the optimum) is reported as a
check of the fits, not as evidence.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
enet-groups-correlated -j 1`: default grid 10 runs, 3.6 s CPU (13 s wall), smoke grid 3.3 s
CPU; both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

L1_RATIOS = [1.0, 0.9, 0.7, 0.5, 0.2]
PRIMARY = 0.5
N_GROUPS, GROUP_SIZE, N_NOISE = 3, 5, 25
N_TRAIN, N_VAL, N_TEST = 50, 50, 1000
N_ALPHAS = 50

PROTOCOL = Protocol(
    version=2,
    metric="whole_groups_0.5",
    effect="paired difference over seeds: whole-group rate of the elastic net "
    "(l1_ratio 0.5, alpha tuned on validation) - the lasso's (same data)",
    smallest_effect=0.2,
    direction="increase",
    analysis="paired t over seeds (95% CI); other l1_ratios secondary, Holm over 4",
    seeds=10,
    pilot_sd=0.0,
    history=(
        "v1: pair imbalance <= 0.2 on bootstrapped synthetic twins and breast_cancer's "
        "near-duplicate pairs (FAIL on breast_cancer, whose twins are not exchangeable); "
        "replaced by Zou & Hastie's (2005) grouped design and the whole-group selection rate",
    ),
)


def zou_hastie_design(
    rng: np.random.Generator, n: int, sigma: float = 15.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` rows of Zou & Hastie's (2005) example 4: three groups of five near-copies.

    Returns ``X`` (n, 40), ``y`` and the true ``beta``.
    """
    Z = rng.standard_normal((n, N_GROUPS))
    X = np.empty((n, N_GROUPS * GROUP_SIZE + N_NOISE))
    for g in range(N_GROUPS):
        cols = slice(GROUP_SIZE * g, GROUP_SIZE * (g + 1))
        X[:, cols] = Z[:, [g]] + 0.1 * rng.standard_normal((n, GROUP_SIZE))
    X[:, N_GROUPS * GROUP_SIZE :] = rng.standard_normal((n, N_NOISE))
    beta = np.r_[np.full(N_GROUPS * GROUP_SIZE, 3.0), np.zeros(N_NOISE)]
    return X, X @ beta + sigma * rng.standard_normal(n), beta


def group_rates(w: np.ndarray) -> tuple[float, float, float]:
    """(whole-group rate, any-member rate, share of noise features selected) of ``w``."""
    nz = np.asarray(w) != 0
    groups = [nz[GROUP_SIZE * g : GROUP_SIZE * (g + 1)] for g in range(N_GROUPS)]
    whole = float(np.mean([g.all() for g in groups]))
    anyone = float(np.mean([g.any() for g in groups]))
    return whole, anyone, float(nz[N_GROUPS * GROUP_SIZE :].mean())


class ENetGroupsCorrelated(Claim):
    id = "enet-groups-correlated"
    kind = Kind.PARAMETER
    section = "5. Elastic Net"
    statement = (
        "Correlated features: L1 alone arbitrarily picks one of a correlated pair; elastic "
        "net groups them."
    )
    interview = (
        "The lasso's penalty only sees |w_1| + |w_2| for two near-copies, so it is indifferent "
        "to how the weight is split and in practice keeps one member of a correlated group "
        "and drops the others. The elastic net adds a strictly convex L2 part; subtracting the "
        "KKT conditions of two same-sign coefficients gives Zou and Hastie's grouping bound, "
        "|w_i - w_j| <= ||x_i - x_j|| ||y|| / (n alpha (1 - l1_ratio)), which vanishes as the "
        "correlation goes to one, so near-copies get near-equal weights and enter together. "
        "On Zou and Hastie's own simulation (three groups of five near-copies among 25 noise "
        "features, alpha tuned on validation) the lasso never keeps a whole group while the "
        "elastic net at l1_ratio 0.5 keeps every group whole; the price is that the tuned "
        "elastic net also lets in more noise features (about three quarters, against a quarter "
        "for the lasso) and, in our runs, had a somewhat higher test error: grouping is "
        "about which features you keep, not automatically about prediction."
    )
    grid = [{"design": "zou-hastie"}]
    smoke = [{"design": "zou-hastie"}]
    seeds = 10
    smoke_seeds = 2
    protocol = PROTOCOL

    def run(self, params, seed):
        from reglab.lab.claims._linear_data import path_quiet
        from reglab.linear import enet_path

        if params.get("design") != "zou-hastie":
            raise ValueError(f"design must be 'zou-hastie', got design={params.get('design')!r}")
        rng = np.random.default_rng(seed)
        X, y, beta = zou_hastie_design(rng, N_TRAIN)
        Xv, yv, _ = zou_hastie_design(rng, N_VAL)
        Xt, yt, _ = zou_hastie_design(rng, N_TEST)
        Xc, yc = X - X.mean(axis=0), y - y.mean()
        out: dict = {}
        converged = True
        bound_ratio = 0.0
        for q in L1_RATIOS:
            a_max = float(np.max(np.abs(Xc.T @ yc)) / (N_TRAIN * q))
            alphas = a_max * np.geomspace(1.0, 1e-3, N_ALPHAS)
            path, ok = path_quiet(
                enet_path,
                X,
                y,
                l1_ratio=q,
                alphas=alphas,
                fit_intercept=True,
                tol=1e-8,
                max_iter=2000,
            )
            converged &= ok
            val = np.mean((yv[:, None] - (Xv @ path.coefs + path.intercepts)) ** 2, axis=0)
            k = int(np.argmin(val))
            w = path.coefs[:, k]
            whole, anyone, noise = group_rates(w)
            out[f"whole_groups_{q:g}"] = whole
            out[f"any_group_{q:g}"] = anyone
            out[f"noise_selected_{q:g}"] = noise
            out[f"test_mse_{q:g}"] = float(np.mean((yt - Xt @ w - path.intercepts[k]) ** 2))
            out[f"coef_{q:g}"] = w.tolist()
            if q < 1:
                # Zou & Hastie's bound at the chosen alpha, on the centred training design
                for g in range(N_GROUPS):
                    for i in range(GROUP_SIZE * g, GROUP_SIZE * (g + 1)):
                        for j in range(i + 1, GROUP_SIZE * (g + 1)):
                            if w[i] * w[j] > 0:
                                bound = (
                                    np.linalg.norm(Xc[:, i] - Xc[:, j])
                                    * np.linalg.norm(yc)
                                    / (N_TRAIN * path.alphas[k] * (1 - q))
                                )
                                bound_ratio = max(bound_ratio, abs(w[i] - w[j]) / bound)
        out["grouping_bound_ratio"] = float(bound_ratio)
        out["converged"] = float(converged)
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        from reglab.lab.stats import decide, holm, paired_effect

        p = self.protocol
        assert p is not None
        lasso = rows.values("whole_groups_1")
        effects = {}
        for q in L1_RATIOS[1:]:
            effects[q] = paired_effect(
                rows.values(f"whole_groups_{q:g}"),
                lasso,
                name=f"whole-group rate: elastic net (l1_ratio {q:g}) - lasso",
                smallest=p.smallest_effect,
            )
        primary = effects[PRIMARY]
        outcome = decide(primary, p.direction, p.smallest_effect)
        rejected = holm(
            {f"{q:g}": 1.0 if e.p_value is None else e.p_value for q, e in effects.items()}
        )
        mean = {q: rows.mean(f"whole_groups_{q:g}") for q in L1_RATIOS}
        noise = {q: rows.mean(f"noise_selected_{q:g}") for q in L1_RATIOS}
        mse = {q: rows.mean(f"test_mse_{q:g}") for q in L1_RATIOS}
        d_noise = paired_effect(
            rows.values(f"noise_selected_{PRIMARY:g}"),
            rows.values("noise_selected_1"),
            name="share of noise features selected: elastic net (0.5) - lasso",
        )
        d_mse = paired_effect(
            rows.values(f"test_mse_{PRIMARY:g}"),
            rows.values("test_mse_1"),
            name="test MSE: elastic net (0.5) - lasso",
        )
        ci = f"{primary.estimate:+.2f} [{primary.low:+.2f}, {primary.high:+.2f}]"
        head = {
            "SUPPORTED": "Supported",
            "NOT SUPPORTED": "Not supported",
            "INCONCLUSIVE": "Inconclusive",
        }[outcome]
        sentence = (
            f"{head}: on Zou & Hastie's grouped design the elastic net (l1_ratio 0.5) kept "
            f"{mean[PRIMARY]:.0%} of the correlated groups whole against {mean[1.0]:.0%} for "
            f"the lasso, a difference of {ci} over {primary.n} seeds."
        )
        lines = [
            sentence,
            f"all fits converged: {rows.all('converged')}; Zou & Hastie's bound at the chosen "
            f"alpha: max |w_i - w_j| / bound = {rows.values('grouping_bound_ratio').max():.3f} "
            "(<= 1 at the optimum)",
        ]
        for q in L1_RATIOS:
            extra = ""
            if q in effects:
                e = effects[q]
                extra = (
                    f"; vs lasso {e.estimate:+.2f} [{e.low:+.2f}, {e.high:+.2f}], "
                    f"Holm-significant: {rejected[f'{q:g}']}"
                )
            lines.append(
                f"l1_ratio {q:g}: whole groups {mean[q]:.0%}, noise features selected "
                f"{noise[q]:.0%}, test MSE {mse[q]:.1f}{extra}"
            )
        lines.append(
            f"the price of grouping: noise features selected {d_noise.format()}; test MSE "
            f"{d_mse.format()} (elastic net 0.5 - lasso)"
        )

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        qs = np.array(L1_RATIOS)
        ax1.plot(qs, [mean[q] for q in L1_RATIOS], "o-", label="groups kept whole")
        ax1.plot(qs, [noise[q] for q in L1_RATIOS], "s--", label="noise features selected")
        ax1.set_xlabel("l1_ratio (1 = lasso)")
        ax1.set_ylabel("fraction")
        ax1.set_ylim(-0.05, 1.05)
        ax1.set_title("Zou & Hastie ex. 4, alpha tuned", fontsize=10)
        ax1.legend(fontsize=7)
        r0 = rows[0]
        for q, mk in ((1.0, "o"), (PRIMARY, "s")):
            w = np.asarray(r0.metrics[f"coef_{q:g}"])
            ax2.plot(np.arange(w.size), w, mk, ms=4, label=f"l1_ratio {q:g}")
        for g in range(1, N_GROUPS + 1):
            ax2.axvline(GROUP_SIZE * g - 0.5, color="grey", lw=0.6)
        ax2.set_xlabel("feature (3 groups of 5, then noise)")
        ax2.set_ylabel("coefficient")
        ax2.set_title("One seed's tuned coefficients", fontsize=10)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"whole_groups[l1_ratio={q:g}]": mean[q] for q in L1_RATIOS}
        numbers.update({f"noise_selected[l1_ratio={q:g}]": noise[q] for q in L1_RATIOS})
        return empirical_verdict(
            p,
            [primary, *[e for q, e in effects.items() if q != PRIMARY], d_noise, d_mse],
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers=numbers,
        )
