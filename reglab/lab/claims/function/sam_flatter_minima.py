"""Claim ``sam-flatter-minima``: SAM finds flatter minima and generalises better.

Deep dive, section 11 ("Sharpness-Aware Minimization"): "Find weights where the maximum nearby
loss is small -- i.e., flat regions of the loss landscape" and "Empirically improves
generalization on vision tasks." SAM (Foret et al., ICLR 2021) minimises
``max_{||e|| <= rho} L(w + e)`` with one ascent step ``e = rho g/||g||`` and the descent
gradient taken at ``w + e`` (:class:`reglab.torch.SAM`). Foret et al. report the benefit on
image classification and, largest, under label noise (their section 3.3: SAM is robust to
noisy labels).

Design. Flatness comparisons are only meaningful at *matched* training loss and near a
minimum: away from one, epsilon-sharpness ``~ rho ||g|| + rho^2 lambda_max / 2`` mostly measures
the gradient norm (the defect of v1). So plain SGD and SAM(SGD, rho=0.1) train an MLP
(64-64-10, ReLU, 4810 parameters) on 256 of scikit-learn's 8x8 digits (standardised) from the
same initialisation and minibatch order (batch 32, lr 0.2), each until the first epoch whose
full training cross-entropy is below 0.01 -- a low loss where the network fits its training
labels. Two regimes, named before the runs: clean labels, and 20% of the training labels
replaced by random classes (the label-noise setting where Foret et al. report SAM's largest
benefit). At the stop, :mod:`reglab.diagnostics` measures the top Hessian eigenvalue (Lanczos
on Hessian-vector products) and the epsilon-sharpness ``max_{||e|| <= rho} L(w + e) - L(w)``
of the training loss (v3: rho = 0.5, see History); test error is on the other ~1540 digits with clean labels.

Protocol v3 (v2 frozen before its runs; v3 changes only the epsilon-sharpness radius, see History).

* Flatness: paired log-ratio ``log(SAM / SGD)`` of the top Hessian eigenvalue and of the
  epsilon-sharpness, in each regime (4 checks); smallest effect of interest a 10% ratio
  (``log(1/0.9) = 0.105``): sharpness differences smaller than that are within what a change
  of parametrisation or eigensolver tolerance moves. Joined by intersection-union (all 4 must
  be SUPPORTED at 5% each).
* Generalisation (primary metric ``test_err_diff``): paired test error SAM - SGD; smallest
  effect of interest 0.005 (half a point). Regimes: with 20% label noise the effect is
  predicted (Foret et al. 2021, sec. 3.3); with clean labels at this scale it is not
  predicted (Foret et al.'s clean-label gains on small networks are a fraction of a point).
  Decided with :func:`reglab.lab.stats.decide_conditional`: SUPPORTED if SAM helps in both,
  CONDITIONAL if only under label noise.
* Joined verdict: NOT SUPPORTED if flatness is NOT SUPPORTED; INCONCLUSIVE if flatness is
  INCONCLUSIVE (unless generalisation is NOT SUPPORTED); otherwise the generalisation
  outcome.
* Seeds: a 3-seed pilot per regime (seeds 0-2) gave sd 0.058 / 0.086 (log lambda ratio,
  clean / noisy), 0.14 / 0.19 (log epsilon-sharpness ratio), 0.0017 / 0.0083 (test error
  difference). The largest demand is epsilon-sharpness, ``(2.80 * 0.19 / 0.105)^2 = 26``,
  then test error under noise, ``(2.80 * 0.0083 / 0.005)^2 = 22``. The default grid runs 6
  seeds per regime (about 100 s; minimum detectable effect 0.0095 in test error under noise),
  so its verdict may honestly be INCONCLUSIVE; the ``scale`` grid is meant for ``--seeds 26``.

History. v2 (the design above with epsilon-sharpness at rho = 0.05) ran once with 6 seeds
per regime: there ``rho ||g||`` was ~0.05 x 0.012 = 6e-4, equal to the measured
eps-sharpness (6.3e-4), so even at loss 0.01 the measure was the gradient norm again (v1's
defect), and it came out higher for SAM on clean labels. v3 changes the radius to rho = 0.5,
where the second-order term ``rho^2 lambda_max / 2 ~ 0.025`` is about four times the
first-order term (the share ``rho ||g|| / eps-sharpness`` is reported per run); the smallest
effect and every other part of the protocol are unchanged, and v2's measure is still recorded.
v1 trained a 2-16-16-2 tanh net on two moons with lr 0.2 only to a training loss of
0.08, with 4 runs, and required both sharpness measures lower by 2 SE; at that loss the
gradient term dominated epsilon-sharpness, there was no test error and no label noise. v2
changes the design (low matched loss, generalisation, regimes), not a threshold after a
result.

Default grid: 12 runs, 22 core-seconds (user CPU of ``reglab run ... -j 1`` on the project's
2-core VM at load average ~10; 198 s wall); smoke ~2.5 s.
"""

