"""One over-fitting training run, recorded epoch by epoch, for the early-stopping claims.

The three early-stopping claims (``early-stopping-restore-best``, ``early-stopping-patience``,
``early-stopping-leakage``) all need the same thing: a network that first learns and then
memorises label noise, with its validation curve and held-out scores at every epoch. One run
records them all; the stopping rules are then replayed on the recorded validation curve with
:class:`reglab.EarlyStopping` itself (a stopping rule is a pure function of the sequence of
validation values, so replaying it is exactly what it would have decided live), and the weights
the rule would restore are scored by reading the held-out curves at its best epoch.

Setting: an MLP (64-256-256-10, ReLU) trained with Adam (lr 1e-3, batch 64) on ``n_train``
of scikit-learn's 8x8 digits whose labels are 30% noisy (replaced by a uniformly random
class). The other digits are split at random by the seed into

* a *validation* split (``n_val``, noisy labels like the training set: what a practitioner
  holds out) used by the stopping rule;
* a *test* split (``n_test``): noisy-label log loss (the population version of the monitored
  loss) and clean-label error;
* a *fresh* split (the rest): the same scores on data nobody selected on, for the leakage
  claim.
"""

from __future__ import annotations

import numpy as np

NOISE = 0.3
LR = 1e-3
BATCH = 64


def noisy_labels(y, rate: float, rng: np.random.Generator):
    """Replace a ``rate`` fraction of labels (chosen at random) by uniformly random classes."""
    import torch

    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate={rate!r} must be in [0, 1]")
    flip = rng.random(len(y)) < rate
    y = y.clone()
    y[torch.from_numpy(flip)] = torch.from_numpy(rng.integers(0, 10, int(flip.sum())))
    return y


def record_curves(
    seed: int, *, n_train: int, n_val: int, n_test: int, max_epochs: int, noise: float = NOISE
) -> dict[str, np.ndarray]:
    """Train once for ``max_epochs`` epochs and record every split's scores after each epoch.

    Returns
    -------
    dict of str to ndarray, each of length ``max_epochs``
        ``train_loss``, ``val_loss`` (noisy labels), ``test_loss`` / ``fresh_loss`` (noisy
        labels), ``test_err`` / ``fresh_err`` (clean labels), ``test_clean_loss``.
    """
    import torch
    import torch.nn.functional as F

    from reglab.lab.claims._vision_data import digits, fit, logits, mlp

    if min(n_train, n_val, n_test, max_epochs) < 1:
        raise ValueError(
            f"n_train={n_train!r}, n_val={n_val!r}, n_test={n_test!r} and "
            f"max_epochs={max_epochs!r} must all be >= 1"
        )
    rng = np.random.default_rng(seed)
    x, y, xh, yh = digits(seed, n_train + n_val)
    if n_test >= len(yh):
        raise ValueError(f"n_test={n_test!r} leaves no fresh split ({len(yh)} held out)")
    y = noisy_labels(y, noise, rng)  # training and validation labels are noisy alike
    yh_noisy = noisy_labels(yh, noise, rng)
    xv, yv, x, y = x[n_train:], y[n_train:], x[:n_train], y[:n_train]
    splits = {
        "test": (xh[:n_test], yh[:n_test], yh_noisy[:n_test]),
        "fresh": (xh[n_test:], yh[n_test:], yh_noisy[n_test:]),
    }
    model = mlp(64, seed)
    curves: dict[str, list[float]] = {
        k: []
        for k in (
            "train_loss",
            "val_loss",
            "test_loss",
            "test_err",
            "test_clean_loss",
            "fresh_loss",
            "fresh_err",
        )
    }

    def on_epoch(epoch: int) -> None:
        curves["train_loss"].append(float(F.cross_entropy(logits(model, x), y)))
        curves["val_loss"].append(float(F.cross_entropy(logits(model, xv), yv)))
        for name, (xs, clean, noisy) in splits.items():
            z = logits(model, xs).double()
            curves[f"{name}_loss"].append(float(F.cross_entropy(z, noisy)))
            curves[f"{name}_err"].append(float((z.argmax(1) != clean).double().mean()))
            if name == "test":
                curves["test_clean_loss"].append(float(F.cross_entropy(z, clean)))

    fit(
        model,
        x,
        y,
        epochs=int(max_epochs),
        batch_size=BATCH,
        lr=LR,
        generator=torch.Generator().manual_seed(seed),
        on_epoch=on_epoch,
    )
    return {k: np.asarray(v) for k, v in curves.items()}


def replay_stopping(val_loss, patience: int) -> tuple[int, int, bool]:
    """Where :class:`reglab.EarlyStopping` (mode ``"min"``) stops on ``val_loss`` and which
    epoch its on-improvement snapshot (:class:`reglab.torch.BestWeights`) would restore.

    Returns
    -------
    stopped_epoch, best_epoch : int
        0-based epochs; without a stop, the last epoch and the best one over the budget.
    stopped : bool
        Whether the rule fired before the budget ran out.
    """
    from reglab import EarlyStopping

    stopper = EarlyStopping(mode="min", patience=int(patience))
    for epoch, v in enumerate(val_loss):
        if stopper.step(float(v), epoch=epoch):
            return int(stopper.stopped_epoch), int(stopper.best_epoch), True
    return len(val_loss) - 1, int(stopper.best_epoch), False


class RecordedCurvesClaim:
    """Mixin of the three early-stopping claims: one recorded training run per seed at the
    same split sizes, which each claim replays its own way."""

    n_train = 500
    n_val = 300
    n_test = 500

    def curves(self, params, seed: int) -> dict:
        """The seed's recorded curves (:func:`record_curves`) up to ``params['max_epochs']``."""
        return record_curves(
            seed,
            n_train=self.n_train,
            n_val=self.n_val,
            n_test=self.n_test,
            max_epochs=int(params["max_epochs"]),
        )
