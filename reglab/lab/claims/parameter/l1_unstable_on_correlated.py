"""Claim ``l1-unstable-on-correlated``: the lasso splits correlated twins unevenly and unstably.

Deep dive, section 4 ("Failure modes": "among correlated features, L1 picks one arbitrarily
— unstable across data subsets"). For two identical columns the lasso objective only sees
``|w_1| + |w_2|``: every split of the total weight with equal signs is optimal, and for
near-duplicates the tiny difference between the columns, i.e. the noise, decides the split
(Zou & Hastie, 2005, section 2.3; Tibshirani, 2013, "The lasso problem and uniqueness").
The lasso does not have to drop one twin exactly: it often keeps both with very unequal
weights, so we measure

* the imbalance ``|w_1 - w_2| / (|w_1| + |w_2|)`` (0 for an even split, 1 when one is zero),
* the flip rate, the fraction of bootstrap resamples in which the usually smaller twin has the
  larger weight (0: always the same one dominates; 0.5: a coin flip),

on 50 bootstrap resamples per run of (a) synthetic twins (3 pairs sharing a latent factor at
correlation rho, both members with true weight 1, 4 noise features, n = 100) and (b) the pairs
of breast_cancer features correlated above 0.99 (mean radius / mean perimeter, worst radius /
worst perimeter) with the diagnosis as a 0/1 target. The lasso runs at alpha = alpha_max / 10
of each resample; the elastic net (l1_ratio = 0.5, reglab's default) at the same fraction of
its own alpha_max is shown beside it (it is the subject of ``enet-groups-correlated``).

Protocol v2 (empirical). The sentence makes two statements. "Arbitrarily -- unstable across
data subsets" is the primary one: metric ``lasso_flip_rate`` (per run, over its 50
resamples), mean over seeds with a 95% t-interval per design; smallest effect of interest 0.1
(the winner changes in at least one resample in ten: a reader re-fitting on new data would
see it), direction increase. The sentence names no exception, so it is predicted in every
design: synthetic twins at rho 0.9 and 0.99, and breast_cancer's near-duplicate pairs; the
verdict is ``decide_conditional`` with every regime predicted (SUPPORTED only if it holds in
all; NOT SUPPORTED if it fails in one). "Picks one" is secondary, reported: the paired
difference (same resamples) of the pair imbalance, lasso - elastic net. Disclosed: the v1
runs had already shown flip rates 0.22-0.35 on the synthetic twins and 0.00 on
breast_cancer; v2 keeps the design and seeds and adds intervals, so its numbers repeat v1's
first three seeds. Power: v1's sd of the flip rate at rho 0.99 was 0.04, so 5 seeds
(the minimum) resolve 0.1.

History. v1 required lasso imbalance >= 0.5 on near-duplicates, flip rate >= 0.1 on the
exchangeable twins only (breast_cancer's flip rate reported, not required) and imbalance
growing with rho (PASS). That left out the breast_cancer pairs, where the lasso is lopsided
but not arbitrary; v2 judges "arbitrarily" in every design.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
l1-unstable-on-correlated -j 1`: default grid 15 runs, 4.3 s CPU (18 s wall), smoke grid 3.5 s
CPU; both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.claims.parameter._pairs import GRID, designs_of, run_pairs
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

NEAR_DUPLICATE = 0.99
MIN_IMBALANCE = 0.5
MIN_FLIP = 0.1

PROTOCOL = Protocol(
    version=2,
    metric="lasso_flip_rate",
    effect="mean over seeds of the lasso's flip rate (share of bootstrap resamples in which "
    "the usually smaller twin gets the larger weight), per design",
    smallest_effect=MIN_FLIP,
    direction="increase",
    analysis="t over seeds per design; decide_conditional with the effect predicted in every "
    "design; imbalance lasso - elastic net (paired) secondary",
    seeds=5,
    regimes={
        "synthetic twins, rho = 0.9": "unstable (flip rate >= 0.1)",
        "synthetic twins, rho = 0.99": "unstable (flip rate >= 0.1)",
        "breast_cancer pairs (corr > 0.99)": "unstable (flip rate >= 0.1)",
    },
    pilot_sd=0.04,
    history=(
        "v1: imbalance >= 0.5 on near-duplicates, flip rate >= 0.1 on exchangeable twins only, "
        "imbalance growing with rho (PASS); breast_cancer's flip rate was not judged",
    ),
)


class L1UnstableOnCorrelated(Claim):
    id = "l1-unstable-on-correlated"
    kind = Kind.PARAMETER
    section = "4. L1 (Lasso), failure modes"
    statement = (
        "Among correlated features, L1 picks one arbitrarily: on a correlated pair the lasso's "
        "weights are very unequal, and which one dominates flips across data subsets."
    )
    interview = (
        "For two identical features the lasso penalty only sees |w1| + |w2|, so any split of "
        "the total with the same sign costs the same: the solution is not unique, and for "
        "near-duplicates the noise in the small difference between them decides. In practice "
        "the lasso usually loads one twin heavily and the other lightly or not at all, and a "
        "bootstrap resample can hand the weight to the other twin, so reading feature "
        "importance off a lasso fit on correlated data is dangerous. The fix is some L2: the "
        "elastic net is strictly convex and its grouping effect pulls the twins' weights "
        "together (nearly equal for exchangeable twins). One nuance I measured: when the twins are not truly interchangeable, "
        "for instance on real data where they relate differently to other features, the lasso "
        "picks the same one every time: lopsided, but not random."
    )
    grid = GRID
    smoke = GRID
    seeds = 5
    smoke_seeds = 1
    protocol = PROTOCOL

    def run(self, params, seed):
        return run_pairs(params, seed)

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        designs = designs_of(rows)
        near = [d for d in designs if d["corr"] >= NEAR_DUPLICATE]
        exch_near = [d for d in near if d["params"]["design"] == "synthetic"]
        synth = sorted(
            (d for d in designs if d["params"]["design"] == "synthetic"),
            key=lambda d: d["params"]["rho"],
        )
        ok_imb = bool(near) and all(d["lasso_imbalance"] >= MIN_IMBALANCE for d in near)
        ok_flip = bool(exch_near) and all(d["lasso_flip_rate"] >= MIN_FLIP for d in exch_near)
        ok_grow = len(synth) >= 2 and all(
            a["lasso_imbalance"] < b["lasso_imbalance"] for a, b in zip(synth, synth[1:])
        )
        converged = rows.all("lasso_converged")
        lines = [
            f"{len(rows)} runs x bootstrap resamples; lasso at alpha_max/10 (all converged: "
            f"{converged}); imbalance |w1-w2|/(|w1|+|w2|), flip rate, both twins non-zero:"
        ]
        for d in designs:
            lines.append(
                f"  {d['label']} (smallest sample corr {d['sample_corr']:.4f}): lasso imbalance "
                f"{d['lasso_imbalance']:.2f}, flip rate {d['lasso_flip_rate']:.2f}, both kept "
                f"{d['lasso_both_kept']:.0%} | elastic net imbalance {d['enet_imbalance']:.2f}, "
                f"both kept {d['enet_both_kept']:.0%}"
            )
        lines += [
            f"near-duplicate pairs (corr >= {NEAR_DUPLICATE}): lasso imbalance >= "
            f"{MIN_IMBALANCE} everywhere (v1 check): {ok_imb}",
            f"exchangeable near-duplicate twins: flip rate >= {MIN_FLIP} (v1 check): {ok_flip}",
            f"lasso imbalance grows with rho on the synthetic twins (v1 check): {ok_grow}",
        ]
        from reglab.lab.claims.parameter._pairs import label
        from reglab.lab.stats import decide_conditional, mean_effect, paired_effect

        p = self.protocol
        assert p is not None
        flips, imbs = {}, []
        seen: list = []
        for r in rows:
            if r.params in seen:
                continue
            seen.append(r.params)
            g = rows.where(**r.params)
            name = label(r.params)
            flips[name] = mean_effect(
                g.values("lasso_flip_rate"),
                name=f"lasso flip rate ({name})",
                smallest=p.smallest_effect,
                regime=name,
            )
            imbs.append(
                paired_effect(
                    g.values("lasso_imbalance"),
                    g.values("enet_imbalance"),
                    name=f"pair imbalance lasso - elastic net ({name})",
                    smallest=0.2,
                    regime=name,
                )
            )
        outcome = decide_conditional(
            flips, dict.fromkeys(flips, True), p.direction, p.smallest_effect
        )
        stable = [k for k, e in flips.items() if e.high < p.smallest_effect]
        unstable = [k for k, e in flips.items() if e.low > 0]
        fmt = {k: f"{e.estimate:.0%} [{e.low:.0%}, {e.high:.0%}]" for k, e in flips.items()}
        if outcome == "SUPPORTED":
            sentence = "Supported: the lasso's pick among correlated twins flips across " + (
                "resamples in every design (" + "; ".join(f"{k} {v}" for k, v in fmt.items()) + ")."
            )
        elif outcome == "NOT SUPPORTED" and unstable:
            sentence = (
                "Not supported as written: the lasso's pick flips across resamples on "
                + ", ".join(f"{k} ({fmt[k]})" for k in unstable)
                + ", but on "
                + ", ".join(f"{k} ({fmt[k]})" for k in stable)
                + " it is lopsided yet picks the same feature every time."
            )
        else:
            sentence = (
                f"{outcome.capitalize()}: lasso flip rates "
                + "; ".join(f"{k} {v}" for k, v in fmt.items())
                + "."
            )
        lines.insert(0, sentence)
        lines += [f"secondary: {e.format()}" for e in imbs]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 4.0))
        pick = exch_near[0] if exch_near else designs[0]
        group = rows.where(**pick["params"])
        for name, marker in (("lasso", "o"), ("enet", "s")):
            w = np.concatenate([np.reshape(r.metrics[f"{name}_pair0"], (-1, 2)) for r in group])
            ax1.plot(
                w[:, 0],
                w[:, 1],
                marker,
                ms=3.5,
                alpha=0.6,
                label="lasso" if name == "lasso" else "elastic net (l1_ratio 0.5)",
            )
        top = ax1.get_xlim()[1]
        ax1.plot([0, top], [0, top], "k:", lw=0.8, label="even split")
        ax1.set_xlabel("w_1 (first twin)")
        ax1.set_ylabel("w_2 (second twin)")
        ax1.set_title(f"Bootstrap fits, {pick['label']}", fontsize=9)
        ax1.legend(fontsize=7)
        bins = np.linspace(0, 1, 21)
        for name in ("lasso", "enet"):
            share = np.concatenate([r.metrics[f"{name}_share"] for r in rows])
            ax2.hist(
                share,
                bins=bins,
                alpha=0.6,
                density=True,
                label="lasso" if name == "lasso" else "elastic net",
            )
        ax2.set_xlabel("|w_1| / (|w_1| + |w_2|), all designs")
        ax2.set_ylabel("density")
        ax2.set_title("Lasso piles at 0 and 1; elastic net splits evenly", fontsize=9)
        ax2.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"lasso_imbalance[{d['label']}]": d["lasso_imbalance"] for d in designs}
        return empirical_verdict(
            p,
            [*flips.values(), *imbs],
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers=numbers,
        )
