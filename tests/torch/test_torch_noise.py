"""Noise regularizers: Gaussian input noise, weight noise, annealed gradient noise."""

import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_gaussian_noise_moments_identity_and_format():
    x = torch.zeros(200, 3, 8, 8).to(memory_format=torch.channels_last)
    y = rt.gaussian_noise(x, 0.5, generator=gen())
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert abs(y.mean().item()) < 0.01 and abs(y.std().item() - 0.5) < 0.01
    assert rt.gaussian_noise(x, 0.0) is x and rt.gaussian_noise(x, 0.5, False) is x
    assert torch.equal(rt.gaussian_noise(x, 0.5, generator=gen(3)),
                       rt.gaussian_noise(x, 0.5, generator=gen(3)))  # fmt: skip
    xb = torch.ones(4, 4, dtype=torch.bfloat16)
    assert rt.gaussian_noise(xb, 0.1, generator=gen()).dtype == torch.bfloat16
    mod = rt.GaussianNoise(0.2).eval()
    assert mod(x) is x and "std=0.2" in repr(mod)
    with pytest.raises(ValueError, match="std must be finite and >= 0"):
        rt.GaussianNoise(-1.0)


def test_gaussian_input_noise_is_tikhonov_on_least_squares():
    # E ||y - (x + s xi) w||^2 = ||y - x w||^2 + n s^2 ||w||^2  (Bishop, 1995)
    g = gen(1)
    x = torch.randn(50, 3, generator=g, dtype=torch.float64)
    w = torch.randn(3, generator=g, dtype=torch.float64)
    y = torch.randn(50, generator=g, dtype=torch.float64)
    s = 0.3
    draws = torch.stack([
        ((y - rt.gaussian_noise(x, s, generator=g) @ w) ** 2).sum() for _ in range(4000)
    ])  # fmt: skip
    expected = ((y - x @ w) ** 2).sum() + 50 * s**2 * (w**2).sum()
    assert draws.mean().item() == pytest.approx(expected.item(), rel=0.02)


def test_weight_noise_uses_noisy_forward_and_clean_gradient():
    torch.manual_seed(0)
    lin = nn.Linear(4, 2)
    wn = rt.WeightNoise(lin, std=0.1, names=("weight",))
    x = torch.randn(5, 4)
    w_before = lin.weight.detach().clone()
    y = wn(x)
    assert not torch.allclose(y, lin(x))
    assert torch.equal(lin.weight, w_before)  # never modified
    y.sum().backward()
    # d/dW of sum(x (W + s xi)^T) = sum_i x_i for every output row, independent of the noise
    assert torch.allclose(lin.weight.grad, x.sum(0).expand(2, 4))
    wn.eval()
    assert torch.equal(wn(x), lin(x))
    with pytest.raises(ValueError, match="names"):
        rt.WeightNoise(lin, 0.1, names=("kernel",))


def test_gradient_noise_schedule_and_variance():
    # Neelakantan et al. 2015: sigma_t^2 = eta / (1 + t)^gamma
    assert rt.gradient_noise_std(0, 0.3, 0.55) == pytest.approx(math.sqrt(0.3))
    assert rt.gradient_noise_std(9, 1.0, 0.55) == pytest.approx(math.sqrt(10**-0.55))
    p = nn.Parameter(torch.zeros(20000))
    q = nn.Parameter(torch.zeros(3))  # no grad: skipped
    gn = rt.GradientNoise([p, q], eta=0.5, gamma=0.55, generator=gen())
    for t in range(3):
        p.grad = torch.zeros_like(p)
        sigma = gn.step()
        assert sigma == pytest.approx(math.sqrt(0.5 / (1 + t) ** 0.55))
        assert p.grad.std().item() == pytest.approx(sigma, rel=0.03)
    assert q.grad is None
    state = gn.state_dict()
    gn2 = rt.GradientNoise([p], generator=gen())
    gn2.load_state_dict(state)
    assert gn2.t == 3 and gn2.eta == 0.5
    with pytest.raises(ValueError, match="step must be an int >= 0"):
        rt.gradient_noise_std(-1)
    with pytest.raises(ValueError, match="params is empty"):
        rt.GradientNoise([])
