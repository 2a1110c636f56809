"""MixUp / CutMix: exact mixing formulas, pasted-area lambda, any batch size, no mutation."""

import pytest

torch = pytest.importorskip("torch")

import reglab.torch as rt  # noqa: E402
from reglab.torch.mixing import _boxes, _draw, _draw_traced  # noqa: E402

pytestmark = pytest.mark.torch

MODES = ["batch", "pair", "elem"]
K = 6


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def batch(b, h=9, w=11, c=3, dtype=torch.float32):
    # every sample has values in its own range, so a pasted pixel is recognisable
    x = torch.arange(b, dtype=torch.float64).view(b, 1, 1, 1) * 10
    x = x + torch.rand(b, c, h, w, generator=gen(9), dtype=torch.float64)
    return x.to(dtype), torch.arange(b) % K


def partner(t, mode):
    return t.flip(0) if mode == "pair" else t.roll(1, 0)


MIXERS = {
    "mixup": lambda x, y, mode, g: rt.mixup(
        x, y, alpha=0.4, num_classes=K, mode=mode, generator=g, return_lam=True
    ),
    "cutmix": lambda x, y, mode, g: rt.cutmix(
        x, y, alpha=1.0, num_classes=K, mode=mode, generator=g, return_lam=True
    ),
    "both": lambda x, y, mode, g: rt.MixUpCutMix(
        0.4, 1.0, prob=0.8, switch_prob=0.5, mode=mode, label_smoothing=0.1, num_classes=K
    )(x, y, generator=g, return_lam=True),
}


