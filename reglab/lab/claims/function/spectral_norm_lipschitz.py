"""Claim ``spectral-norm-lipschitz``: spectral normalisation bounds each layer's operator norm.

Deep dive, section 1 ("Penalty on the function -- spectral norm"). Spectral normalisation
(Miyato et al. 2018, ICLR) replaces a weight W by W / sigma(W), sigma estimated by power
iteration (one step per training forward pass, u and v kept between steps). For Linear layers
this makes every layer's operator norm 1, and since ReLU is 1-Lipschitz the network's
Jacobian J(x) = W_L D_{L-1} ... D_1 W_1 (D_l diagonal 0/1) obeys
||J(x)||_2 <= prod_l ||W_l||_2 = 1: the whole network is 1-Lipschitz.

Two caveats, both measured here with the true operator norm computed by
:func:`reglab.torch.operator_norm` (power iteration on the layer as a linear map):

- the power-iteration estimate u^T W v is a *lower* bound of sigma, so right after training
  (one iteration per step while W moves) W / sigma_est has norm >= 1, slightly above the
  bound; more iterations close the gap;
- torch's ``spectral_norm`` on a convolution normalises the reshaped kernel matrix
  W.reshape(C_out, -1), not the convolution operator on images. The true norm can be larger
  (up to sqrt(k_h k_w) times the reshaped norm for stride 1, since the convolution is the
  reshaped matrix applied to k_h k_w shifted copies of the input) or smaller.

Experiment. A 64-w-w-10 ReLU network with torch's
``torch.nn.utils.parametrizations.spectral_norm`` on every Linear layer is trained on 500
digits (20 epochs, Adam; the same network without normalisation for comparison); then 200
more power iterations are run (training-mode forward passes without gradient). A
C->C 3x3 convolution (padding 1) with N(0, 1) weights gets the same treatment and is measured
on 16x16 images.

An exact check (``result_kind = "exact"``; experiment unchanged from v1): the Jacobian bound,
the lower-bound property of the power iteration and the sqrt(k_h k_w) bound for convolutions
are theorems, the converged norm is 1 by construction; a failure would be a bug. That the
convolution's true norm differs from 1 (torch normalises the reshaped kernel) is a measured
caveat, reported, no longer part of PASS/FAIL (v1 required a gap > 0.05; it held).

Thresholds. After the extra iterations every Linear layer's true norm must be 1 within
1e-3 (power iteration converges geometrically; 1e-3 is far below both effects measured
here). The Jacobian's spectral norm, computed exactly at every test digit, must not exceed
the product of the layer norms (a theorem; slack 1e-5 relative for float32). Right after
training no layer may be below 1 - 1e-3 (the lower-bound property). For the convolution the
true norm must differ from 1 by more than 0.05 (50 times the tolerance: the caveat is real)
and stay within the sqrt(9) = 3 bound.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
spectral-norm-lipschitz -j 1`: default grid 6 runs, 8.7 s CPU (28 s wall), smoke grid 6.3 s
CPU; both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

NORM_TOL = 1e-3
JAC_SLACK = 1e-5
CONV_MIN_GAP = 0.05
EXTRA_ITERS = 200


def _linear_norms(net, gen):
    from torch import nn

    from reglab.torch import operator_norm

    return [
        float(operator_norm(m, (m.in_features,), generator=gen).detach())
        for m in net
        if isinstance(m, nn.Linear)
    ]


def _max_jacobian_norm(net, X):
    import torch

    net.eval()
    jac = torch.func.vmap(torch.func.jacrev(lambda x: net(x[None])[0]))(X)  # (n, 10, 64)
    return float(torch.linalg.matrix_norm(jac.detach(), ord=2).max())


class SpectralNormLipschitz(Claim):
    id = "spectral-norm-lipschitz"
    kind = Kind.FUNCTION
    section = "1. The unifying principle (penalty on the function: spectral norm)"
    statement = (
        "Spectral normalisation bounds each layer's operator norm (so the network's "
        "Lipschitz constant); for a convolution, torch's spectral_norm normalises the reshaped "
        "kernel matrix, not the convolution's operator norm."
    )
    interview = (
        "Spectral normalisation divides each weight matrix by its largest singular value, "
        "estimated by one power-iteration step per training step. A layer then stretches no "
        "input by more than 1, and composing 1-Lipschitz layers with 1-Lipschitz activations "
        "gives a 1-Lipschitz network: small input changes give small output changes, which "
        "is what GAN discriminators and robustness arguments need. Two caveats: the power "
        "iteration underestimates sigma, so the bound is only approximate while training; "
        "and for convolutions the common implementation normalises the reshaped kernel, "
        "which is not the norm of the convolution as an operator on images: the true norm "
        "can be off by up to a factor sqrt(k_h k_w), so if you need a certified Lipschitz "
        "constant you must power-iterate on the convolution itself."
    )
    result_kind = "exact"
    grid = [{"width": 32, "channels": 4}, {"width": 128, "channels": 16}]
    smoke = [{"width": 32, "channels": 4}]
    seeds = 3
    smoke_seeds = 2

    def run(self, params, seed):
        import torch
        from torch import nn
        from torch.nn.utils.parametrizations import spectral_norm

        from reglab.lab.claims._torch_nets import digits, generator, mlp, train_classifier
        from reglab.torch import operator_norm

        width, channels = int(params["width"]), int(params["channels"])
        # spectral_norm draws its power-iteration vectors, and Conv2d its bias, from torch's
        # global generator: seed it here so the run does not depend on what ran before it
        torch.manual_seed(seed)
        gen = generator(seed)
        X, y, Xt, _ = digits(seed, 500)
        plain = mlp([64, width, width, 10], gen)
        sn = mlp([64, width, width, 10], gen)
        for m in sn:
            if isinstance(m, nn.Linear):
                spectral_norm(m)
        for net in (plain, sn):
            train_classifier(net, X, y, gen, epochs=20, lr=3e-3, batch_size=100)
        sn.eval()
        after_training = _linear_norms(sn, gen)
        sn.train()
        with torch.no_grad():
            for _ in range(EXTRA_ITERS):
                sn(X[:1])
        sn.eval()
        converged = _linear_norms(sn, gen)
        plain_norms = _linear_norms(plain, gen)

        conv = nn.Conv2d(channels, channels, 3, padding=1)
        with torch.no_grad():
            conv.weight.normal_(generator=gen)
        raw_true = float(operator_norm(conv, (channels, 16, 16), generator=gen).detach())
        spectral_norm(conv, n_power_iterations=EXTRA_ITERS)
        with torch.no_grad():
            conv(torch.zeros(1, channels, 16, 16))  # training mode: one (200-step) update
        conv.eval()
        matrix = conv.weight.detach().reshape(channels, -1)
        conv_true = float(
            operator_norm(conv, (channels, 16, 16), n_iter=500, generator=gen).detach()
        )
        return {
            "sn_norms_after_training": after_training,
            "sn_norms_converged": converged,
            "plain_norms": plain_norms,
            "sn_product": float(np.prod(converged)),
            "plain_product": float(np.prod(plain_norms)),
            "sn_max_jacobian": _max_jacobian_norm(sn, Xt),
            "plain_max_jacobian": _max_jacobian_norm(plain, Xt),
            "conv_reshaped_norm": float(torch.linalg.matrix_norm(matrix, ord=2)),
            "conv_true_norm": conv_true,
            "conv_raw_true_norm": raw_true,
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        lin_dev = np.abs(np.array([r.metrics["sn_norms_converged"] for r in rows]) - 1).max()
        after = np.concatenate([r.metrics["sn_norms_after_training"] for r in rows])
        jac_ok = bool(np.all(rows.values("sn_max_jacobian")
                             <= rows.values("sn_product") * (1 + JAC_SLACK)))  # fmt: skip
        plain_jac_ok = bool(np.all(rows.values("plain_max_jacobian")
                                   <= rows.values("plain_product") * (1 + JAC_SLACK)))  # fmt: skip
        conv_true = rows.values("conv_true_norm")
        conv_mat = rows.values("conv_reshaped_norm")
        conv_gap = bool(np.all(np.abs(conv_true - 1) > CONV_MIN_GAP))
        conv_bound = bool(np.all(conv_true <= 3 * conv_mat * (1 + NORM_TOL)))
        jac_ratio = float(
            max(
                np.max(rows.values("sn_max_jacobian") / rows.values("sn_product")),
                np.max(rows.values("plain_max_jacobian") / rows.values("plain_product")),
            )
        )
        conv_ratio = float(np.max(conv_true / (3 * conv_mat)))
        lines = [
            f"Linear layers with spectral_norm, true operator norm after {EXTRA_ITERS} more "
            f"power iterations: max |sigma - 1| = {lin_dev:.1e} (threshold {NORM_TOL:g})",
            f"right after training (1 power iteration per step): sigma from {after.min():.4f} "
            f"to {after.max():.4f} (never below 1: the estimate is a lower bound; the excess "
            "is the lag of the power iteration)",
            f"max_x ||J(x)||_2 over test digits: SN net {rows.mean('sn_max_jacobian'):.3f} <= "
            f"product of layer norms {rows.mean('sn_product'):.4f}; plain net "
            f"{rows.mean('plain_max_jacobian'):.2f} <= {rows.mean('plain_product'):.1f} "
            f"(bound holds in every run: {jac_ok and plain_jac_ok})",
        ]
        for r in rows:
            m = r.metrics
            lines.append(
                f"  conv {r.params['channels']}->{r.params['channels']} 3x3 on 16x16: "
                f"reshaped-matrix norm {m['conv_reshaped_norm']:.4f}, true operator norm "
                f"{m['conv_true_norm']:.4f} (before normalisation {m['conv_raw_true_norm']:.2f})"
            )
        lines.append(
            f"conv true norm differs from 1 by > {CONV_MIN_GAP:g} in every run: {conv_gap}; "
            f"within sqrt(k_h k_w) = 3 x reshaped norm: {conv_bound}"
        )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        r = rows[len(rows) - 1].metrics
        layers = np.arange(1, len(r["plain_norms"]) + 1)
        ax1.semilogy(layers, r["plain_norms"], "o-", label="plain")
        ax1.semilogy(layers, r["sn_norms_after_training"], "s-", label="SN, after training")
        ax1.semilogy(layers, r["sn_norms_converged"], "^--", label="SN, converged")
        ax1.axhline(1, color="k", lw=0.8)
        ax1.set_xticks(layers)
        ax1.set_xlabel("Linear layer")
        ax1.set_ylabel("true operator norm")
        ax1.set_title("Spectral norm bounds each layer")
        ax1.legend(fontsize=7)
        ch = [row.params["channels"] for row in rows]
        ax2.plot(ch, conv_mat, "s", ms=8, label="reshaped kernel matrix (what SN sees)")
        ax2.plot(ch, conv_true, "o", ms=8, label="convolution operator (true)")
        ax2.axhline(1, color="k", lw=0.8)
        ax2.axhline(3, color="grey", ls="--", lw=0.8, label="sqrt(k_h k_w) bound")
        ax2.set_xlabel("channels (3x3 conv, spectral_norm applied)")
        ax2.set_ylabel("operator norm")
        ax2.set_title("The convolution caveat")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        from reglab.lab.claims._linear_data import exact_checks_verdict

        return exact_checks_verdict(
            {
                "max_x ||J(x)|| / product of layer norms": (jac_ratio, 1 + JAC_SLACK),
                "|sigma - 1| of normalised Linear layers (converged)": (float(lin_dev), NORM_TOL),
                "1 - sigma right after training (power iteration is a lower bound)": (
                    float(max(0.0, 1 - after.min())),
                    NORM_TOL,
                ),
                "conv true norm / (3 x reshaped-kernel norm)": (conv_ratio, 1 + NORM_TOL),
            },
            primary="max_x ||J(x)|| / product of layer norms",
            what="the network's Jacobian norm never exceeds the product of its layer norms, "
            "which spectral normalisation makes 1 for Linear layers",
            figure=fig,
            evidence="\n".join(lines)
            + f"\nreported (a measured caveat, not part of PASS/FAIL): the normalised "
            f"convolution's true norm differs from 1 by more than {CONV_MIN_GAP:g} in every "
            f"run: {conv_gap}",
            numbers={"sn_max_dev": float(lin_dev), "conv_true_mean": float(conv_true.mean())},
        )
