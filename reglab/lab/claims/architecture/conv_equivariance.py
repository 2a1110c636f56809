"""Claim ``conv-equivariance``: convolutions are translation equivariant (an exact check).

Deep dive, section 13 ("Inductive bias as regularization"): "Convolutions enforce translation
equivariance and locality."

Translation equivariance of a convolution is an identity, not an empirical finding: for a
convolution ``C`` with weights shared over positions and the shift ``S_d x[i] = x[i - d]``,
``C(S_d x) = S_d C(x)``, because output position ``i`` of the shifted input sees exactly the
window that position ``i - d`` saw before. With circular padding this holds everywhere, for
every composition of stride-1 convolutions and pointwise non-linearities; with zero padding it
holds at every output position whose receptive field (shifted or not) stays inside the image
(the interior). A stride-2 convolution is equivariant only to even shifts
(``C(S_{2d} x) = S_d C(x)``). The check runs a random two-layer ReLU CNN in float64 on random
16x16 images and reports the largest relative error over these exact cases.

Tolerance. Each output of a layer is a sum of ``C k^2 = 72`` products; the shifted and
unshifted computations round differently at most by about ``C k^2 eps`` relative per layer
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, sec. 3.1), so two layers give
``2 * 72 * 2.2e-16 ~ 3.2e-14``; the tolerance is four times that, ``1.3e-13``.

Sensitivity. The same harness must see equivariance *fail* where the mathematics says it
fails: zero padding over the whole map (border effects), stride 2 with an odd shift (aliasing;
Zhang, ICML 2019) and a dense layer. Each must show an O(1) relative departure (> 1e-2);
otherwise the check could not detect a broken equivariance and it reports FAIL (a bug in the
check).

History. v1 also trained a CNN and an MLP on MNIST-1D (with and without shuffled positions)
and joined that empirical comparison into this claim's PASS; the empirical part now lives in
the claim ``architecture-inductive-bias`` with its own protocol, and this claim is an exact
check.

Default grid: 3 runs, under 1 core-second beyond the 3 s process start (``reglab run ... -j 1``).
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, exact_verdict
from reglab.taxonomy import Kind

#: 4 x (2 layers x C k^2 = 72 products x float64 unit roundoff): see the module docstring
EXACT_RTOL = 4 * 2 * 72 * float(np.finfo(np.float64).eps)
BROKEN_MIN = 1e-2
CHANNELS = 24
EXACT_CASES = ("circular", "zeros_interior", "stride2_even")
BROKEN_CASES = ("zeros_whole", "stride2_odd", "dense")


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


class ConvEquivariance(Claim):
    id = "conv-equivariance"
    kind = Kind.ARCHITECTURE
    section = "13. Inductive bias as regularization"
    result_kind = "exact"
    statement = '"Convolutions enforce translation equivariance and locality."'
    interview = (
        "A convolution applies the same filter at every position, so shifting the input "
        "shifts the feature map: conv(shift x) = shift conv(x). That is an identity, exact "
        "with circular padding and away from the borders with zero padding; striding breaks "
        "it for shifts that are not multiples of the stride (aliasing), which is why pooling "
        "and striding need anti-aliasing to be truly shift-invariant. It is a hard constraint "
        "on the function class: weight sharing and locality mean a CNN cannot even represent "
        "most functions an MLP with the same parameter count can, which is exactly the right "
        "restriction when the data are translation-structured. Whether that restriction pays "
        "off in sample efficiency is an empirical question (claim architecture-inductive-bias)."
    )
    grid = {"experiment": ["exact"]}
    smoke = {"experiment": ["exact"]}
    seeds = 3
    smoke_seeds = 1

    def run(self, params, seed):
        if params["experiment"] != "exact":
            raise ValueError(f"experiment={params['experiment']!r} must be 'exact'")
        return equivariance_errors(seed)

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        worst = {k: float(rows.values(k).max()) for k in EXACT_CASES}
        broken = {k: float(rows.values(k).min()) for k in BROKEN_CASES}
        max_error = max(worst.values())
        sensitive = min(broken.values()) > BROKEN_MIN
        evidence = (
            f"float64, random 2-layer ReLU CNN, 16x16 inputs, {len(rows)} seeds: max relative "
            f"error circular padding {worst['circular']:.1e}, zero padding interior "
            f"{worst['zeros_interior']:.1e}, stride 2 with even shifts "
            f"{worst['stride2_even']:.1e} (tolerance {EXACT_RTOL:.2g}); equivariance fails "
            f"where it should: zero padding whole map {broken['zeros_whole']:.2f}, stride 2 "
            f"odd shift {broken['stride2_odd']:.2f}, dense layer {broken['dense']:.2f} (each "
            f"must exceed {BROKEN_MIN:g}, else the check is insensitive: "
            f"{'ok' if sensitive else 'FAILED'})"
        )
        fig, ax = plt.subplots(figsize=(5.6, 3.6))
        names = [*EXACT_CASES, *BROKEN_CASES]
        vals = [max(float(rows.values(k).max()), 1e-17) for k in names]
        ax.barh(range(len(names)), vals, color=["tab:green"] * 3 + ["tab:red"] * 3)
        ax.set_xscale("log")
        ax.axvline(EXACT_RTOL, color="k", ls="--", lw=0.8, label="tolerance")
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=8)
        ax.set_xlabel("max |f(shift x) - shift f(x)| / max |f(x)|")
        ax.set_title("Equivariance error (float64)", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        return exact_verdict(
            max_error if sensitive else float("inf"),
            EXACT_RTOL,
            what=(
                "a convolution commutes with shifts (circular padding; zero padding in the "
                "interior; stride 2 with even shifts)"
                + ("" if sensitive else ", and the harness detects broken equivariance")
            ),
            figure=fig,
            evidence=evidence,
            numbers={**worst, **{f"broken_{k}": v for k, v in broken.items()}},
        )
