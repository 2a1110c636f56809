"""
Monte-Carlo dropout: keep dropout on at test time and read the spread as uncertainty
====================================================================================

One idea: a network trained with dropout is an ensemble of thinned sub-networks that share
weights. Evaluating it with dropout *switched on* ``T`` times draws ``T`` members of that
ensemble; the mean of their softmax outputs is the prediction and their variance says how
much the members disagree (Gal & Ghahramani, 2016, "Dropout as a Bayesian
approximation"). Inputs on which the sub-networks disagree are the ones the model tends to
get wrong, so the variance ranks predictions by how far to trust them.
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
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from reglab.torch import Dropout, mc_dropout, mc_predict

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)

X, y = load_digits(return_X_y=True)
X = torch.tensor(X / 16.0, dtype=torch.float32)
y = torch.tensor(y)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)

# %%
# A small MLP with dropout
# ------------------------
# ``reglab.torch.Dropout`` zeroes each unit with probability ``p`` and scales the survivors
# by ``1 / (1 - p)`` so the expected activation is unchanged; its ``generator`` makes the
# masks reproducible without touching torch's global random state. A few epochs of Adam are
# enough on 8x8 digits.
gen = torch.Generator().manual_seed(0)
model = nn.Sequential(
    nn.Linear(64, 128),
    nn.ReLU(),
    Dropout(0.5, generator=gen),
    nn.Linear(128, 128),
    nn.ReLU(),
    Dropout(0.5, generator=gen),
    nn.Linear(128, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for _ in range(15):
    model.train()
    for idx in torch.randperm(len(X_train)).split(64):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X_train[idx]), y_train[idx]).backward()
        opt.step()
model.eval()
with torch.no_grad():
    acc_eval = (model(X_test).argmax(1) == y_test).float().mean().item()
print(f"test accuracy, dropout off (eval mode): {acc_eval:.3f}")

# %%
# Many stochastic passes
# ----------------------
# ``mc_predict`` puts the model in eval mode *except* its dropout modules (so batch-norm
# statistics, had we any, would stay frozen), runs ``samples`` forward passes and returns
# the elementwise mean and variance of the output. We append a softmax so the average is
# taken over probabilities, not logits.
probabilistic = nn.Sequential(model, nn.Softmax(dim=-1))
with torch.no_grad():
    mean, var = mc_predict(probabilistic, X_test, samples=50)
pred = mean.argmax(1)
wrong = (pred != y_test).numpy()
# the spread of the probability of the predicted class: one number per test image
spread = var.gather(1, pred[:, None]).squeeze(1).numpy()
print(f"test accuracy, MC average of 50 passes: {1 - wrong.mean():.3f}")
print(f"model back in eval mode after mc_predict: {not model[2].training}")
with mc_dropout(model):
    print(f"inside mc_dropout: dropout on = {model[2].training}, model.training = {model.training}")

# %%
# Does the variance know when the model is wrong?
# -----------------------------------------------
# Sort the test images by MC variance and cut them into five equal groups: the error rate
# should climb from the most confident group to the least. Equivalently, the wrong
# predictions have a larger variance on average than the right ones.
print(f"mean variance: right {spread[~wrong].mean():.4f}, wrong {spread[wrong].mean():.4f}")
order = np.argsort(spread)
groups = np.array_split(order, 5)
err = [wrong[g].mean() for g in groups]
for k, (g, e) in enumerate(zip(groups, err)):
    print(f"variance quintile {k + 1}: max var {spread[g].max():.4f}, error rate {e:.3f}")

fig, (ax_h, ax_q) = plt.subplots(1, 2, figsize=(10, 4))
bins = np.linspace(0, spread.max(), 15)
ax_h.hist(spread[~wrong], bins=bins, alpha=0.6, density=True, label="right")
ax_h.hist(spread[wrong], bins=bins, alpha=0.6, density=True, label="wrong")
ax_h.set_xlabel("MC-dropout variance of the predicted class probability")
ax_h.set_ylabel("density")
ax_h.legend()
ax_q.bar(np.arange(1, 6), err, color="tab:red")
ax_q.set_xlabel("variance quintile (1 = most certain)")
ax_q.set_ylabel("test error rate")
fig.suptitle("MC dropout on digits: high variance flags likely errors")
fig.tight_layout()
fig.savefig(out / "mc_dropout_uncertainty.png", dpi=80)
plt.close(fig)
print(f"figures written to {out}")
