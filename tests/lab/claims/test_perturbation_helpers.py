"""Helpers of the perturbation claims: the Markov-chain text source and the seeded networks."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from reglab.lab.claims._torch_nets import generator  # noqa: E402
from reglab.lab.claims.perturbation import _nets  # noqa: E402
from reglab.lab.claims.perturbation import dropout_one_pass as op  # noqa: E402

pytestmark = pytest.mark.torch


def test_markov_source_rows_are_distributions_and_windows_align():
    table = op.markov_source(3)
    assert table.shape == (op.V**op.ORDER, op.V)
    assert np.allclose(table.sum(axis=1), 1.0)
    text = op.sample_text(table, 50, np.random.default_rng(0))
    ctx, nxt = op.windows(text)
    assert ctx.shape == (50, op.ORDER) and nxt.shape == (50,)
    assert np.array_equal(ctx[1:, :-1], ctx[:-1, 1:])  # consecutive windows overlap
    assert np.array_equal(nxt[:-1], ctx[1:, -1])


def test_entropy_rate_is_the_loss_of_the_true_table():
    # the average -log p(next | context) of the true chain on a long text converges to the
    # entropy rate (Shannon-McMillan-Breiman); 60 000 symbols give a standard error ~0.005
    table = op.markov_source(5)
    text = op.sample_text(table, 60_000, np.random.default_rng(1))
    ctx, nxt = op.windows(text)
    index = ctx[:, 0] * op.V * op.V + ctx[:, 1] * op.V + ctx[:, 2]
    nll = -np.log(table[index, nxt]).mean()
    assert nll == pytest.approx(op.entropy_rate(table), abs=0.03)


def test_conv_net_shapes_and_channel_dropout_drops_whole_maps():
    net = _nets.conv_net(generator(0), dims=1, side=40, p=0.5, spatial=True)
    x = torch.randn(6, 1, 40, generator=generator(1))
    assert net(x).shape == (6, 10)
    net.train()
    relu = net[1](net[0](x))
    h = net[2](relu)  # the first conv block's channel dropout, p = 0.5
    dropped = (h == 0).all(dim=2)  # (N, C): whole feature maps set to zero
    kept = torch.isclose(h, 2 * relu).all(dim=2)  # or kept whole, scaled by 1/(1-p)
    assert bool((dropped | kept).all())
    assert 0 < int(dropped.sum()) < dropped.numel()
    assert _nets.conv_net(generator(0), side=8)(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    with pytest.raises(ValueError, match="dims=3"):
        _nets.conv_net(generator(0), dims=3)
    with pytest.raises(ValueError, match="side=7"):
        _nets.conv_net(generator(0), side=7)


def test_residual_mlp_drop_path_one_skips_every_block():
    gen = generator(0)
    net = _nets.residual_mlp(gen, d_in=5, width=8, depth=3, drop_path=1.0)
    x = torch.randn(4, 5, generator=generator(2))
    net.train()
    expected = net.out(net.inp(x))  # every residual branch dropped: identity blocks
    assert torch.allclose(net(x), expected)
    net.eval()
    assert not torch.allclose(net(x), expected)  # in eval mode the branches are back


def test_networks_are_functions_of_the_seed():
    a = _nets.residual_mlp(generator(4), d_in=5, width=8, depth=2)
    b = _nets.residual_mlp(generator(4), d_in=5, width=8, depth=2)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
