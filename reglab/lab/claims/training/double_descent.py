r"""Claim ``double-descent``: test risk peaks at the interpolation threshold; tuned ridge does not.

Deep dive, section 12 ("Implicit bias of overparameterized networks"): past the
interpolation point there are infinitely many perfect fits, the optimizer's bias selects a
"nicer" (minimum-norm) one, "this is why double descent happens: as model size grows past
interpolation, generalization eventually improves".

Mathematics. Isotropic linear model (Hastie, Montanari, Rosset & Tibshirani, 2019,
"Surprises in high-dimensional ridgeless least squares interpolation", Theorems 1-2):
x ~ N(0, I_p), y = x^T beta + sigma eps, ||beta|| = r, n samples, gamma = p/n. The
minimum-norm least-squares fit X^+ y (what GD from zero returns, see the claim
``min-norm-implicit-bias``) has excess risk

    R(gamma) = sigma^2 gamma / (1 - gamma)                      (gamma < 1),
    R(gamma) = r^2 (1 - 1/gamma) + sigma^2 / (gamma - 1)        (gamma > 1),

which diverges at gamma = 1: with p = n the design is square and its smallest singular
value is near zero, so the interpolant amplifies the noise. Ridge at the optimal
lam = p sigma^2 / r^2 (Dobriban & Wager, 2018) has no such blow-up, and optimally tuned
ridge is monotone in the model size here (Nakkiran, Venkat, Kakade & Ma, 2021, "Optimal
regularization can mitigate double descent").

Experiment. Two settings, through ``reglab.diagnostics``:

- ``isotropic``: ``double_descent`` with n = 100 and p on a geometric grid from 10 to
  1000 (with p = n), 10 rounds per seed, sigma = r = 1, the closed form overlaid;
- ``random_features``: ``random_features_double_descent`` on scikit-learn's digits
  (standardised pixels, target +1 for odd digits and -1 for even, n = 200 training rows, 500
  test rows, split drawn from the seed): minimum-norm least squares on N random ReLU
  features, N from 20 to 2000, and ridge tuned per N over 30 strengths. Here nothing says
  where the peak must be; we *measure* it.

Protocol v2 (empirical). The sentence's claim is the second descent: past the interpolation
threshold, test risk comes down again. Primary metric: the risk curve of minimum-norm least
squares per seed; N* is the arg-max of the seed-averaged curve (chosen on the same seeds:
disclosed). Effect per setting: paired over seeds, ``log(risk(N*) / risk(N_max))``, how much
the largest model improves on the peak; direction increase; smallest effect of interest log 2
(the error at least halves: "generalization improves" in a sense anyone would notice);
intersection-union over the two settings. Secondary, reported: the same log-ratio of
min-norm over tuned ridge at N* (tuning removes the peak), and v1's checks below (peak
location and height, ridge's flat curve, the closed form). Power: 3 v1 seeds gave sd 1.3
(isotropic) and 1.9 (random features) of the log-ratio, whose mean is 6-10: the peak risk is
heavy-tailed. ``k = ((1.96 + 0.84) 1.9 / log 2)^2 = 59`` seeds: more than the default grid
affords (about 1 s of CPU per run), so the default runs 5 seeds and the ``scale`` grid (the
same points) is meant for 59 on a cluster; with an effect this far above log 2 the default's
interval can still decide.

History. v1 (PASS) required, on seed means without intervals, the peak within a factor 1.5 of
n, peak height >= 2 x both ends, a flat tuned-ridge curve and the closed form within 4 SE + 5%;
v2 judges the second descent with confidence intervals and reports v1's checks.

v1 thresholds (kept for the reported checks; "risk" is the mean over seeds and rounds).

- Location: the measured peak N* (arg-max of the risk) lies in [n / 1.5, 1.5 n]. The
  theory puts it at N = n for the isotropic model; on real data with random features the
  peak sits near, not exactly at, n (Belkin et al. 2019). A factor 1.5 is two grid steps of
  tolerance and still separates a threshold peak from "the biggest (or smallest) model is
  worst".
- It is a peak: risk(N*) >= 2 x max(risk(smallest model), risk(largest model)). A
  monotone or U-shaped curve has no interior maximum at all, so a factor of 2 above both
  ends cannot come from Monte-Carlo noise (relative standard errors are a few percent away
  from the threshold).
- Tuned ridge removes the peak: the ridge curve has no interior maximum above 1.1 x the
  larger of its two end values (10% is about three standard errors of its mean), and tuning
  never hurts: ridge <= min-norm + 3 standard errors of the min-norm mean at every N.
- Closed form (isotropic only): wherever |p/n - 1| >= 0.3, |simulated - R(gamma)| <= 4 SE +
  0.05 R(gamma). The finite-n expectations are sigma^2 p / (n - p - 1) and
  r^2 (1 - n/p) + sigma^2 n / (p - n - 1), within a factor 1 + 1/(|p - n| - 1) <= 1.035 of
  the asymptotic formula there; 5% covers that bias and 4 SE the Monte-Carlo noise.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run double-descent
-j 1`: default grid 10 runs, 10.1 s CPU (49 s wall), smoke grid 3.7 s CPU; both include about
2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

N_ISO = 100
N_RF = 200
N_RF_TEST = 500
PEAK_FACTOR = 1.5
PEAK_HEIGHT = 2.0
RIDGE_INTERIOR = 1.1
RIDGE_SIGMAS = 3.0
CF_SIGMAS = 4.0
CF_RTOL = 0.05
CF_AWAY = 0.3


def _sizes(n: int, points: int) -> np.ndarray:
    """``points`` model sizes from n/10 to 10 n on a geometric grid, with n itself."""
    sizes = np.round(n * np.geomspace(0.1, 10.0, points)).astype(int)
    return np.unique(np.concatenate([sizes, [n]]))


def _digits(seed: int):
    from sklearn.datasets import load_digits

    data = load_digits()
    X = data.data - data.data.mean(axis=0)
    X = X / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    y = np.where(data.target % 2 == 1, 1.0, -1.0)
    idx = np.random.default_rng(seed).permutation(len(y))
    tr, te = idx[:N_RF], idx[N_RF : N_RF + N_RF_TEST]
    return X[tr], y[tr], X[te], y[te]


class DoubleDescent(Claim):
    id = "double-descent"
    kind = Kind.TRAINING
    section = "12. Implicit regularization, implicit bias of overparameterized networks"
    statement = (
        "As model size grows past interpolation, generalization eventually improves: the "
        "test risk of the minimum-norm fit peaks near the interpolation threshold (model "
        "size = number of training points) and descends again beyond it, while optimally "
        "tuned ridge removes the peak."
    )
    interview = (
        "Below the threshold more features means more variance, the classical U. At the "
        "threshold the model has exactly enough parameters to interpolate and only one way "
        "to do it: the design is square, its smallest singular value is near zero, and the "
        "fit amplifies the label noise enormously, so test error spikes. Past it there are "
        "many interpolants and gradient descent from zero picks the minimum-norm one; with "
        "more features that solution spreads the noise over more directions and the error "
        "comes down again: the second descent. The peak is an artefact of having no "
        "regularization exactly where the problem is worst conditioned; tune ridge per model "
        "size and it disappears. I would measure where the peak is rather than assume N = n: "
        "with random features on real data it is near, not exactly at, n."
    )
    # points/rounds: grid size and Monte-Carlo rounds per seed
    grid = [
        {"setting": "isotropic", "points": 25, "rounds": 10},
        {"setting": "random_features", "points": 25, "rounds": 3},
    ]
    smoke = [
        {"setting": "isotropic", "points": 13, "rounds": 6},
        {"setting": "random_features", "points": 11, "rounds": 2},
    ]
    scale = [
        {"setting": "isotropic", "points": 25, "rounds": 10},
        {"setting": "random_features", "points": 25, "rounds": 3},
    ]
    seeds = 5
    smoke_seeds = 2
    protocol = Protocol(
        version=2,
        metric="risk",
        effect="paired over seeds: log(risk of minimum-norm least squares at the peak N* of "
        "the mean curve / its risk at the largest model), per setting",
        smallest_effect=float(np.log(2.0)),
        direction="increase",
        analysis="paired t over seeds per setting; intersection-union over the 2 settings",
        seeds=59,
        pilot_sd=1.9,
        history=(
            "v1: peak within 1.5x of n, height >= 2x both ends, tuned ridge flat and never "
            "worse, closed form within 4 SE + 5%, seed means without intervals (PASS)",
        ),
    )

    def run(self, params, seed):
        from reglab.diagnostics import double_descent, random_features_double_descent

        setting, points = params["setting"], int(params["points"])
        rounds = int(params["rounds"])
        if setting == "isotropic":
            res = double_descent(N_ISO, _sizes(N_ISO, points), rounds=rounds, seed=seed)
            n = N_ISO
        elif setting == "random_features":
            res = random_features_double_descent(
                *_digits(seed), _sizes(N_RF, points), rounds=rounds, seed=seed
            )
            n = N_RF
        else:
            raise ValueError(f"setting must be 'isotropic' or 'random_features', got {setting!r}")
        out = {
            "n_train": float(n),
            "threshold": float(res.threshold),
            "sizes": res.values.astype(float).tolist(),
            "risk": res.risk.tolist(),
            "risk_se": res.risk_se.tolist(),
            "ridge_risk": res.ridge_risk.tolist(),
        }
        if res.closed_form is not None:
            out["closed_form"] = np.where(
                np.isfinite(res.closed_form), res.closed_form, np.nan
            ).tolist()
        return out

    def _pooled(self, group: Rows) -> dict[str, np.ndarray]:
        """Mean curves over seeds (equal rounds each) and the pooled standard error."""
        m = [r.metrics for r in group]
        k = len(m)
        out = {
            "sizes": np.asarray(m[0]["sizes"]),
            "risk": np.mean([x["risk"] for x in m], axis=0),
            "se": np.sqrt(np.sum(np.square([x["risk_se"] for x in m]), axis=0)) / k,
            "ridge": np.mean([x["ridge_risk"] for x in m], axis=0),
            "n": m[0]["n_train"],
            "thresholds": [x["threshold"] for x in m],
        }
        if "closed_form" in m[0]:
            out["closed_form"] = np.asarray(m[0]["closed_form"], dtype=float)
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        from reglab.lab.stats import decide, intersection_union, paired_effect

        prot = self.protocol
        assert prot is not None
        lines, numbers, ok = [], {}, True
        effects, ridge_effects, outcomes = {}, {}, {}
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for ax, (setting, group) in zip(axes, rows.by("setting").items()):
            c = self._pooled(group)
            sizes, risk, se, ridge, n = c["sizes"], c["risk"], c["se"], c["ridge"], c["n"]
            peak = int(np.argmax(risk))
            n_star = float(sizes[peak])
            R = np.array([r.metrics["risk"] for r in group])
            RR = np.array([r.metrics["ridge_risk"] for r in group])
            effects[setting] = paired_effect(
                R[:, peak],
                R[:, -1],
                name=f"log risk, peak N* = {n_star:g} / largest N = {sizes[-1]:g} ({setting})",
                smallest=prot.smallest_effect,
                regime=setting,
                log_ratio=True,
            )
            outcomes[setting] = decide(effects[setting], prot.direction, prot.smallest_effect)
            ridge_effects[setting] = paired_effect(
                R[:, peak],
                RR[:, peak],
                name=f"log risk at N*, min-norm / tuned ridge ({setting})",
                regime=setting,
                log_ratio=True,
            )
            located = n / PEAK_FACTOR <= n_star <= PEAK_FACTOR * n
            height = risk[peak] / max(risk[0], risk[-1])
            is_peak = height >= PEAK_HEIGHT
            interior = ridge[1:-1].max() / max(ridge[0], ridge[-1])
            no_ridge_peak = interior <= RIDGE_INTERIOR
            excess = (ridge - risk) / se
            never_hurts = bool(np.all(ridge <= risk + RIDGE_SIGMAS * se))
            ok &= located and is_peak and no_ridge_peak and never_hurts
            lines.append(
                f"{setting} (n = {n:g}, {len(group)} seeds): measured peak at N* = {n_star:g} "
                f"(N*/n = {n_star / n:.2f}, required within [1/{PEAK_FACTOR}, {PEAK_FACTOR}]; "
                f"per seed {', '.join(f'{t:g}' for t in c['thresholds'])})\n"
                f"  risk at the peak = {risk[peak]:.4g} = {height:.3g} x the larger end "
                f"(ends {risk[0]:.3g} at N = {sizes[0]:g}, {risk[-1]:.3g} at N = "
                f"{sizes[-1]:g}; required >= {PEAK_HEIGHT:g})\n"
                f"  tuned ridge: at N* {ridge[peak]:.3g}; largest interior value = "
                f"{interior:.3f} x its larger end (required <= {RIDGE_INTERIOR:g}); "
                f"ridge <= min-norm + {RIDGE_SIGMAS:g} SE everywhere: {never_hurts} "
                f"(max excess {excess.max():.2f} SE)"
            )
            numbers[f"{setting}_peak_over_n"] = n_star / n
            numbers[f"{setting}_peak_height"] = float(height)
            numbers[f"{setting}_ridge_interior"] = float(interior)
            ax.errorbar(
                sizes, risk, yerr=se, fmt="o-", ms=3, capsize=2, label="minimum-norm least squares"
            )
            ax.plot(sizes, ridge, "s-", ms=3, label="optimally tuned ridge")
            if "closed_form" in c:
                cf = c["closed_form"]
                away = np.abs(sizes / n - 1) >= CF_AWAY
                err = np.abs(risk - cf)[away]
                allowed = (CF_SIGMAS * se + CF_RTOL * cf)[away]
                agree = bool(np.all(err <= allowed))
                ok &= agree
                worst = float(np.max(err / allowed))
                lines.append(
                    f"  closed form (Hastie et al. 2019) where |p/n - 1| >= {CF_AWAY:g}: "
                    f"max |sim - R| / ({CF_SIGMAS:g} SE + {CF_RTOL:g} R) = {worst:.2f} "
                    f"(required <= 1); max relative gap "
                    f"{float(np.max(np.abs(risk - cf)[away] / cf[away])):.1%}"
                )
                numbers["closed_form_worst"] = worst
                grid = np.geomspace(sizes[0], sizes[-1], 400)
                from reglab.diagnostics import min_norm_asymptotic_risk

                curve = min_norm_asymptotic_risk(grid[np.abs(grid / n - 1) > 1e-3] / n)
                ax.plot(
                    grid[np.abs(grid / n - 1) > 1e-3],
                    curve,
                    "k--",
                    lw=1,
                    label="closed form (Hastie et al.)",
                )
            ax.axvline(n, color="grey", lw=0.8, label=f"N = n = {n:g}")
            ax.axvline(n_star, color="red", ls=":", lw=1, label=f"measured peak {n_star:g}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("number of features N (p)")
            ax.set_ylabel("test risk" if setting != "isotropic" else "excess test risk")
            ax.set_title(
                "isotropic linear model, n = 100"
                if setting == "isotropic"
                else "random ReLU features on digits, n = 200",
                fontsize=9,
            )
            ax.legend(fontsize=7)
        fig.tight_layout()
        outcome = intersection_union(outcomes)
        head = {
            "SUPPORTED": "Supported",
            "NOT SUPPORTED": "Not supported",
            "INCONCLUSIVE": "Inconclusive",
        }[outcome]
        sentence = (
            f"{head}: past the interpolation peak the test risk of the minimum-norm fit came "
            "down again by a factor "
            + "; ".join(
                f"{np.exp(e.estimate):.0f} [{np.exp(e.low):.0f}, {np.exp(e.high):.0f}] "
                f"({k.replace('_', ' ')})"
                for k, e in effects.items()
            )
            + f" from the peak to the largest model ({min(e.n for e in effects.values())} "
            "seeds); at the peak, tuned ridge's risk was lower by a factor "
            + " and ".join(f"{np.exp(e.estimate):.0f}" for e in ridge_effects.values())
            + "."
        )
        lines.insert(0, sentence)
        lines += [f"secondary: {e.format()}" for e in ridge_effects.values()]
        lines.append(f"v1's checks (reported, not the verdict) all hold: {bool(ok)}")
        return empirical_verdict(
            prot,
            [*effects.values(), *ridge_effects.values()],
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers=numbers,
        )
