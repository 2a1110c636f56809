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

Protocol v2. The first half of the sentence ("activations are off by (1-p)") is an identity
of expectations; the runs measure the ratio by Monte Carlo and report it (|z| <= 4 expected),
not judge it. The empirical half is "accuracy drops". Effect = test error of the mask-only
network with plain inference - test error of the *same weights* with the (1-p) fix, paired
per seed (the weights are identical, so only the inference scale differs), 95% t-interval
per p; direction increase; smallest effect of interest 1 point of test error. The sentence
names no rate, so it must hold at every p of the grid: intersection-union over p in
{0.2, 0.5, 0.8} (Berger 1982). The NLL change is reported. Seeds: 5, the minimum (no
separate pilot; the default run's sd is in the closing note).

History: v1 (first-wave PASS) averaged the per-p mean differences over p and required the
average to exceed 2 stratified standard errors, joined with |z| <= 4 for the activation
ratios. Averaging over p lets a large drop at p = 0.8 carry a null one at p = 0.2; v2
judges each rate.

Measured (this 2-core x86_64 VM, shared with other jobs at load ~15; CPU seconds of one
process): default grid 3 rates x 5 seeds = 15 runs, 15.5 s; smoke grid 0.4 s. First default result:
NOT SUPPORTED: p=0.2 -0.06 points [-0.17, +0.04], p=0.5 +0.52 [+0.14, +0.90], p=0.8 +3.89 [+0.96, +6.82].
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.claims.perturbation._judge import ci, ci_points, paired
from reglab.lab.protocol import Protocol
from reglab.lab.stats import decide, intersection_union
from reglab.taxonomy import Kind

Z_MAX = 4.0
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
    smoke = [{"p": 0.8, "epochs": 2}]
    seeds = 5
    smoke_seeds = 1
    protocol = Protocol(
        version=2,
        metric="error_naive",
        effect="paired per seed and p: test error of mask-only dropout weights with plain "
        "inference - the same weights scaled by (1-p) at inference",
        smallest_effect=0.01,
        direction="increase",
        analysis="paired t-interval per p; decide() each; intersection-union over p in "
        "{0.2, 0.5, 0.8}; activation ratios and NLL reported",
        seeds=5,
        history=(
            "v1: mean over p of per-p differences > 2 stratified SE, joined with |z| <= 4 "
            "activation-ratio checks",
        ),
    )

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
            train_classifier(net, X, y, gen, epochs=int(params.get("epochs", 40)), lr=2e-3,
                             batch_size=100)  # fmt: skip

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

        proto = self.protocol
        assert proto is not None
        effects, outcomes = {}, {}
        ps = rows.param_values("p")
        lines = [
            f"activation ratio E_train[drop(h)] / h_inference ({MASKS} masks): max |z| = "
            f"{zmax:.2f} over {len(rows)} runs (|z| <= {Z_MAX:g} expected; reported)",
        ]
        for p, g in rows.by("p").items():
            e = paired(g, "error_naive", "error_fixed",
                       name=f"test error: forgotten rescale - fixed inference (p={p:g})",
                       smallest=proto.smallest_effect, regime=f"p={p:g}")  # fmt: skip
            nll = paired(g, "nll_naive", "nll_fixed", name=f"NLL change (p={p:g})")
            effects[p] = e
            outcomes[f"p={p:g}"] = decide(e, proto.direction, proto.smallest_effect)
            lines.append(
                f"  p={p:g}: inverted ratio {g.mean('ratio_inverted'):.4f} (target 1), mask-only "
                f"{g.mean('ratio_mask_only'):.4f} (target {1 - p:g}); test error inverted "
                f"{g.mean('error_inverted'):.4f}, mask-only naive {g.mean('error_naive'):.4f}, "
                f"mask-only x(1-p) {g.mean('error_fixed'):.4f}; accuracy drop "
                f"{ci_points(e, 2)} [{outcomes[f'p={p:g}']}]; NLL change {ci(nll)}"
            )
        outcome = intersection_union(outcomes)
        body = "; ".join(f"p={p:g}: {ci_points(e, 2)}" for p, e in effects.items())
        sentence = {
            "SUPPORTED": f"Supported: forgetting the 1/(1-p) rescale raises test error at "
            f"every rate ({body}).",
            "NOT SUPPORTED": "Not supported at every rate: the accuracy drop from a forgotten "
            f"rescale is below 1 point somewhere ({body}).",
            "INCONCLUSIVE": f"Inconclusive: accuracy drop from a forgotten rescale {body}.",
        }[outcome]

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
        return empirical_verdict(
            proto,
            list(effects.values()),
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join([sentence, *lines]),
            numbers={"max_abs_z": zmax, **{f"drop_p{p:g}": e.estimate for p, e in effects.items()}},
        )
