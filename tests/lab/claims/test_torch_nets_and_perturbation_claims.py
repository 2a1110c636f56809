"""The shared seeded torch helpers and the exact identities behind the perturbation claims."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reglab.lab.claims import _torch_nets as nets  # noqa: E402
from reglab.lab.claims.perturbation import dropout_is_adaptive_l2 as dal2  # noqa: E402
from reglab.lab.claims.perturbation.dropout_geometric_mean import _auroc  # noqa: E402

pytestmark = pytest.mark.torch


def _params(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def test_mlp_is_a_function_of_the_seed():
    a = nets.mlp([5, 7, 3], nets.generator(3), p=0.5)
    b = nets.mlp([5, 7, 3], nets.generator(3), p=0.5)
    c = nets.mlp([5, 7, 3], nets.generator(4), p=0.5)
    assert torch.equal(_params(a), _params(b))
    assert not torch.equal(_params(a), _params(c))
    # torch's default init distribution: |w| <= 1/sqrt(fan_in)
    assert float(a[0].weight.detach().abs().max()) <= (1 + 1e-6) / np.sqrt(5)  # float32 rounding


def test_seeded_dropout_is_inverted_reproducible_and_seen_by_mc_predict():
    from reglab.torch import mc_predict

    x = torch.ones(1000)
    out1 = nets.SeededDropout(0.25, nets.generator(0))(x)
    out2 = nets.SeededDropout(0.25, nets.generator(0))(x)
    assert torch.equal(out1, out2)
    kept = torch.tensor(1.0) / 0.75  # x/(1-p) exactly, in float32
    assert set(out1.unique().tolist()) <= {0.0, float(kept)}
    net = nets.mlp([4, 16, 2], nets.generator(1), p=0.5)
    net.eval()
    _, var = mc_predict(net, torch.randn(3, 4, generator=nets.generator(2)), samples=8)
    assert float(var.sum()) > 0  # dropout was switched on by mc_predict
    assert not net[2].training  # and switched back


def test_mlp_and_digits_reject_bad_arguments():
    with pytest.raises(ValueError, match="sizes must list"):
        nets.mlp([5], nets.generator(0))
    with pytest.raises(ValueError, match="n_train must be in"):
        nets.digits(0, 0)


def test_digits_split_is_seeded_and_standardised():
    X, y, Xt, yt = nets.digits(7, 300)
    X2, y2, _, _ = nets.digits(7, 300)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert X.shape == (300, 64) and Xt.shape == (1797 - 300, 64)
    assert float(X.mean(dim=0).abs().max()) < 1e-5


def test_train_classifier_lowers_the_loss_and_error_rate_restores_mode():
    gen = nets.generator(0)
    X, y, _, _ = nets.digits(0, 200)
    net = nets.mlp([64, 32, 10], gen)
    history = nets.train_classifier(net, X, y, gen, epochs=5, lr=1e-2, batch_size=50)
    assert history[-1] < history[0]
    net.train()
    assert 0 <= nets.error_rate(net, X, y) < 0.5
    assert net.training


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_expected_loss_enumeration_matches_wager_formula(p):
    rng = np.random.default_rng(0)
    X, y = dal2._design(rng, 4, 3)
    w = rng.standard_normal(3)
    exact, formula = dal2._enumerated(X, y, w, p), dal2._formula(X, y, w, p)
    assert exact == pytest.approx(formula, rel=1e-12)


def test_auroc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    positive = rng.random(200) < 0.2
    score = rng.standard_normal(200) + positive
    auc, se = _auroc(score, positive)
    assert auc == pytest.approx(roc_auc_score(positive, score), abs=1e-12)
    assert 0 < se < 0.1
