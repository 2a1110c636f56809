"""Claim ``dropout-inference-scaling``: the 1/(1-p) rescale is what makes inference correct.

Deep dive, section 6 ("Mechanism", and the failure mode "Inference scaling error"). With
inverted dropout (Srivastava et al. 2014) the kept activations are scaled by 1/(1-p) during
training, so E[mask * h / (1-p)] = h and inference simply turns dropout off. If the rescale
is forgotten (mask only), training sees E[mask * h] = (1-p) h while inference sees h: every
downstream layer receives inputs 1/(1-p) times larger than it was trained on, unless the
weights are scaled by (1-p) at test time (the original, "non-inverted" recipe of Hinton et
al. 2012).

Experiment. A 64-64-64-10 ReLU network with dropout after both hidden layers is trained on
500 digits twice from the same initialisation: once with :class:`reglab.torch.Dropout`-style
inverted dropout, once with mask-only dropout. Measurements on the 1297 test digits:

- activation shift: the ratio <E_train[drop(h)], h_inference> / ||h_inference||^2 at the
  first dropout layer, estimated from 200 training-mode masks, with its standard error (the
  spread of the per-mask ratios over sqrt(200)); expected 1 for inverted dropout and 1 - p
  for mask-only dropout with plain inference;
- test error and negative log-likelihood of three inference modes: inverted dropout (eval),
  mask-only dropout with plain inference ("naive"), and the same weights with the (1-p)
  scaling at inference ("fixed").

Thresholds. The ratios are Monte-Carlo means: |ratio - target| <= 4 standard errors in every
run (false-alarm probability 6e-5 per run). "Accuracy drops" is a paired comparison of the
naive and fixed inference of the *same* weights, stratified by p (the effect size depends on
p by design, so pooling all runs into one standard error would count that dependence as
noise): the average over p of the per-p mean increase in test error must exceed 2 of its
standard errors sqrt(sum_p var_p / n_p) / P (a one-sided paired test at about 2.5%); the
same statistic is reported for the NLL. We expect, and the evidence shows per p, that the accuracy
drop grows with p: ReLU is positively homogeneous, so a uniform scale changes the argmax
only through the biases, while the confidence (NLL) is hurt at every p.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

Z_MAX = 4.0
PAIRED_Z = 2.0
MASKS = 200


def _unscaled_dropout_class():
    import torch
    from torch import nn

    from reglab.torch import dropout

    class MaskOnlyDropout(nn.Module):
        """Dropout that forgets the 1/(1-p) rescale; ``eval_scale`` is applied at inference."""

        def __init__(self, p: float, gen: torch.Generator) -> None:
            super().__init__()
            self.p, self.gen, self.eval_scale = p, gen, 1.0

        def forward(self, x):
            if self.training:
                # inverted dropout times (1-p): exactly the mask, x * m
                return dropout(x, self.p, True, generator=self.gen) * (1 - self.p)
            return x * self.eval_scale

    return MaskOnlyDropout


def _shift_ratio(drop, h):
    """Mean and SE over masks of <drop_train(h), drop_eval(h)> / ||drop_eval(h)||^2."""
    import torch

    with torch.no_grad():
        drop.eval()
        ref = drop(h)
        drop.train()
        ratios = np.array([float((drop(h) * ref).sum() / (ref * ref).sum()) for _ in range(MASKS)])
        drop.eval()
    return float(ratios.mean()), float(ratios.std(ddof=1) / np.sqrt(MASKS))


def _error_nll(model, X, y):
    import torch

    model.eval()
    with torch.no_grad():
        logits = model(X)
        err = float((logits.argmax(dim=1) != y).double().mean())
        nll = float(torch.nn.functional.cross_entropy(logits, y))
    return err, nll


class DropoutInferenceScaling(Claim):
    id = "dropout-inference-scaling"
    kind = Kind.PERTURBATION
    section = "6. Dropout, mechanism and failure modes"
    statement = (
        "Scale remaining activations by 1/(1-p) so the expected value is unchanged; at "
        "inference, no dropout. Forgetting the scaling at training time silently breaks "
        "inference: activations are off by (1-p) and accuracy drops."
    )
    interview = (
        "During training each activation survives with probability 1-p. If we divide the "
        "survivors by 1-p, the expected activation equals the clean one, so at inference we "
        "just switch dropout off and every layer sees inputs of the scale it was trained on. "
        "If we only mask, training-time inputs are (1-p) times the inference-time ones; the "
        "next layer's weights were fitted to the smaller scale, so at test time everything is "
        "inflated by 1/(1-p), compounding through the layers. The old fix is to multiply the "
        "weights by (1-p) at test time; inverted dropout moves that factor into training so "
        "inference code needs no special case. The damage shows first in confidence (logits "
        "blow up) and in accuracy once p is large or the non-linearity is not scale-free."
    )
    grid = {"p": [0.2, 0.5, 0.8]}
    smoke = {"p": [0.8]}
    seeds = 3
    smoke_seeds = 3

    def run(self, params, seed):
        import copy

        import torch

        from reglab.lab.claims._torch_nets import (
            SeededDropout,
            digits,
            generator,
            mlp,
            train_classifier,
        )

        p = float(params["p"])
        gen = generator(seed)
        X, y, Xt, yt = digits(seed, 500)
        inverted = mlp([64, 64, 64, 10], gen, p=p)
        mask_only = copy.deepcopy(inverted)
        MaskOnly = _unscaled_dropout_class()
        for i, m in enumerate(mask_only):
            if isinstance(m, SeededDropout):
                mask_only[i] = MaskOnly(p, gen)
        for net in (inverted, mask_only):
            train_classifier(net, X, y, gen, epochs=40, lr=2e-3, batch_size=100)

        with torch.no_grad():
            h_inv = inverted[1](inverted[0](Xt))  # first hidden activation, test digits
            h_mask = mask_only[1](mask_only[0](Xt))
        ratio_inv, se_inv = _shift_ratio(inverted[2], h_inv)
        ratio_mask, se_mask = _shift_ratio(mask_only[2], h_mask)

        err_inv, nll_inv = _error_nll(inverted, Xt, yt)
        err_naive, nll_naive = _error_nll(mask_only, Xt, yt)
        for m in mask_only:
            if isinstance(m, MaskOnly):
                m.eval_scale = 1 - p
        err_fixed, nll_fixed = _error_nll(mask_only, Xt, yt)
        return {
            "ratio_inverted": ratio_inv,
            "ratio_inverted_se": se_inv,
            "ratio_mask_only": ratio_mask,
            "ratio_mask_only_se": se_mask,
            "z_inverted": (ratio_inv - 1.0) / se_inv,
            "z_mask_only": (ratio_mask - (1 - p)) / se_mask,
            "error_inverted": err_inv,
            "error_naive": err_naive,
            "error_fixed": err_fixed,
            "nll_inverted": nll_inv,
            "nll_naive": nll_naive,
            "nll_fixed": nll_fixed,
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        zmax = float(np.abs(np.concatenate([rows.values("z_inverted"),
                                            rows.values("z_mask_only")])).max())  # fmt: skip

        def paired(a, b):
            """Mean over p of the per-p mean difference, with its stratified SE."""
            means, variances = [], []
            for g in rows.by("p").values():
                d = g.values(a) - g.values(b)
                means.append(d.mean())
                variances.append(d.var(ddof=1) / d.size if d.size > 1 else np.inf)
            return float(np.mean(means)), float(np.sqrt(np.sum(variances)) / len(means))

        d_err, se_err = paired("error_naive", "error_fixed")
        d_nll, se_nll = paired("nll_naive", "nll_fixed")
        acc_drops = d_err > PAIRED_Z * se_err
        passed = zmax <= Z_MAX and acc_drops
        ps = rows.param_values("p")
        lines = [
            f"activation ratio E_train[drop(h)] / h_inference ({MASKS} masks): max |z| = "
            f"{zmax:.2f} over {len(rows)} runs (threshold {Z_MAX:g})",
        ]
        for p, g in rows.by("p").items():
            lines.append(
                f"  p={p:g}: inverted {g.mean('ratio_inverted'):.4f} (target 1), mask-only "
                f"{g.mean('ratio_mask_only'):.4f} (target 1-p = {1 - p:g}); test error "
                f"inverted {g.mean('error_inverted'):.4f}, mask-only naive "
                f"{g.mean('error_naive'):.4f}, mask-only scaled by (1-p) "
                f"{g.mean('error_fixed'):.4f}; NLL naive {g.mean('nll_naive'):.3f} vs fixed "
                f"{g.mean('nll_fixed'):.3f}"
            )
        lines += [
            f"naive - fixed test error, paired within p, averaged over p: {d_err:+.4f} +- "
            f"{se_err:.4f} "
            f"(must exceed {PAIRED_Z:g} SE): {acc_drops}",
            f"naive - fixed NLL: {d_nll:+.3f} +- {se_nll:.3f}",
        ]

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        inv = [rows.where(p=p).mean("ratio_inverted") for p in ps]
        msk = [rows.where(p=p).mean("ratio_mask_only") for p in ps]
        ax1.plot(ps, inv, "o", ms=8, label="inverted dropout")
        ax1.plot(ps, msk, "s", ms=8, label="mask only (no 1/(1-p))")
        grid = np.linspace(0, 1, 50)
        ax1.plot(grid, np.ones_like(grid), "k-", lw=0.8)
        ax1.plot(grid, 1 - grid, "k--", lw=0.8, label="1 - p")
        ax1.set_xlabel("dropout rate p")
        ax1.set_ylabel("E[training activation] / inference activation")
        ax1.set_title("Expectation kept only by the rescale")
        ax1.legend(fontsize=7)
        for key, label, style in (
            ("error_inverted", "inverted, eval", "o-"),
            ("error_naive", "mask only, plain inference", "s-"),
            ("error_fixed", "mask only, weights x (1-p)", "^--"),
        ):
            ax2.plot(ps, [rows.where(p=p).mean(key) for p in ps], style, label=label)
        ax2.set_xlabel("dropout rate p")
        ax2.set_ylabel("test error (digits)")
        ax2.set_title("Inference scaling error")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        return Verdict(
            passed,
            "\n".join(lines),
            fig,
            {"max_abs_z": zmax, "error_increase": d_err, "nll_increase": d_nll},
        )
