"""Claim ``pooling-invariance``: pooling buys invariance to small shifts.

Deep dive, section 13 ("Inductive bias as regularization"): "Pooling enforces invariance to
small spatial perturbations."

Mechanism. Convolutional features are shift *equivariant*, ``F(S_d x) = S_d F(x)`` (claim
``conv-equivariance``). A global pooling ``P`` (mean or max over all positions) is invariant to
any permutation of positions, so ``P(F(S_d x)) = P(S_d F(x)) = P(F(x))``: exact invariance
wherever equivariance is exact (circular padding). A local ``k x k`` max-pool with stride
``k`` only absorbs shifts that keep each maximum inside its window, so it gives partial
invariance (and none to shifts that cross windows; Zhang, ICML 2019); flattening the feature
map into a dense layer gives none.

Experiments.

1. *Exact.* A random two-layer ReLU CNN with circular padding in float64, global average and
   global max pooling, circular shifts of random 12x12 images: relative output change.
2. *Measured.* On the 8x8 digits placed on a 12x12 zero canvas (a 2-pixel margin, so a
   1-pixel ``roll`` is a true zero-fill shift), the same convolutional body (zero padding,
   as used in practice) is trained with three heads: flatten + linear (no pooling), 2x2 max
   pool + flatten + linear (local pooling) and global max pool + linear. No augmentation:
   the networks never see a shifted digit. Each is then tested on the four 1-pixel shifts of
   the test digits: arg-max flip rate and mean KL (:func:`reglab.augment.invariance_gap`),
   accuracy on the shifted digits, and the relative change of the pooled features.

Thresholds. (1) float64 sums of ``C k^2 = 144`` terms round at about ``144 * 2.2e-16``
relative; we require <= 1e-10. (2) A flip rate measured on ``n`` test digits (seed-specific
splits, so seeds are independent) has standard error at most ``sqrt(f (1 - f) / n)``; per
seed we treat the four shifts as one sample of ``n`` (conservative: they are correlated) and
average over seeds, so ``se(diff) = sqrt(se_a^2 + se_b^2)``. We require each pooling head's
flip rate below the flatten head's by more than 3 se, global pooling below local pooling by
more than 3 se, and the global-pooling network's accuracy on shifted digits above the
flatten network's by more than 3 se.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

EXACT_RTOL = 1e-10
N_SE = 3.0
HEADS = ("flatten", "maxpool2", "globalmax")
LABELS = {"flatten": "no pooling", "maxpool2": "2x2 max pool", "globalmax": "global max pool"}
MARGIN = 2
SIDE = 8 + 2 * MARGIN
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def _body(channels: int, padding_mode: str = "zeros"):
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1, padding_mode=padding_mode),
        nn.ReLU(),
        nn.Conv2d(channels, channels, 3, padding=1, padding_mode=padding_mode),
        nn.ReLU(),
    )


def _pool(head: str):
    from torch import nn

    if head == "flatten":
        return nn.Flatten()
    if head == "maxpool2":
        return nn.Sequential(nn.MaxPool2d(2), nn.Flatten())
    if head == "globalmax":
        return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Flatten())
    if head == "globalavg":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    raise ValueError(f"head={head!r} must be one of {(*HEADS, 'globalavg')}")


def _shift(x, d):
    import torch

    return torch.roll(x, shifts=d, dims=(-2, -1))


def exact_invariance(seed: int) -> dict[str, float]:
    """Relative change of globally pooled circular-conv features under circular shifts."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 1, SIDE, SIDE, generator=gen, dtype=torch.float64)
    torch.manual_seed(seed)
    body = _body(16, "circular").double()
    out = {}
    with torch.no_grad():
        for head in ("globalavg", "globalmax"):
            pool = _pool(head)
            f0 = pool(body(x))
            out[f"exact_{head}"] = max(
                float((pool(body(_shift(x, d))) - f0).abs().max() / f0.abs().max())
                for d in [(1, 0), (0, 1), (3, -2), (5, 7)]
            )
    return out


