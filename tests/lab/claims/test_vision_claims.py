"""Exact pieces of the vision claims: bounds, invariances, helpers and their errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reglab.diagnostics import ece  # noqa: E402
from reglab.lab.claims import _vision_data as vd  # noqa: E402
from reglab.lab.claims.architecture import conv_equivariance as conv  # noqa: E402
from reglab.lab.claims.architecture import pooling_invariance as pool  # noqa: E402
from reglab.lab.claims.perturbation import label_smoothing_bounded_logits as ls  # noqa: E402
from reglab.torch import label_smoothing_cross_entropy  # noqa: E402


@pytest.mark.parametrize("eps", [0.01, 0.1, 0.3, 0.9])
@pytest.mark.parametrize("k", [2, 10])
def test_gap_bound_is_the_minimiser_of_smoothed_cross_entropy(eps, k):
    # the loss of logits (g, 0, ..., 0) with true class 0 is minimised at g = bound
    bound = ls.gap_bound(eps, k)
    g = torch.linspace(bound - 1, bound + 1, 2001, dtype=torch.float64)
    z = torch.zeros(len(g), k, dtype=torch.float64)
    z[:, 0] = g
    loss = label_smoothing_cross_entropy(
        z, torch.zeros(len(g), dtype=torch.long), eps, reduction="none"
    )
    assert abs(float(g[loss.argmin()]) - bound) <= 1e-3


def test_gap_bound_rejects_no_smoothing():
    with pytest.raises(ValueError, match="eps=0"):
        ls.gap_bound(0)


def test_logit_gaps():
    z = torch.tensor([[3.0, 1.0, -1.0], [0.0, 2.0, 4.0]])
    gaps = ls.logit_gaps(z, torch.tensor([0, 2]))
    assert torch.allclose(gaps, torch.tensor([3.0, 3.0]))


@pytest.mark.parametrize("target", [100, 4858, 20000])
def test_matched_mlp_width_is_the_largest_that_fits(target):
    h = conv.matched_mlp_width(target)
    assert conv.n_params(conv._mlp(h)) <= target < conv.n_params(conv._mlp(h + 1))


def test_convolution_equivariance_exact_and_broken():
    err = conv.equivariance_errors(0)
    for exact in ("circular", "zeros_interior", "stride2_even"):
        assert err[exact] <= conv.EXACT_RTOL
    for broken in ("zeros_whole", "stride2_odd", "dense"):
        assert err[broken] > conv.BROKEN_MIN


def test_global_pooling_exactly_invariant():
    for value in pool.exact_invariance(1).values():
        assert value <= pool.EXACT_RTOL


def test_calibration_metrics_agree_with_ece_and_bootstrap_is_sane():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(10, 0.3), 600)
    labels = rng.integers(0, 10, 600)
    m = vd.calibration_metrics(probs, labels, seed=0)
    assert m["ece"] == pytest.approx(ece(probs, labels))
    # the bootstrap spread matches a plain resampling loop in distribution (same scale)
    boot = np.random.default_rng(1)
    loop = [ece(probs[i], labels[i]) for i in (boot.integers(0, 600, 600) for _ in range(300))]
    assert 0.6 < m["ece_se"] / np.std(loop, ddof=1) < 1.6


def test_digits_split_and_errors():
    x, y, xt, yt = vd.digits(3, 100, 50)
    assert x.shape == (100, 1, 8, 8) and xt.shape == (50, 1, 8, 8)
    assert float(x.max()) <= 1.0 and y.dtype == torch.int64
    x2, *_ = vd.digits(3, 100, 50)
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="n_train=0"):
        vd.digits(0, 0)
    with pytest.raises(ValueError, match="n_test=5000"):
        vd.digits(0, 100, 5000)


def test_mnist1d_argument_errors():
    with pytest.raises(ValueError, match="num_samples=10"):
        vd.mnist1d(10)
    with pytest.raises(ValueError, match="train_split=1.5"):
        vd.mnist1d(200, 1.5)


def test_fit_learns_and_rejects_bad_arguments():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long()
    model = vd.mlp(4, 0, hidden=16, depth=1, n_classes=2)
    vd.fit(model, x, y, epochs=60, batch_size=16, lr=1e-2, generator=g)
    assert vd.accuracy(model, x, y) >= 0.95
    with pytest.raises(ValueError, match="optimizer must be"):
        vd.fit(model, x, y, epochs=1, batch_size=8, lr=0.1, generator=g, optimizer="lbfgs")
    with pytest.raises(ValueError, match="batch_size=0"):
        vd.fit(model, x, y, epochs=1, batch_size=0, lr=0.1, generator=g)
