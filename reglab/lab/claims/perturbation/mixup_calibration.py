"""Claim ``mixup-calibration``: MixUp lowers calibration error when the baseline is over-confident.

Deep dive, section 8: MixUp "encourages the model to behave linearly between training
examples - strong implicit regularization, often improves calibration".

Mechanism. Trained on mixed inputs with targets ``lam y_i + (1 - lam) y_j`` (Zhang et al.,
ICLR 2018) the network is rewarded for intermediate probabilities, so its confidence falls
*mechanically*; that alone is no evidence of better calibration. The metric that measures the
sentence is the expected calibration error ``ECE = sum_m |B_m|/n |acc(B_m) - conf(B_m)|``
(15 equal-width bins; Guo et al., ICML 2017). Lower confidence lowers the ECE when the plain
network is over-confident (Thulasidasan et al., NeurIPS 2019) and raises it when the plain
network was already calibrated, because confidence then undershoots accuracy. "Often" is
therefore a CONDITIONAL sentence, and both regimes are named in the protocol before the runs:

* ``over-confident`` (setting ``mnist1d``): an MLP 40-256-256-10 on MNIST-1D (3000 training
  sequences, 40 epochs) over-fits and is over-confident (pilot: confidence - accuracy +0.18);
  predicted: MixUp lowers the ECE;
* ``calibrated`` (setting ``digits``): the same MLP on 300 of the 8x8 digits (100 epochs) is
  close to calibrated (pilot: +0.01); predicted: MixUp does NOT lower the ECE (it raises it).

Both arms (no mixing, MixUp with ``alpha = 1``, :class:`reglab.torch.MixUpCutMix`) run inside
one ``run()`` from the same initialisation and minibatch order, so the effect is a paired
difference per seed. The regimes are checked: the plain network's mean confidence minus
accuracy must exceed 0.05 in the over-confident setting and lie within +-0.03 in the
calibrated one, else the verdict is INCONCLUSIVE (the design did not produce the regime).

Protocol v2: primary metric test ECE; effect = paired difference ECE(MixUp) - ECE(plain) per
seed, 95% t-interval; CONDITIONAL by :func:`reglab.lab.stats.decide_conditional`. Smallest
effect of interest 0.02 ECE: the bootstrap standard error of one run's ECE on these test
sets is about 0.01, and temperature scaling (Guo et al.) typically moves ECE by several
points, so 0.02 is the least change a practitioner would act on. Pilot (3 seeds):
MNIST-1D effect -0.118, -0.129, -0.146 (sd 0.014), digits +0.080, +0.073, +0.071 (sd 0.005);
seeds = max(5, (2.80 x 0.014 / 0.02)^2 = 3.9) = 5. The "behaves linearly between training
examples" half of the sentence is not tested here. CutMix moved to its own claim,
``cutmix-vs-mixup``.

History: v1 required (a) lower mean confidence in every setting (mechanical under soft
targets) and (b) a lower MNIST-1D ECE by 3 bootstrap standard errors of the test set (not
seed-to-seed variance); the digits ECE rise was reported, not judged. v2 judges ECE only,
in both regimes, with intervals over seeds.

Measured (this 2-core x86_64 VM, shared with other jobs at load ~15; CPU seconds of one
process): default grid 2 settings x 5 seeds = 10 runs, 28 s; smoke grid 0.6 s. First default result:
CONDITIONAL: MNIST-1D -0.141 [-0.154, -0.128], digits +0.082 [+0.074, +0.090].
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

REGIME = {"mnist1d": "over-confident", "digits": "calibrated"}
EPOCHS = {"mnist1d": 40, "digits": 100}
LR, BATCH = 1e-3, 128


def setting_data(setting: str, seed: int):
    """MNIST-1D (3000 train / 1000 test) or 300 digits (rest test) for ``setting``."""
    from reglab.lab.claims._vision_data import digits, mnist1d

    if setting == "mnist1d":
        return mnist1d(4000, 0.75)
    if setting == "digits":
        return digits(seed, 300)
    raise ValueError(f"setting={setting!r} must be 'mnist1d' or 'digits'")


def train_mixed(x, y, seed: int, *, epochs: int, mixup: float, cutmix: float):
    """An MLP 256-256 trained with MixUp / CutMix (both 0: plain cross-entropy)."""
    import torch

    from reglab.lab.claims._vision_data import fit, mlp
    from reglab.torch import MixUpCutMix, soft_target_cross_entropy

    model = mlp(x[0].numel(), seed)
    batch_transform = loss_fn = None
    if mixup > 0 or cutmix > 0:
        mixer = MixUpCutMix(mixup, cutmix, label_smoothing=0.0, num_classes=10)
        mix_gen = torch.Generator().manual_seed(seed + 1)

        def batch_transform(xb, yb):
            return mixer(xb, yb, generator=mix_gen)

        loss_fn = soft_target_cross_entropy
    fit(model, x, y, epochs=epochs, batch_size=BATCH, lr=LR,
        generator=torch.Generator().manual_seed(seed), loss_fn=loss_fn,
        batch_transform=batch_transform)  # fmt: skip
    return model


def reliability(probs: np.ndarray, labels: np.ndarray, prefix: str) -> dict[str, list[float]]:
    """Per-bin counts, hits and summed confidence (15 equal-width bins) for a figure."""
    conf, hit = probs.max(1), probs.argmax(1) == labels
    bins = np.minimum((conf * 15).astype(int), 14)
    return {
        f"{prefix}_bin_count": np.bincount(bins, minlength=15).astype(float).tolist(),
        f"{prefix}_bin_hits": np.bincount(bins, weights=hit, minlength=15).tolist(),
        f"{prefix}_bin_conf": np.bincount(bins, weights=conf, minlength=15).tolist(),
    }


def plot_reliability(ax, rows: Rows, prefixes: dict[str, str]) -> None:
    """Pooled reliability curves of the arms ``prefixes`` (metric prefix -> label)."""
    ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfect calibration")
    for prefix, label in prefixes.items():
        count = np.sum([np.asarray(r.metrics[f"{prefix}_bin_count"]) for r in rows], axis=0)
        hits = np.sum([np.asarray(r.metrics[f"{prefix}_bin_hits"]) for r in rows], axis=0)
        conf = np.sum([np.asarray(r.metrics[f"{prefix}_bin_conf"]) for r in rows], axis=0)
        keep = count > 0
        ece = float(np.mean(rows.values(f"ece_{prefix}")))
        ax.plot(conf[keep] / count[keep], hits[keep] / count[keep], "o-", ms=3,
                label=f"{label} (ECE {ece:.3f})")  # fmt: skip
    ax.set_xlabel("confidence (max probability)")
    ax.legend(fontsize=7)


class MixupCalibration(Claim):
    id = "mixup-calibration"
    kind = Kind.PERTURBATION
    section = "8. Data augmentation (MixUp, CutMix)"
    statement = (
        "MixUp: linearly interpolate two examples and their labels. Encourages the model to "
        "behave linearly between training examples - strong implicit regularization, often "
        "improves calibration."
    )
    interview = (
        "MixUp trains on convex combinations of inputs with the same combination of the "
        "one-hot labels, so the network is rewarded for saying 0.7/0.3 between classes. "
        "Its first effect is mechanical: confidence goes down. Whether calibration improves "
        "depends on where you start, so I measure ECE, not confidence. An MLP that over-fits "
        "MNIST-1D is over-confident, and MixUp cuts its ECE by more than ten points; the "
        "same MLP on digits is already calibrated, and MixUp makes it under-confident, "
        "raising the ECE by about eight points. That is the honest reading of 'often': it "
        "fixes over-confidence and overshoots otherwise, so check the reliability diagram "
        "and fall back on temperature scaling if the model ends up under-confident."
    )
    grid = {"setting": ["mnist1d", "digits"]}
    smoke = [{"setting": "mnist1d", "epochs": 1}, {"setting": "digits", "epochs": 2}]
    seeds = 5
    smoke_seeds = 1
    protocol = Protocol(
        version=2,
        metric="ece",
        effect="paired difference of test ECE per seed: MixUp (alpha=1) - no mixing",
        smallest_effect=0.02,
        direction="decrease",
        analysis=(
            "paired t-interval over seeds per regime; decide_conditional over the two named "
            "regimes; regime preconditions on the plain net's confidence - accuracy"
        ),
        seeds=5,
        regimes={
            "over-confident": "MLP on MNIST-1D (confidence - accuracy > 0.05): MixUp lowers ECE",
            "calibrated": "MLP on 300 digits (|confidence - accuracy| < 0.03): MixUp does not "
            "lower ECE (raises it)",
        },
        pilot_sd=0.014,
        history=(
            "v1: passed on lower confidence in every setting (mechanical) and MNIST-1D ECE "
            "down by 3 bootstrap test-set SE; digits ECE rise reported, not judged",
        ),
    )

    def run(self, params, seed):
        from reglab.lab.claims._vision_data import calibration_metrics, probabilities

        setting = params["setting"]
        x, y, xt, yt = setting_data(setting, seed)
        epochs = int(params.get("epochs", EPOCHS.get(setting, 0)))
        out: dict = {}
        for arm, alpha in (("plain", 0.0), ("mixup", 1.0)):
            model = train_mixed(x, y, seed, epochs=epochs, mixup=alpha, cutmix=0.0)
            probs = probabilities(model, xt)
            m = calibration_metrics(probs, yt.numpy(), seed)
            out |= {f"{k}_{arm}": v for k, v in m.items()}
            out[f"train_accuracy_{arm}"] = float(
                (probabilities(model, x).argmax(1) == y.numpy()).mean()
            )
            out |= reliability(probs, yt.numpy(), arm)
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        proto = self.protocol
        assert proto is not None
        by = rows.by("setting")
        effects, lines, regimes_ok = {}, [], True
        for setting, g in by.items():
            regime = REGIME[setting]
            e = paired(g, "ece_mixup", "ece_plain", name=f"test ECE, MixUp - plain ({setting})",
                       smallest=proto.smallest_effect, regime=regime)  # fmt: skip
            effects[regime] = e
            excess = g.mean("confidence_plain") - g.mean("accuracy_plain")
            ok = in_calibration_regime(regime, excess)
            regimes_ok &= ok
            lines.append(
                f"{setting} ({regime}; regime check {'holds' if ok else 'FAILS'}): plain train "
                f"acc {g.mean('train_accuracy_plain'):.3f}, test acc {g.mean('accuracy_plain'):.3f}"
                f", confidence - accuracy {excess:+.3f}, ECE {g.mean('ece_plain'):.3f}; MixUp "
                f"test acc {g.mean('accuracy_mixup'):.3f}, confidence "
                f"{g.mean('confidence_mixup'):.3f}, ECE {g.mean('ece_mixup'):.3f}; ECE effect "
                f"{ci(e)}, n={e.n}"
            )
        o, c = effects.get("over-confident"), effects.get("calibrated")
        body = (
            ""
            if o is None or c is None
            else (
                f"MixUp changes test ECE by {ci(o)} on the over-confident MLP (MNIST-1D) and "
                f"by {ci(c)} on the calibrated one (digits)"
            )
        )
        outcome, sentence = calibration_verdict(
            effects, regimes_ok, body, direction=proto.direction, smallest=proto.smallest_effect
        )

        fig, axes = plt.subplots(1, len(by), figsize=(4.3 * len(by), 3.8), squeeze=False)
        for ax, (setting, g) in zip(axes[0], by.items()):
            plot_reliability(ax, g, {"plain": "no mixing", "mixup": "MixUp"})
            ax.set_title(f"{setting} ({REGIME[setting]})", fontsize=9)
        axes[0][0].set_ylabel("accuracy in bin")
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
