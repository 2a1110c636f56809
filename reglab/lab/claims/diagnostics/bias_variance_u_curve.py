r"""Claim ``bias-variance-u-curve``: along alpha bias^2 rises, variance falls, test error is a U.

Deep dive, section 2: "Regularization trades variance for bias. A simpler model has lower
variance but higher bias. The regularized optimum is the sweet spot."

Mathematics. Ridge on a fixed design with thin SVD X = U diag(s) V^T predicts with the
filter s_i^2 / (s_i^2 + alpha), so (Hoerl & Kennard 1970)

    bias^2(alpha)   = sum_i (alpha / (s_i^2 + alpha))^2 (v_i^T beta)^2        increasing,
    variance(alpha) = sigma^2 sum_i s_i^4 / (s_i^2 + alpha)^2 / s_i^2         decreasing,

term by term, so both are monotone in alpha also after averaging over random designs and
test points, and their sum plus sigma^2 is the expected test error: large at alpha -> 0
(variance of least squares) and at alpha -> infinity (the null model's bias), with a
minimum in between when the problem is noisy enough.

Experiment. ``reglab.diagnostics.bias_variance_sweep`` with scikit-learn's ``Ridge`` (its
one-SVD fast path) on ``SyntheticRegression`` (well-specified linear truth with no
intercept, x ~ N(0, I), ||beta|| = r = 2, sigma = 1), fresh training sets every round, the
same training sets for every alpha (common random numbers), 17 values of alpha from 1e-2
(about s_min^2 / 50: effectively unregularised) to 1e4 (about 70 s_max^2: effectively the
null model). Designs: p = 30 features with n = 40 rows (high variance) and p = 20 with
n = 60, fitted without intercept (the correctly specified model, the setting of the
formulas above). Each seed is an independent repetition; the verdict pools them and takes
standard errors from the spread over seeds.

The caveat, measured. With an unpenalised intercept (``fit_intercept=True``, third grid
point) the variance is *not* monotone: the fitted slope also corrects the intercept for the
sample mean of x, x_bar^T beta, so as alpha -> infinity the prediction tends to the training
mean y_bar, whose variance is (sigma^2 + r^2) / n = 0.125 at n = 40, slightly *above* the
variance at moderate alpha. The first run of this claim found that reversal (about 8 SE);
the verdict therefore requires monotone variance only for the penalised fit the theory is
about, and for the intercept fit checks the explanation instead: the variance at the
largest alpha equals (sigma^2 + r^2) / n within 4 SE. Bias^2 and the U-shape are required
in every setting.

The plug-in bias^2 = mean_j (f(x_j) - ybar_j)^2 over R rounds is biased upwards by
variance / R, which falls with alpha and would blur a flat start; the verdict uses the
unbiased bias^2 - variance_hat / (R - 1) (variance_hat has the 1/R normalisation).

Protocol v2 (empirical). The empirical content of the sentence is that the regularized
optimum is a sweet spot: better than both no regularization and heavy regularization. Primary
metric: the test-error curve per seed (each seed averages 50 training sets); alpha* is the
arg-min of the seed-averaged curve (chosen on the same seeds: disclosed, a small optimistic
bias against effects this large). Effects, per setting: paired over seeds,
``log(err(alpha_min) / err(alpha*))`` (left) and ``log(err(alpha_max) / err(alpha*))``
(right); smallest effect of interest log 1.05 (a 5% lower test error is a gain a practitioner
would act on); direction increase; intersection-union over the 2 ends x 3 settings. Power:
the v1 runs (20 seeds) gave sd 0.009-0.08 of these log-ratios, ``k = ((1.96 + 0.84) 0.08 /
0.0488)^2 = 21`` seeds. The monotone bias and variance curves are theorems for the penalised
fit (above); their step-wise checks are reported in the evidence, as v1 defined them (4 SE),
not part of the verdict.

History. v1 (PASS) required, in SE units, monotone steps, an interior minimum of the test
error and both ends above it by 4 SE, and for the intercept fit the variance limit; v2 judges
the sweet spot with confidence intervals against a stated smallest effect.

v1 thresholds (kept for the reported checks; SE = standard error over seeds).

- Monotone: every step of the grid moves bias^2 up and variance down, or moves it the
  wrong way by less than 4 SE of that step. Where the true change is below Monte-Carlo
  resolution (bias^2 is flat near alpha = 0) the sign of a measured step is noise; 4 SE
  with 19 degrees of freedom (one-sided p = 4e-4) keeps the false-alarm rate about 3% over
  the 80 steps checked, while a real reversal of one grid step would be many SE.
- The trend is real: bias^2 at the largest alpha exceeds bias^2 at the smallest by more than
  4 SE; variance the other way round.
- U-shape: the arg-min of the measured test error is strictly inside the grid, and the
  error at each end exceeds the minimum by more than 4 SE of the difference.
- Intercept fit: |variance(alpha = 1e4) - (sigma^2 + r^2) / n| <= 4 SE (the slope left at
  alpha = 1e4 changes this limit by well under 1%).

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
bias-variance-u-curve -j 1`: default grid 63 runs, 4.9 s CPU (24 s wall), smoke grid 3.4 s CPU;
both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

SIGMAS = 4.0
ALPHAS = np.geomspace(1e-2, 1e4, 17)
DESIGNS = {"p30_n40": (30, 40), "p20_n60": (20, 60)}
SIGNAL, NOISE = 2.0, 1.0


def _se(a: np.ndarray) -> np.ndarray:
    """Standard error of the mean over seeds (axis 0)."""
    return a.std(axis=0, ddof=1) / np.sqrt(a.shape[0])


class BiasVarianceUCurve(Claim):
    id = "bias-variance-u-curve"
    kind = Kind.DIAGNOSTICS
    section = "2. The bias-variance decomposition"
    statement = (
        "Regularization trades variance for bias: as the ridge strength alpha grows, bias^2 "
        "rises and variance falls, and the test error is U-shaped with its minimum (the "
        "regularized sweet spot) strictly inside the range of alpha."
    )
    interview = (
        "Squared test error splits into bias squared, variance and irreducible noise. "
        "Turning up the ridge penalty shrinks every direction of the fit towards zero: the "
        "average prediction moves away from the truth, so bias grows, but the prediction "
        "also depends less on the particular training set, so variance drops. At alpha near "
        "zero you pay in variance (least squares chasing noise), at huge alpha you pay in "
        "bias (you predict the mean). In between the variance saved exceeds the bias paid and "
        "the test error has a minimum, which is what cross-validation finds. I would add "
        "that the decomposition needs fresh training sets from a known distribution; "
        "resampling one training set, as some libraries do, mixes the noise into the bias."
    )
    grid = [
        {"design": "p30_n40", "intercept": False, "rounds": 50},
        {"design": "p20_n60", "intercept": False, "rounds": 50},
        {"design": "p30_n40", "intercept": True, "rounds": 50},
    ]
    # smoke points differ from the default ones (rounds), so the two grids never share a stored run
    smoke = [
        {"design": "p30_n40", "intercept": False, "rounds": 40},
        {"design": "p30_n40", "intercept": True, "rounds": 40},
    ]
    seeds = 21
    smoke_seeds = 10
    protocol = Protocol(
        version=2,
        metric="test_error",
        effect="paired over seeds: log(test error at the smallest / largest alpha) - "
        "log(test error at the arg-min alpha of the mean curve), per setting",
        smallest_effect=float(np.log(1.05)),
        direction="increase",
        analysis="paired t over seeds; intersection-union over 2 ends x 3 settings",
        seeds=21,
        pilot_sd=0.08,
        history=(
            "v1: monotone steps, interior minimum and ends above it by 4 SE, intercept "
            "variance limit, no effect sizes (PASS)",
        ),
    )

    def run(self, params, seed):
        from sklearn.linear_model import Ridge

        from reglab.diagnostics import SyntheticRegression, bias_variance_sweep

        if params["design"] not in DESIGNS:
            raise ValueError(f"design must be one of {sorted(DESIGNS)}, got {params['design']!r}")
        p, n = DESIGNS[params["design"]]
        rounds = int(params["rounds"])
        # beta is fixed per design (seed 0); training sets, test points and labels per seed
        gen = SyntheticRegression(p, noise=NOISE, signal=SIGNAL, seed=0)
        sweep = bias_variance_sweep(
            Ridge(fit_intercept=bool(params["intercept"])),
            gen,
            param="alpha",
            values=ALPHAS,
            n_train=n,
            n_test=200,
            rounds=rounds,
            seed=seed,
        )
        bias2, var = sweep.bias2, sweep.variance
        return {
            "alphas": ALPHAS.tolist(),
            "bias2_plugin": bias2.tolist(),
            "bias2": (bias2 - var / (rounds - 1)).tolist(),
            "variance": var.tolist(),
            "noise": sweep.noise.tolist(),
            "test_error": sweep.expected_loss.tolist(),
            "best_alpha": float(sweep.best_value),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        from reglab.lab.stats import decide as _decide
        from reglab.lab.stats import intersection_union, paired_effect

        prot = self.protocol
        assert prot is not None
        ok, lines, numbers = True, [], {}
        effects, outcomes = [], {}
        groups = [
            (design, icpt, g.where(intercept=icpt))
            for design, g in rows.by("design").items()
            for icpt in (False, True)
            if len(g.where(intercept=icpt))
        ]
        fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.9), squeeze=False)
        for ax, (design, icpt, g) in zip(axes[0], groups):
            p, n = DESIGNS[design]
            name = f"{design}{', intercept' if icpt else ''}"
            alphas = np.asarray(g[0].metrics["alphas"])
            B = np.array([r.metrics["bias2"] for r in g])
            V = np.array([r.metrics["variance"] for r in g])
            L = np.array([r.metrics["test_error"] for r in g])
            noise = float(np.mean([r.metrics["noise"] for r in g]))
            # step-wise: wrong-way moves in units of their standard error (positive = wrong)
            wrong_b = -np.diff(B, axis=1).mean(0) / _se(np.diff(B, axis=1))
            wrong_v = np.diff(V, axis=1).mean(0) / _se(np.diff(V, axis=1))
            trend_b = float((B[:, -1] - B[:, 0]).mean() / _se(B[:, -1] - B[:, 0]))
            trend_v = float((V[:, 0] - V[:, -1]).mean() / _se(V[:, 0] - V[:, -1]))
            bias_ok = bool(wrong_b.max() < SIGMAS) and trend_b > SIGMAS
            var_ok = bool(wrong_v.max() < SIGMAS) and trend_v > SIGMAS
            mean_L = L.mean(0)
            k = int(np.argmin(mean_L))
            inside = 0 < k < len(alphas) - 1
            left = float((L[:, 0] - L[:, k]).mean() / _se(L[:, 0] - L[:, k])) if inside else 0.0
            right = float((L[:, -1] - L[:, k]).mean() / _se(L[:, -1] - L[:, k])) if inside else 0.0
            u_shape = inside and left > SIGMAS and right > SIGMAS
            for end, j in (("no regularization", 0), ("heavy regularization", len(alphas) - 1)):
                e = paired_effect(
                    L[:, j],
                    L[:, k],
                    name=f"log test error, {end} / sweet spot ({design}"
                    f"{', intercept' if icpt else ''})",
                    smallest=prot.smallest_effect,
                    regime=f"{design}{', intercept' if icpt else ''}",
                    log_ratio=True,
                )
                effects.append(e)
                outcomes[e.name] = _decide(e, prot.direction, prot.smallest_effect)
            text = (
                f"{name} (p = {p}, n = {n}, {len(g)} seeds x {g[0].params['rounds']} "
                f"training sets):\n"
                f"  bias^2 {B.mean(0)[0]:.3g} -> {B.mean(0)[-1]:.3g} (rise = {trend_b:.1f} SE), "
                f"variance {V.mean(0)[0]:.3g} -> {V.mean(0)[-1]:.3g} (fall = {trend_v:.1f} SE); "
                f"required > {SIGMAS:g} SE\n"
                f"  largest wrong-way step: bias^2 {max(wrong_b.max(), 0):.2f} SE, variance "
                f"{max(wrong_v.max(), 0):.2f} SE (required < {SIGMAS:g}"
                f"{' for bias^2 only' if icpt else ''})\n"
                f"  test error: {mean_L[0]:.3g} at alpha = {alphas[0]:g}, minimum {mean_L[k]:.3g} "
                f"at alpha = {alphas[k]:.3g} (index {k} of 0..{len(alphas) - 1}), "
                f"{mean_L[-1]:.3g} at alpha = {alphas[-1]:g}; ends above the minimum by "
                f"{left:.1f} and {right:.1f} SE (required > {SIGMAS:g})"
            )
            if icpt:
                # the unpenalised intercept: variance tends to Var(y_bar) = (sigma^2 + r^2)/n
                limit = (NOISE**2 + SIGNAL**2) / n
                z = float((V[:, -1].mean() - limit) / _se(V[:, -1]))
                j = int(np.argmin(V.mean(0)))
                ok &= bias_ok and u_shape and abs(z) <= SIGMAS
                text += (
                    f"\n  caveat: variance bottoms out at {V.mean(0)[j]:.4g} (alpha = "
                    f"{alphas[j]:.3g}) and rises to {V.mean(0)[-1]:.4g}; the limit "
                    f"(sigma^2 + r^2)/n = {limit:.4g} is met within {abs(z):.1f} SE "
                    f"(required <= {SIGMAS:g}): the intercept's variance is outside the "
                    f"trade-off"
                )
                numbers[f"{name}_variance_limit_z"] = z
            else:
                ok &= bias_ok and var_ok and u_shape
            lines.append(text)
            numbers[f"{name}_best_alpha"] = float(alphas[k])
            numbers[f"{name}_left_se"] = left
            numbers[f"{name}_right_se"] = right
            ax.plot(alphas, B.mean(0), "-o", ms=3, label="bias$^2$")
            ax.plot(alphas, V.mean(0), "-o", ms=3, label="variance")
            ax.axhline(noise, color="grey", ls="--", lw=1, label="noise $\\sigma^2$")
            ax.errorbar(
                alphas, mean_L, yerr=_se(L), fmt="k-", capsize=2, label="measured test error"
            )
            plugin = np.mean([r.metrics["bias2_plugin"] for r in g], axis=0)
            ax.plot(
                alphas,
                plugin + V.mean(0) + noise,
                "r:",
                lw=1.5,
                label="bias$^2$ (plug-in) + var + noise",
            )
            ax.axvline(alphas[k], color="grey", lw=0.8, ls=":")
            ax.set_xscale("log")
            ax.set_xlabel("ridge alpha (scikit-learn units)")
            ax.set_ylabel("squared error")
            ax.set_title(f"ridge{' with intercept' if icpt else ''}, p = {p}, n = {n}", fontsize=9)
            ax.legend(fontsize=7)
        fig.tight_layout()
        outcome = intersection_union(outcomes)
        head = {
            "SUPPORTED": "Supported",
            "NOT SUPPORTED": "Not supported",
            "INCONCLUSIVE": "Inconclusive",
        }[outcome]
        gains = [np.exp(e.estimate) - 1 for e in effects]
        weakest = min(effects, key=lambda e: e.low)
        sentence = (
            f"{head}: tuned ridge beat both no and heavy regularization in every setting; test "
            f"error at the ends was {min(gains):.0%} to {max(gains):.0%} higher than at the "
            f"sweet spot (smallest: {weakest.name.split('(')[0].strip()}, ratio "
            f"{np.exp(weakest.estimate):.3f} [{np.exp(weakest.low):.3f}, "
            f"{np.exp(weakest.high):.3f}], {weakest.n} seeds)."
        )
        lines.insert(0, sentence)
        lines.append(f"v1's step-wise checks (reported, not the verdict) all hold: {bool(ok)}")
        return empirical_verdict(
            prot,
            effects,
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers=numbers,
        )
