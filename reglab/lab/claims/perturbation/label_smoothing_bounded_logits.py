"""Claim ``label-smoothing-bounded-logits``: smoothed targets bound the logits; calibration depends.

Deep dive, section 9 ("Label smoothing"): "Cross-entropy with one-hot labels can be made
arbitrarily small only by pushing logits to extremes. Cross-entropy with smoothed labels has
a non-zero floor - encourages bounded logits"; it "improves calibration".

Mathematics (Szegedy et al., CVPR 2016; Muller, Kornblith & Hinton, NeurIPS 2019). With
torch's convention the target puts ``q_y = 1 - eps + eps/K`` on the true class and
``eps/K`` on each other class. The per-sample loss is convex in the logits and minimised
exactly where ``softmax(z) = q``, i.e. at the gap ``z_y - z_k = log(1 + K (1 - eps) / eps)``;
with ``eps = 0`` the infimum is not attained and gradient training on memorised data drives
the gap to infinity (Soudry et al., JMLR 2018). That half is an identity, checked exactly by
the unit tests (:func:`gap_bound` is the minimiser of the smoothed loss); the runs report the
measured training gaps next to the bound as illustration.

The empirical half is "which improves calibration". Lower confidence under soft targets is
mechanical, so the metric is the test ECE (15 equal-width bins; Guo et al., ICML 2017), and,
as for MixUp, the sentence can only hold where the plain network is over-confident. Both
regimes are named in the protocol before the runs:

* ``over-confident`` (``mnist1d``): MLP 40-256-256-10 on MNIST-1D (3000 training sequences,
  25 epochs, batch 128) over-fits and is over-confident; predicted: eps = 0.1 lowers the ECE;
* ``calibrated`` (``digits``): the same MLP on 300 of the 8x8 digits (100 epochs, batch 64),
  close to calibrated; predicted: eps = 0.1 does NOT lower the ECE (it makes the network
  under-confident).

Both arms (eps = 0 and eps = 0.1, :class:`reglab.torch.LabelSmoothingCrossEntropy`) run in
one ``run()`` from the same initialisation and batch order: a paired difference per seed.
Regime checks as for ``mixup-calibration``: plain confidence - accuracy > 0.05 (over-
confident) and within +-0.03 (calibrated), else INCONCLUSIVE.

Protocol v2: effect = ECE(eps=0.1) - ECE(eps=0) per seed, 95% t-interval, CONDITIONAL by
:func:`reglab.lab.stats.decide_conditional`; smallest effect of interest 0.02 ECE (as for
MixUp: twice one run's bootstrap standard error, less than what temperature scaling moves).
Pilot (3 seeds, against the plain runs of the MixUp pilot, so unpaired): MNIST-1D eps=0.1
ECE 0.056-0.059 vs plain 0.18-0.21, digits 0.137-0.141 vs 0.015-0.031; the spread of the
paired MixUp effects (sd 0.014) is used for power: seeds = max(5, 3.9) = 5.

History: v1 passed on three checks: smoothed gaps within 10% of the bound on digits, the
unsmoothed gap still growing, and MNIST-1D ECE down by 3 bootstrap test-set standard errors
(the digits ECE rise reported, not judged). v2 judges ECE in both regimes with seed
intervals; the gap measurements move to the evidence and the identity to the unit tests.

Measured (this 2-core x86_64 VM, shared with other jobs at load ~15; CPU seconds of one
process): default grid 2 settings x 5 seeds = 10 runs, 21.8 s; smoke grid 0.2 s. First default result:
CONDITIONAL: MNIST-1D -0.087 [-0.093, -0.081], digits +0.122 [+0.111, +0.134].
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.claims.perturbation._judge import (
    calibration_verdict,
    ci,
    in_calibration_regime,
    paired,
)
from reglab.lab.protocol import Protocol
from reglab.taxonomy import Kind

K = 10
EPS = 0.1
REGIME = {"mnist1d": "over-confident", "digits": "calibrated"}
EPOCHS = {"mnist1d": 25, "digits": 100}
BATCH = {"mnist1d": 128, "digits": 64}
LR = 1e-3


def gap_bound(eps: float, n_classes: int = K) -> float:
    """The optimal logit gap of smoothed cross-entropy, ``log(1 + K (1 - eps) / eps)``."""
    if not 0.0 < eps <= 1.0:
        raise ValueError(f"eps={eps!r} must be in (0, 1]: without smoothing there is no bound")
    return float(np.log1p(n_classes * (1.0 - eps) / eps))


def logit_gaps(z, y):
    """Per-sample gap between the true logit and the mean of the other logits."""
    true = z.gather(1, y[:, None]).squeeze(1)
    others = (z.sum(1) - true) / (z.shape[1] - 1)
    return true - others


class LabelSmoothingBoundedLogits(Claim):
    id = "label-smoothing-bounded-logits"
    kind = Kind.PERTURBATION
    section = "9. Label smoothing"
    statement = (
        "Cross-entropy with smoothed labels has a non-zero floor - encourages bounded "
        "logits; label smoothing improves calibration."
    )
    interview = (
        "With one-hot targets the cross-entropy of a training point only reaches zero in the "
        "limit of an infinite logit gap, so once the data are fit the optimiser keeps "
        "inflating the logits. Smoothing the target to 1 - eps + eps/K on the true class "
        "makes the per-sample optimum finite: a gap of log(1 + K(1 - eps)/eps), about 4.5 "
        "for eps = 0.1 and K = 10. Whether that improves calibration depends on the "
        "baseline, so I measure ECE, not confidence: on an MLP that over-fits MNIST-1D and "
        "is over-confident, smoothing cuts the ECE by about nine points; on digits, where "
        "the plain MLP is already calibrated, it makes the network under-confident and the "
        "ECE rises by about twelve points. It also erases information in the logits that "
        "distillation needs (Muller et al. 2019), and must be applied once, not in the mixer "
        "and again in the loss."
    )
    grid = {"data": ["mnist1d", "digits"]}
    smoke = [{"data": "mnist1d", "epochs": 1}, {"data": "digits", "epochs": 2}]
    seeds = 5
    smoke_seeds = 1
    protocol = Protocol(
        version=2,
        metric="ece",
        effect="paired difference of test ECE per seed: label smoothing eps=0.1 - eps=0",
        smallest_effect=0.02,
        direction="decrease",
        analysis=(
            "paired t-interval over seeds per regime; decide_conditional over the two named "
            "regimes; regime preconditions on the plain net's confidence - accuracy"
        ),
        seeds=5,
        regimes={
            "over-confident": "MLP on MNIST-1D (confidence - accuracy > 0.05): smoothing "
            "lowers ECE",
            "calibrated": "MLP on 300 digits (|confidence - accuracy| < 0.03): smoothing does "
            "not lower ECE (raises it)",
        },
        pilot_sd=0.014,
        history=(
            "v1: smoothed gap within 10% of the bound, unsmoothed gap still growing, and "
            "MNIST-1D ECE down by 3 bootstrap test-set SE; digits ECE rise not judged",
        ),
    )

    def run(self, params, seed):
        import torch

        from reglab.lab.claims._vision_data import (
            calibration_metrics,
            digits,
            fit,
            logits,
            mlp,
            mnist1d,
            probabilities,
        )
        from reglab.torch import LabelSmoothingCrossEntropy

        data = params["data"]
        if data not in REGIME:
            raise ValueError(f"data={data!r} must be one of {sorted(REGIME)}")
        epochs = int(params.get("epochs", EPOCHS[data]))
        x, y, xt, yt = digits(seed, 300) if data == "digits" else mnist1d(4000, 0.75)
        out: dict = {}
        for arm, eps in (("plain", 0.0), ("smooth", EPS)):
            model = mlp(x[0].numel(), seed)
            fit(model, x, y, epochs=epochs, batch_size=BATCH[data], lr=LR,
                generator=torch.Generator().manual_seed(seed),
                loss_fn=LabelSmoothingCrossEntropy(eps))  # fmt: skip
            m = calibration_metrics(probabilities(model, xt), yt.numpy(), seed)
            out |= {f"{k}_{arm}": v for k, v in m.items()}
            gaps = logit_gaps(logits(model, x), y).double().numpy()
            out[f"gap_mean_{arm}"] = float(gaps.mean())
            out[f"train_accuracy_{arm}"] = float((logits(model, x).argmax(1) == y).double().mean())
        out["bound"] = gap_bound(EPS)
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        proto = self.protocol
        assert proto is not None
        by = rows.by("data")
        effects, lines, regimes_ok = {}, [], True
        for data, g in by.items():
            regime = REGIME[data]
            e = paired(g, "ece_smooth", "ece_plain",
                       name=f"test ECE, smoothing 0.1 - none ({data})",
                       smallest=proto.smallest_effect, regime=regime)  # fmt: skip
            effects[regime] = e
            excess = g.mean("confidence_plain") - g.mean("accuracy_plain")
            ok = in_calibration_regime(regime, excess)
            regimes_ok &= ok
            lines.append(
                f"{data} ({regime}; regime check {'holds' if ok else 'FAILS'}): eps=0 train acc "
                f"{g.mean('train_accuracy_plain'):.3f}, test acc {g.mean('accuracy_plain'):.3f}, "
                f"confidence - accuracy {excess:+.3f}, ECE {g.mean('ece_plain'):.3f}, mean "
                f"training logit gap {g.mean('gap_mean_plain'):.2f}; eps={EPS:g} test acc "
                f"{g.mean('accuracy_smooth'):.3f}, confidence {g.mean('confidence_smooth'):.3f},"
                f" ECE {g.mean('ece_smooth'):.3f}, mean gap {g.mean('gap_mean_smooth'):.2f} "
                f"(optimum {gap_bound(EPS):.2f}); ECE effect {ci(e)}, n={e.n}"
            )
        o, c = effects.get("over-confident"), effects.get("calibrated")
        body = (
            ""
            if o is None or c is None
            else (
                f"label smoothing 0.1 changes test ECE by {ci(o)} on the over-confident MLP "
                f"(MNIST-1D) and by {ci(c)} on the calibrated one (digits)"
            )
        )
        outcome, sentence = calibration_verdict(
            effects, regimes_ok, body, direction=proto.direction, smallest=proto.smallest_effect
        )

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.6))
        datas = list(by)
        xs = np.arange(len(datas))
        for off, arm, label in ((-0.2, "plain", "eps = 0"), (0.2, "smooth", f"eps = {EPS:g}")):
            ax0.bar(xs + off, [by[d].mean(f"ece_{arm}") for d in datas], 0.4, label=label)
            ax1.bar(xs + off, [by[d].mean(f"gap_mean_{arm}") for d in datas], 0.4, label=label)
        ax0.set_xticks(xs, [f"{d}\n({REGIME[d]})" for d in datas], fontsize=8)
        ax0.set_ylabel("test ECE (mean over seeds)")
        ax0.set_title("Calibration by regime", fontsize=9)
        ax0.legend(fontsize=7)
        ax1.axhline(gap_bound(EPS), color="k", ls="--", lw=0.8, label="optimal gap, eps=0.1")
        ax1.set_xticks(xs, datas, fontsize=8)
        ax1.set_ylabel("mean training logit gap")
        ax1.set_title("Logit gap vs log(1 + K(1-eps)/eps)", fontsize=9)
        ax1.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"ece_effect_{r}": e.estimate for r, e in effects.items()}
        return empirical_verdict(
            proto,
            list(effects.values()),
            outcome,
            sentence=sentence,
            figure=fig,
            evidence="\n".join([sentence, *lines]),
            numbers=numbers,
        )
