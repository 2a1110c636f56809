"""Calibration metrics: closed forms, references and explicit empty bins."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import brier_score_loss, log_loss

from reglab.diagnostics import brier, calibration_bins, ece, mce, nll, reliability_diagram

STRATEGIES = ["uniform", "quantile"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_perfectly_calibrated_has_small_ece(strategy):
    rng = np.random.default_rng(0)
    p = rng.random(50_000)
    y = (rng.random(p.size) < p).astype(int)
    # sampling error only: about sqrt(p(1-p) / bin size) per bin
    assert ece(p, y, strategy=strategy) < 0.01


def test_deterministic_miscalibration_is_exact():
    # confidence 0.8 everywhere, accuracy exactly 0.6: ECE = MCE = 0.2
    probs = np.tile([0.8, 0.1, 0.1], (10, 1))
    labels = np.array([0] * 6 + [1] * 4)
    for strategy in STRATEGIES:
        assert ece(probs, labels, strategy=strategy) == pytest.approx(0.2, abs=1e-12)
        assert mce(probs, labels, strategy=strategy) == pytest.approx(0.2, abs=1e-12)


def test_known_miscalibration_matches_closed_form():
    # scores p ~ U(0, 1) but P(y = 1 | p) = p^2: on the bin (a, b] the mean score is
    # (a + b)/2 and the mean outcome (a^2 + ab + b^2)/3, each bin holding mass 1/15
    rng = np.random.default_rng(1)
    p = rng.random(400_000)
    y = (rng.random(p.size) < p**2).astype(int)
    e = np.linspace(0, 1, 16)
    a, b = e[:-1], e[1:]
    closed = np.sum(np.abs((a + b) / 2 - (a**2 + a * b + b**2) / 3)) / 15
    assert ece(p, y) == pytest.approx(closed, abs=3e-3)
    assert mce(p, y) == pytest.approx(
        np.max(np.abs((a + b) / 2 - (a**2 + a * b + b**2) / 3)), abs=1e-2
    )


def test_empty_bins_are_reported_not_dropped():
    p = np.array([0.81, 0.82, 0.85, 0.88])
    y = np.array([1, 1, 0, 1])
    bins = calibration_bins(p, y, n_bins=10)
    assert bins.counts.shape == (10,) and bins.counts.sum() == 4
    assert bins.empty.sum() == 9 and bins.counts[8] == 4
    assert np.all(np.isnan(bins.accuracy[bins.empty]))
    assert ece(p, y, n_bins=10) == pytest.approx(abs(0.75 - p.mean()))


def test_equal_mass_bins_hold_equal_counts():
    p = np.random.default_rng(2).random(1500)
    bins = calibration_bins(p, np.zeros(1500, int), n_bins=15, strategy="quantile")
    assert bins.counts.max() - bins.counts.min() <= 1


def test_bin_boundaries_are_right_closed():
    bins = calibration_bins(np.array([0.0, 0.5, 0.5000001, 1.0]), np.array([0, 0, 1, 1]), n_bins=2)
    np.testing.assert_array_equal(bins.counts, [2, 2])


def test_nll_and_brier_match_scikit_learn():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=200)
    y = rng.integers(0, 4, 200)
    assert nll(probs, y) == pytest.approx(log_loss(y, probs, labels=range(4)), rel=1e-12)
    p1 = probs[:, 0] / probs[:, :2].sum(axis=1)
    yb = (y % 2).astype(int)
    assert brier(p1, yb) == pytest.approx(brier_score_loss(yb, p1), rel=1e-12)
    # the two-column (multiclass) Brier score is twice the binary one
    two = np.stack([1 - p1, p1], axis=1)
    assert brier(two, yb) == pytest.approx(2 * brier(p1, yb), rel=1e-12)
    assert nll(two, yb) == pytest.approx(nll(p1, yb), rel=1e-12)


def test_nll_of_impossible_label_is_inf():
    with np.errstate(divide="ignore"):
        assert nll(np.array([[1.0, 0.0]]), np.array([1])) == np.inf


def test_bad_input():
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\], got a value 1.2"):
        ece(np.array([0.2, 1.2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="rows of probs must sum to 1, row 1 sums to 0.9"):
        ece(np.array([[0.5, 0.5], [0.4, 0.5]]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        nll(np.array([[0.5, 0.5]]), np.array([2]))
    with pytest.raises(ValueError, match="labels must have shape"):
        brier(np.array([0.5, 0.5]), np.array([1]))
    with pytest.raises(ValueError, match=r"n_bins must be an integer in \[1, "):
        ece(np.array([0.5]), np.array([1]), n_bins=0)
    with pytest.raises(ValueError, match="strategy must be"):
        ece(np.array([0.5]), np.array([1]), strategy="kmeans")
    with pytest.raises(ValueError, match="must be finite"):
        nll(np.array([np.nan]), np.array([1]))


def test_reliability_diagram():
    rng = np.random.default_rng(4)
    p = rng.random(300) * 0.5
    fig = reliability_diagram(p, (rng.random(300) < p).astype(int))
    assert isinstance(fig, Figure)
    assert "ECE" in fig.axes[0].get_title()
