"""Claim ``enet-groups-correlated``: the elastic net keeps correlated twins with similar weights.

Deep dive, section 5 ("Correlated features: L1 alone arbitrarily picks one of a correlated
pair; elastic net groups them"). The elastic net
``1/(2n)||y - Xw||^2 + alpha (l1_ratio ||w||_1 + (1 - l1_ratio)/2 ||w||^2)`` is strictly
convex, and subtracting the KKT conditions of two same-sign coefficients gives the grouping
effect of Zou & Hastie (2005, Theorem 1), in our scaling

    |w_i - w_j| <= ||x_i - x_j|| ||y|| / (n alpha (1 - l1_ratio)),

with ``||x_i - x_j|| = sqrt(2 n (1 - rho_ij))`` for standardised columns: near-duplicates
(rho -> 1) are forced to near-equal weights, while the lasso (l1_ratio = 1) has no such bound.

The experiment is the one of ``l1-unstable-on-correlated`` (same designs, resamples and
metrics; see :mod:`reglab.lab.claims.parameter._pairs`): bootstrap fits of the elastic net
with reglab's default l1_ratio = 0.5 at alpha_max / 10 (its own alpha_max, so its L1 part
equals the lasso's) on synthetic exchangeable twins (rho = 0.9, 0.99) and on breast_cancer's
pairs correlated above 0.99.

Thresholds, fixed before the runs. On near-duplicate pairs (correlation >= 0.99) in every
design: mean imbalance ``|w1 - w2| / (|w1| + |w2|)`` <= 0.2 ("similar": the larger weight at
most 1.5 times the smaller), at most half the lasso's imbalance, and both twins non-zero in
>= 90% of the (resample, pair) cells where either is. In every design the grouping bound must
hold (ratio <= 1 + 1e-6; the solves are certified to a relative gap of 1e-10). Pairs at
rho = 0.9 are reported (the bound is looser there) but not required to be similar.

Honest result: FAIL. On synthetic exchangeable twins the elastic net groups them (imbalance
about 0.04 against the lasso's 0.65, both kept in every fit), but on breast_cancer's
near-duplicate pairs (e.g. worst radius / worst perimeter, part of a larger cluster of size
features, so not interchangeable) the default l1_ratio = 0.5 keeps both in most fits yet
weights them unequally (imbalance about 0.56 > 0.2). The thresholds were fixed before the
runs and are not moved; ``known_failure`` records this so the smoke test expects the FAIL.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.lab.claims.parameter._pairs import GRID, designs_of, run_pairs
from reglab.taxonomy import Kind

NEAR_DUPLICATE = 0.99
MAX_IMBALANCE = 0.2
MAX_REL_TO_LASSO = 0.5
MIN_BOTH_KEPT = 0.9
GROUPING_TOL = 1e-6


class ENetGroupsCorrelated(Claim):
    id = "enet-groups-correlated"
    kind = Kind.PARAMETER
    section = "5. Elastic Net, when to use"
    statement = (
        "Correlated features: L1 alone arbitrarily picks one of a correlated pair; elastic net "
        "groups them, keeping both with similar weights."
    )
    interview = (
        "Adding an L2 term makes the objective strictly convex, so the solution is unique, and "
        "the KKT conditions of two same-sign coefficients give Zou and Hastie's grouping bound: "
        "|w_i - w_j| is at most ||x_i - x_j|| ||y|| / (n alpha (1 - l1_ratio)), and ||x_i - "
        "x_j|| = sqrt(2n(1 - rho)) vanishes as the correlation goes to one. So exchangeable "
        "twins get nearly equal weights and stay in or out together, which is what you want "
        "for interpretation and stability; the lasso is the l1_ratio = 1 end where the bound "
        "disappears. The strength of the grouping is set by alpha (1 - l1_ratio): on real data, "
        "where the twins are not perfectly exchangeable, a default l1_ratio of 0.5 keeps both "
        "but can still weight them quite differently, so lower l1_ratio if grouping matters."
    )
    grid = GRID
    smoke = [{"design": "synthetic", "rho": 0.99}, {"design": "breast_cancer"}]
    known_failure = (
        "on breast_cancer's near-duplicate pairs the elastic net (l1_ratio 0.5) keeps both "
        "features but with unequal weights: they are not exchangeable twins"
    )
    seeds = 3
    smoke_seeds = 1

    def run(self, params, seed):
        return run_pairs(params, seed)

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        designs = designs_of(rows)
        near = [d for d in designs if d["corr"] >= NEAR_DUPLICATE]

        def similar(d):
            return (
                d["enet_imbalance"] <= MAX_IMBALANCE
                and d["enet_imbalance"] <= MAX_REL_TO_LASSO * d["lasso_imbalance"]
                and d["enet_both_kept"] >= MIN_BOTH_KEPT
            )

        ok_near = bool(near) and all(similar(d) for d in near)
        grouping = max(d["grouping_ratio"] for d in designs)
        ok_bound = grouping <= 1 + GROUPING_TOL
        converged = rows.all("enet_converged")
        passed = ok_near and ok_bound and converged
        lines = [
            f"{len(rows)} runs x bootstrap resamples; elastic net l1_ratio 0.5 at alpha_max/10 "
            f"(all converged: {converged}):"
        ]
        for d in designs:
            verdict = (
                ""
                if d["corr"] < NEAR_DUPLICATE
                else (" -> similar" if similar(d) else " -> NOT similar")
            )
            lines.append(
                f"  {d['label']}: imbalance elastic net {d['enet_imbalance']:.2f} vs lasso "
                f"{d['lasso_imbalance']:.2f}; both twins kept: elastic net "
                f"{d['enet_both_kept']:.0%} vs lasso {d['lasso_both_kept']:.0%}{verdict}"
            )
        lines += [
            f"near-duplicates (corr >= {NEAR_DUPLICATE}): imbalance <= {MAX_IMBALANCE}, <= "
            f"{MAX_REL_TO_LASSO} x lasso's, both kept >= {MIN_BOTH_KEPT:.0%}, in every design: "
            f"{ok_near}",
            f"Zou-Hastie grouping bound: max |w_i - w_j| / bound = {grouping:.3f} (must be "
            f"<= 1): {ok_bound}",
        ]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.0))
        x = np.arange(len(designs))
        names = [
            d["label"].replace(" (corr > 0.99)", "").replace("synthetic twins, ", "")
            for d in designs
        ]
        for k, (name, key) in enumerate((("lasso", "lasso"), ("elastic net", "enet"))):
            ax1.bar(
                x + (k - 0.5) * 0.38, [d[f"{key}_imbalance"] for d in designs], 0.38, label=name
            )
            ax2.bar(
                x + (k - 0.5) * 0.38, [d[f"{key}_both_kept"] for d in designs], 0.38, label=name
            )
        ax1.axhline(MAX_IMBALANCE, color="k", ls="--", lw=1, label=f"'similar' ({MAX_IMBALANCE})")
        ax2.axhline(MIN_BOTH_KEPT, color="k", ls="--", lw=1, label=f"{MIN_BOTH_KEPT:.0%}")
        for ax, title, ylabel in (
            (ax1, "Imbalance |w1-w2|/(|w1|+|w2|)", "mean imbalance"),
            (ax2, "Both twins non-zero", "fraction of resamples x pairs"),
        ):
            ax.set_xticks(x, names, fontsize=8)
            ax.set_title(title, fontsize=10)
            ax.set_ylabel(ylabel)
            ax.set_ylim(0, 1.05)
            ax.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"enet_imbalance[{d['label']}]": d["enet_imbalance"] for d in designs}
        numbers["grouping_ratio"] = grouping
        return Verdict(passed, "\n".join(lines), fig, numbers)
