"""reglab.testing.check_penalty / check_datafit on every penalty and datafit, and on broken ones."""

import numpy as np
import pytest

from reglab.linear import L1, L1L2, L2, Logistic, Multinomial, Quadratic
from reglab.testing import check_datafit, check_penalty

WEIGHTS = np.array([0.0, 1.0, 2.0, 1.0, 0.5, 1.0])
PENALTIES = [
    L1(0.3),
    L2(0.5),
    L1L2(0.4, 0.3),
    L1L2(0.4, 1.0),
    L1L2(0.4, 0.0),
    L1(0.2, weights=WEIGHTS),
    L1L2(0.3, 0.5, weights=WEIGHTS),
    L2(0.3, weights=WEIGHTS),
    L1(0.2, positive=True),
    L1L2(0.3, 0.7, positive=True),
    L2(0.3, positive=True),
]
DATAFITS = [Quadratic(), Logistic(), Multinomial()]


@pytest.mark.parametrize("penalty", PENALTIES, ids=repr)
def test_check_penalty_passes(penalty):
    check_penalty(penalty)


@pytest.mark.parametrize("datafit", DATAFITS, ids=repr)
def test_check_datafit_passes(datafit):
    check_datafit(datafit)


class _WrongProx(L1):
    def prox(self, w, step):
        return super().prox(w, 0.5 * step)  # thresholds at half the right level


class _WrongAlphaMax(L1):
    def alpha_max(self, grad0):
        return 2.0 * super().alpha_max(grad0)


class _WrongGradient(Quadratic):
    def gradient(self, X, y, w, intercept=0.0, sample_weight=None):
        return 1.01 * super().gradient(X, y, w, intercept, sample_weight)


class _WrongLipschitz(Logistic):
    def lipschitz(self, X, sample_weight=None):
        return 0.3 * super().lipschitz(X, sample_weight)


def test_check_penalty_catches_wrong_prox():
    with pytest.raises(AssertionError, match="numerical argmin"):
        check_penalty(_WrongProx(0.5))


def test_check_penalty_catches_wrong_alpha_max():
    with pytest.raises(AssertionError, match="alpha_max"):
        check_penalty(_WrongAlphaMax(0.5))


def test_check_datafit_catches_wrong_gradient():
    with pytest.raises(AssertionError, match="finite differences"):
        check_datafit(_WrongGradient())


def test_check_datafit_catches_wrong_lipschitz():
    with pytest.raises(AssertionError, match="Lipschitz"):
        check_datafit(_WrongLipschitz())