class PoolingInvariance(Claim):
    id = "pooling-invariance"
    kind = Kind.ARCHITECTURE
    section = "13. Inductive bias as regularization"
    statement = "Pooling enforces invariance to small spatial perturbations."
    interview = (
        "Convolutions are equivariant, not invariant: shift the input and the feature map "
        "shifts with it, so a dense layer on the flattened map still sees a different "
        "vector. Pooling is what throws the position away. Global average or max pooling "
        "is invariant to any rearrangement of positions, so on top of equivariant features "
        "the output does not move at all under shifts (exactly, with circular padding); a "
        "local 2x2 max pool only absorbs shifts that keep each maximum inside its window, "
        "so it buys partial invariance, and strided pooling can even alias (Zhang 2019, "
        "anti-aliased CNNs). In practice: a net with a global-pooling head trained only on "
        "centred digits keeps its accuracy when the digits move by a pixel, while the "
        "same body with a flatten head loses about half of it. The flip side is that you "
        "lose position information, which is why detection and segmentation heads avoid "
        "global pooling."
    )
    grid = {"head": list(HEADS), "n_train": [1000], "epochs": [15]}
    smoke = {"head": list(HEADS), "n_train": [800], "epochs": [10]}
    seeds = 2
    smoke_seeds = 1
    channels = 16
    lr = 3e-3
    batch_size = 64

    def run(self, params, seed):
        import torch
        import torch.nn.functional as F
        from torch import nn

        from reglab.augment import invariance_gap
        from reglab.lab.claims._vision_data import accuracy, digits, fit

        head = params["head"]
        x, y, xt, yt = digits(seed, int(params["n_train"]))
        x, xt = (F.pad(t, (MARGIN,) * 4) for t in (x, xt))
        torch.manual_seed(seed)
        body, pool = _body(self.channels), _pool(head)
        with torch.no_grad():
            width = pool(body(x[:1])).shape[1]
        model = nn.Sequential(body, pool, nn.Linear(width, 10))
        features = nn.Sequential(body, pool)

        def feature_change() -> float:
            with torch.no_grad():
                f0 = features(xt)
                rel = [(features(_shift(xt, d)) - f0).norm(dim=1) / f0.norm(dim=1) for d in SHIFTS]
            return float(torch.stack(rel).mean())

        untrained = feature_change()
        fit(
            model,
            x,
            y,
            epochs=int(params["epochs"]),
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch.Generator().manual_seed(seed),
        )
        gaps = [invariance_gap(model, lambda z, d=d: _shift(z, d), xt) for d in SHIFTS]
        return {
            "test_acc": accuracy(model, xt, yt),
            "shifted_acc": float(np.mean([accuracy(model, _shift(xt, d), yt) for d in SHIFTS])),
            "flip_rate": float(np.mean([g.flip_rate for g in gaps])),
            "mean_kl": float(np.mean([g.mean_kl for g in gaps])),
            "feature_change_untrained": untrained,
            "feature_change_trained": feature_change(),
            "n_test": float(xt.shape[0]),
            **exact_invariance(seed),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        exact = max(float(rows.values(f"exact_{h}").max()) for h in ("globalavg", "globalmax"))
        by = {h: rows.where(head=h) for h in HEADS}

        def mean_se(h: str, metric: str) -> tuple[float, float]:
            v, n = by[h].values(metric), by[h].values("n_test")
            se = np.sqrt(np.sum(v * (1 - v) / n)) / len(v)  # mean of independent seeds
            return float(v.mean()), float(se)

        flip = {h: mean_se(h, "flip_rate") for h in HEADS}
        sacc = {h: mean_se(h, "shifted_acc") for h in HEADS}

        def below(a: str, b: str, table=flip) -> bool:  # a's value is significantly below b's
            return table[b][0] - table[a][0] > N_SE * np.hypot(table[a][1], table[b][1])

        checks = {
            "exact": exact <= EXACT_RTOL,
            "local < none": below("maxpool2", "flatten"),
            "global < none": below("globalmax", "flatten"),
            "global < local": below("globalmax", "maxpool2"),
            "shifted accuracy": below("flatten", "globalmax", sacc),
        }
        passed = all(checks.values())
        lines = [
            f"exact: global avg/max pooling on circular-conv features, circular shifts: max "
            f"relative change {exact:.1e} (threshold {EXACT_RTOL:g})",
            f"digits on a {SIDE}x{SIDE} canvas, trained without augmentation, tested on the 4 "
            f"one-pixel shifts ({len(by['flatten'])} seeds):",
        ]
        for h in HEADS:
            r = by[h]
            lines.append(
                f"  {LABELS[h]:>15}: test acc {r.mean('test_acc'):.3f}, shifted acc "
                f"{sacc[h][0]:.3f}, flip rate {flip[h][0]:.3f} (se {flip[h][1]:.3f}), mean KL "
                f"{r.mean('mean_kl'):.3f}, feature change {r.mean('feature_change_trained'):.3f}"
            )
        lines.append(
            f"checks (differences > {N_SE:g} se): "
            + ", ".join(f"{k} {'ok' if v else 'FAILED'}" for k, v in checks.items())
        )

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.6))
        pos = np.arange(len(HEADS))
        ax0.bar(pos - 0.2, [flip[h][0] for h in HEADS], 0.4, label="flip rate",
                yerr=[N_SE * flip[h][1] for h in HEADS])  # fmt: skip
        ax0.bar(pos + 0.2, [sacc[h][0] for h in HEADS], 0.4, label="accuracy, shifted",
                yerr=[N_SE * sacc[h][1] for h in HEADS])  # fmt: skip
        ax0.plot(pos, [by[h].mean("test_acc") for h in HEADS], "k_", ms=18, mew=2,
                 label="accuracy, unshifted")  # fmt: skip
        ax0.set_xticks(pos, [LABELS[h] for h in HEADS], fontsize=8)
        ax0.set_title("Trained nets under 1-pixel shifts (bars: 3 se)")
        ax0.legend(fontsize=7)
        for key, style in (("untrained", "o--"), ("trained", "s-")):
            ax1.plot(pos, [by[h].mean(f"feature_change_{key}") for h in HEADS], style, label=key)
        ax1.set_xticks(pos, [LABELS[h] for h in HEADS], fontsize=8)
        ax1.set_ylabel("||h(shift x) - h(x)|| / ||h(x)||")
        ax1.set_title("Relative change of the head's input")
        ax1.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"flip_{h}": flip[h][0] for h in HEADS}
        numbers |= {f"shifted_acc_{h}": sacc[h][0] for h in HEADS}
        numbers["exact_change"] = exact
        return Verdict(passed, "\n".join(lines), fig, numbers)