from __future__ import annotations

import math

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.protocol import Protocol
from reglab.lab.stats import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    decide,
    decide_conditional,
    intersection_union,
    paired_effect,
)
from reglab.taxonomy import Kind

TARGET_LOSS = 0.01
LR, BATCH, MAX_EPOCHS = 0.2, 32, 800
RHO = 0.1
SHARPNESS_RHO = 0.5
SMALL_RHO = 0.05  # v2's radius, still recorded: there rho ||g|| dominates
N_TRAIN = 256
FLAT_SMALLEST = math.log(1 / 0.9)
ERR_SMALLEST = 0.005
REGIMES = {0.0: "clean labels", 0.2: "20% label noise"}
PREDICTED = {"clean labels": False, "20% label noise": True}


def train_to_loss(net, x, y, gen, opt, *, sam: bool, target: float, max_epochs: int):
    """Minibatch training until the full training cross-entropy is below ``target``.

    Returns ``(epochs, final full-batch loss)``; stops at ``max_epochs`` otherwise.
    """
    import torch
    from torch.nn.functional import cross_entropy

    full = math.inf
    for epoch in range(1, max_epochs + 1):
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = order[start : start + BATCH]

            def closure(idx=idx):
                loss = cross_entropy(net(x[idx]), y[idx])
                loss.backward()
                return loss

            opt.zero_grad(set_to_none=True)
            closure()
            opt.step(closure) if sam else opt.step()
        with torch.no_grad():
            full = float(cross_entropy(net(x), y))
        if not math.isfinite(full):
            raise FloatingPointError(f"training diverged (sam={sam}, lr={LR})")
        if full < target:
            return epoch, full
    return max_epochs, full


def join(flat: str, general: str) -> str:
    """The claim's verdict from its flatness (intersection-union) and generalisation parts."""
    if flat == NOT_SUPPORTED or general == NOT_SUPPORTED:
        return NOT_SUPPORTED
    if flat == INCONCLUSIVE:
        return INCONCLUSIVE
    return general


