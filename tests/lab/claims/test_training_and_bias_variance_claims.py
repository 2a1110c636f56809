"""The verdicts of the training and bias-variance claims can fail, and bad input is refused.

The smoke test (tests/lab/test_claims_smoke.py) shows that each claim passes on its smoke
grid; here every verdict is fed the smoke grid's own rows with one metric pushed past its
threshold in every run, and must then say FAIL: the thresholds are wired to the verdict.
"""

from __future__ import annotations

import copy

import matplotlib
import numpy as np
import pytest

from reglab.lab.claim import Rows, RunRow, get_claim
from reglab.lab.runner import derive_seed

matplotlib.use("Agg")


def _smoke_rows(claim_id: str) -> Rows:
    claim = get_claim(claim_id)
    rows = []
    for params in claim.param_grid(smoke=True):
        for rep in range(claim.smoke_seeds):
            seed = derive_seed(claim_id, params, rep)
            rows.append(RunRow(claim_id, params, seed, rep, claim.run(params, seed)))
    return Rows(rows)


def _corrupt(rows: Rows, change) -> Rows:
    out = []
    for r in rows:
        metrics = copy.deepcopy(r.metrics)
        change(metrics)
        out.append(RunRow(r.claim_id, r.params, r.seed, r.repetition, metrics))
    return Rows(out)


def _set(name, value):
    def change(m):
        m[name] = value

    return change


def _flatten_peak(m):
    # a curve without a peak: min-norm risk equal to the tuned ridge everywhere
    m["risk"] = list(m["ridge_risk"])


def _monotone_error(m):
    # a test error that only grows with alpha: its minimum sits at the grid's left end
    m["test_error"] = np.linspace(1.0, 5.0, len(m["test_error"])).tolist()


CASES = {
    "early-stopping-is-ridge": [
        _set("max_ratio_gd", 1.70),
        _set("max_abs_z", 4.5),
        _set("iterate_rel_error", 1e-6),
    ],
    "min-norm-implicit-bias": [
        _set("rel_error_zero", 1e-6),
        _set("null_drift", 1e-8),
        _set("distance_between", 0.0),
    ],
    "double-descent": [_flatten_peak],
    "bias-variance-u-curve": [_monotone_error],
    "bias-variance-identity": [_set("z", 4.5), _set("z", -4.5)],
}


@pytest.fixture(scope="module")
def smoke_rows():
    cache: dict[str, Rows] = {}

    def get(claim_id):
        if claim_id not in cache:
            cache[claim_id] = _smoke_rows(claim_id)
        return cache[claim_id]

    return get


@pytest.mark.parametrize(
    ("claim_id", "case"),
    [(cid, i) for cid, changes in CASES.items() for i in range(len(changes))],
)
def test_verdict_fails_past_its_threshold(claim_id, case, smoke_rows):
    import matplotlib.pyplot as plt

    claim = get_claim(claim_id)
    rows = smoke_rows(claim_id)
    good = claim.verdict(rows)
    assert good.passed, good.evidence
    bad = claim.verdict(_corrupt(rows, CASES[claim_id][case]))
    assert not bad.passed, bad.evidence
    plt.close("all")


@pytest.mark.parametrize(
    ("claim_id", "params", "match"),
    [
        ("early-stopping-is-ridge", {"design": "banded", "step": 1.0}, "design must be"),
        ("min-norm-implicit-bias", {"shape": "3x2"}, "shape must be one of"),
        ("double-descent", {"setting": "cifar", "points": 5, "rounds": 2}, "setting must be"),
        (
            "bias-variance-u-curve",
            {"design": "p1_n1", "intercept": False, "rounds": 5},
            "design must be one of",
        ),
        ("bias-variance-identity", {"setting": "svm", "rounds": 5}, "setting must be one of"),
    ],
)
def test_unknown_setting_is_refused(claim_id, params, match):
    with pytest.raises(ValueError, match=match):
        get_claim(claim_id).run(params, 0)


def test_early_stopping_claim_uses_ali_kolter_tibshirani_constant():
    from reglab.diagnostics import ALI_KOLTER_TIBSHIRANI_BOUND
    from reglab.lab.claims.training.early_stopping_is_ridge import AKT_BOUND

    # the constant is max_x (1 - e^-x)^2 (1 + x)^2 / x^2, computed here independently
    x = np.linspace(1e-3, 10, 200_001)
    exact = np.max((1 - np.exp(-x)) ** 2 * (1 + x) ** 2 / x**2)
    assert AKT_BOUND == ALI_KOLTER_TIBSHIRANI_BOUND
    assert exact <= AKT_BOUND < exact + 1e-3  # max is 1.68591; the paper states 1.6862
