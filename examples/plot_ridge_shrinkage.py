"""
Ridge shrinks each principal direction by its own factor
========================================================

One idea: write ``X = U diag(s) V^T``. The ridge fit ``X (X^T X + lam I)^{-1} X^T y`` equals
``sum_i u_i * s_i^2 / (s_i^2 + lam) * (u_i^T y)``: ordinary least squares along each
singular direction, multiplied by the shrinkage factor ``s_i^2 / (s_i^2 + lam)``.
Directions of large variance are barely touched; directions of tiny variance -- the ones
that make ``X^T X`` ill-conditioned and the least-squares solution unstable -- are
shrunk almost to zero. Summing the factors gives the effective degrees of freedom
``df(lam)``, the trace of the hat matrix (Hastie, Tibshirani & Friedman, ESL eq. 3.50),
which moves continuously from ``rank(X)`` at ``lam = 0`` down to 0.
"""

# %%
# Setup
# -----
# breast_cancer has 30 strongly correlated measurements (radius, perimeter and area of
# the same cells...), so its spectrum spans several orders of magnitude.
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer

from reglab.diagnostics import (
    condition_number,
    effective_dof,
    plot_shrinkage,
    ridge_shrinkage_factors,
    singular_values,
)

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
out.mkdir(parents=True, exist_ok=True)

X, _ = load_breast_cancer(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
s = singular_values(X)
print(f"n, p = {X.shape}; singular values from {s[0]:.1f} down to {s[-1]:.3f}")
print(f"condition number of X^T X: {condition_number(X):.3g}")

# %%
# Shrinkage factor of every direction along lambda
# ------------------------------------------------
# ``lam`` is in the units of ``X^T X`` (scikit-learn's ``alpha``). A direction is shrunk by
# one half exactly when ``lam = s_i^2``: each curve below crosses 0.5 at its own
# ``log(s_i^2)``, so the penalty switches directions off one at a time, smallest first.
lams = np.geomspace(1e-3, 1e5, 120)
factors = ridge_shrinkage_factors(X, lams)  # shape (n_lams, p)
for i in (0, 9, 29):
    f_i = ridge_shrinkage_factors(X, s[i] ** 2)[i]
    print(f"direction {i + 1:2d}: s^2 = {s[i] ** 2:9.3f}, factor at lam = s^2: {f_i:.3f}")

# %%
# Effective degrees of freedom is the sum of the factors
# ------------------------------------------------------
# We check it against the trace of the explicit hat matrix at one ``lam``, and watch the
# condition number of ``X^T X + lam I`` fall as ``lam`` grows: the same penalty that
# shrinks the weak directions is what makes the linear system well posed.
lam = 10.0
hat = X @ np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T)
print(f"df({lam:g}) = {effective_dof(X, lam):.6f}; trace of the hat matrix = {np.trace(hat):.6f}")
print(f"sum of the shrinkage factors = {ridge_shrinkage_factors(X, lam).sum():.6f}")
for lam in (0.0, 1.0, 100.0):
    print(
        f"lam = {lam:6g}: df = {effective_dof(X, lam):5.2f}, cond = {condition_number(X, lam):.3g}"
    )

fig, (ax, ax_df) = plt.subplots(1, 2, figsize=(10, 4))
colors = plt.cm.viridis(np.linspace(0, 1, factors.shape[1]))
for i in range(factors.shape[1]):
    ax.plot(lams, factors[:, i], color=colors[i], lw=1)
ax.axhline(0.5, color="grey", lw=0.6, ls=":")
ax.set_xscale("log")
ax.set_xlabel("lam")
ax.set_ylabel("shrinkage factor s_i^2 / (s_i^2 + lam)")
ax.set_title("one curve per singular direction (dark: largest s_i)", fontsize=9)
ax_df.plot(lams, effective_dof(X, lams), color="k", label="df(lam)")
ax_df.set_xscale("log")
ax_df.set_xlabel("lam")
ax_df.set_ylabel("effective degrees of freedom")
ax_cond = ax_df.twinx()
ax_cond.plot(lams, condition_number(X, lams), color="tab:red", ls="--", label="condition number")
ax_cond.set_yscale("log")
ax_cond.set_ylabel("cond(X^T X + lam I)", color="tab:red")
fig.tight_layout()
fig.savefig(out / "ridge_shrinkage.png", dpi=80)
plt.close(fig)

# %%
# The same picture from reglab's ready-made figure
# ------------------------------------------------
# :func:`reglab.diagnostics.plot_shrinkage` draws the factors against the direction index
# for a few ``lam``: the profile slides from "keep everything" to "keep the top few".
fig = plot_shrinkage(X, [0.1, 10.0, 1000.0])
fig.savefig(out / "ridge_shrinkage_by_direction.png", dpi=80)
print(f"figures written to {out}")
