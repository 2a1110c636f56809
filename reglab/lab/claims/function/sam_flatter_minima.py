"""Claim ``sam-flatter-minima``: SAM finds flatter minima than its base optimizer.

Deep dive, section 11 ("Sharpness-Aware Minimization"): "Find weights where the maximum
nearby loss is small -- i.e., flat regions of the loss landscape." SAM (Foret et al. 2021,
ICLR) minimises max_{||e|| <= rho} L(w + e) with one ascent step e = rho g/||g|| and a
descent step with the gradient taken at w + e (:class:`reglab.torch.SAM`). To second order,
L(w + e) ~ L(w) + rho ||g|| + rho^2/2 e^T H e/||e||^2, so the objective penalises curvature
along the gradient; the claim is that the weights it reaches are flatter.

Experiment. A 2-16-16-2 tanh network (338 parameters) on 200 two-moons points
(scikit-learn's ``make_moons``, noise 0.15), trained from the same initialisation and the
same minibatch order (batch 50, lr 0.2) by plain SGD and by SAM(SGD, rho), each stopped at
the end of the first epoch whose full training loss is below 0.08 -- so both are compared at
a comparable training loss, not after a fixed number of steps. At the stopping point
:mod:`reglab.diagnostics` measures the top Hessian eigenvalue (exact: the full Hessian is
338 x 338) and the epsilon-sharpness max_{||e|| <= 0.05} L(w + e) - L(w).

Threshold. Sharpness varies a lot between seeds, so the test is paired: for each measure
the log-ratio log(SAM / SGD) over all runs must have a negative mean exceeding 2 standard
errors of the mean in magnitude (a one-sided paired test at about 2.5%); the training
losses at the stopping points are reported to show they are comparable. Both measures are
required. Note that the stopping points are not minima: there epsilon-sharpness is about
rho ||g|| + rho^2 lambda_max / 2, so it also measures the gradient norm, which is reported.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

PAIRED_Z = 2.0
TARGET_LOSS = 0.08
LR, BATCH, MAX_EPOCHS = 0.2, 50, 1000
SHARPNESS_RHO = 0.05


def _train(net, X, y, gen, opt, sam: bool):
    """Minibatch training until the full training loss is below TARGET_LOSS."""
    import torch
    from torch.nn.functional import cross_entropy

    for epoch in range(1, MAX_EPOCHS + 1):
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), BATCH):
            idx = order[start : start + BATCH]

            def closure(idx=idx):
                loss = cross_entropy(net(X[idx]), y[idx])
                loss.backward()
                return loss

            opt.zero_grad(set_to_none=True)
            closure()
            opt.step(closure) if sam else opt.step()
        with torch.no_grad():
            full = float(cross_entropy(net(X), y))
        if full < TARGET_LOSS:
            return epoch, full
    return MAX_EPOCHS, full


class SAMFlatterMinima(Claim):
    id = "sam-flatter-minima"
    kind = Kind.FUNCTION
    section = "11. Sharpness-Aware Minimization (SAM)"
    statement = (
        "SAM finds weights where the maximum nearby loss is small, i.e. flat regions of the "
        "loss landscape: at a comparable training loss its top Hessian eigenvalue and "
        "epsilon-sharpness are lower than the base optimizer's."
    )
    interview = (
        "SAM replaces the loss by its worst case in a small ball, max over ||e|| <= rho of "
        "L(w + e). It approximates the inner max with one normalised gradient-ascent step, "
        "e = rho g/||g||, then descends using the gradient at w + e. Expanding to second "
        "order, the ball's worst case adds rho||g|| and a curvature term, so minimising it "
        "steers towards minima whose Hessian is small, flat basins where a perturbation of "
        "the weights barely changes the loss; the usual argument is that such minima "
        "generalise better (PAC-Bayes bounds depend on this robustness). The cost is a "
        "second forward-backward pass per step, so about twice the compute, and rho is a new "
        "hyper-parameter; sharpness itself is not scale-invariant, which is why adaptive "
        "variants (ASAM) exist."
    )
    grid = {"rho": [0.05, 0.1]}
    smoke = {"rho": [0.05]}
    seeds = 4
    smoke_seeds = 3

    def run(self, params, seed):
        import torch
        from sklearn.datasets import make_moons
        from torch import nn
        from torch.nn.functional import cross_entropy

        from reglab.diagnostics import epsilon_sharpness, model_loss, top_hessian_eigenvalue
        from reglab.lab.claims._torch_nets import generator, mlp
        from reglab.torch import SAM

        rho = float(params["rho"])
        X, y = make_moons(200, noise=0.15, random_state=seed % (2**32))
        X = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(y)
        out = {}
        for name in ("sgd", "sam"):
            gen = generator(seed)  # same initialisation and minibatch order
            net = mlp([2, 16, 16, 2], gen, activation=nn.Tanh)
            if name == "sgd":
                opt = torch.optim.SGD(net.parameters(), lr=LR)
            else:
                opt = SAM(net.parameters(), torch.optim.SGD, rho=rho, lr=LR)
            epochs, loss = _train(net, X, y, gen, opt, sam=name == "sam")
            loss_fn, theta = model_loss(net, cross_entropy, (X, y))
            out[f"lambda_max_{name}"] = top_hessian_eigenvalue(loss_fn, theta, method="exact")
            out[f"eps_sharpness_{name}"] = epsilon_sharpness(
                loss_fn, theta, rho=SHARPNESS_RHO, seed=seed % (2**31)
            )
            out[f"train_loss_{name}"] = loss
            # eps-sharpness ~ rho ||g|| + rho^2/2 lambda: the first-order part, for context
            grads = torch.func.grad(loss_fn)(theta)
            out[f"grad_norm_{name}"] = float(
                torch.sqrt(sum((g.detach() ** 2).sum() for g in grads.values()))
            )
            out[f"epochs_{name}"] = float(epochs)
            with torch.no_grad():
                out[f"train_error_{name}"] = float((net(X).argmax(1) != y).double().mean())
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        lines, ok, numbers = [], True, {}
        for measure, label in (
            ("lambda_max", "top Hessian eigenvalue"),
            ("eps_sharpness", f"epsilon-sharpness (rho={SHARPNESS_RHO:g})"),
        ):
            lr = np.log(rows.values(f"{measure}_sam") / rows.values(f"{measure}_sgd"))
            se = lr.std(ddof=1) / np.sqrt(lr.size) if lr.size > 1 else float("inf")
            holds = bool(-lr.mean() > PAIRED_Z * se)
            ok &= holds
            numbers[f"{measure}_ratio"] = float(np.exp(lr.mean()))
            lines.append(
                f"{label}: SGD {rows.mean(measure + '_sgd'):.4g}, SAM "
                f"{rows.mean(measure + '_sam'):.4g}; geometric-mean ratio SAM/SGD "
                f"{np.exp(lr.mean()):.3f} (log-ratio {lr.mean():+.3f} +- {se:.3f}, SAM lower in "
                f"{int(np.sum(lr < 0))}/{lr.size} runs); lower by > {PAIRED_Z:g} SE: {holds}"
            )
        for rho, g in rows.by("rho").items():
            lines.append(
                f"  rho={rho:g}: stopped at training loss SGD {g.mean('train_loss_sgd'):.4f} "
                f"(epoch {g.mean('epochs_sgd'):.0f}), SAM {g.mean('train_loss_sam'):.4f} "
                f"(epoch {g.mean('epochs_sam'):.0f}); lambda_max SGD "
                f"{g.mean('lambda_max_sgd'):.3f} vs SAM {g.mean('lambda_max_sam'):.3f}; "
                f"full-batch gradient norm SGD {g.mean('grad_norm_sgd'):.4f} vs SAM "
                f"{g.mean('grad_norm_sam'):.4f} (rho ||g|| is the first-order part of "
                "eps-sharpness away from a minimum)"
            )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        for ax, measure, label in (
            (ax1, "lambda_max", "top Hessian eigenvalue"),
            (ax2, "eps_sharpness", f"epsilon-sharpness, rho={SHARPNESS_RHO:g}"),
        ):
            for i, (rho, g) in enumerate(rows.by("rho").items()):
                ax.plot(g.values(f"{measure}_sgd"), g.values(f"{measure}_sam"), "o",
                        color=f"C{i}", label=f"SAM rho={rho:g}")  # fmt: skip
            lim = [0, max(rows.values(f"{measure}_sgd").max(),
                          rows.values(f"{measure}_sam").max()) * 1.1]  # fmt: skip
            ax.plot(lim, lim, "k-", lw=0.8, label="equal")
            ax.set_xlim(lim)
            ax.set_ylim(lim)
            ax.set_xlabel(f"SGD: {label}")
            ax.set_ylabel(f"SAM: {label}")
            ax.legend(fontsize=7)
        ax1.set_title(f"At training loss < {TARGET_LOSS:g} (two moons)")
        fig.tight_layout()
        return Verdict(ok, "\n".join(lines), fig, numbers)
