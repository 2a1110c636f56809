"""Bad input to the training and bias-variance claims is refused; constants are checked.

Whether each verdict rule turns at its threshold is tested on synthetic rows in
``test_linear_claims_verdict_rules.py``; no test asserts the verdict of a real run.
"""

from __future__ import annotations

import numpy as np
import pytest

from reglab.lab.claim import get_claim


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
