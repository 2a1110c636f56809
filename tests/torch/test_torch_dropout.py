"""Dropout family: exact values, mask structure, identity when off, layouts, conventions."""

import sys

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

_dp = sys.modules["reglab.torch.drop_path"]  # the module, not the function

pytestmark = pytest.mark.torch


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def positive(shape, dtype=torch.float32):
    # strictly nonzero so that "dropped" (== 0) and "kept" are distinguishable
    return torch.rand(shape, generator=gen(123), dtype=torch.float32).add_(0.5).to(dtype)


# name -> callable(x, p, training, generator) ; mask_shape(x) gives the expected mask shape
FUNCS = {
    "dropout": (lambda x, p, t, g: rt.dropout(x, p, t, generator=g), lambda s: s),
    "channel_nchw": (
        lambda x, p, t, g: rt.channel_dropout(x, p, t, layout="NCHW", generator=g),
        lambda s: (s[0], s[1], 1, 1),
    ),
    "locked_time_first": (
        lambda x, p, t, g: rt.locked_dropout(x.flatten(2), p, t, batch_first=False, generator=g),
        None,
    ),
    "drop_path": (lambda x, p, t, g: rt.drop_path(x, p, t, generator=g), lambda s: (s[0], 1, 1, 1)),
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_kept_values_are_exactly_x_over_keep(name, p, dtype):
    fn, _ = FUNCS[name]
    x = positive((64, 4, 5, 5), dtype)
    y = fn(x, p, True, gen())
    xf = x.flatten(2) if name.startswith("locked") else x
    kept = y != 0
    assert torch.equal(y[kept], xf[kept] / (1 - p))
    assert kept.any() and (~kept).any()


@pytest.mark.parametrize("name", FUNCS)
def test_expectation_preserved(name):
    fn, _ = FUNCS[name]
    x = torch.ones(200, 8, 4, 4)
    y = fn(x, 0.3, True, gen(1))
    assert abs(y.mean().item() - 1.0) < 0.05


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("p, training", [(0.0, True), (0.5, False), (1.0, False)])
def test_identity_returns_the_input_object(name, p, training):
    fn, _ = FUNCS[name]
    x = positive((2, 3, 4, 4)).flatten(2) if name.startswith("locked") else positive((2, 3, 4, 4))
    if name.startswith("locked"):
        assert rt.locked_dropout(x, p, training, batch_first=False) is x
    else:
        assert fn(x, p, training, None) is x


@pytest.mark.parametrize("name", FUNCS)
def test_p_one_gives_zeros_without_nan(name):
    fn, _ = FUNCS[name]
    x = positive((3, 2, 4, 4))
    x[0, 0, 0, 0] = float("inf")
    y = fn(x, 1.0, True, gen())
    assert torch.equal(y, torch.zeros_like(y))


@pytest.mark.parametrize("name", ["dropout", "channel_nchw", "drop_path"])
def test_mask_structure(name):
    fn, shape_of = FUNCS[name]
    x = positive((8, 6, 5, 5))
    kept = fn(x, 0.5, True, gen(3)) != 0
    mshape = shape_of(tuple(x.shape))
    # the mask is constant along the broadcast axes
    reduce_dims = [d for d, s in enumerate(mshape) if s == 1]
    if reduce_dims:
        assert torch.equal(kept.all(dim=reduce_dims), kept.any(dim=reduce_dims))


@pytest.mark.parametrize("batch_first", [False, True])
def test_locked_dropout_shares_mask_over_time_not_batch(batch_first):
    t, b, h = 7, 16, 10
    x = positive((b, t, h) if batch_first else (t, b, h))
    kept = rt.locked_dropout(x, 0.5, True, batch_first=batch_first, generator=gen(5)) != 0
    time_axis = 1 if batch_first else 0
    # same mask at every time step
    assert torch.equal(kept.all(dim=time_axis), kept.any(dim=time_axis))
    # different samples get different masks (shared across the batch would be the bug)
    per_sample = kept.any(dim=time_axis)  # (b, h)
    assert not all(torch.equal(per_sample[0], per_sample[i]) for i in range(1, b))


def test_locked_dropout_requires_batch_first():
    with pytest.raises(TypeError, match="batch_first"):
        rt.LockedDropout(0.5)  # keyword is mandatory
    with pytest.raises(TypeError, match="batch_first"):
        rt.locked_dropout(torch.ones(2, 2, 2), 0.5, batch_first=None)


def test_channel_dropout_layout_must_match_ndim():
    # torch's dropout2d silently treats a 3-D input as (N, C, L) 1-D dropout (pytorch#77081)
    x = torch.ones(4, 5, 6)
    with pytest.raises(ValueError, match="layout 'NCHW' describes 4 dimensions.*has 3"):
        rt.channel_dropout(x, 0.5, layout="NCHW")
    with pytest.raises(ValueError, match="layout"):
        rt.channel_dropout(x, 0.5, layout="NHW")


@pytest.mark.parametrize("layout, shape, mask_dims", [
    ("CHW", (5, 6, 7), (0,)),
    ("NLC", (3, 9, 5), (0, 2)),
    ("NHWC", (3, 4, 4, 5), (0, 3)),
])  # fmt: skip
def test_channel_dropout_layouts(layout, shape, mask_dims):
    x = positive(shape)
    kept = rt.channel_dropout(x, 0.5, layout=layout, generator=gen(2)) != 0
    other = [d for d in range(len(shape)) if d not in mask_dims]
    assert torch.equal(kept.all(dim=other), kept.any(dim=other))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
@pytest.mark.parametrize(
    "call",
    [
        lambda p: rt.dropout(torch.ones(2), p),
        lambda p: rt.channel_dropout(torch.ones(2, 2), p, layout="NC"),
        lambda p: rt.drop_path(torch.ones(2), p),
        lambda p: rt.Dropout(p),
        lambda p: rt.DropPath(p),
        lambda p: rt.DropConnect(nn.Linear(2, 2), p),
    ],
)
def test_bad_p_names_the_argument(call, p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        call(p)


def test_generator_reproducible_and_device_checked():
    x = positive((4, 3, 5, 5))
    a = rt.dropout(x, 0.5, generator=gen(7))
    b = rt.dropout(x, 0.5, generator=gen(7))
    assert torch.equal(a, b)
    with pytest.raises(TypeError, match="generator"):
        rt.dropout(x, 0.5, generator=7)


@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("name", ["dropout", "channel_nchw", "drop_path"])
def test_dtype_and_channels_last_preserved(name, dtype):
    fn, _ = FUNCS[name]
    x = positive((4, 3, 5, 5), dtype).to(memory_format=torch.channels_last)
    y = fn(x, 0.5, True, gen())
    assert y.dtype == dtype
    assert y.is_contiguous(memory_format=torch.channels_last)


def test_works_under_autocast():
    model = nn.Sequential(nn.Linear(8, 8), rt.Dropout(0.3), rt.DropPath(0.2))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = model(torch.randn(4, 8))
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert model[0].weight.grad is not None


def test_inplace_writes_into_input():
    x = positive((5, 5))
    ref = x.clone()
    y = rt.dropout(x, 0.5, inplace=True, generator=gen(4))
    assert y is x
    assert torch.equal(y, rt.dropout(ref, 0.5, generator=gen(4)))


def test_drop_path_scale_by_keep_flag():
    x = positive((64, 3))
    y = rt.drop_path(x, 0.25, scale_by_keep=False, generator=gen())
    kept = y[:, 0] != 0
    assert torch.equal(y[kept], x[kept])


def test_drop_path_rates_linear_ramp():
    rates = rt.drop_path_rates(12, 0.1)
    assert rates[0] == 0.0 and rates[-1] == pytest.approx(0.1)
    diffs = [b - a for a, b in zip(rates, rates[1:])]
    assert all(d == pytest.approx(0.1 / 11) for d in diffs)
    assert rt.drop_path_rates(1, 0.3) == [0.0]
    huang = rt.drop_path_rates(4, 0.5, schedule="huang")
    assert huang == pytest.approx([0.125, 0.25, 0.375, 0.5])
    with pytest.raises(ValueError, match="depth"):
        rt.drop_path_rates(0, 0.1)
    with pytest.raises(ValueError, match="max_rate"):
        rt.drop_path_rates(3, 1.2)


def test_modules_route_training_and_repr():
    for mod in [rt.Dropout(0.5), rt.DropPath(0.5), rt.ChannelDropout(0.5, layout="NCHW")]:
        x = positive((2, 3, 4, 4))
        mod.eval()
        assert mod(x) is x
        mod.train()
        assert mod(x) is not x
        assert "p=0.5" in repr(mod)


def test_dropconnect_linear_is_functional():
    torch.manual_seed(0)
    lin = nn.Linear(6, 4)
    dc = rt.DropConnect(lin, 0.5)
    params_before = dict(lin._parameters)
    x = torch.randn(3, 6)
    y = dc(x)
    # parameters untouched: same objects, same values
    assert all(lin._parameters[k] is v for k, v in params_before.items())
    assert not torch.allclose(y, lin(x))
    y.sum().backward()
    # d sum(y) / dW = m / (1 - p) * sum_i x_i: the gradient reaches the raw weight through
    # the mask, exactly zero where an entry was dropped
    g = lin.weight.grad
    expected = x.sum(0).expand_as(g) / 0.5
    nz = g != 0
    assert nz.any() and (~nz).any()
    assert torch.allclose(g[nz], expected[nz])
    dc.eval()
    assert torch.equal(dc(x), lin(x))


def test_dropconnect_masks_exactly():
    lin = nn.Linear(5, 3, bias=False)
    dc = rt.DropConnect(lin, 0.5)
    x = torch.eye(5)
    torch.manual_seed(3)
    y = dc(x)  # rows of W_dropped^T
    w_dropped = y.T
    kept = w_dropped != 0
    assert torch.equal(w_dropped[kept], (lin.weight / 0.5)[kept])


def test_dropconnect_lstm_hidden_weights():
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 6, batch_first=True)
    dc = rt.DropConnect(lstm, 0.5, names=("weight_hh_l0",))
    x = torch.randn(2, 5, 4)
    out, _ = dc(x)
    ref, _ = lstm(x)
    assert not torch.allclose(out, ref)
    out.sum().backward()
    assert lstm.weight_hh_l0.grad is not None
    dc.eval()
    assert torch.equal(dc(x)[0], lstm(x)[0])
    with pytest.raises(ValueError, match="names"):
        rt.DropConnect(lstm, 0.5, names=("nope",))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_drop_path_fused_residual(dtype):
    branch = positive((32, 5, 4), dtype).requires_grad_(True)
    res = positive((32, 5, 4), torch.float32).requires_grad_(True)
    out = rt.drop_path(branch, 0.3, residual=res, generator=gen(6))
    ref = res + rt.drop_path(branch.float(), 0.3, generator=gen(6))
    assert out.dtype == torch.float32
    assert torch.allclose(out, ref, rtol=1e-6)
    dropped = (out == res).all(2).all(1)
    assert dropped.any() and (~dropped).any()
    g_branch, g_res = torch.autograd.grad(out.sum(), (branch, res))
    assert torch.equal(g_res, torch.ones_like(res))
    expected = torch.where(dropped.view(-1, 1, 1), 0.0, 1 / 0.7).expand_as(g_branch).to(dtype)
    assert torch.allclose(g_branch.float(), expected.float(), rtol=1e-2)
    # off: plain sum
    assert torch.equal(rt.drop_path(branch, 0.3, False, residual=res), res + branch)
    mod = rt.DropPath(0.3)
    assert mod(branch, res).shape == res.shape


def test_drop_path_fused_residual_under_autocast_restores_state():
    lin = nn.Linear(4, 4)
    res = torch.randn(16, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        branch = lin(res)
        assert branch.dtype == torch.bfloat16
        out = rt.drop_path(branch, 0.5, residual=res, generator=gen(1))
        assert torch.is_autocast_enabled("cpu")  # switched back on
    assert out.dtype == torch.float32
    out.sum().backward()
    assert lin.weight.grad is not None


# The fused residual form has two implementations: draws on the host with a scalar-factor add
# plus a copy of the dropped rows (the default), and draws on x's device with a broadcast
# per-sample factor (a generator on x's device). Both must compute the same function.
def _fused_host(branch, res, p, g, scale_by_keep=True):
    return rt.drop_path(branch, p, residual=res, scale_by_keep=scale_by_keep, generator=g)


def _fused_device(branch, res, p, g, scale_by_keep=True):
    shape = [branch.shape[0]] + [1] * (branch.ndim - 1)
    return _dp._add_scaled_device(res, branch, shape, 1.0 - p, scale_by_keep, g)


def _unfused(branch, res, p, g, scale_by_keep=True):
    return res + rt.drop_path(branch, p, scale_by_keep=scale_by_keep, generator=g)


FUSED = {"host": _fused_host, "device": _fused_device, "unfused": _unfused}


@pytest.mark.parametrize("impl", FUSED)
@pytest.mark.parametrize("scale_by_keep", [True, False])
def test_fused_drop_path_equals_the_unfused_sum(impl, scale_by_keep):
    branch = positive((40, 3, 4), torch.float64)
    res = positive((40, 3, 4), torch.float64)
    out = FUSED[impl](branch, res, 0.4, gen(11), scale_by_keep)
    ref = res + rt.drop_path(branch, 0.4, scale_by_keep=scale_by_keep, generator=gen(11))
    assert torch.allclose(out, ref, rtol=1e-15, atol=0)
    dropped = (out == res).all(2).all(1)
    assert dropped.any() and (~dropped).any()


@pytest.mark.parametrize("generator", [None, gen(2)])
def test_fused_drop_path_p_one_is_the_residual_without_nan(generator):
    # p = 1 is handled before either implementation draws anything
    branch = positive((6, 5)).requires_grad_(True)
    branch.data[0, 0] = float("inf")
    res = positive((6, 5)).requires_grad_(True)
    out = rt.drop_path(branch, 1.0, residual=res, generator=generator)
    assert torch.equal(out, res)
    g_branch, g_res = torch.autograd.grad(out.sum(), (branch, res))
    assert torch.equal(g_branch, torch.zeros_like(branch))
    assert torch.equal(g_res, torch.ones_like(res))


@pytest.mark.parametrize("impl", FUSED)
@pytest.mark.parametrize(
    "res_dtype, x_dtype, out_dtype",
    [
        (torch.bfloat16, torch.bfloat16, torch.bfloat16),
        (torch.float32, torch.bfloat16, torch.float32),
        (torch.bfloat16, torch.float32, torch.float32),
        (torch.float64, torch.float32, torch.float64),
    ],
)
def test_fused_drop_path_output_dtype_is_the_promoted_pair(impl, res_dtype, x_dtype, out_dtype):
    branch = positive((16, 3), x_dtype).requires_grad_(True)
    res = positive((16, 3), res_dtype).requires_grad_(True)
    out = FUSED[impl](branch, res, 0.5, gen(4))
    assert out.dtype == out_dtype  # a bfloat16 stream stays bfloat16
    g_branch, g_res = torch.autograd.grad(out.float().sum(), (branch, res))
    assert g_branch.dtype == x_dtype and g_res.dtype == res_dtype


@pytest.mark.parametrize("impl", FUSED)
def test_fused_drop_path_gradcheck_and_double_backward(impl):
    branch = positive((8, 3), torch.float64).requires_grad_(True)
    res = positive((8, 3), torch.float64).requires_grad_(True)

    def fn(b, r):  # same draws on every call
        return FUSED[impl](b, r, 0.5, gen(5))

    assert torch.autograd.gradcheck(fn, (branch, res))
    assert torch.autograd.gradgradcheck(fn, (branch, res))


def test_drop_path_generator_must_be_a_generator():
    with pytest.raises(TypeError, match="generator"):
        rt.drop_path(torch.ones(4, 2), 0.5, residual=torch.ones(4, 2), generator=3)
    with pytest.raises(TypeError, match="generator"):
        rt.drop_path(torch.ones(4, 2), 0.5, generator="cpu")


@pytest.mark.parametrize("impl", FUSED)
def test_fused_drop_path_keeps_channels_last(impl):
    cl = torch.channels_last
    branch = positive((8, 3, 4, 5)).to(memory_format=cl).requires_grad_(True)
    res = positive((8, 3, 4, 5)).to(memory_format=cl).requires_grad_(True)
    out = FUSED[impl](branch, res, 0.5, gen(12))
    assert out.is_contiguous(memory_format=cl)
    ref = res + rt.drop_path(branch.contiguous(), 0.5, generator=gen(12))
    assert torch.allclose(out, ref, rtol=1e-6)
    (g_branch,) = torch.autograd.grad((out * out).sum(), branch)
    assert g_branch.is_contiguous(memory_format=cl)


# ---------------------------------------------------------------- issue 14: p = 1
P1 = {
    "dropout": lambda x: rt.dropout(x, 1.0),
    "channel_dropout": lambda x: rt.channel_dropout(x, 1.0, layout="NCHW"),
    "locked_dropout": lambda x: rt.locked_dropout(x, 1.0, batch_first=True),
    "drop_path": lambda x: rt.drop_path(x, 1.0),
    "Dropout": lambda x: rt.Dropout(1.0)(x),
    "DropPath": lambda x: rt.DropPath(1.0)(x),
}


@pytest.mark.parametrize("name", P1)
def test_p_one_gives_zeros_with_a_zero_gradient(name):
    """torch's F.dropout(x, 1.0) and timm keep the graph: gradients are 0, not None, and
    backward() works when the dropped tensor is the only path to x."""
    x = torch.randn(3, 2, 4, 5, requires_grad=True)
    with torch.no_grad():
        x[0, 0, 0, 0] = float("inf")  # and no 0 * inf = NaN in the output
    out = P1[name](x)
    assert torch.equal(out, torch.zeros_like(x)) and out.requires_grad
    out.sum().backward()  # the only path
    assert x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))
    ref = torch.randn(3, 2, 4, 5, requires_grad=True)
    torch.nn.functional.dropout(ref, 1.0).sum().backward()
    assert torch.equal(ref.grad, x.grad)


def test_p_one_without_grad_stays_cheap():
    x = torch.randn(4, 3)
    assert not rt.dropout(x, 1.0).requires_grad
    assert torch.equal(rt.drop_path(x, 1.0, residual=x), x)
