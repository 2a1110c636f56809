"""Claim ``conv-equivariance``: convolutions are translation equivariant, and that is a prior.

Deep dive, section 13 ("Inductive bias as regularization"): "Convolutions enforce translation
equivariance and locality."

Two experiments.

1. *Exact equivariance.* For a convolution ``C`` with weights shared over positions and the
   shift ``S_d x[i] = x[i - d]``, ``C(S_d x) = S_d C(x)``: output position ``i`` of the
   shifted input sees exactly the window that position ``i - d`` saw before. With circular
   padding this holds everywhere, for every composition of stride-1 convolutions and
   pointwise non-linearities; with zero padding it holds at every output position whose
   receptive field (shifted or not) stays inside the image (the interior). A stride-2
   convolution is equivariant only to even shifts (``C(S_{2d} x) = S_d C(x)``) and breaks
   for odd ones (aliasing; Zhang, ICML 2019); a dense layer is not equivariant at all. The
   check runs a random two-layer ReLU CNN in float64 on random 16x16 images.
2. *The prior pays.* On MNIST-1D (Greydanus, 2020; every sequence is a template placed at a
   random translation, so the task is translation-structured) a 1-D CNN beats an MLP with the
   same number of parameters (within 1%) trained identically. Applying one fixed random
   permutation to the 40 positions of every sequence (train and test) keeps all the
   information but destroys locality and translation structure: the MLP is unaffected in
   distribution (its first layer with i.i.d. initialisation is permutation-invariant in law)
   while the CNN's prior is now wrong, and its advantage must vanish.

Thresholds. (1) In float64 a convolution output is a sum of ``C k^2 = 72`` products; its
rounding error is below ``72 * 2.2e-16 ~ 2e-14`` relative per layer, so we require relative
errors <= 1e-10 for the exact cases, and > 1e-2 (an O(1) departure) where equivariance must
fail. (2) The advantage ``A = acc_CNN - acc_MLP`` (mean over seeds) has two sources of
error: the fixed test set of ``n`` sequences (each accuracy has binomial variance
``p (1 - p) / n``, *not* reduced by averaging seeds that share the test set) and the
training randomness (the across-seed variance over the number of seeds). We add both over
the four accuracies (treating the models' test errors as independent, conservative for
models tested on the same sequences) to get ``se``, and require ``A_original > 3 se`` (the
CNN wins), ``A_original - A_shuffled > 3 se`` (shuffling removes the advantage) and
``A_shuffled < 2 se`` (no significant advantage left).
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

EXACT_RTOL = 1e-10
BROKEN_MIN = 1e-2
WIN_SE = 3.0
LEFT_SE = 2.0
CHANNELS = 24


def _cnn(channels: int = CHANNELS):
    from torch import nn

    c = channels
    return nn.Sequential(
        nn.Conv1d(1, c, 5, stride=2, padding=2),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(c, c, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c * 5, 10),
    )


def _mlp(hidden: int):
    from torch import nn

    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(40, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, 10),
    )


def n_params(model) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def matched_mlp_width(target: int) -> int:
    """Largest hidden width whose two-hidden-layer MLP has at most ``target`` parameters."""
    # params(h) = 40h + h + h^2 + h + 10h + 10 = h^2 + 52h + 10, increasing in h
    h = int((-52 + np.sqrt(52**2 - 4 * (10 - target))) / 2)
    while h**2 + 52 * h + 10 > target:
        h -= 1
    return h


def _relative(a, b) -> float:
    return float((a - b).abs().max() / b.abs().max())


def equivariance_errors(seed: int) -> dict[str, float]:
    """Relative equivariance errors of random conv stacks and a dense layer (float64)."""
    import torch
    from torch import nn

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 3, 16, 16, generator=gen, dtype=torch.float64)

    def stack(padding_mode: str, stride: int = 1):
        torch.manual_seed(seed)
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1, padding_mode=padding_mode, stride=stride),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, padding=1, padding_mode=padding_mode),
        ).double()

    def shift(t, dy, dx):
        return torch.roll(t, shifts=(dy, dx), dims=(-2, -1))

    shifts = [(1, 0), (0, 3), (2, -1), (-5, 4)]
    out = {"circular": 0.0, "zeros_interior": 0.0, "zeros_whole": 0.0}
    with torch.no_grad():
        circ, zero = stack("circular"), stack("zeros")
        y_c, y_z = circ(x), zero(x)
        margin = 2  # receptive-field radius of two 3x3 layers
        for dy, dx in shifts:
            out["circular"] = max(
                out["circular"], _relative(circ(shift(x, dy, dx)), shift(y_c, dy, dx))
            )
            # zero padding: compare where neither computation's window touched a border or
            # the wrapped-around strip that roll introduces
            a, b = zero(shift(x, dy, dx)), shift(y_z, dy, dx)
            lo_y, hi_y = margin + max(dy, 0), 16 - margin + min(dy, 0)
            lo_x, hi_x = margin + max(dx, 0), 16 - margin + min(dx, 0)
            inner = (..., slice(lo_y, hi_y), slice(lo_x, hi_x))
            out["zeros_interior"] = max(out["zeros_interior"], _relative(a[inner], b[inner]))
            out["zeros_whole"] = max(out["zeros_whole"], _relative(a, b))
        strided = stack("circular", stride=2)
        y_s = strided(x)
        out["stride2_even"] = max(
            _relative(strided(shift(x, 2 * dy, 2 * dx)), shift(y_s, dy, dx)) for dy, dx in shifts
        )
        # an odd input shift has no matching output shift: the error is large for the best
        # of all 8 x 8 candidate output shifts
        out["stride2_odd"] = max(
            min(
                _relative(strided(shift(x, dy, dx)), shift(y_s, oy, ox))
                for oy in range(8)
                for ox in range(8)
            )
            for dy, dx in [(1, 0), (0, 1), (1, 1)]
        )
        torch.manual_seed(seed)
        dense = nn.Linear(16 * 16, 16 * 16).double()

        def fc(t):
            return dense(t.flatten(-2)).unflatten(-1, (16, 16))

        out["dense"] = max(
            _relative(fc(shift(x, dy, dx)), shift(fc(x), dy, dx)) for dy, dx in shifts
        )
    return out


def _sequence_grid(**setting) -> list[dict]:
    return [
        {"experiment": "mnist1d", "arch": arch, "shuffled": shuffled, **setting}
        for arch in ("cnn", "mlp")
        for shuffled in (False, True)
    ]


class ConvEquivariance(Claim):
    id = "conv-equivariance"
    kind = Kind.ARCHITECTURE
    section = "13. Inductive bias as regularization"
    statement = (
        "Convolutions enforce translation equivariance and locality; architecture choices "
        "regularize by restricting the function class, more strongly than an explicit L2 "
        "penalty when the prior matches the domain."
    )
    interview = (
        "A convolution applies the same filter at every position, so shifting the input "
        "shifts the feature map: conv(shift x) = shift conv(x), exactly with circular "
        "padding and away from the borders with zero padding (striding breaks it for odd "
        "shifts, which is why pooling and striding need anti-aliasing to be truly shift-"
        "invariant). That is a hard constraint on the function class: weight sharing and "
        "locality mean a CNN cannot even represent most functions an MLP with the same "
        "parameter count can, and when the data really are translation-structured that is "
        "exactly the right restriction, so the CNN generalises much better from the same "
        "data. The proof that it is a prior and not magic: permute the input positions with "
        "one fixed permutation. No information is lost and the MLP does not care, but the "
        "CNN's assumption is now false and its advantage disappears."
    )
    grid = [{"experiment": "exact"}, *_sequence_grid(n=4000, split=0.75, epochs=15, batch=128)]
    smoke = [{"experiment": "exact"}, *_sequence_grid(n=2500, split=0.6, epochs=15, batch=64)]
    seeds = 2
    smoke_seeds = 1
    lr = 1e-2

    def run(self, params, seed):
        if params["experiment"] == "exact":
            return equivariance_errors(seed)
        if params["experiment"] != "mnist1d":
            raise ValueError(f"experiment={params['experiment']!r} must be 'exact' or 'mnist1d'")
        import torch

        from reglab.lab.claims._vision_data import accuracy, fit, mnist1d

        x, y, xt, yt = mnist1d(int(params["n"]), float(params["split"]))
        if params["shuffled"]:
            # one fixed permutation of the positions for train and test alike (data seed 0:
            # the same permutation for every model and seed, so the pairs stay comparable)
            perm = torch.from_numpy(np.random.default_rng(0).permutation(x.shape[-1]))
            x, xt = x[..., perm], xt[..., perm]
        torch.manual_seed(seed)
        cnn_size = n_params(_cnn())
        model = _cnn() if params["arch"] == "cnn" else _mlp(matched_mlp_width(cnn_size))
        fit(
            model,
            x,
            y,
            epochs=int(params["epochs"]),
            batch_size=int(params["batch"]),
            lr=self.lr,
            generator=torch.Generator().manual_seed(seed),
        )
        return {
            "test_acc": accuracy(model, xt, yt),
            "train_acc": accuracy(model, x, y),
            "n_params": float(n_params(model)),
            "cnn_params": float(cnn_size),
            "n_test": float(xt.shape[0]),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        exact = rows.where(experiment="exact")
        worst = {k: float(exact.values(k).max()) for k in ("circular", "zeros_interior")}
        broken = {k: float(exact.values(k).min()) for k in ("zeros_whole", "stride2_odd", "dense")}
        even = float(exact.values("stride2_even").max())
        exact_ok = max(*worst.values(), even) <= EXACT_RTOL and min(broken.values()) > BROKEN_MIN

        seq = rows.where(experiment="mnist1d")
        acc = {
            (a, s): seq.where(arch=a, shuffled=s).values("test_acc")
            for a in ("cnn", "mlp")
            for s in (False, True)
        }
        n_test = float(seq.values("n_test")[0])
        n_seeds = min(len(v) for v in acc.values())
        var = sum(float(np.mean(v) * (1 - np.mean(v))) / n_test for v in acc.values())
        if n_seeds > 1:
            var += sum(float(np.var(v, ddof=1)) / len(v) for v in acc.values())
        se = float(np.sqrt(var))
        adv = {s: float(np.mean(acc["cnn", s]) - np.mean(acc["mlp", s])) for s in (False, True)}
        wins = adv[False] > WIN_SE * se
        lost = adv[False] - adv[True] > WIN_SE * se and adv[True] < LEFT_SE * se
        passed = exact_ok and wins and lost
        cnn_p = int(seq.values("cnn_params")[0])
        mlp_p = int(seq.where(arch="mlp").values("n_params")[0])
        evidence = (
            f"exact check (float64, random 2-layer CNN, 16x16 inputs, {len(exact)} seeds): "
            f"max relative error circular padding {worst['circular']:.1e}, zero padding "
            f"interior {worst['zeros_interior']:.1e}, stride 2 with even shifts {even:.1e} "
            f"(threshold {EXACT_RTOL:g}); equivariance fails where it should: zero padding "
            f"whole map {broken['zeros_whole']:.2f}, stride 2 odd shift "
            f"{broken['stride2_odd']:.2f}, dense layer {broken['dense']:.2f} (> {BROKEN_MIN:g})\n"
            f"MNIST-1D ({n_test:.0f} test sequences, {n_seeds} seeds; CNN {cnn_p} parameters, "
            f"MLP {mlp_p}): test accuracy CNN {np.mean(acc['cnn', False]):.3f} vs MLP "
            f"{np.mean(acc['mlp', False]):.3f} (advantage {adv[False]:+.3f}); positions shuffled: "
            f"CNN {np.mean(acc['cnn', True]):.3f} vs MLP {np.mean(acc['mlp', True]):.3f} "
            f"(advantage {adv[True]:+.3f}); se of an advantage {se:.3f}; need advantage > "
            f"{WIN_SE:g} se, drop > {WIN_SE:g} se and shuffled advantage < {LEFT_SE:g} se"
        )

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.8))
        names = [
            "circular",
            "zeros_interior",
            "stride2_even",
            "zeros_whole",
            "stride2_odd",
            "dense",
        ]
        vals = [max(float(exact.values(k).max()), 1e-17) for k in names]
        colors = ["tab:green"] * 3 + ["tab:red"] * 3
        ax0.barh(range(len(names)), vals, color=colors)
        ax0.set_xscale("log")
        ax0.axvline(EXACT_RTOL, color="k", ls="--", lw=0.8, label="exactness threshold")
        ax0.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
        ax0.set_xlabel("max |f(shift x) - shift f(x)| / max |f(x)|")
        ax0.set_title("Equivariance error (float64)")
        ax0.legend(fontsize=7)
        width = 0.38
        for j, arch in enumerate(("cnn", "mlp")):
            means = [np.mean(acc[arch, s]) for s in (False, True)]
            ax1.bar(np.arange(2) + (j - 0.5) * width, means, width, label=arch.upper())
            for i, s in enumerate((False, True)):
                ax1.plot(
                    np.full(len(acc[arch, s]), i + (j - 0.5) * width), acc[arch, s], "k.", ms=4
                )
        ax1.set_xticks([0, 1], ["original", "positions shuffled"])
        ax1.set_ylabel("test accuracy")
        ax1.set_title(f"MNIST-1D, equal parameters (~{cnn_p})")
        ax1.legend(fontsize=8)
        fig.tight_layout()
        numbers = {
            "circular_err": worst["circular"],
            "interior_err": worst["zeros_interior"],
            "advantage": adv[False],
            "advantage_shuffled": adv[True],
            "se": se,
        }
        return Verdict(passed, evidence, fig, numbers)
