"""
Lasso path with certified duality gaps, and alpha chosen by cross-validation
============================================================================

One idea: the lasso is not one model but a *path* of models indexed by ``alpha``, and
reglab hands every point of that path back together with a proof of how close it is to the
optimum (the duality gap). Cross-validation along the same path then picks ``alpha``
either at the minimum error or by the one-standard-error rule, as R's ``cv.glmnet`` does.
"""

# %%
# Setup
# -----
# Figures go to ``$REGLAB_EXAMPLES_OUT`` (a temporary directory when unset); the Agg
# backend draws to files only, so the script runs without a display.
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold

from reglab.linear import Lasso, LassoCV, lasso_path

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
out.mkdir(parents=True, exist_ok=True)

X, y = load_diabetes(return_X_y=True)
X = (X - X.mean(axis=0)) / X.std(axis=0)
feature_names = load_diabetes().feature_names

# %%
# The path and its certificates
# -----------------------------
# The objective is ``1/(2n) ||y - Xw - b||^2 + alpha ||w||_1``. Above ``alpha_max =
# ||X^T (y - mean y)||_inf / n`` every coefficient is zero; below it variables enter one by
# one. For each ``alpha`` the solver stops only when the duality gap -- primal objective
# minus the value of a feasible dual point -- is below ``tol * F(0)``, with ``F(0) =
# 1/(2n) ||y - mean y||^2`` the loss of the all-zero model. Because the primal minimum
# lies between the two, the gap is an upper bound on the distance to the optimum that
# needs no knowledge of the true solution: a certificate, not a heuristic.
path = lasso_path(X, y, n_alphas=50, fit_intercept=True, tol=1e-8)
a_max = np.max(np.abs(X.T @ (y - y.mean()))) / len(y)
print(f"alpha_max = {a_max:.4f}; the path starts there: {path.alphas[0]:.4f}")
print(" alpha      non-zero   duality gap")
for k in range(0, path.alphas.size, 7):
    nnz = int(np.count_nonzero(path.coefs[:, k]))
    print(f" {path.alphas[k]:9.4f}  {nnz:8d}   {path.dual_gaps[k]:.2e}")
f0 = 0.5 * np.mean((y - y.mean()) ** 2)
print(f"largest gap on the whole path: {path.dual_gaps.max():.2e} <= tol * F(0) = {1e-8 * f0:.2e}")

fig, ax = plt.subplots(figsize=(6, 4))
for j, name in enumerate(feature_names):
    ax.plot(np.log(path.alphas), path.coefs[j], label=name)
ax.set_xlabel("log(alpha)")
ax.set_ylabel("coefficient (standardised features)")
ax.set_title("Lasso path on diabetes")
ax.legend(fontsize=7, ncol=2)
fig.tight_layout()
fig.savefig(out / "lasso_path.png", dpi=80)
plt.close(fig)

# %%
# Choosing alpha by cross-validation
# ----------------------------------
# ``LassoCV`` fits the same warm-started path on each training fold and records the
# held-out error at every ``alpha``. ``alpha_min_`` minimises the mean CV error;
# ``alpha_1se_`` is the *largest* alpha whose mean error is within one standard error of
# that minimum -- a sparser model that the data cannot tell apart from the best one.
cv = LassoCV(n_alphas=50, cv=KFold(5, shuffle=True, random_state=0)).fit(X, y)
n_min = int(np.count_nonzero(Lasso(alpha=cv.alpha_min_).fit(X, y).coef_))
n_1se = int(np.count_nonzero(Lasso(alpha=cv.alpha_1se_).fit(X, y).coef_))
print(f"alpha_min_ = {cv.alpha_min_:.4f} ({n_min} non-zero coefficients)")
print(f"alpha_1se_ = {cv.alpha_1se_:.4f} ({n_1se} non-zero coefficients)")

ax = cv.plot()
ax.legend()
ax.figure.set_size_inches(6, 4)
ax.figure.tight_layout()
ax.figure.savefig(out / "lasso_cv.png", dpi=80)
plt.close(ax.figure)
print(f"figures written to {out}")
