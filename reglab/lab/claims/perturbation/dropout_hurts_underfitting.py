"""Claim ``dropout-hurts-underfitting``: dropout helps an over-fitting net, hurts an under-fitting one.

Deep dive, section 6 (failure modes: "Reduces effective model capacity -> may hurt if you're
already underfitting") and gotcha "When does dropout hurt?". Dropout is a variance reducer
(an implicit ensemble, Srivastava et al. 2014) paid for with capacity: each step trains a
thinned network. When variance dominates the test error (a large network on few samples)
the trade is good; when bias dominates (a network too small for the task) removing half of
its few units at every step only adds bias.

Experiment (digits, 200 training images, the other 1597 for test; dropout p = 0.5 after
every hidden layer; Adam; each network trained with and without dropout from the same
initialisation and the same minibatch order):

- over-parameterised: 64-256-256-10 (85k parameters for 200 images, zero training
  error), 100 epochs;
- under-parameterised: 64-4-10 (310 parameters, a 4-unit bottleneck for 10 classes),
  500 epochs so that its training loss has plateaued (it learns slowly).

Threshold. The effect is a paired difference d = test error(dropout) - test error(plain)
over seeds; for each capacity the mean of d must have the claimed sign (negative for the
over-parameterised net, positive for the under-parameterised one) and exceed 2 standard
errors of the mean in magnitude (a one-sided paired test at about 2.5%; no tuned effect
size). Number of seeds, from a power calculation on pilot runs (other seeds): for the
over-parameterised net the effect is small on digits (about -0.6 percentage points, with a
per-seed standard deviation of about 0.75 points, much of it test-set noise), so 80% power
for the one-sided 2-SE test needs n = ((2 + 0.84) * 0.75 / 0.6)^2 = 12.6, i.e. 12 seeds; the
under-parameterised effect (about +12 points, SD 3) needs 4. The smoke grid (2 seeds each)
is underpowered for the over-parameterised half. Measured on the default grid the
over-parameterised effect turned out smaller than in the pilot (about -0.25 points), so the
claim FAILs there too; ``known_failure`` records it and the thresholds are not moved.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

PAIRED_Z = 2.0
P_DROP = 0.5
N_TRAIN = 200
NETS = {
    "over": {"sizes": [64, 256, 256, 10], "epochs": 100, "lr": 2e-3},
    "under": {"sizes": [64, 4, 10], "epochs": 500, "lr": 5e-3},
}
SIGN = {"over": -1.0, "under": 1.0}


class DropoutHurtsUnderfitting(Claim):
    id = "dropout-hurts-underfitting"
    kind = Kind.PERTURBATION
    section = "6. Dropout, failure modes; 14. gotchas"
    statement = (
        "Dropout reduces effective model capacity: it helps an over-parameterised network "
        "but may hurt if you're already underfitting."
    )
    interview = (
        "Dropout trades capacity for variance: every step trains a random thinned network, "
        "and the deployed network behaves like an average of them. A big network on little "
        "data has low bias and high variance, so averaging pays off and test error falls. A "
        "small network is already bias-limited; dropping half of its few units makes every "
        "training step fit an even smaller model, so training and test error both go up. "
        "So before adding dropout, look at the training error: if it is already high, you "
        "need more capacity or less regularisation, not more noise. The same logic is why "
        "large language models trained on plentiful data often use no dropout at all."
    )
    # "block" only multiplies the over-parameterised runs (12 seeds, see the docstring)
    grid = [{"capacity": "under", "block": 0}] + [
        {"capacity": "over", "block": b} for b in range(3)
    ]
    smoke = {"capacity": ["under", "over"], "block": [0]}
    seeds = 4
    smoke_seeds = 2
    known_failure = (
        "on 200 digits the wide network's gain from dropout is about -0.2 to -0.3 percentage "
        "points of test error with a per-seed spread of about 0.5: real in sign but not "
        "significant at 2 SE with 12 seeds (the under-parameterised half holds clearly)"
    )

    def run(self, params, seed):
        import torch
        from torch.nn.functional import cross_entropy

        from reglab.lab.claims._torch_nets import (
            digits,
            error_rate,
            generator,
            mlp,
            train_classifier,
        )

        cap = params["capacity"]
        if cap not in NETS:
            raise ValueError(f"capacity must be one of {sorted(NETS)}, got {cap!r}")
        cfg = NETS[cap]
        X, y, Xt, yt = digits(seed, N_TRAIN)
        out = {}
        for name, p in (("plain", 0.0), ("dropout", P_DROP)):
            gen = generator(seed)  # same initialisation and minibatch order for both
            net = mlp(cfg["sizes"], gen, p=p)
            train_classifier(net, X, y, gen, epochs=cfg["epochs"], lr=cfg["lr"], batch_size=100)
            out[f"train_error_{name}"] = error_rate(net, X, y)
            out[f"test_error_{name}"] = error_rate(net, Xt, yt)
            with torch.no_grad():
                net.eval()
                out[f"test_nll_{name}"] = float(cross_entropy(net(Xt), yt))
        out["n_params"] = float(sum(p.numel() for p in net.parameters()))
        out["diff"] = out["test_error_dropout"] - out["test_error_plain"]
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        lines, ok = [], True
        stats = {}
        for cap in ("over", "under"):
            g = rows.where(capacity=cap)
            if len(g) < 2:
                ok = False
                lines.append(f"{cap}: fewer than 2 seeds, no paired test possible")
                continue
            d = g.values("diff")
            mean, se = float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
            holds = SIGN[cap] * mean > PAIRED_Z * se
            ok &= holds
            stats[cap] = (mean, se)
            word = "lowers" if cap == "over" else "raises"
            lines.append(
                f"{cap}-parameterised {NETS[cap]['sizes']} ({g.mean('n_params'):.0f} "
                f"parameters, {N_TRAIN} images): test error plain "
                f"{g.mean('test_error_plain'):.4f}, dropout {g.mean('test_error_dropout'):.4f}"
                f" (train error {g.mean('train_error_plain'):.3f} -> "
                f"{g.mean('train_error_dropout'):.3f}); paired difference {mean:+.4f} +- "
                f"{se:.4f} over {d.size} seeds; dropout {word} test error by > {PAIRED_Z:g} "
                f"SE: {holds}; test NLL plain {g.mean('test_nll_plain'):.3f}, dropout "
                f"{g.mean('test_nll_dropout'):.3f} (reported, not tested)"
            )
        fig, ax = plt.subplots(figsize=(5.2, 3.8))
        for i, cap in enumerate(("over", "under")):
            g = rows.where(capacity=cap)
            for r in g:
                m = r.metrics
                ax.plot([2 * i, 2 * i + 0.8], [m["test_error_plain"], m["test_error_dropout"]],
                        "-o", color=f"C{i}", alpha=0.6, ms=4)  # fmt: skip
        ax.set_xticks([0, 0.8, 2, 2.8], ["plain", "dropout", "plain", "dropout"])
        ax.text(0.4, 0.97, "over-parameterised", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8)  # fmt: skip
        ax.text(2.4, 0.97, "under-parameterised", transform=ax.get_xaxis_transform(),
                ha="center", va="top", fontsize=8)  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylabel("test error (digits, one line per seed)")
        ax.set_title(f"Dropout p={P_DROP:g}: over- vs under-parameterised net")
        fig.tight_layout()
        numbers = {f"diff_{k}": v[0] for k, v in stats.items()}
        return Verdict(bool(ok), "\n".join(lines), fig, numbers)