@pytest.mark.parametrize("kind", MIXERS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("b", [1, 2, 7, 16])
def test_targets_rows_sum_to_one_and_match_lambda(kind, mode, b):
    x, y = batch(b)
    x0 = x.clone()
    out, soft, lam = MIXERS[kind](x, y, mode, gen(b))
    assert torch.equal(x, x0)  # no input mutation
    assert out.shape == x.shape and soft.shape == (b, K) and lam.shape == (b,)
    assert torch.allclose(soft.sum(1), torch.ones(b), atol=1e-6)
    eps = 0.1 if kind == "both" else 0.0
    q = rt.smooth_one_hot(y, K, eps)
    lam32 = lam.float()[:, None]
    assert torch.allclose(soft, lam32 * q + (1 - lam32) * partner(q, mode), atol=1e-6)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("b", [1, 5, 8])
def test_mixup_is_the_convex_combination(mode, b):
    x, y = batch(b, dtype=torch.float64)
    out, _, lam = MIXERS["mixup"](x, y, mode, gen(3))
    lam4 = lam.view(-1, 1, 1, 1)
    assert torch.allclose(out, lam4 * x + (1 - lam4) * partner(x, mode), rtol=1e-12)
    if mode == "elem" and b > 1:
        assert lam.unique().numel() == b  # one lambda per sample
    if mode == "pair":
        assert torch.equal(lam, lam.flip(0))  # shared within a pair
    if mode == "batch":
        assert lam.unique().numel() == 1


@pytest.mark.parametrize("kind", ["cutmix", "both"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("b", [1, 3, 8])
def test_cutmix_one_minus_lambda_is_exact_pasted_fraction(kind, mode, b):
    n_cut = 0
    for seed in range(6):
        x, y = batch(b, dtype=torch.float64)
        out, _, lam = MIXERS[kind](x, y, mode, gen(seed))
        xp = partner(x, mode)
        for i in range(b):
            untouched, pasted = out[i] == x[i], (out[i] == xp[i]) & (out[i] != x[i])
            is_cut = bool((untouched | pasted).all())
            if not is_cut:  # a MixUp sample of the combined mixer
                assert kind == "both"
                l = lam[i].item()
                assert torch.allclose(out[i], l * x[i] + (1 - l) * xp[i], rtol=1e-12)
                continue
            n_cut += 1
            # whole pixels (all channels) are pasted; the fraction is exactly 1 - lam
            assert torch.equal(pasted.all(0), pasted.any(0))
            frac = pasted[0].double().mean().item()
            if xp[i].equal(x[i]):  # odd pair mode: the middle sample is its own partner
                continue
            assert frac == pytest.approx(1 - lam[i].item(), abs=1e-12)
    assert n_cut > 0


def test_box_sides_not_shortened_when_odd():
    # timm's box is 2 * (cut // 2): one pixel short for odd cuts
    np = pytest.importorskip("numpy")
    lam = np.array([1 - (7 / 31) ** 2, 1 - (9 / 31) ** 2])
    rng = np.random.default_rng(0)
    for _ in range(20):
        y1, y2, x1, x2, frac = _boxes(lam, rng.random(2), rng.random(2), 31, 31)
        inside = (y1 > 0) & (y2 < 31) & (x1 > 0) & (x2 < 31)
        assert ((y2 - y1)[inside] == np.array([7, 9])[inside]).all()
        assert ((x2 - x1)[inside] == np.array([7, 9])[inside]).all()
        assert (frac == (y2 - y1) * (x2 - x1) / 31**2).all()


@pytest.mark.parametrize("mode", MODES)
def test_prob_zero_is_identity_with_smoothed_targets(mode):
    x, y = batch(5)
    mixer = rt.MixUpCutMix(1.0, 1.0, prob=0.0, mode=mode, label_smoothing=0.2, num_classes=K)
    out, soft = mixer(x, y, generator=gen())
    assert torch.equal(out, x)
    assert torch.allclose(soft, rt.smooth_one_hot(y, K, 0.2))


@pytest.mark.parametrize("kind", MIXERS)
@pytest.mark.parametrize("mode", MODES)
def test_inplace_writes_into_input(kind, mode):
    x, y = batch(6)
    ref, soft_ref, _ = MIXERS[kind](x.clone(), y, mode, gen(2))
    fn = {
        "mixup": lambda: rt.mixup(x, y, alpha=0.4, num_classes=K, mode=mode, inplace=True,
                                  generator=gen(2)),
        "cutmix": lambda: rt.cutmix(x, y, alpha=1.0, num_classes=K, mode=mode, inplace=True,
                                    generator=gen(2)),
        "both": lambda: rt.MixUpCutMix(0.4, 1.0, prob=0.8, mode=mode, label_smoothing=0.1,
                                       num_classes=K, inplace=True)(x, y, generator=gen(2)),
    }[kind]  # fmt: skip
    out, soft = fn()
    assert torch.equal(out, ref) and torch.equal(soft, soft_ref)
    assert torch.equal(x, ref)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
@pytest.mark.parametrize("mode", MODES)
def test_dtype_and_channels_last_preserved(dtype, mode):
    x, y = batch(6, dtype=dtype)
    x = x.to(memory_format=torch.channels_last)
    mixer = rt.MixUpCutMix(0.4, 1.0, mode=mode, num_classes=K)
    for seed in range(3):
        out, soft = mixer(x, y, generator=gen(seed))
        assert out.dtype == dtype
        assert out.is_contiguous(memory_format=torch.channels_last)
        assert soft.dtype == (torch.float64 if dtype == torch.float64 else torch.float32)


def test_reproducible_with_generator():
    x, y = batch(8)
    mixer = rt.MixUpCutMix(0.4, 1.0, mode="elem", num_classes=K)
    a = mixer(x, y, generator=gen(5))
    b = mixer(x, y, generator=gen(5))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_soft_targets_accepted_without_smoothing():
    x, y = batch(4)
    _, soft = rt.mixup(x, y, num_classes=K, generator=gen())
    _, soft2 = rt.cutmix(x, soft, num_classes=K, generator=gen(1))
    assert torch.allclose(soft2.sum(1), torch.ones(4))


def test_bad_input():
    x, y = batch(4)
    with pytest.raises(ValueError, match="alpha must be finite and > 0"):
        rt.mixup(x, y, alpha=0.0, num_classes=K)
    with pytest.raises(ValueError, match="alpha must be finite and > 0"):
        rt.cutmix(x, y, alpha=-1.0, num_classes=K)
    with pytest.raises(ValueError, match="mixup_alpha"):
        rt.MixUpCutMix(-0.5, 1.0, num_classes=K)
    with pytest.raises(ValueError, match="both 0"):
        rt.MixUpCutMix(0.0, 0.0, num_classes=K)
    with pytest.raises(ValueError, match="same batch size"):
        rt.mixup(x, y[:3], num_classes=K)
    with pytest.raises(ValueError, match="y holds label 6"):
        rt.mixup(x, torch.full((4,), 6), num_classes=K)
    with pytest.raises(ValueError, match="mode"):
        rt.MixUpCutMix(num_classes=K, mode="half")
    with pytest.raises(ValueError, match="prob must be in"):
        rt.MixUpCutMix(num_classes=K, prob=2.0)
    with pytest.raises(ValueError, match="cutmix needs"):
        rt.cutmix(torch.ones(4, 5), y, num_classes=K)
    with pytest.raises(TypeError, match="generator"):
        rt.mixup(x, y, num_classes=K, generator=1)

    class CudaLikeGenerator(torch.Generator):  # no GPU here: only its device is looked at
        device = torch.device("cuda")

    with pytest.raises(ValueError, match="CPU torch.Generator"):
        rt.mixup(x, y, num_classes=K, generator=CudaLikeGenerator())
    with pytest.raises(ValueError, match=r"soft targets y must have shape \(B, 6\)"):
        rt.mixup(x, torch.ones(4, 3), num_classes=K)


# ---------------------------------------------------------------- issue 14 defects
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["cutmix", "both"])
def test_cutmix_is_differentiable_in_every_mode(kind, mode):
    """torchvision's and timm's CutMix are differentiable (mixing hidden activations);
    where(out=...) was not. The gradient of sum(w * out) is w at the pixels a sample keeps,
    plus its partner's w where it was pasted."""
    x, y = batch(6, dtype=torch.float64)
    x.requires_grad_(True)
    out, _, lam = MIXERS[kind](x, y, mode, gen(2))
    w = torch.rand(out.shape, dtype=torch.float64, generator=gen(4))
    (out * w).sum().backward()
    # d out / d x by finite structure: out is linear in x, so the gradient equals the
    # vector-Jacobian product computed with a fresh forward of the same draws
    ref = torch.autograd.functional.vjp(
        lambda t: MIXERS[kind](t, y, mode, gen(2))[0], x.detach(), w
    )[1]
    assert torch.allclose(x.grad, ref)
    assert x.grad.abs().sum() > 0


def test_cutmix_gradient_is_the_paste_mask():
    x, y = batch(4, dtype=torch.float64)
    x.requires_grad_(True)
    out, _ = rt.cutmix(x, y, num_classes=K, mode="elem", generator=gen(1))
    out.sum().backward()
    # every output pixel comes from exactly one input pixel: the gradient counts how many
    # output pixels each input pixel feeds (1 where kept, +1 where it was pasted elsewhere)
    assert torch.allclose(x.grad.sum(), torch.tensor(float(out.numel()), dtype=torch.float64))


def test_mixupcutmix_needs_num_classes_and_does_not_smooth_by_default():
    x, y = batch(4)
    mixer = rt.MixUpCutMix(0.4, 1.0)
    assert mixer.label_smoothing == 0.0 and mixer.num_classes is None
    with pytest.raises(ValueError, match="num_classes is required"):
        mixer(x, y)
    with pytest.raises(ValueError, match="num_classes is required"):
        rt.mixup(x, y)
    # inferred from one-hot targets: (B, 6), not (B, 1000), and unsmoothed
    onehot = torch.nn.functional.one_hot(y, K).float()
    _, soft, lam = mixer(x, onehot, generator=gen(), return_lam=True)
    assert soft.shape == (4, K)
    lam32 = lam.float()[:, None]
    assert torch.allclose(soft, lam32 * onehot + (1 - lam32) * onehot.roll(1, 0), atol=1e-6)
    with pytest.raises(ValueError, match=r"shape \(B, 5\)"):
        rt.MixUpCutMix(num_classes=5)(x, onehot)


def test_cutmix_refuses_channels_last_shapes_and_takes_a_layout():
    x = torch.rand(4, 16, 12, 3, generator=gen())  # (N, H, W, C)
    y = torch.arange(4) % K
    with pytest.raises(ValueError, match="channels-last"):
        rt.cutmix(x, y, num_classes=K)
    with pytest.raises(ValueError, match="channels-last"):
        rt.MixUpCutMix(0.0, 1.0, num_classes=K)(x, y)
    for mode in MODES:
        out, _, lam = rt.cutmix(x, y, num_classes=K, mode=mode, layout="NHWC",
                                generator=gen(3), return_lam=True)  # fmt: skip
        changed = (out != x).any(-1)  # (N, H, W): a pasted pixel changes all its channels
        assert torch.equal((out != x).all(-1) | ~changed, torch.ones_like(changed))
        frac = (out != x).any(-1).flatten(1).double().mean(1)
        assert torch.allclose(frac, 1 - lam, atol=1e-12)
    # the channels-first batch with small spatial dims is still accepted
    rt.cutmix(torch.rand(4, 64, 4, 4), y, num_classes=K)
    with pytest.raises(ValueError, match="layout 'NHWC' describes 4 dimensions"):
        rt.cutmix(torch.rand(4, 3, 8, 8, 2), y, num_classes=K, layout="NHWC")
    with pytest.raises(ValueError, match="layout must name every axis"):
        rt.cutmix(x, y, num_classes=K, layout="NWHC")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("alphas", [(0.4, 1.0), (0.0, 1.0), (0.7, 0.0)])
def test_traced_draws_equal_the_eager_numpy_draws(mode, alphas):
    """torch.compile uses the torch-op version of the draws; on the CPU with the same
    generator state it must give the eager (NumPy) rows exactly."""
    args = (7, mode, *alphas, 0.8, 0.5, 9, 11)
    eager = _draw(*args, gen(5))
    traced = _draw_traced(*args, gen(5), torch.device("cpu"))
    assert torch.equal(traced, torch.from_numpy(eager))
