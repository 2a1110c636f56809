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


# ---------------------------------------------------------------- issue 14: fused paths
class _Attend(nn.Module):
    def __init__(self, mha):
        super().__init__()
        self.mha = mha

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


class _Recur(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


HOSTS = {
    # eval mode takes torch's fused fast path, which skips the dropout submodules
    "TransformerEncoderLayer": (
        lambda: nn.TransformerEncoderLayer(16, 4, 32, dropout=0.3, batch_first=True),
        ["", "self_attn", "dropout", "dropout1", "dropout2"],
    ),
    "TransformerEncoder": (
        lambda: nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 4, 32, dropout=0.3, batch_first=True),
            2,
            enable_nested_tensor=False,
        ),
        None,
    ),
    # attention dropout: dropout_p = self.dropout if self.training else 0
    "MultiheadAttention": (
        lambda: _Attend(nn.MultiheadAttention(16, 4, 0.3, batch_first=True)),
        ["mha"],
    ),  # fmt: skip
    # inter-layer dropout of stacked recurrent layers
    "LSTM": (lambda: _Recur(nn.LSTM(16, 16, 2, dropout=0.3, batch_first=True)), ["rnn"]),
    "GRU": (lambda: _Recur(nn.GRU(16, 16, 2, dropout=0.3, batch_first=True)), ["rnn"]),
}


@pytest.mark.parametrize("name", HOSTS)
def test_mc_predict_samples_dropout_inside_torch_layers(name):
    torch.manual_seed(0)
    make, expected = HOSTS[name]
    layer = make()
    model = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(5), layer).eval()
    model[1].running_mean.normal_()
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(3, 5, 16)
    mean, var, modules = rt.mc_predict(model, x, samples=8, return_modules=True)
    assert (var > 0).any(), "dropout inside the layer was not sampled"
    if expected is not None:
        assert modules == [f"2.{m}" if m else "2" for m in expected]
    assert modules == rt.mc_dropout_modules(model)
    for k, v in model.state_dict().items():  # BatchNorm statistics untouched
        assert torch.equal(v, buffers[k]), k
    assert not any(m.training for m in model.modules())  # modes restored
    # the same layers with dropout 0 give zero variance: only dropout was switched on
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        if isinstance(m, nn.MultiheadAttention | nn.RNNBase):
            m.dropout = 0.0
    _, var0 = rt.mc_predict(model, x, samples=3)
    assert torch.allclose(var0, torch.zeros_like(var0), atol=1e-10)
