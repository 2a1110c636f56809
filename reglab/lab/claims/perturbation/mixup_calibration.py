"""Claim ``mixup-calibration``: MixUp / CutMix soften confidence and fix over-confidence.

Deep dive, section 8: MixUp "encourages the model to behave linearly between training
examples - strong implicit regularization, often improves calibration"; CutMix mixes labels
by area fraction.

Mechanism. Trained on mixed inputs with targets ``lam y_i + (1 - lam) y_j`` (Zhang et al.,
ICLR 2018; Yun et al., ICCV 2019), the network is rewarded for intermediate probabilities,
so its confidence (mean max-probability) falls. Expected calibration error
``ECE = sum_m |B_m|/n |acc(B_m) - conf(B_m)|`` (15 equal-width bins; Guo et al., ICML 2017)
therefore falls when the plain network is *over*-confident (Thulasidasan et al., NeurIPS
2019) - and can rise when it was already calibrated, because the confidence then overshoots
below the accuracy. The experiment measures both regimes and says which is which:

* ``mnist1d``: an MLP (40-256-256-10) on MNIST-1D over-fits badly (train accuracy far above
  test accuracy) and is over-confident; MixUp (``alpha = 1``) is compared with no mixing.
  CutMix is not run here: :class:`reglab.torch.MixUpCutMix` cuts 2-D boxes, and a 1 x 40
  sequence has no 2-D box to cut.
* ``digits``: the same MLP on 300 of the 8x8 digits is close to calibrated; MixUp and CutMix
  (``alpha = 1``, :class:`reglab.torch.MixUpCutMix`) are compared with no mixing.

Verdict. (a) In every setting, every mixing method lowers the mean confidence (the
mechanism). (b) In the over-confident setting, MixUp lowers the ECE by more than 3 standard
errors. Each run's ECE comes with a bootstrap standard error over its test set. MNIST-1D's
test set is the same for every run, so averaging seeds does not shrink its sampling error:
we bound the standard error of a seed average by the mean of the runs' standard errors
(exact under full correlation, conservative otherwise), and of a difference between two
methods by ``hypot(se_a, se_b)`` (conservative, since errors on a shared test set are
positively correlated). The change of ECE in the calibrated setting is reported (it
rises: MixUp "often", not always, improves calibration), not required.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

N_SE = 3.0
METHODS = {"mnist1d": ("none", "mixup"), "digits": ("none", "mixup", "cutmix")}


def _setting(setting: str, seed: int):
    from reglab.lab.claims._vision_data import digits, mnist1d

    if setting == "mnist1d":
        return mnist1d(4000, 0.75)
    if setting == "digits":
        return digits(seed, 300)
    raise ValueError(f"setting={setting!r} must be 'mnist1d' or 'digits'")


def _regime(excess: float, se: float) -> str:
    """Name the calibration regime from mean confidence minus accuracy."""
    if abs(excess) <= 2 * se:
        return f"calibrated within noise (confidence - accuracy {excess:+.3f})"
    side = "over" if excess > 0 else "under"
    return f"{side}-confident (confidence - accuracy {excess:+.3f})"


class MixupCalibration(Claim):
    id = "mixup-calibration"
    kind = Kind.PERTURBATION
    section = "8. Data augmentation (MixUp, CutMix)"
    statement = (
        "MixUp linearly interpolates two examples and their labels; it encourages the model "
        "to behave linearly between training examples and often improves calibration. "
        "CutMix splices a region and mixes labels by area fraction."
    )
    interview = (
        "MixUp trains on convex combinations of inputs with the same combination of the "
        "one-hot labels, so the network is rewarded for saying 0.7/0.3 between classes "
        "instead of pushing every logit to infinity; CutMix does the same with pasted "
        "patches and area-weighted labels. The first-order effect is lower confidence. "
        "Whether that improves calibration depends on where you start: a network that over-"
        "fits is over-confident (here an MLP on MNIST-1D with ECE around 0.2), and MixUp "
        "cuts its ECE by a factor of three or more. A network that is already calibrated "
        "becomes under-confident and its ECE goes up, which is why papers say 'often'. So "
        "I would measure ECE (and the reliability diagram) before and after, and if the "
        "model ends up under-confident, lower alpha or fix it after training with "
        "temperature scaling; and never add label smoothing on top without checking, since "
        "both push confidence down."
    )
    grid = [{"setting": s, "method": m} for s, ms in METHODS.items() for m in ms]
    smoke = grid
    seeds = 2
    smoke_seeds = 1
    epochs = {"mnist1d": 40, "digits": 100}
    lr = 1e-3
    batch_size = 128

    def run(self, params, seed):
        import torch

        from reglab.lab.claims._vision_data import calibration_metrics, fit, mlp, probabilities
        from reglab.torch import MixUpCutMix, soft_target_cross_entropy

        setting, method = params["setting"], params["method"]
        x, y, xt, yt = _setting(setting, seed)
        model = mlp(x[0].numel(), seed)
        batch_transform = loss_fn = None
        if method != "none":
            alphas = {"mixup": (1.0, 0.0), "cutmix": (0.0, 1.0)}
            if method not in alphas:
                raise ValueError(f"method={method!r} must be 'none', 'mixup' or 'cutmix'")
            mixer = MixUpCutMix(*alphas[method], label_smoothing=0.0, num_classes=10)
            mix_gen = torch.Generator().manual_seed(seed + 1)

            def batch_transform(xb, yb):
                return mixer(xb, yb, generator=mix_gen)

            loss_fn = soft_target_cross_entropy
        fit(
            model,
            x,
            y,
            epochs=self.epochs[setting],
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch.Generator().manual_seed(seed),
            loss_fn=loss_fn,
            batch_transform=batch_transform,
        )
        probs = probabilities(model, xt)
        out = calibration_metrics(probs, yt.numpy(), seed)
        out["train_accuracy"] = float((probabilities(model, x).argmax(1) == y.numpy()).mean())
        # reliability curve (15 equal-width bins of confidence) for the figure
        conf, hit = probs.max(1), probs.argmax(1) == yt.numpy()
        bins = np.minimum((conf * 15).astype(int), 14)
        out["bin_count"] = np.bincount(bins, minlength=15).astype(float).tolist()
        out["bin_hits"] = np.bincount(bins, weights=hit, minlength=15).tolist()
        out["bin_conf"] = np.bincount(bins, weights=conf, minlength=15).tolist()
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        def stats(setting: str, method: str) -> dict[str, float]:
            r = rows.where(setting=setting, method=method)
            se = float(np.mean(r.values("ece_se")))  # sd of a mean <= mean of the sds
            keys = ("ece", "confidence", "accuracy", "train_accuracy")
            return {k: r.mean(k) for k in keys} | {"se": se}

        table = {(s, m): stats(s, m) for s, ms in METHODS.items() for m in ms}
        checks, lines = {}, []
        for s, ms in METHODS.items():
            base = table[s, "none"]
            lines.append(
                f"{s}: no mixing: train acc {base['train_accuracy']:.3f}, test acc "
                f"{base['accuracy']:.3f}, confidence {base['confidence']:.3f}, ECE "
                f"{base['ece']:.3f} (se {base['se']:.3f}) - "
                + _regime(base["confidence"] - base["accuracy"], base["se"])
            )
            for m in ms[1:]:
                t = table[s, m]
                se = float(np.hypot(base["se"], t["se"]))
                checks[f"{s}/{m}: confidence down"] = t["confidence"] < base["confidence"]
                if s == "mnist1d":
                    checks[f"{s}/{m}: ECE down > {N_SE:g} se"] = base["ece"] - t["ece"] > N_SE * se
                lines.append(
                    f"  {m}: test acc {t['accuracy']:.3f}, confidence {t['confidence']:.3f}, "
                    f"ECE {t['ece']:.3f} (change {t['ece'] - base['ece']:+.3f}, se {se:.3f})"
                )
        passed = all(checks.values())
        failed = [k for k, v in checks.items() if not v]
        lines.append(
            f"FAILED: {', '.join(failed)}" if failed else f"all checks hold: {', '.join(checks)}"
        )

        fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.8), sharey=True)
        for ax, (s, ms) in zip(axes, METHODS.items()):
            ax.plot([0, 1], [0, 1], "k:", lw=0.8, label="perfect calibration")
            for m in ms:
                r = rows.where(setting=s, method=m)
                count = np.sum([np.asarray(x.metrics["bin_count"]) for x in r], axis=0)
                hits = np.sum([np.asarray(x.metrics["bin_hits"]) for x in r], axis=0)
                conf = np.sum([np.asarray(x.metrics["bin_conf"]) for x in r], axis=0)
                keep = count > 0
                ax.plot(conf[keep] / count[keep], hits[keep] / count[keep], "o-", ms=3,
                        label=f"{m} (ECE {table[s, m]['ece']:.3f})")  # fmt: skip
            ax.set_xlabel("confidence (max probability)")
            ax.set_title(f"{s}: reliability diagram")
            ax.legend(fontsize=7)
        axes[0].set_ylabel("accuracy in bin")
        fig.tight_layout()
        numbers = {f"ece_{s}_{m}": table[s, m]["ece"] for s, ms in METHODS.items() for m in ms}
        return Verdict(passed, "\n".join(lines), fig, numbers)
