"""
Weight sharing is a prior: convolutions commute with shifts, pooling forgets them
=================================================================================

One idea: an architecture constrains which functions a network can represent before it sees
any data (deep dive, section 13, "inductive bias as regularization"). A convolution applies
the same filter at every position, so shifting its input shifts its output by the same amount
(translation *equivariance*); with circular padding the identity ``conv(shift(x)) =
shift(conv(x))`` is exact. Global average pooling on top sums over positions, so the pooled
features do not change at all (translation *invariance*). A fully connected layer of the same
size has no such constraint: shifting its input changes its output arbitrarily, and it must
learn the symmetry from data.
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
from torch import nn

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
torch.manual_seed(0)
x = torch.randn(1, 1, 64)
conv = nn.Conv1d(1, 4, kernel_size=5, padding=2, padding_mode="circular", bias=False)
dense = nn.Linear(64, 4 * 64, bias=False)

# %%
# Shift the input by k positions and compare
# ------------------------------------------
# ``err_conv`` compares conv(shift(x)) with shift(conv(x)); ``err_dense`` does the same for
# the dense layer (reshaped to 4 channels x 64 positions). The pooled error compares the
# global-average-pooled conv features before and after the shift.
shifts = list(range(0, 33, 4))
err_conv, err_dense, err_pool = [], [], []
with torch.no_grad():
    for k in shifts:
        xs = torch.roll(x, k, dims=-1)
        err_conv.append((conv(xs) - torch.roll(conv(x), k, dims=-1)).abs().max().item())
        d, ds = dense(x).view(1, 4, 64), dense(xs).view(1, 4, 64)
        err_dense.append((ds - torch.roll(d, k, dims=-1)).abs().max().item())
        err_pool.append((conv(xs).mean(-1) - conv(x).mean(-1)).abs().max().item())
print(f"largest equivariance error of the convolution: {max(err_conv):.2e}")
print(f"largest equivariance error of the dense layer: {max(err_dense):.2e}")
print(f"largest change of the pooled conv features:    {max(err_pool):.2e}")

# %%
# The conv layer's error sits at floating-point round-off; the dense layer's is of the
# order of its outputs.
fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
ax.semilogy(shifts, [max(e, 1e-12) for e in err_conv], "o-", label="conv (circular)")
ax.semilogy(shifts, [max(e, 1e-12) for e in err_pool], "s-", label="conv + global avg pool")
ax.semilogy(shifts, err_dense, "x-", label="dense layer")
ax.set_xlabel("shift k (positions)")
ax.set_ylabel("max |f(shift x) - shift f(x)|")
ax.legend(fontsize=8)
fig.savefig(out / "conv_equivariance.png", dpi=80)
