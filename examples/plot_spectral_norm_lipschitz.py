"""
A penalty on the function: spectral-norm regularisation bounds the Lipschitz constant
=====================================================================================

One idea: instead of penalising the parameters, penalise how fast the *function* can change.
For a network of Linear layers and 1-Lipschitz activations (ReLU), the Lipschitz constant is
at most the product of the layers' spectral norms ``prod_l sigma(W_l)``. Penalising
``1/2 sum_l sigma(W_l)^2`` (Yoshida & Miyato, 2017; :func:`reglab.torch.spectral_norm_penalty`)
keeps that bound small, so the fitted function cannot chase the noise with steep wiggles
(deep dive, section 1: "penalty on the function").
"""

# %%
# Setup
# -----
# 30 noisy samples of a sine; an over-sized MLP fits them with and without the penalty.
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from torch import nn

from reglab.torch import spectral_norm_penalty

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
torch.set_num_threads(1)
g = torch.Generator().manual_seed(0)
x = torch.linspace(-3, 3, 30).unsqueeze(1)
y = torch.sin(x) + 0.3 * torch.randn(x.shape, generator=g)


def fit(strength: float) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(1, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1)
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(800):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(x), y)
        if strength:
            loss = loss + strength * spectral_norm_penalty(net, n_iter=5)
        loss.backward()
        opt.step()
    return net


@torch.no_grad()
def lipschitz_bound(net: nn.Module) -> float:
    norms = [torch.linalg.matrix_norm(m.weight, ord=2) for m in net if isinstance(m, nn.Linear)]
    return float(torch.stack(norms).prod())


# %%
# Fit both and compare the Lipschitz bound with the steepest slope of the fit
# ---------------------------------------------------------------------------
grid = torch.linspace(-3, 3, 600).unsqueeze(1)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.plot(x, y, "k.", label="training data")
for strength in (0.0, 0.01):
    net = fit(strength)
    with torch.no_grad():
        f = net(grid)
    slope = float((f.diff(dim=0) / grid.diff(dim=0)).abs().max())
    bound = lipschitz_bound(net)
    print(f"penalty {strength:<5}: steepest slope {slope:6.2f} <= bound {bound:8.2f}")
    ax.plot(grid, f, label=f"penalty {strength} (Lipschitz bound {bound:.1f})")
ax.legend(fontsize=8)
ax.set_xlabel("x")
fig.savefig(out / "spectral_norm_lipschitz.png", dpi=80)
