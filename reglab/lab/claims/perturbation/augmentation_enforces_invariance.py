"""Claim ``augmentation-enforces-invariance``: augmentation teaches the invariance it samples.

Deep dive, section 8 ("Data augmentation"): augmentation is "equivalent to enforcing
invariance: the function should give the same answer regardless of the augmentation
applied"; the model "can memorize specific training points but not their continuum of
perturbations".

Experiment. The 8x8 digits on a 12x12 zero canvas (so shifts of up to 2 pixels keep the
digit) train an MLP (144-256-10, ReLU) - an architecture with no built-in invariance, so any
invariance must come from the data - with Adam for a fixed budget, three times: on the clean
images, with every mini-batch passed through a :class:`reglab.augment.image.Pipeline` of
random shifts (up to +-2 pixels, ``Translation(2/12)``), and with random rotations (+-30
degrees, ``Rotation(30)``), drawn from the run's own generator. Each model is tested on the
clean test digits and on the test digits shifted and rotated with the same distributions of
parameters but an independent generator. On each transformed set we measure the invariance gap
(:func:`reglab.augment.invariance_gap`: mean KL between the predictive distributions on
``x`` and ``T(x)`` and the arg-max flip rate; Simard et al., ICDAR 2003) and the accuracy.
The claim is about the transformation *trained with*: the shift-trained model is judged on
shifts, the rotation-trained one on rotations (the cross results are shown too: augmentation
buys only the invariance it samples).

Thresholds. Every metric is a mean over ``n`` test digits of a split drawn from the run's
seed (the runner derives a different seed for every arm and repetition), so all runs are
independent. A flip rate or accuracy ``f`` has binomial standard error
``sqrt(f (1 - f) / n)`` per seed; averaged over seeds and differenced between the two arms,
``se(diff) = sqrt(se_a^2 + se_b^2)``. The claim holds if, for shifts and for rotations, training
with that augmentation lowers the flip rate and raises the accuracy on transformed data
by more than 3 se, and lowers the mean KL (reported; its spread has no binomial bound, so
only its direction is required). Clean accuracy is reported, not required: a small MLP
spends capacity on the invariance and can lose clean accuracy within a fixed budget.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

N_SE = 3.0
MARGIN = 2
SIDE = 8 + 2 * MARGIN
SHIFT_FRACTION = MARGIN / SIDE
DEGREES = 30.0
TESTS = ("shift", "rotate")
PARTICIPLE = {"shift": "shifted", "rotate": "rotated"}


def _transform(kind: str):
    from reglab.augment.image import Pipeline, Rotation, Translation

    if kind == "shift":
        return Pipeline([Translation(SHIFT_FRACTION)])
    if kind == "rotate":
        return Pipeline([Rotation(DEGREES)])
    raise ValueError(f"transform kind={kind!r} must be 'shift' or 'rotate'")


class AugmentationEnforcesInvariance(Claim):
    id = "augmentation-enforces-invariance"
    kind = Kind.PERTURBATION
    section = "8. Data augmentation"
    statement = (
        "Augmentation is equivalent to enforcing invariance: the function should give the "
        "same answer regardless of the augmentation applied; the model can memorize specific "
        "training points but not their continuum of perturbations."
    )
    interview = (
        "Augmentation regularises by enlarging the training distribution with label-"
        "preserving transformations, which is the same as asking the function to be "
        "invariant to them: the loss only goes down if f(T(x)) predicts the label of x for "
        "every sampled T. You can measure that directly: the KL between the predictions on "
        "x and on T(x), and how often the arg-max flips. An MLP trained on centred digits "
        "changes its answer for a large fraction of digits shifted by a pixel or two; the "
        "same MLP trained with random shifts and rotations flips far less and is much more "
        "accurate on transformed test digits, though a small MLP pays for it with some "
        "clean accuracy at a fixed budget. The caveat is that you only get the "
        "invariances you sample, and only if they really preserve the label (rotate a 6 "
        "too far and it is a 9); an architecture with the invariance built in (convolution "
        "plus pooling) gets it for free and exactly."
    )
    grid = {"augment": ["none", *TESTS], "n_train": [1000], "epochs": [30]}
    smoke = {"augment": ["none", *TESTS], "n_train": [1000], "epochs": [30]}
    seeds = 2
    smoke_seeds = 1
    hidden = 256
    lr = 5e-3
    batch_size = 64

    def run(self, params, seed):
        import torch
        import torch.nn.functional as F

        from reglab.augment import invariance_gap
        from reglab.lab.claims._vision_data import accuracy, digits, fit, mlp

        x, y, xt, yt = digits(seed, int(params["n_train"]))
        x, xt = (F.pad(t, (MARGIN,) * 4) for t in (x, xt))
        model = mlp(SIDE * SIDE, seed, hidden=self.hidden, depth=1)
        batch_transform = None
        if params["augment"] != "none":
            augment = _transform(params["augment"])
            aug_gen = torch.Generator().manual_seed(seed + 1)

            def batch_transform(xb, yb):
                return augment(xb, generator=aug_gen).images, yb

        fit(
            model,
            x,
            y,
            epochs=int(params["epochs"]),
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch.Generator().manual_seed(seed),
            batch_transform=batch_transform,
        )
        out = {"clean_acc": accuracy(model, xt, yt), "n_test": float(xt.shape[0])}
        for test in TESTS:
            pipeline = _transform(test)

            def transform(z, pipeline=pipeline):
                return pipeline(z, generator=torch.Generator().manual_seed(seed + 2)).images

            xt_t = transform(xt)
            gap = invariance_gap(model, transform, xt)
            out[f"{test}_acc"] = accuracy(model, xt_t, yt)
            out[f"{test}_flip"] = gap.flip_rate
            out[f"{test}_kl"] = gap.mean_kl
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        arms = ("none", *TESTS)
        by = {a: rows.where(augment=a) for a in arms}

        def mean_se(a: str, metric: str) -> tuple[float, float]:
            v, n = by[a].values(metric), by[a].values("n_test")
            return float(v.mean()), float(np.sqrt(np.sum(v * (1 - v) / n)) / len(v))

        checks, lines = {}, []
        for test in TESTS:
            f0, f1 = mean_se("none", f"{test}_flip"), mean_se(test, f"{test}_flip")
            a0, a1 = mean_se("none", f"{test}_acc"), mean_se(test, f"{test}_acc")
            k0, k1 = by["none"].mean(f"{test}_kl"), by[test].mean(f"{test}_kl")
            checks[f"{test}: flip rate down"] = f0[0] - f1[0] > N_SE * np.hypot(f0[1], f1[1])
            checks[f"{test}: accuracy up"] = a1[0] - a0[0] > N_SE * np.hypot(a0[1], a1[1])
            checks[f"{test}: KL down"] = k1 < k0
            other = next(t for t in TESTS if t != test)
            lines.append(
                f"{PARTICIPLE[test]} test digits, no augmentation -> {test} augmentation: flip rate "
                f"{f0[0]:.3f} -> {f1[0]:.3f} (se of diff {np.hypot(f0[1], f1[1]):.3f}), mean KL "
                f"{k0:.3f} -> {k1:.3f} nats, accuracy {a0[0]:.3f} -> {a1[0]:.3f} (se of diff "
                f"{np.hypot(a0[1], a1[1]):.3f}); trained with {other} instead: flip rate "
                f"{by[other].mean(f'{test}_flip'):.3f}, accuracy {by[other].mean(f'{test}_acc'):.3f}"
            )
        clean = ", ".join(f"{a} {by[a].mean('clean_acc'):.3f}" for a in arms)
        passed = all(checks.values())
        head = (
            f"MLP on digits ({SIDE}x{SIDE} canvas), {len(by['none'])} seeds; shifts up to "
            f"+-{MARGIN} px, rotations up to +-{DEGREES:g} deg; clean test accuracy: {clean}"
        )
        failed = [k for k, v in checks.items() if not v]
        tail = f"all {len(checks)} checks hold (differences > {N_SE:g} se)" if passed else (
            "FAILED: " + ", ".join(failed)
        )  # fmt: skip
        evidence = "\n".join([head, *lines, tail])

        fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.6))
        tests = ("clean", *TESTS)
        width = 0.8 / len(arms)
        for j, a in enumerate(arms):
            off = (j - (len(arms) - 1) / 2) * width
            accs = [by[a].mean("clean_acc"), *(by[a].mean(f"{t}_acc") for t in TESTS)]
            axes[0].bar(np.arange(len(tests)) + off, accs, width, label=f"trained: {a}")
            flips = [by[a].mean(f"{t}_flip") for t in TESTS]
            axes[1].bar(np.arange(len(TESTS)) + off, flips, width, label=f"trained: {a}")
            for i, t in enumerate(TESTS):
                axes[1].annotate(f"{by[a].mean(f'{t}_kl'):.2f}", (i + off, flips[i]),
                                 ha="center", va="bottom", fontsize=6)  # fmt: skip
        axes[0].set_xticks(np.arange(len(tests)), [f"{t} test" for t in tests])
        axes[0].set_ylabel("test accuracy")
        axes[0].set_title("Accuracy on transformed test digits")
        axes[0].legend(fontsize=7)
        axes[1].set_xticks(np.arange(len(TESTS)), [f"T = {t}" for t in TESTS])
        axes[1].set_ylabel("arg-max flip rate under T (labels: mean KL)")
        axes[1].set_title("Invariance gap")
        axes[1].legend(fontsize=7)
        fig.tight_layout()
        numbers = {
            f"{t}_{m}_{a}": by[a].mean(f"{t}_{m}")
            for t in TESTS
            for m in ("flip", "acc")
            for a in arms
        }
        return Verdict(passed, evidence, fig, numbers)
