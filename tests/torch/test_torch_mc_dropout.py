"""MC dropout: only dropout modules sample, BatchNorm statistics untouched, modes restored."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def make_model():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5), rt.Dropout(0.3),
        nn.Linear(16, 3),
    )  # fmt: skip
    model.train()
    model(torch.randn(32, 5))  # give BN non-trivial running stats
    return model


def test_mc_dropout_enables_only_dropout_and_restores_modes():
    model = make_model()
    model[5].eval()  # an unusual mixed state must be restored exactly
    before = [m.training for m in model.modules()]
    with rt.mc_dropout(model) as m:
        assert m is model
        assert not model[1].training and not model[0].training
        assert model[3].training and model[4].training
    assert [m.training for m in model.modules()] == before


def test_mc_dropout_leaves_batchnorm_stats_untouched():
    model = make_model()
    bn = model[1]
    stats = {k: v.clone() for k, v in bn.state_dict().items()}
    with rt.mc_dropout(model):
        model(torch.randn(8, 5))
    for k, v in bn.state_dict().items():
        assert torch.equal(v, stats[k]), k


def test_mc_predict_matches_manual_loop():
    model = make_model()
    x = torch.randn(4, 5)
    torch.manual_seed(11)
    mean, var = rt.mc_predict(model, x, samples=20)
    torch.manual_seed(11)
    with rt.mc_dropout(model), torch.no_grad():
        outs = torch.stack([model(x) for _ in range(20)])
    assert torch.allclose(mean, outs.mean(0), atol=1e-6)
    assert torch.allclose(var, outs.var(0, correction=0), atol=1e-5)
    assert (var > 0).all()  # dropout is on
    assert model.training  # restored
    # without any stochastic module the variance would be exactly zero: refused
    det = nn.Sequential(nn.Linear(5, 3))
    with pytest.raises(ValueError, match="zero variance"):
        rt.mc_predict(det, x, samples=3)


def test_mc_predict_bad_samples():
    with pytest.raises(ValueError, match="samples"):
        rt.mc_predict(make_model(), torch.randn(2, 5), samples=0)
    with pytest.raises(TypeError, match="model"):
        with rt.mc_dropout("not a model"):
            pass
