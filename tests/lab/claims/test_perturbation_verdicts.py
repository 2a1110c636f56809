"""The perturbation claims' verdict rules turn where their metric crosses the threshold.

Every test builds stored rows by hand (synthetic metrics, no training) and checks that the
verdict moves between outcomes as the effect crosses zero / the smallest effect of interest
/ the regime preconditions. No test asserts the verdict of a real run.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

from reglab.lab.claim import Rows, RunRow, get_claim
from reglab.lab.claims.perturbation._judge import non_inferior
from reglab.lab.stats import Effect

matplotlib.use("Agg")

NOISE = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])  # per-seed jitter, mean 0, sd 1.58


def _rows(claim_id: str, points: list[tuple[dict, list[dict]]]) -> Rows:
    out = []
    for params, per_seed in points:
        for rep, metrics in enumerate(per_seed):
            out.append(RunRow(claim_id, params, 1000 + rep, rep, metrics))
    return Rows(out)


def _verdict(claim_id: str, rows: Rows):
    import matplotlib.pyplot as plt

    v = get_claim(claim_id).verdict(rows)
    plt.close("all")
    return v


# --------------------------------------------------------------------------- dropout width


def _dropout_width(effect_wide: float, effect_narrow: float, train_err_narrow: float = 0.5):
    def seeds(width, effect, train_err):
        return [
            {
                "train_error_plain": train_err,
                "test_error_plain": 0.4,
                "train_error_dropout": train_err + 0.05,
                "test_error_dropout": 0.4 + effect + 0.001 * j,
                "test_nll_plain": 1.0,
                "test_nll_dropout": 1.0,
                "n_params": 100.0 * width,
            }
            for j in NOISE
        ]

    return _rows(
        "dropout-hurts-underfitting",
        [
            ({"width": 8}, seeds(8, effect_narrow, train_err_narrow)),
            ({"width": 256}, seeds(256, effect_wide, 0.0)),
        ],
    )


@pytest.mark.parametrize(
    ("wide", "narrow", "train_err", "expected"),
    [
        (-0.03, 0.10, 0.5, "CONDITIONAL"),  # helps wide, hurts narrow: as the deep dive says
        (-0.03, -0.03, 0.5, "SUPPORTED"),  # helps both: "may hurt" not seen
        (0.03, 0.10, 0.5, "NOT SUPPORTED"),  # hurts the wide net too
        (-0.03, 0.10, 0.05, "INCONCLUSIVE"),  # the narrow net is not underfitting
    ],
)
def test_dropout_width_verdict_turns(wide, narrow, train_err, expected):
    v = _verdict("dropout-hurts-underfitting", _dropout_width(wide, narrow, train_err))
    assert v.outcome == expected
    assert v.sentence


# --------------------------------------------------------------------- calibration pairs


def _calibration(claim_id, key, arm, over_effect, cal_effect, excess_cal=0.01):
    def seeds(effect, excess, prefix_extra):
        out = []
        for j in NOISE:
            m = {
                "ece_plain": 0.15,
                f"ece_{arm}": 0.15 + effect + 0.001 * j,
                "confidence_plain": 0.6 + excess,
                "accuracy_plain": 0.6,
                f"confidence_{arm}": 0.55,
                f"accuracy_{arm}": 0.6,
                "train_accuracy_plain": 1.0,
                f"train_accuracy_{arm}": 1.0,
            }
            m |= prefix_extra
            out.append(m)
        return out

    if claim_id == "mixup-calibration":
        bins = {}
        for a in ("plain", "mixup"):
            bins |= {f"{a}_bin_count": [1.0] * 15, f"{a}_bin_hits": [0.5] * 15,
                     f"{a}_bin_conf": [0.5] * 15}  # fmt: skip
        extra = bins
    else:
        extra = {"gap_mean_plain": 10.0, "gap_mean_smooth": 4.5, "bound": 4.51}
    return _rows(
        claim_id,
        [
            ({key: "mnist1d"}, seeds(over_effect, 0.2, extra)),
            ({key: "digits"}, seeds(cal_effect, excess_cal, extra)),
        ],
    )


@pytest.mark.parametrize(
    ("claim_id", "key", "arm"),
    [
        ("mixup-calibration", "setting", "mixup"),
        ("label-smoothing-bounded-logits", "data", "smooth"),
    ],
)
@pytest.mark.parametrize(
    ("over", "cal", "excess_cal", "expected"),
    [
        (-0.1, 0.08, 0.01, "CONDITIONAL"),
        (-0.1, -0.05, 0.01, "SUPPORTED"),
        (0.05, 0.08, 0.01, "NOT SUPPORTED"),
        (-0.1, 0.08, 0.2, "INCONCLUSIVE"),  # the "calibrated" baseline is over-confident
    ],
)
def test_calibration_verdicts_turn_on_ece(claim_id, key, arm, over, cal, excess_cal, expected):
    rows = _calibration(claim_id, key, arm, over, cal, excess_cal)
    assert _verdict(claim_id, rows).outcome == expected


# ----------------------------------------------------------------------- augmentation


def _augmentation(flip_effect: float, clean_effect: float, flip_step: float = 0.002):
    per_seed = []
    for j in NOISE:
        m = {"n_test": 797.0}
        for arm in ("none", "shift", "rotate"):
            m[f"clean_acc_{arm}"] = 0.95 + (clean_effect + 0.001 * j if arm != "none" else 0.0)
            for t in ("shift", "rotate"):
                trained = arm == t
                m[f"{t}_flip_{arm}"] = 0.5 + (flip_effect + flip_step * j if trained else 0.0)
                m[f"{t}_acc_{arm}"] = 0.6
                m[f"{t}_kl_{arm}"] = 0.3
        per_seed.append(m)
    return _rows("augmentation-enforces-invariance", [({"n_train": 1000}, per_seed)])


@pytest.mark.parametrize(
    ("flip", "clean", "step", "expected"),
    [
        (-0.3, -0.002, 0.002, "SUPPORTED"),  # invariance bought within the 1-point margin
        (-0.3, -0.05, 0.002, "NOT SUPPORTED"),  # invariance bought with clean accuracy
        (0.0, 0.0, 0.002, "NOT SUPPORTED"),  # no invariance gained (CI excludes 2 points)
        (-0.01, 0.0, 0.02, "INCONCLUSIVE"),  # CI holds both 0 and the smallest effect
        (0.05, 0.0, 0.002, "NOT SUPPORTED"),  # flips more often
    ],
)
def test_augmentation_needs_invariance_and_clean_non_inferiority(flip, clean, step, expected):
    rows = _augmentation(flip, clean, step)
    assert _verdict("augmentation-enforces-invariance", rows).outcome == expected


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [(-0.005, 0.01, "SUPPORTED"), (-0.03, -0.02, "NOT SUPPORTED"), (-0.02, 0.01, "INCONCLUSIVE")],
)
def test_non_inferiority_against_the_margin(low, high, expected):
    e = Effect("clean", (low + high) / 2, low, high, 8)
    assert non_inferior(e, 0.01) == expected
    with pytest.raises(ValueError, match="margin=0"):
        non_inferior(e, 0)


# ------------------------------------------------------------- single-effect claims


def _pairs(claim_id, params, treated, control, effect, base, extra=None, step=0.001):
    return _rows(
        claim_id,
        [
            (
                params,
                [
                    {treated: base + effect + step * j, control: base, **(extra or {})}
                    for j in NOISE
                ],
            )
        ],
    )


@pytest.mark.parametrize(("effect", "expected"), [(-0.01, "SUPPORTED"), (0.005, "NOT SUPPORTED")])
def test_cutmix_vs_mixup_turns(effect, expected):
    extra = {"train_error_mixup": 0.0, "train_error_cutmix": 0.0}
    rows = _pairs("cutmix-vs-mixup", {"n_train": 300}, "test_error_cutmix",
                  "test_error_mixup", effect, 0.04, extra, step=0.0005)  # fmt: skip
    assert _verdict("cutmix-vs-mixup", rows).outcome == expected


@pytest.mark.parametrize(
    ("effect", "expected"), [(0.05, "SUPPORTED"), (-0.02, "NOT SUPPORTED"), (0.01, "INCONCLUSIVE")]
)
def test_mc_dropout_uncertainty_turns(effect, expected):
    extra = {"auroc_mc_entropy": 0.9, "error_ws": 0.04, "error_mc": 0.04, "nll_ws": 0.1,
             "nll_mc": 0.1}  # fmt: skip
    rows = _pairs("mc-dropout-uncertainty", {"p": 0.5}, "auroc_mc_var", "auroc_maxprob",
                  effect, 0.9, extra, step=0.01)  # fmt: skip
    assert _verdict("mc-dropout-uncertainty", rows).outcome == expected


def _two_rates(claim_id, treated, control, effects, extra):
    pts = []
    for p, eff in effects.items():
        pts.append(
            ({"p": p}, [{treated: 0.05 + eff + 0.001 * j, control: 0.05, **extra} for j in NOISE])
        )
    return _rows(claim_id, pts)


@pytest.mark.parametrize(
    ("effects", "expected"),
    [
        ({0.1: 0.02, 0.5: 0.03}, "SUPPORTED"),
        ({0.1: 0.0, 0.5: 0.03}, "NOT SUPPORTED"),  # no cost at the low rate
    ],
)
def test_forgot_eval_needs_a_cost_at_every_rate(effects, expected):
    extra = {"ece_eval": 0.02, "ece_train": 0.03, "flip_between_calls": 0.05}
    rows = _two_rates("dropout-forgot-eval", "test_error_train", "test_error_eval", effects, extra)
    assert _verdict("dropout-forgot-eval", rows).outcome == expected


@pytest.mark.parametrize(
    ("effects", "expected"),
    [
        ({0.2: 0.02, 0.5: 0.05, 0.8: 0.2}, "SUPPORTED"),
        ({0.2: 0.0, 0.5: 0.05, 0.8: 0.2}, "NOT SUPPORTED"),
    ],
)
def test_inference_scaling_needs_a_drop_at_every_rate(effects, expected):
    extra = {
        "z_inverted": 0.5, "z_mask_only": -0.5, "ratio_inverted": 1.0, "ratio_mask_only": 0.5,
        "error_inverted": 0.05, "nll_naive": 0.3, "nll_fixed": 0.2,
    }  # fmt: skip
    rows = _two_rates("dropout-inference-scaling", "error_naive", "error_fixed", effects, extra)
    assert _verdict("dropout-inference-scaling", rows).outcome == expected


@pytest.mark.parametrize(
    ("effects", "expected"),
    [
        ({"spatial": -0.03, "droppath": -0.03, "dropconnect": -0.03}, "SUPPORTED"),
        ({"spatial": -0.03, "droppath": 0.02, "dropconnect": -0.03}, "NOT SUPPORTED"),
    ],
)
def test_dropout_variants_join_by_intersection_union(effects, expected):
    pts = []
    for s, eff in effects.items():
        seeds = []
        for j in NOISE:
            seeds.append({"test_error_none": 0.45, "test_error_dropout": 0.4,
                          "test_error_variant": 0.4 + eff + 0.001 * j, "train_error_none": 0.0,
                          "train_error_dropout": 0.1, "train_error_variant": 0.1})  # fmt: skip
        pts.append(({"setting": s}, seeds))
    rows = _rows("dropout-variants-in-use", pts)
    assert _verdict("dropout-variants-in-use", rows).outcome == expected


@pytest.mark.parametrize(
    ("ratio_dropout", "ratio_augment", "expected"),
    [(0.5, 0.4, "SUPPORTED"), (1.0, 0.4, "NOT SUPPORTED")],
)
def test_bias_variance_turns_on_the_variance_ratio(ratio_dropout, ratio_augment, expected):
    seeds = []
    for j in NOISE:
        v = 0.05 * (1 + 0.01 * j)
        seeds.append({"variance_plain": 0.05, "variance_dropout": v * ratio_dropout,
                      "variance_augment": v * ratio_augment, "bias2_plain": 0.1,
                      "bias2_dropout": 0.12, "bias2_augment": 0.1, "loss_plain": 0.2,
                      "loss_dropout": 0.2, "loss_augment": 0.2, "noise": 0.09})  # fmt: skip
    rows = _rows("perturbation-bias-variance", [({"steps": 300}, seeds)])
    v = _verdict("perturbation-bias-variance", rows)
    assert v.outcome == expected
    assert math.isclose(v.effects[1].estimate, math.log(ratio_augment), abs_tol=1e-3)


@pytest.mark.parametrize(
    ("one_pass", "repeated", "expected"),
    [(0.01, -0.05, "CONDITIONAL"), (-0.05, -0.05, "SUPPORTED"), (0.01, 0.02, "NOT SUPPORTED")],
)
def test_one_pass_verdict_is_conditional_on_repetition(one_pass, repeated, expected):
    def seeds(eff):
        return [{"test_loss_plain": 1.5, "test_loss_dropout": 1.5 + eff + 0.001 * j,
                 "train_loss_plain": 1.4, "train_loss_dropout": 1.45, "entropy_rate": 1.2,
                 "n_train": 1000.0} for j in NOISE]  # fmt: skip

    rows = _rows(
        "dropout-one-pass",
        [({"regime": "one-pass"}, seeds(one_pass)), ({"regime": "repeated"}, seeds(repeated))],
    )
    assert _verdict("dropout-one-pass", rows).outcome == expected


# ----------------------------------------------------------------------- exact checks


@pytest.mark.parametrize(("error", "expected"), [(1e-15, "PASS"), (1e-6, "FAIL")])
def test_geometric_mean_exact_check_fails_above_the_rounding_bound(error, expected):
    rows = _rows(
        "dropout-geometric-mean",
        [
            (
                {"p": 0.5},
                [{"ngm_vs_weight_scaling": error, "am_vs_weight_scaling": 0.1, "mc_vs_am": 0.01,
                  "mc_vs_ngm": 0.1, "mask_prob_sum_error": 0.0, "max_abs_log_prob": 20.0,
                  "ws_max_prob": [0.9, 0.8], "am_max_prob": [0.85, 0.7]}],
            )
        ],
    )  # fmt: skip
    assert _verdict("dropout-geometric-mean", rows).outcome == expected
