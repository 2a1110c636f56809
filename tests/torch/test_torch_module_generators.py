"""Every stochastic module takes ``generator=``: the same seed gives the same draws, and the
module agrees with its functional form under that seed."""

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402


def _modules(gen):
    return {
        "Dropout": (rt.Dropout(0.4, generator=gen), torch.randn(6, 8)),
        "ChannelDropout": (
            rt.ChannelDropout(0.4, layout="NCHW", generator=gen),
            torch.randn(4, 5, 3, 3),
        ),
        "LockedDropout": (
            rt.LockedDropout(0.4, batch_first=True, generator=gen),
            torch.randn(3, 7, 5),
        ),
        "DropPath": (rt.DropPath(0.4, generator=gen), torch.randn(16, 4)),
        "DropConnect": (rt.DropConnect(nn.Linear(5, 3), 0.4, generator=gen), torch.randn(2, 5)),
        "GaussianNoise": (rt.GaussianNoise(0.3, generator=gen), torch.randn(6, 8)),
        "WeightNoise": (rt.WeightNoise(nn.Linear(5, 3), 0.3, generator=gen), torch.randn(2, 5)),
    }


@pytest.mark.parametrize("name", list(_modules(None)))
def test_module_generator_reproduces_its_draws(name):
    torch.manual_seed(0)
    module, x = _modules(None)[name]
    module.train()
    gen = torch.Generator().manual_seed(123)
    module.generator = gen
    first = module(x)
    gen.manual_seed(123)
    torch.manual_seed(999)  # the global RNG must not matter
    second = module(x)
    assert torch.equal(first, second)
    gen.manual_seed(7)
    assert not torch.equal(first, module(x))


def test_dropout_module_equals_the_function_under_one_seed():
    x = torch.randn(50, 20)
    module = rt.Dropout(0.3, generator=torch.Generator().manual_seed(5))
    expected = rt.dropout(x, 0.3, True, generator=torch.Generator().manual_seed(5))
    assert torch.equal(module(x), expected)
