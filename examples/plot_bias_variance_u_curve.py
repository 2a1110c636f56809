"""
The bias-variance U-curve, measured rather than drawn
=====================================================

One idea: the expected test error of a learning algorithm splits exactly into
``bias^2 + variance + noise``. Regularisation trades one term for another: a stronger
ridge penalty makes the fitted function depend less on the particular training set (lower
variance) at the price of pulling it away from the truth (higher bias). The sum is
U-shaped in the penalty, and the bottom of the U is the regularisation worth having.

Because the data come from a generator that knows the true function and the noise level,
every term is *measured*: many fresh training sets are drawn, a model is fitted on each,
and predictions at fixed test points give the average prediction (bias) and its spread
(variance).
"""

# %%
# Setup
# -----
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np

from reglab.diagnostics import SyntheticRegression, bias_variance_sweep
from reglab.linear import Ridge

out = Path(os.environ.get("REGLAB_EXAMPLES_OUT") or tempfile.mkdtemp(prefix="reglab_"))
out.mkdir(parents=True, exist_ok=True)

# %%
# A problem where regularisation matters
# --------------------------------------
# ``y = x^T beta + sigma * eps`` with 30 features but only 40 training points: least
# squares is barely determined and its variance is large. The noise variance is
# ``sigma^2 = 1``, the floor no estimator can go below.
generator = SyntheticRegression(n_features=30, noise=1.0, signal=3.0, seed=0)

# %%
# Sweep the penalty
# -----------------
# reglab's ``Ridge`` minimises ``1/(2n)||y - Xw - b||^2 + alpha/2 ||w||^2``.
# ``bias_variance_sweep`` re-uses the *same* training sets for every ``alpha``, so the
# differences along the curve are not blurred by sampling noise between values.
alphas = np.geomspace(1e-3, 1e2, 16)
sweep = bias_variance_sweep(
    Ridge(), generator, param="alpha", values=alphas, n_train=40, n_test=200, rounds=40, seed=0
)
print(" alpha      bias^2   variance   noise   test loss")
for a, r in zip(sweep.values, sweep.results):
    print(
        f" {a:8.3g}  {r.bias2:7.3f}  {r.variance:8.3f}  {r.noise:6.3f}  {r.expected_loss:7.3f}"
        f" +/- {r.standard_error:.3f}"
    )

# %%
# The decomposition is an identity
# --------------------------------
# ``identity_error`` is ``bias^2 + variance + noise`` minus the test loss measured against
# freshly drawn labels. Over the training sets the split is exact algebra; the only gap is
# Monte-Carlo noise of the sampled test labels, so it must stay within a few of its own
# standard errors -- a check that the three curves add up to the error we would observe.
z = sweep.identity_error / np.array([r.identity_standard_error for r in sweep.results])
print(f"largest |identity error| / its standard error: {np.abs(z).max():.2f}")
print(f"bias^2   from {sweep.bias2[0]:.3f} to {sweep.bias2[-1]:.3f} (grows with alpha)")
print(f"variance from {sweep.variance[0]:.3f} to {sweep.variance[-1]:.3f} (shrinks with alpha)")
# (bias^2 stays near 0.06 at tiny alpha instead of 0: the average prediction is itself an
# average of 40 rounds, so the measured bias^2 carries about variance / rounds.)
print(f"best alpha = {sweep.best_value:.3g}: test loss {sweep.expected_loss.min():.3f}")

fig = sweep.plot()
fig.savefig(out / "bias_variance_u_curve.png", dpi=80)
print(f"figures written to {out}")
