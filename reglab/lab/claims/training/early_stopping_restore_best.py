"""Claim ``early-stopping-restore-best``: stop on patience, then restore the best weights.

Deep dive, section 7 ("Early stopping"): "Monitor validation loss during training. Stop when
it stops improving... Restore the weights from the best validation checkpoint"; "Training
loss continues decreasing while validation loss starts increasing - overfitting";
"Restoration: keep the best-validation weights, not just the last."

Experiment. An over-fitting run by construction: an MLP (64-256-256-10) trained with Adam
on 500 of the 8x8 digits whose labels are 30% noisy (replaced by a uniformly random class,
in the training and validation sets alike, as label noise would be in practice). The net
first learns the digits, then memorises the wrong labels, and its validation loss turns up.
:class:`reglab.EarlyStopping` (``patience`` checks, one per epoch, on the validation loss)
decides the stop; :class:`reglab.torch.BestWeights` snapshots the weights on every
improvement. Training continues past the stop to the full budget so that three models are
compared on the remaining ~1000 digits: accuracy against the true labels, and log loss
against labels with the same 30% noise (the population version of the validation loss that
early stopping monitors; the log loss against clean labels is reported too, but it is not
what the rule optimises - with noisy labels its minimum comes later than the noisy
validation minimum):

* *last*: the weights after the full budget (no early stopping);
* *stopped*: the weights at the stopping epoch (early stopping without restore);
* *restored*: the best-validation weights, restored after the stop.

Thresholds. Within a run the three models are scored on the same test digits, so their
difference is paired: for per-sample differences ``d_i`` (0/1 correctness or the log loss)
the standard error of the mean difference is ``sd(d) / sqrt(n)``. Runs are independent
(seed-specific splits, noise and initialisation), so over ``R`` runs the mean difference has
standard error ``sqrt(sum se_r^2) / R``. The claim holds if the restored weights beat the
last iterate in test accuracy and in test log loss by more than 3 standard errors, and are
no worse than the stopped iterate (restoring can only move back to a better validation
point; its test accuracy must not be lower than the stopped one's by more than 3 se).
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, checks_summary
from reglab.taxonomy import Kind

N_SE = 3.0
NOISE = 0.3
MODELS = ("last", "stopped", "restored")


def _noisy(y, rate: float, rng: np.random.Generator):
    """Replace a ``rate`` fraction of labels by uniformly random classes."""
    import torch

    flip = rng.random(len(y)) < rate
    y = y.clone()
    y[torch.from_numpy(flip)] = torch.from_numpy(rng.integers(0, 10, int(flip.sum())))
    return y


class EarlyStoppingRestoreBest(Claim):
    id = "early-stopping-restore-best"
    kind = Kind.TRAINING
    section = "7. Early stopping"
    statement = (
        "Monitor validation loss, stop when it stops improving (patience), and restore the "
        "weights from the best validation checkpoint, not just the last."
    )
    interview = (
        "On an over-fitting run the validation loss is U-shaped: the network first learns "
        "the signal, then starts fitting noise. Early stopping watches it with a patience "
        "window, because the curve is noisy and one bad epoch is no evidence, but that means "
        "that when the rule fires you are already patience epochs past the best point. So "
        "you keep a copy of the best weights and restore it; a snapshot that only aliases "
        "the live parameters (state_dict without a clone) silently restores nothing, and "
        "you should restore also when training ends without a stop. With 30% label noise "
        "the restored weights beat the last iterate by a wide margin in accuracy and even "
        "more in log loss, since the memorising net is confidently wrong. Patience trades "
        "compute for robustness to a noisy validation curve, and the validation set must be "
        "clean of leakage or it selects on noise."
    )
    grid = {"patience": [5, 20], "max_epochs": [80]}
    smoke = {"patience": [10], "max_epochs": [60]}
    seeds = 2
    smoke_seeds = 1
    n_train = 500
    n_val = 300
    lr = 1e-3
    batch_size = 64

    def run(self, params, seed):
        import torch
        import torch.nn.functional as F

        from reglab import EarlyStopping
        from reglab.lab.claims._vision_data import digits, fit, logits, mlp
        from reglab.torch import BestWeights

        rng = np.random.default_rng(seed)
        x, y, xt, yt = digits(seed, self.n_train + self.n_val)
        y = _noisy(y, NOISE, rng)  # noise in training and validation labels alike
        yt_noisy = _noisy(yt, NOISE, rng)  # the test distribution of the monitored loss
        xv, yv, x, y = x[self.n_train :], y[self.n_train :], x[: self.n_train], y[: self.n_train]
        model = mlp(64, seed)
        best = BestWeights(model)
        stopper = EarlyStopping(
            mode="min", patience=int(params["patience"]), on_improvement=best.save
        )
        curves: dict[str, list[float]] = {"val_loss": [], "test_loss": [], "train_loss": []}
        scores: dict[str, tuple[np.ndarray, ...]] = {}

        def score():
            z = logits(model, xt).double()
            return (
                (z.argmax(1) == yt).double().numpy(),  # clean accuracy
                F.cross_entropy(z, yt_noisy, reduction="none").numpy(),  # monitored loss
                F.cross_entropy(z, yt, reduction="none").numpy(),  # clean log loss
            )

        def on_epoch(epoch: int) -> None:
            val = float(F.cross_entropy(logits(model, xv), yv))
            curves["val_loss"].append(val)
            curves["test_loss"].append(float(score()[1].mean()))
            curves["train_loss"].append(float(F.cross_entropy(logits(model, x), y)))
            if not stopper.should_stop and stopper.step(val, epoch=epoch):
                scores["stopped"] = score()

        fit(
            model,
            x,
            y,
            epochs=int(params["max_epochs"]),
            batch_size=self.batch_size,
            lr=self.lr,
            generator=torch.Generator().manual_seed(seed),
            on_epoch=on_epoch,
        )
        scores["last"] = score()
        stopped = "stopped" in scores
        if not stopped:  # the budget ran out first: the stopped model is the last one
            scores["stopped"] = scores["last"]
        best.restore()
        scores["restored"] = score()
        n = len(yt)
        out: dict[str, float | list[float]] = {
            "stopped_epoch": float(
                stopper.stopped_epoch if stopped else len(curves["val_loss"]) - 1
            ),
            "best_epoch": float(stopper.best_epoch),
            "did_stop": float(stopped),
            "n_test": float(n),
            **curves,
        }
        for m in MODELS:
            out[f"acc_{m}"] = float(scores[m][0].mean())
            out[f"loss_{m}"] = float(scores[m][1].mean())
            out[f"clean_loss_{m}"] = float(scores[m][2].mean())
        for a, b in (("restored", "last"), ("restored", "stopped")):
            for k, name in ((0, "acc"), (1, "loss")):
                d = scores[a][k] - scores[b][k]
                out[f"{name}_{a}_minus_{b}"] = float(d.mean())
                out[f"{name}_{a}_minus_{b}_se"] = float(d.std(ddof=1) / np.sqrt(n))
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        def paired(name: str) -> tuple[float, float]:
            d, se = rows.values(name), rows.values(f"{name}_se")
            return float(d.mean()), float(np.sqrt(np.sum(se**2)) / len(d))

        acc_rl, loss_rl = paired("acc_restored_minus_last"), paired("loss_restored_minus_last")
        acc_rs = paired("acc_restored_minus_stopped")
        checks = {
            f"accuracy: restored > last by {N_SE:g} se": acc_rl[0] > N_SE * acc_rl[1],
            f"log loss: restored < last by {N_SE:g} se": -loss_rl[0] > N_SE * loss_rl[1],
            "accuracy: restored not worse than stopped": acc_rs[0] > -N_SE * acc_rs[1],
        }
        passed = all(checks.values())
        lines = [
            f"MLP on digits with {NOISE:.0%} label noise ({self.n_train} train, {self.n_val} "
            f"validation, {rows.mean('n_test'):.0f} test), {len(rows)} runs, patience "
            f"{rows.param_values('patience')}; best epoch {rows.values('best_epoch').tolist()}, "
            f"stop epoch {rows.values('stopped_epoch').tolist()} of "
            f"{rows.param_values('max_epochs')}"
        ]
        for m in MODELS:
            lines.append(
                f"  {m:>8}: test accuracy {rows.mean(f'acc_{m}'):.3f}, test log loss "
                f"{rows.mean(f'loss_{m}'):.3f} (noisy labels, as monitored; clean labels "
                f"{rows.mean(f'clean_loss_{m}'):.3f}, not required)"
            )
        lines.append(
            f"restored - last: accuracy {acc_rl[0]:+.3f} (se {acc_rl[1]:.3f}), log loss "
            f"{loss_rl[0]:+.3f} (se {loss_rl[1]:.3f}); restored - stopped: accuracy "
            f"{acc_rs[0]:+.3f} (se {acc_rs[1]:.3f})"
        )
        lines.append(checks_summary(checks))

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.8))
        r = rows[0]
        epochs = np.arange(len(r.metrics["val_loss"]))
        for key, style in (("train_loss", ":"), ("val_loss", "-"), ("test_loss", "--")):
            ax0.plot(epochs, r.metrics[key], style, label=key.replace("_", " "))
        ax0.axvline(r.metrics["best_epoch"], color="g", lw=0.8, label="best (restored)")
        ax0.axvline(r.metrics["stopped_epoch"], color="r", lw=0.8, label="stop")
        ax0.set_xlabel("epoch")
        ax0.set_ylabel("cross-entropy")
        ax0.set_yscale("log")
        ax0.set_title(f"One run (patience {r.params['patience']})", fontsize=9)
        ax0.legend(fontsize=7)
        accs = [rows.values(f"acc_{m}") for m in MODELS]
        ax1.bar(range(3), [a.mean() for a in accs], color=["C3", "C1", "C2"])
        for i, a in enumerate(accs):
            ax1.plot(np.full(len(a), i), a, "k.", ms=4)
        ax1.set_xticks(range(3), MODELS)
        ax1.set_ylim(min(a.min() for a in accs) - 0.05, max(a.max() for a in accs) + 0.03)
        ax1.set_ylabel("clean test accuracy")
        ax1.set_title("Last iterate vs early stop vs restored best", fontsize=9)
        fig.tight_layout()
        numbers = {f"acc_{m}": rows.mean(f"acc_{m}") for m in MODELS}
        numbers |= {"acc_gain": acc_rl[0], "acc_gain_se": acc_rl[1]}
        return Verdict(passed, "\n".join(lines), fig, numbers)
