"""
MixUp and CutMix: train on blends of two examples with labels blended in proportion
===================================================================================

One idea: instead of showing the network image ``x_i`` with label ``y_i``, show it a
combination of two images and ask for the *same* combination of their labels. MixUp
(Zhang et al., 2018) blends whole images, ``x' = lam x_i + (1 - lam) x_j``; CutMix (Yun
et al., 2019) pastes a rectangle of ``x_j`` into ``x_i``. Either way the target is
``y' = lam y_i + (1 - lam) y_j``, a probability vector, so for CutMix ``1 - lam`` must be
exactly the fraction of pixels that came from ``x_j`` -- after the box is clipped at the
image border, which is where popular implementations get it wrong.
"""

# %%
# Setup
# -----
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits

from reglab.torch import MixUpCutMix

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
out.mkdir(parents=True, exist_ok=True)

digits = load_digits()
x = torch.tensor(digits.images[:12] / 16.0, dtype=torch.float64).unsqueeze(1)  # (B, 1, 8, 8)
y = torch.tensor(digits.target[:12])

# %%
# Mix a batch
# -----------
# ``mode='elem'`` draws a decision and a ``lam`` per sample: each image is either MixUp-ed
# (``lam ~ Beta(0.8, 0.8)``) or CutMix-ed (``lam ~ Beta(1, 1)``) with its neighbour in the
# batch (sample ``i`` with ``i - 1``). Labels are smoothed once (eps = 0.1) and then
# mixed. All randomness comes from the ``torch.Generator`` we pass.
mixer = MixUpCutMix(
    mixup_alpha=0.8, cutmix_alpha=1.0, mode="elem", label_smoothing=0.1, num_classes=10
)
x_mixed, soft, lam = mixer(x, y, generator=torch.Generator().manual_seed(0), return_lam=True)
partner = torch.roll(torch.arange(len(y)), 1)

# %%
# Soft targets are distributions
# ------------------------------
# Every row of the target is non-negative and sums to 1, and the weight on the two source
# classes is ``0.9 lam + 0.01`` and ``0.9 (1 - lam) + 0.01`` (smoothing first, then
# mixing), so
# ``soft_target_cross_entropy`` trains on them directly.
print(f"row sums: min {soft.sum(1).min():.12f}, max {soft.sum(1).max():.12f}")
print(f"smallest target entry: {soft.min():.3f} (label smoothing keeps it > 0)")
for i in range(4):
    print(
        f"sample {i}: digit {y[i]} with digit {y[partner[i]]}, lam = {lam[i]:.3f}, "
        f"target on them = ({soft[i, y[i]]:.3f}, {soft[i, y[partner[i]]]:.3f})"
    )

# %%
# 1 - lam is the pasted pixel fraction
# ------------------------------------
# To see where each output pixel came from we mix "index images": image ``i`` is the
# constant ``i + 1``. With the same generator seed the mixer makes exactly the same draws,
# so a CutMix-ed output holds only the values ``i + 1`` and ``partner + 1``, and the
# share of the latter is the pasted fraction. A MixUp-ed output is the constant
# ``lam (i + 1) + (1 - lam) (partner + 1)`` everywhere.
index_images = torch.arange(1.0, len(y) + 1, dtype=torch.float64).view(-1, 1, 1, 1)
index_images = index_images.expand_as(x).contiguous()
src, _, lam2 = mixer(index_images, y, generator=torch.Generator().manual_seed(0), return_lam=True)
kinds = []
for i in range(len(y)):
    own, other = float(i + 1), float(partner[i] + 1)
    vals = src[i]
    if bool(((vals == own) | (vals == other)).all()):
        pasted = (vals == other).double().mean().item()
        # a box drawn mostly outside the image can be clipped to nothing: then lam = 1
        kinds.append("cutmix" if pasted > 0 else "cut: empty")
        print(f"sample {i:2d} CutMix: 1 - lam = {1 - lam2[i]:.4f}, pasted fraction = {pasted:.4f}")
    else:
        blend = lam2[i] * own + (1 - lam2[i]) * other
        kinds.append("mixup")
        print(f"sample {i:2d} MixUp : every pixel = lam*own + (1-lam)*partner: "
              f"{bool(torch.allclose(vals, blend.expand_as(vals)))}")  # fmt: skip
print(f"same draws as the digit batch: {bool(torch.equal(lam, lam2))}")

# %%
# Look at them
# ------------
fig, axes = plt.subplots(2, len(y), figsize=(1.1 * len(y), 3.3))
for i in range(len(y)):
    axes[0, i].imshow(x[i, 0], cmap="gray_r")
    axes[0, i].set_title(f"{y[i]}", fontsize=8)
    axes[1, i].imshow(x_mixed[i, 0], cmap="gray_r")
    axes[1, i].set_title(f"{kinds[i]}\nlam={lam[i]:.2f}", fontsize=7)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("top: digits; bottom: mixed with the previous digit", fontsize=9)
fig.tight_layout()
fig.savefig(out / "mixup_cutmix.png", dpi=80)
plt.close(fig)
print(f"figures written to {out}")
