"""
Early stopping is ridge regression in disguise
==============================================

One idea: gradient descent on least squares from ``w = 0`` learns the directions of ``X``
one after another, fastest along the large singular values. After ``t`` steps of size
``lr`` each singular direction ``i`` has been fitted by the fraction
``1 - (1 - lr s_i^2 / n)^t``; ridge with ``lam = 1 / (lr t)`` fits it by
``s_i^2 / (s_i^2 + n lam)``. The two filters almost coincide, and Ali, Kolter & Tibshirani
(AISTATS 2019) prove that the risk of gradient flow stopped at time ``T`` is never above
1.6862 times the risk of ridge at ``lam = 1/T``. Stopping early *is* an L2 penalty whose
strength is the inverse of the training time (deep dive, section 7: "implicit constraint via
training").
"""

# %%
# Setup
# -----
# A linear model with correlated Gaussian features: the spectrum of X spans two orders of
# magnitude, so the directions are learnt at very different speeds.
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np

from reglab.diagnostics import early_stopping_as_ridge
from reglab.diagnostics.plotting import plot_early_stopping

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
rng = np.random.default_rng(0)
n, p = 200, 40
scales = np.geomspace(1.0, 0.01, p)
X = rng.standard_normal((n, p)) * scales
coef = rng.standard_normal(p)
y = X @ coef + 0.5 * rng.standard_normal(n)

# %%
# Gradient descent for 300 steps against ridge at lam = 1 / (lr * steps)
# ----------------------------------------------------------------------------
# The step size must stay below ``2 n / s_max^2`` (beyond it gradient descent diverges).
s_max = np.linalg.norm(X, 2)
lr = 1.0 * n / s_max**2
result = early_stopping_as_ridge(X, y, lr=lr, steps=300, coef=coef, noise=0.5)
print(f"lam = 1/(lr t) = {result.lam:.4g}")
gap = np.max(np.abs(result.gd_filter - result.ridge_filter))
print(f"largest difference between the GD and ridge filter factors: {gap:.3f}")

# %%
# The filter factors, direction by direction, and the risks along the steps
# -----------------------------------------------------------------------------
fig = plot_early_stopping(result)
fig.savefig(out / "early_stopping_is_ridge.png", dpi=80)
