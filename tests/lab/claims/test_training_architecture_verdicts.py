"""Verdict rules of the SAM / SGD-noise / early-stopping / architecture claims on SYNTHETIC rows.

Each test builds stored rows by hand with a chosen effect and checks that the verdict turns
when the effect crosses its threshold (SCIENCE.md, "Tests"). No test runs an experiment or
asserts the verdict of a real run.
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from reglab.lab.claim import Rows, RunRow, get_claim  # noqa: E402
from reglab.lab.stats import (  # noqa: E402
    CONDITIONAL,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
)


def _rows(claim_id: str, metrics_of_seed, n: int = 10, params=None) -> Rows:
    return Rows(
        RunRow(claim_id, dict(params or {}), seed, seed, metrics_of_seed(seed)) for seed in range(n)
    )


def _jitter(seed: int, scale: float) -> float:
    # deterministic, mean-zero over seeds 0..9 (alternating signs), so the CI is narrow
    return scale * (1 if seed % 2 else -1) * (1 + 0.1 * (seed % 3))


def _outcome(claim_id: str, rows: Rows) -> str:
    import matplotlib.pyplot as plt

    v = get_claim(claim_id).verdict(rows)
    plt.close("all")
    assert v.sentence and v.effects
    return v.outcome


# --- early stopping ----------------------------------------------------------------------


def _restore_metrics(diff: float):
    def m(seed):
        out = {"val_loss": [1.0, 0.9], "test_loss": [1.0, 0.9], "train_loss": [1.0, 0.5]}
        for p in (3, 10):
            stopped = 1.4 + 0.01 * seed
            restored = stopped + diff + _jitter(seed, 0.002)
            out |= {
                f"stopped_epoch_p{p}": 12.0,
                f"best_epoch_p{p}": 9.0,
                f"did_stop_p{p}": 1.0,
                f"test_loss_restored_p{p}": restored,
                f"test_loss_stopped_p{p}": stopped,
                f"test_clean_loss_restored_p{p}": 1.0,
                f"test_clean_loss_stopped_p{p}": 1.0,
                f"test_err_restored_p{p}": 0.1,
                f"test_err_stopped_p{p}": 0.1,
                f"restored_minus_stopped_p{p}": restored - stopped,
            }
        return out

    return m


@pytest.mark.parametrize(
    ("diff", "expected"), [(-0.05, SUPPORTED), (0.0, NOT_SUPPORTED), (+0.05, NOT_SUPPORTED)]
)
def test_restore_best_turns_on_held_out_superiority(diff, expected):
    rows = _rows("early-stopping-restore-best", _restore_metrics(diff), params={"max_epochs": 40})
    assert _outcome("early-stopping-restore-best", rows) == expected


def test_restore_best_few_seeds_with_noise_is_inconclusive():
    def m(seed):
        out = _restore_metrics(-0.01)(seed)
        for p in (3, 10):
            out[f"test_loss_restored_p{p}"] += 0.05 * (-1) ** seed
        return out

    rows = _rows("early-stopping-restore-best", m, n=4, params={"max_epochs": 40})
    assert _outcome("early-stopping-restore-best", rows) == INCONCLUSIVE


@pytest.mark.parametrize(("cost", "expected"), [(0.05, SUPPORTED), (0.0, NOT_SUPPORTED)])
def test_patience_turns_on_the_cost_of_a_short_patience(cost, expected):
    def m(seed):
        out = {"val_loss": [1.0]}
        for p in (1, 3, 10, 20):
            extra = cost + _jitter(seed, 0.002) if p == 1 else 0.0
            out |= {
                f"epochs_p{p}": 10.0 + p,
                f"missed_p{p}": float(p == 1),
                f"val_regret_p{p}": 0.0,
                f"test_loss_p{p}": 1.4 + extra,
            }
        out["restored_short_minus_long"] = out["test_loss_p1"] - out["test_loss_p20"]
        return out

    assert _outcome("early-stopping-patience", _rows("early-stopping-patience", m)) == expected


@pytest.mark.parametrize(("bias", "expected"), [(0.02, SUPPORTED), (0.0, NOT_SUPPORTED)])
def test_leakage_turns_on_the_optimism_of_choosing_on_test(bias, expected):
    def m(seed):
        out = {}
        for name, opt in (("honest", 0.0), ("leaky", bias + _jitter(seed, 0.0005))):
            out |= {
                f"epoch_{name}": 10.0,
                f"reported_{name}": 0.1 - opt,
                f"fresh_{name}": 0.1,
                f"optimism_{name}": opt,
            }
        out["optimism_leaky_minus_honest"] = out["optimism_leaky"] - out["optimism_honest"]
        return out

    assert _outcome("early-stopping-leakage", _rows("early-stopping-leakage", m)) == expected


# --- SAM -----------------------------------------------------------------------------------


def _sam_metrics(flat_ratio: float, err_diff: dict[float, float]):
    def m_for(noise):
        def m(seed):
            out = {"noise": noise}
            for name in ("sgd", "sam"):
                sam = name == "sam"
                lam = 0.3 * (flat_ratio * math.exp(_jitter(seed, 0.01)) if sam else 1.0)
                err = 0.1 + (err_diff[noise] + _jitter(seed, 0.0003) if sam else 0.0)
                out |= {
                    f"lambda_max_{name}": lam,
                    f"eps_sharpness_{name}": lam / 10,
                    f"eps_sharpness_small_{name}": 1e-3,
                    f"grad_norm_{name}": 1e-3,
                    f"first_order_share_{name}": 0.2,
                    f"train_loss_{name}": 0.0099,
                    f"epochs_{name}": 50.0,
                    f"test_err_{name}": err,
                    f"test_loss_{name}": 0.3,
                }
            out["test_err_diff"] = out["test_err_sam"] - out["test_err_sgd"]
            return out

        return m

    rows = []
    for noise in (0.0, 0.2):
        rows += list(_rows("sam-flatter-minima", m_for(noise), n=6, params={"noise": noise}))
    return Rows(rows)


@pytest.mark.parametrize(
    ("flat_ratio", "err_diff", "expected"),
    [
        (0.7, {0.0: -0.01, 0.2: -0.02}, SUPPORTED),
        (0.7, {0.0: 0.0, 0.2: -0.02}, CONDITIONAL),
        (0.7, {0.0: -0.01, 0.2: 0.0}, NOT_SUPPORTED),
        (1.0, {0.0: -0.01, 0.2: -0.02}, NOT_SUPPORTED),
    ],
)
def test_sam_verdict_joins_flatness_and_test_error(flat_ratio, err_diff, expected):
    rows = _sam_metrics(flat_ratio, err_diff)
    assert _outcome("sam-flatter-minima", rows) == expected


def test_sam_join_rule():
    from reglab.lab.claims.function.sam_flatter_minima import join

    assert join(SUPPORTED, CONDITIONAL) == CONDITIONAL
    assert join(NOT_SUPPORTED, SUPPORTED) == NOT_SUPPORTED
    assert join(INCONCLUSIVE, SUPPORTED) == INCONCLUSIVE
    assert join(INCONCLUSIVE, NOT_SUPPORTED) == NOT_SUPPORTED


# --- SGD noise -----------------------------------------------------------------------------


def _sgd_rows(small_over_large: float, gap_diff: float) -> Rows:
    def m(seed):
        base_gap = 0.05 + 0.01 * (seed % 4)  # the split moves every arm's gap together
        lam = {"small": 18.0 * small_over_large, "large": 18.0, "gd": 30.0}
        gap = {"small": base_gap + gap_diff, "large": base_gap, "gd": base_gap}
        # within a seed the gap follows the sharpness (for the rank correlation)
        if gap_diff < 0:
            gap["large"] = base_gap + gap_diff / 2
        out = {}
        for a in ("small", "large", "gd"):
            s = lam[a] * math.exp(_jitter(seed, 0.01))
            g = gap[a] + _jitter(seed, 0.0002)
            out |= {
                f"sharpness_{a}": s,
                f"stability_ratio_{a}": 0.5,
                f"steps_{a}": 1000.0,
                f"train_loss_{a}": 0.05,
                f"test_loss_{a}": 0.05 + g,
                f"gap_{a}": g,
                f"test_err_{a}": 0.05,
            }
        out["gap_small_minus_gd"] = out["gap_small"] - out["gap_gd"]
        return out

    return _rows("sgd-noise-flat-minima", m, params={"arms": ["small", "large", "gd"]})


def test_sgd_noise_supported_when_every_link_holds():
    assert _outcome("sgd-noise-flat-minima", _sgd_rows(0.6, -0.01)) == SUPPORTED


@pytest.mark.parametrize(("ratio", "gap"), [(1.0, -0.01), (0.6, 0.0)])
def test_sgd_noise_not_supported_when_a_link_fails(ratio, gap):
    assert _outcome("sgd-noise-flat-minima", _sgd_rows(ratio, gap)) == NOT_SUPPORTED


def test_spearman_centred_removes_the_seed_effect():
    from reglab.lab.claims.training.sgd_noise_flat_minima import _spearman_centred

    # within every seed the gap increases with sharpness; seed offsets are huge and reversed
    s = np.array([[1.0, 2.0, 3.0], [11.0, 12.0, 13.0]])
    g = np.array([[10.1, 10.2, 10.3], [0.1, 0.2, 0.3]])
    from scipy.stats import spearmanr

    assert _spearman_centred(np.column_stack([s, g])) > 0.9
    assert spearmanr(s.ravel(), g.ravel()).statistic < 0  # pooled without centring


@pytest.mark.parametrize(
    ("same_ratio", "across_ratio", "expected"),
    [(1.0, 2.0, SUPPORTED), (1.5, 2.0, NOT_SUPPORTED), (1.0, 1.0, NOT_SUPPORTED)],
)
def test_noise_scale_turns_on_equivalence_and_difference(same_ratio, across_ratio, expected):
    def m(seed):
        lam = {"high_a": 10.0, "high_b": 10.0 * same_ratio}
        lam |= {"low_a": 10.0 * across_ratio, "low_b": 10.0 * across_ratio * same_ratio}
        out = {}
        for p, v in lam.items():
            out |= {
                f"sharpness_{p}": v * math.exp(_jitter(seed, 0.01) * (p[-1] == "b")),
                f"stability_ratio_{p}": 0.5,
                f"steps_{p}": 100.0,
                f"gap_{p}": 0.05,
                f"test_err_{p}": 0.05,
            }
        out["log_sharp_low_over_high"] = math.log(out["sharpness_low_a"] / out["sharpness_high_a"])
        return out

    assert _outcome("sgd-noise-scale", _rows("sgd-noise-scale", m)) == expected


# --- architecture --------------------------------------------------------------------------


@pytest.mark.parametrize(("gain", "expected"), [(0.1, SUPPORTED), (0.0, NOT_SUPPORTED)])
def test_pooling_turns_on_the_flip_rate_reduction(gain, expected):
    def m(seed):
        flips = {"flatten": 0.25, "maxpool2": 0.25 - gain, "globalmax": 0.25 - 1.5 * gain}
        out = {"n_test": 800.0, "exact_globalavg": 1e-16, "exact_globalmax": 1e-16}
        for h, f in flips.items():
            out |= {
                f"flip_rate_{h}": f + _jitter(seed, 0.002) * (h != "flatten"),
                f"test_acc_{h}": 0.95,
                f"shifted_acc_{h}": 0.7,
                f"mean_kl_{h}": 0.1,
                f"feature_change_untrained_{h}": 0.5,
                f"feature_change_trained_{h}": 0.5,
            }
        out["flip_globalmax_minus_flatten"] = out["flip_rate_globalmax"] - out["flip_rate_flatten"]
        return out

    assert _outcome("pooling-invariance", _rows("pooling-invariance", m, n=6)) == expected


@pytest.mark.parametrize(("gain", "expected"), [(0.1, SUPPORTED), (0.0, NOT_SUPPORTED)])
def test_inductive_bias_turns_on_every_contrast(gain, expected):
    def m(seed):
        err = {"cnn": 0.2, "mlp": 0.2 + gain, "gru": 0.3, "attn": 0.3 + gain, "attn_pos": 0.3}
        out = {"n_test": 3000.0}
        for k, e in err.items():
            out |= {
                f"err_{k}": e + _jitter(seed, 0.002) * (k in ("mlp", "attn")),
                f"train_err_{k}": 0.0,
                f"params_{k}": 1000.0,
            }
        out["err_cnn_minus_mlp"] = out["err_cnn"] - out["err_mlp"]
        return out

    rows = _rows("architecture-inductive-bias", m, n=6, params={"n_train": 1000})
    assert _outcome("architecture-inductive-bias", rows) == expected


@pytest.mark.parametrize(
    ("exact_err", "broken_err", "expected"),
    [(1e-16, 0.5, "PASS"), (1e-9, 0.5, "FAIL"), (1e-16, 1e-6, "FAIL")],
)
def test_conv_equivariance_exact_check_fails_on_error_or_insensitivity(
    exact_err, broken_err, expected
):
    import matplotlib.pyplot as plt

    def m(seed):
        out = {k: exact_err for k in ("circular", "zeros_interior", "stride2_even")}
        return out | {k: broken_err for k in ("zeros_whole", "stride2_odd", "dense")}

    v = get_claim("conv-equivariance").verdict(_rows("conv-equivariance", m, n=3))
    plt.close("all")
    assert v.outcome == expected
