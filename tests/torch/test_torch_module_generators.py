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


def test_gradient_noise_state_round_trip_resumes_the_same_noise():
    def run(steps, resume_from=None):
        p = nn.Parameter(torch.zeros(5))
        noise = rt.GradientNoise([p], generator=torch.Generator().manual_seed(3))
        if resume_from is not None:
            noise.load_state_dict(resume_from)
        out = []
        for _ in range(steps):
            p.grad = torch.zeros(5)
            noise.step()
            out.append(p.grad.clone())
        return out, noise.state_dict()

    straight, _ = run(4)
    _, state = run(2)
    resumed, _ = run(2, resume_from=state)
    assert all(torch.equal(a, b) for a, b in zip(straight[2:], resumed, strict=True))


def test_gradient_noise_state_with_a_generator_needs_one():
    p = nn.Parameter(torch.zeros(2))
    state = rt.GradientNoise([p], generator=torch.Generator().manual_seed(0)).state_dict()
    with pytest.raises(ValueError, match="generator=None"):
        rt.GradientNoise([p]).load_state_dict(state)
    with pytest.raises(ValueError, match=r"missing \['gamma'\]"):
        rt.GradientNoise([p]).load_state_dict({"t": 0, "eta": 0.3})
