"""Claim ``early-stopping-patience``: patience trades compute for later minima.

Deep dive, section 7 ("Early stopping"), practical issues: "Patience: how many epochs without
improvement before stopping?" The deep dive asks the question; the answer it implies, and
the one practitioners give, is a trade: a short patience stops early (cheap) but can stop on
a noisy bump of the validation curve and miss a lower minimum later; a long patience costs
epochs past the best point but finds the later minimum, and with restored weights (claim
``early-stopping-restore-best``) those extra epochs cost nothing in quality.

Design (:mod:`reglab.lab.claims.training._es_curves`): the over-fitting run of the
restore-best claim (MLP on 500 digits with 30% label noise, validation 300, test 500),
recorded once per seed; :class:`reglab.EarlyStopping` is replayed on the validation curve for
patience 1, 3, 10 and 20 with the best-validation weights restored at each stop.

Protocol v1 (frozen before the runs).

* Primary effect: paired over seeds, held-out test log loss (noisy labels, a split separate
  from validation) of the restored weights with patience 1 minus with patience 20; the
  trade says a too-short patience loses quality (direction ``increase``).
* Also reported (not part of the verdict, because they are nearly mechanical): the epochs
  run (compute; ``stop >= best + patience`` by construction) and how often the validation
  minimum over the full budget lies after the stop (a missed later minimum).
* Smallest effect of interest: 0.01 nats (as in ``early-stopping-restore-best``: about 1% of
  the loss).
* Seeds: a 6-seed pilot (seeds 0-5, 40 epochs) gave differences (patience 1 - patience 20,
  restored test loss) with sd 0.027 (mean +0.032); ``k >= (2.80 * 0.027 / 0.01)^2 = 57``:
  a run costs about one core-second, so the default grid runs all 57 seeds (a first default
  run with 8 seeds, same protocol, was SUPPORTED: +0.027 nats [+0.010, +0.043]).

Default grid: 57 runs, 52 core-seconds (user CPU of ``reglab run ... -j 1``, two invocations
of 8 + 49 seeds on the project's 2-core VM at load average ~10); smoke ~2 s.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict, empirical_verdict
from reglab.lab.claims.training._es_curves import RecordedCurvesClaim
from reglab.lab.protocol import Protocol
from reglab.lab.stats import decide, paired_effect
from reglab.taxonomy import Kind

PATIENCES = (1, 3, 10, 20)
SHORT, LONG = 1, 20
SMALLEST = 0.01


class EarlyStoppingPatience(RecordedCurvesClaim, Claim):
    id = "early-stopping-patience"
    kind = Kind.TRAINING
    section = "7. Early stopping"
    statement = (
        '"Patience: how many epochs without improvement before stopping?" -- a short '
        "patience saves epochs but can stop before a later, lower validation minimum and "
        "so restore worse weights than a long one."
    )
    interview = (
        "Patience is how many non-improving validation checks you tolerate. Validation "
        "curves are noisy, especially with small validation sets or noisy labels, so a "
        "patience of one or two stops on the first bump and can miss a lower minimum a few "
        "epochs later; a long patience pays for extra epochs past the best point, but if "
        "you restore the best weights those epochs cost only compute, not quality. So the "
        "trade is compute against the chance of stopping too early, and the right patience "
        "scales with how noisy the validation curve is (per-epoch checks on a few hundred "
        "examples need several epochs; Lightning's default is 3, Keras' 0)."
    )
    grid = {"max_epochs": [40]}
    smoke = {"max_epochs": [4]}
    seeds = 57
    smoke_seeds = 2
    protocol = Protocol(
        version=1,
        metric="restored_short_minus_long",
        effect=(
            f"paired over seeds: held-out test log loss of the restored weights with patience "
            f"{SHORT} minus with patience {LONG}"
        ),
        smallest_effect=SMALLEST,
        direction="increase",
        analysis="paired t 95% CI over seeds (one check)",
        seeds=57,
        pilot_sd=0.027,
    )

    def run(self, params, seed):
        from reglab.lab.claims.training._es_curves import replay_stopping

        c = self.curves(params, seed)
        global_best = float(c["val_loss"].min())
        out: dict[str, float | list[float]] = {"val_loss": c["val_loss"].tolist()}
        for p in PATIENCES:
            stop, best, _ = replay_stopping(c["val_loss"], p)
            out[f"epochs_p{p}"] = float(stop + 1)
            # a lower validation loss later in the budget: the stop missed a later minimum
            out[f"missed_p{p}"] = float(global_best < c["val_loss"][best])
            out[f"val_regret_p{p}"] = float(c["val_loss"][best] - global_best)
            out[f"test_loss_p{p}"] = float(c["test_loss"][best])
        out["restored_short_minus_long"] = out[f"test_loss_p{SHORT}"] - out[f"test_loss_p{LONG}"]
        return out

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        effect = paired_effect(
            rows.values(f"test_loss_p{SHORT}"),
            rows.values(f"test_loss_p{LONG}"),
            name=f"restored test log loss: patience {SHORT} - patience {LONG}",
            smallest=SMALLEST,
        )
        outcome = decide(effect, "increase", SMALLEST)
        epochs = {p: rows.mean(f"epochs_p{p}") for p in PATIENCES}
        missed = {p: rows.mean(f"missed_p{p}") for p in PATIENCES}
        tail = (
            f"{effect.estimate:+.3f} nats [{effect.low:+.3f}, {effect.high:+.3f}], "
            f"{len(rows)} seeds; epochs run {epochs[SHORT]:.0f} vs {epochs[LONG]:.0f}, later "
            f"minimum missed in {missed[SHORT]:.0%} vs {missed[LONG]:.0%} of runs"
        )
        sentence = {
            "SUPPORTED": f"Supported: patience {SHORT} saves epochs but restores weights with "
            f"higher held-out log loss than patience {LONG} ({tail}).",
            "NOT SUPPORTED": f"Not supported: patience {SHORT} saves epochs without a "
            f"held-out cost of the smallest size of interest against patience {LONG} ({tail}).",
            "INCONCLUSIVE": f"Inconclusive: whether patience {SHORT} costs held-out log loss "
            f"against patience {LONG} is within seed noise ({tail}).",
        }[outcome]
        lines = [
            f"MLP on digits, 30% label noise ({self.n_train} train, {self.n_val} validation, "
            f"{self.n_test} test), {len(rows)} seeds; stopping replayed on each validation curve."
        ]
        for p in PATIENCES:
            lines.append(
                f"  patience {p:>2}: epochs run {epochs[p]:.1f}, later minimum missed "
                f"{missed[p]:.0%}, validation regret {rows.mean(f'val_regret_p{p}'):.4f}, "
                f"restored test log loss {rows.mean(f'test_loss_p{p}'):.4f}"
            )
        lines.append(f"effect {effect.format()} -> {outcome}")

        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(8.6, 3.6))
        ax0.plot([epochs[p] for p in PATIENCES], [missed[p] for p in PATIENCES], "o-")
        for p in PATIENCES:
            ax0.annotate(f"patience {p}", (epochs[p], missed[p]), fontsize=7, xytext=(3, 3),
                         textcoords="offset points")  # fmt: skip
        ax0.set_xlabel("epochs run (compute)")
        ax0.set_ylabel("fraction of runs missing a later minimum")
        ax0.set_title("The trade", fontsize=9)
        loss = np.array([rows.values(f"test_loss_p{p}") for p in PATIENCES])
        ax1.plot(range(len(PATIENCES)), loss - loss[-1], color="0.7", lw=0.8)
        ax1.plot(range(len(PATIENCES)), (loss - loss[-1]).mean(axis=1), "ko-", label="mean")
        ax1.axhline(0, color="k", lw=0.8)
        ax1.axhline(SMALLEST, color="C3", ls="--", lw=0.8, label="smallest effect")
        ax1.set_xticks(range(len(PATIENCES)), [str(p) for p in PATIENCES])
        ax1.set_xlabel("patience")
        ax1.set_ylabel(f"restored test log loss - patience {LONG}'s")
        ax1.set_title("Per seed", fontsize=9)
        ax1.legend(fontsize=7)
        fig.tight_layout()
        numbers = {f"epochs_p{p}": epochs[p] for p in PATIENCES}
        numbers |= {f"missed_p{p}": missed[p] for p in PATIENCES}
        return empirical_verdict(
            self.protocol, effect, outcome, sentence=sentence, figure=fig,
            evidence="\n".join(lines), numbers=numbers,
        )  # fmt: skip