class SAMFlatterMinima(Claim):
    id = "sam-flatter-minima"
    kind = Kind.FUNCTION
    section = "11. Sharpness-Aware Minimization (SAM)"
    statement = (
        '"Find weights where the maximum nearby loss is small -- i.e., flat regions of the '
        'loss landscape." "Empirically improves generalization on vision tasks."'
    )
    interview = (
        "SAM replaces the loss by its worst case in a small ball, max over ||e|| <= rho of "
        "L(w + e). It approximates the inner max with one normalised gradient-ascent step, "
        "e = rho g/||g||, then descends using the gradient at w + e; to second order the ball "
        "adds rho||g|| and a curvature term, so near a minimum it steers towards low "
        "curvature. To test it, compare with the base optimizer at the same low training "
        "loss and measure curvature where the gradient term is small: SAM does end with a "
        "lower top Hessian eigenvalue. But a flatter minimum need not generalise better "
        "(sharpness is not scale-invariant, Dinh et al. 2017): on a small digits problem, "
        "once both optimizers have fit the noisy labels to the same loss, SAM's test error "
        "is no better, so the label-noise robustness Foret et al. report after a fixed "
        "budget looks like SAM memorising the noise later, an early-stopping effect. It "
        "costs a second forward-backward pass per step and rho is a new hyper-parameter."
    )
    grid = {"noise": list(REGIMES)}
    smoke = {"noise": list(REGIMES), "max_epochs": [2]}
    scale = {"noise": list(REGIMES)}
    seeds = 6
    smoke_seeds = 2
    protocol = Protocol(
        version=3,
        metric="test_err_diff",
        effect=(
            "paired over seeds: clean test error of SAM minus SGD at matched training loss "
            "< 0.01; flatness: paired log-ratio SAM/SGD of lambda_max and epsilon-sharpness"
        ),
        smallest_effect=ERR_SMALLEST,
        direction="decrease",
        analysis=(
            "paired t 95% CIs; flatness: intersection-union over 2 measures x 2 regimes "
            "(smallest log-ratio 0.105); test error: decide_conditional over the regimes"
        ),
        seeds=26,
        regimes={
            "clean labels": "flatter; no test-error benefit predicted at this scale",
            "20% label noise": "flatter; lower test error (Foret et al. 2021, sec. 3.3)",
        },
        pilot_sd=0.0083,
        history=(
            "v1: two moons, tanh 2-16-16-2, stopped at training loss 0.08 (where the gradient "
            "term dominates epsilon-sharpness), 4 runs, flatness only; replaced by a low "
            "matched loss, test error and a label-noise regime",
            "v2: as v3 but epsilon-sharpness at rho=0.05; its 6-seed run showed eps-sharpness "
            "~= rho ||g|| (the first-order term) even at loss 0.01, so it measured the gradient "
            "norm, not curvature; v3 measures it at rho=0.5 (v2's radius is still reported)",
        ),
    )

    def run(self, params, seed):
        import torch
        from torch.nn.functional import cross_entropy

        from reglab.diagnostics import epsilon_sharpness, model_loss, top_hessian_eigenvalue
        from reglab.lab.claims._torch_nets import digits, generator, mlp
        from reglab.lab.claims.training._es_curves import noisy_labels
        from reglab.torch import SAM

        noise = float(params["noise"])
        max_epochs = int(params.get("max_epochs", MAX_EPOCHS))
        x, y, xt, yt = digits(seed, N_TRAIN)
        y_train = noisy_labels(y, noise, np.random.default_rng(seed))
        out: dict[str, float] = {"noise": noise}
        for name in ("sgd", "sam"):
            gen = generator(seed)  # same initialisation and minibatch order for both
            net = mlp([64, 64, 10], gen)
            if name == "sgd":
                opt = torch.optim.SGD(net.parameters(), lr=LR)
            else:
                opt = SAM(net.parameters(), torch.optim.SGD, rho=RHO, lr=LR)
            epochs, loss = train_to_loss(
                net, x, y_train, gen, opt, sam=name == "sam", target=TARGET_LOSS,
                max_epochs=max_epochs,
            )  # fmt: skip
            loss_fn, theta = model_loss(net, cross_entropy, (x, y_train))
            out[f"lambda_max_{name}"] = top_hessian_eigenvalue(
                loss_fn, theta, method="lanczos", max_iter=100, tol=1e-4, seed=seed % (2**31)
            )
            out[f"eps_sharpness_{name}"] = epsilon_sharpness(
                loss_fn, theta, rho=SHARPNESS_RHO, seed=seed % (2**31)
            )
            out[f"eps_sharpness_small_{name}"] = epsilon_sharpness(
                loss_fn, theta, rho=SMALL_RHO, seed=seed % (2**31)
            )
            grads = torch.func.grad(loss_fn)(theta)
            gnorm = float(torch.sqrt(sum((g.detach() ** 2).sum() for g in grads.values())))
            out[f"grad_norm_{name}"] = gnorm
            # the share of eps-sharpness that the first-order term rho ||g|| explains
            out[f"first_order_share_{name}"] = SHARPNESS_RHO * gnorm / out[f"eps_sharpness_{name}"]
            out[f"train_loss_{name}"] = loss
            out[f"epochs_{name}"] = float(epochs)
            with torch.no_grad():
                z = net(xt)
                out[f"test_err_{name}"] = float((z.argmax(1) != yt).double().mean())
                out[f"test_loss_{name}"] = float(cross_entropy(z.double(), yt))
        out["test_err_diff"] = out["test_err_sam"] - out["test_err_sgd"]
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        flat_effects, flat_outcomes, err_effects = [], {}, {}
        for noise, g in rows.by("noise").items():
            regime = REGIMES[float(noise)]
            for measure in ("lambda_max", "eps_sharpness"):
                e = paired_effect(
                    g.values(f"{measure}_sam"),
                    g.values(f"{measure}_sgd"),
                    name=f"log {measure} SAM/SGD ({regime})",
                    smallest=FLAT_SMALLEST,
                    regime=regime,
                    log_ratio=True,
                )
                flat_effects.append(e)
                flat_outcomes[e.name] = decide(e, "decrease", FLAT_SMALLEST)
            err_effects[regime] = paired_effect(
                g.values("test_err_sam"),
                g.values("test_err_sgd"),
                name=f"test error SAM - SGD ({regime})",
                smallest=ERR_SMALLEST,
                regime=regime,
            )
        flat = intersection_union(flat_outcomes)
        predicted = {r: PREDICTED[r] for r in err_effects}
        if any(predicted.values()):
            general = decide_conditional(err_effects, predicted, "decrease", ERR_SMALLEST)
        else:  # only the clean regime ran (a partial grid): judge it plainly
            general = intersection_union(
                {r: decide(e, "decrease", ERR_SMALLEST) for r, e in err_effects.items()}
            )
        outcome = join(flat, general)

        def pct(e) -> str:
            return f"{100 * e.estimate:+.2f} points [{100 * e.low:+.2f}, {100 * e.high:+.2f}]"

        def ratio(e) -> str:
            return f"x{math.exp(e.estimate):.2f} [{math.exp(e.low):.2f}, {math.exp(e.high):.2f}]"

        lam = {e.regime: e for e in flat_effects if e.name.startswith("log lambda")}
        nums = "; ".join(
            f"{r}: lambda_max {ratio(lam[r])}, test error {pct(err_effects[r])}"
            for r in err_effects
        )
        lead = {
            SUPPORTED: "Supported: at matched low training loss SAM ends flatter and with "
            "lower test error than SGD",
            "CONDITIONAL": "Holds only under label noise: SAM ends flatter than SGD at matched "
            "low training loss, but lowers test error only when 20% of labels are noisy",
            NOT_SUPPORTED: "Not supported as written: at matched low training loss SAM is not "
            "both flatter and better on test error than SGD",
            INCONCLUSIVE: "Inconclusive: the seeds cannot tell whether SAM is both flatter and "
            "better on test error than SGD at matched low training loss",
        }[outcome]
        sentence = f"{lead} ({nums}; {len(rows) // max(1, len(err_effects))} seeds per regime)."
        lines = [
            f"MLP 64-64-10 on {N_TRAIN} digits, SGD vs SAM(rho={RHO:g}) from the same init and "
            f"batch order (lr {LR:g}, batch {BATCH}), each stopped at training loss < "
            f"{TARGET_LOSS:g}; flatness measured on the training loss, test error on clean labels."
        ]
        for noise, g in rows.by("noise").items():
            regime = REGIMES[float(noise)]
            lines.append(
                f"  {regime}: train loss SGD {g.mean('train_loss_sgd'):.4f} (epoch "
                f"{g.mean('epochs_sgd'):.0f}) vs SAM {g.mean('train_loss_sam'):.4f} (epoch "
                f"{g.mean('epochs_sam'):.0f}); lambda_max {g.mean('lambda_max_sgd'):.3f} vs "
                f"{g.mean('lambda_max_sam'):.3f}; eps-sharpness {g.mean('eps_sharpness_sgd'):.2e}"
                f" vs {g.mean('eps_sharpness_sam'):.2e}; grad norm {g.mean('grad_norm_sgd'):.2e} "
                f"vs {g.mean('grad_norm_sam'):.2e}; share of eps-sharpness from rho ||g||: "
                f"{g.mean('first_order_share_sgd'):.2f} vs {g.mean('first_order_share_sam'):.2f}; "
                f"eps-sharpness at rho={SMALL_RHO:g} (v2): {g.mean('eps_sharpness_small_sgd'):.2e} "
                f"vs {g.mean('eps_sharpness_small_sam'):.2e}; test error {g.mean('test_err_sgd'):.4f} vs "
                f"{g.mean('test_err_sam'):.4f}"
            )
        for e in flat_effects:
            lines.append(f"  {e.name}: {e.format()} -> {flat_outcomes[e.name]}")
        for e in err_effects.values():
            lines.append(f"  {e.name}: {e.format()}")
        lines.append(f"flatness (intersection-union): {flat}; test error (conditional): "
                     f"{general}; joined: {outcome}")  # fmt: skip

        fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
        for ax, measure, label in (
            (axes[0], "lambda_max", "top Hessian eigenvalue"),
            (axes[1], "eps_sharpness", f"eps-sharpness, rho={SHARPNESS_RHO:g}"),
            (axes[2], "test_err", "clean test error"),
        ):
            for i, (noise, g) in enumerate(rows.by("noise").items()):
                ax.plot(g.values(f"{measure}_sgd"), g.values(f"{measure}_sam"), "o",
                        color=f"C{i}", label=REGIMES[float(noise)])  # fmt: skip
            both = np.concatenate([rows.values(f"{measure}_sgd"), rows.values(f"{measure}_sam")])
            lim = [both.min() * 0.9, both.max() * 1.1]
            ax.plot(lim, lim, "k-", lw=0.8)
            ax.set_xlabel(f"SGD: {label}", fontsize=8)
            ax.set_ylabel(f"SAM: {label}", fontsize=8)
            ax.legend(fontsize=7)
        axes[0].set_title(f"At training loss < {TARGET_LOSS:g}; below the line: SAM lower",
                          fontsize=8)  # fmt: skip
        fig.tight_layout()
        numbers = {f"test_err_diff {r}": e.estimate for r, e in err_effects.items()}
        numbers |= {f"lambda_ratio {r}": math.exp(e.estimate) for r, e in lam.items()}
        return empirical_verdict(
            self.protocol,
            [*err_effects.values(), *flat_effects],
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join(lines),
            numbers=numbers,
        )
