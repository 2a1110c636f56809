"""Label smoothing and soft-target CE: agreement with CE on explicit soft targets, weights,
ignore_index, gradcheck, and no double smoothing."""

import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def data(n=7, k=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, k, generator=g, dtype=dtype), torch.randint(0, k, (n,), generator=g)


def explicit(target, k, eps, convention):
    onehot = F.one_hot(target, k).double()
    if convention == "uniform":
        return (1 - eps) * onehot + eps / k
    return (1 - eps) * onehot + eps / (k - 1) * (1 - onehot)


@pytest.mark.parametrize("convention", ["uniform", "off_class"])
@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_equals_ce_with_explicit_soft_target(convention, eps):
    logits, y = data()
    soft = explicit(y, 5, eps, convention)
    assert torch.allclose(soft.sum(1), torch.ones(7, dtype=torch.float64))
    ours = rt.label_smoothing_cross_entropy(logits, y, eps, convention=convention)
    ref = F.cross_entropy(logits, soft)
    assert torch.allclose(ours, ref, rtol=1e-12)
    assert torch.allclose(rt.soft_target_cross_entropy(logits, soft), ref, rtol=1e-12)


def test_default_convention_is_torchs():
    logits, y = data()
    ours = rt.label_smoothing_cross_entropy(logits, y, 0.2)
    assert torch.allclose(ours, F.cross_entropy(logits, y, label_smoothing=0.2), rtol=1e-12)
    q = rt.smooth_one_hot(y, 5, 0.2)
    assert q[0, y[0]].item() == pytest.approx(1 - 0.2 + 0.2 / 5)


def test_class_weights_reweight_samples_not_the_smoothing():
    logits, y = data(n=9)
    w = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5], dtype=torch.float64)
    eps = 0.3
    ours = rt.label_smoothing_cross_entropy(logits, y, eps, weight=w)
    per_row = -(explicit(y, 5, eps, "uniform") * F.log_softmax(logits, 1)).sum(1)
    ref = (w[y] * per_row).sum() / w[y].sum()
    assert torch.allclose(ours, ref, rtol=1e-12)
    # eps = 0: equal to torch's weighted CE
    ours0 = rt.label_smoothing_cross_entropy(logits, y, 0.0, weight=w)
    assert torch.allclose(ours0, F.cross_entropy(logits, y, weight=w), rtol=1e-12)


def test_ignored_rows_fully_excluded():
    logits, y = data(n=8)
    y_ign = y.clone()
    y_ign[[1, 4]] = -100
    logits_req = logits.clone().requires_grad_(True)
    loss = rt.label_smoothing_cross_entropy(logits_req, y_ign, 0.2)
    keep = y_ign != -100
    ref = rt.label_smoothing_cross_entropy(logits[keep], y[keep], 0.2)
    assert torch.allclose(loss, ref, rtol=1e-12)
    loss.backward()
    assert torch.equal(logits_req.grad[~keep], torch.zeros(2, 5, dtype=torch.float64))
    # all ignored: 0, not NaN
    all_ign = torch.full((3,), -100)
    assert rt.label_smoothing_cross_entropy(logits[:3], all_ign, 0.1).item() == 0.0
    # garbage logits on ignored rows do not leak NaN
    bad = logits.clone()
    bad[1] = float("nan")
    assert torch.allclose(rt.label_smoothing_cross_entropy(bad, y_ign, 0.2), ref, rtol=1e-12)


def test_spatial_targets():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 3, 3, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (2, 3, 3), generator=g)
    ours = rt.label_smoothing_cross_entropy(logits, y, 0.1)
    assert torch.allclose(ours, F.cross_entropy(logits, y, label_smoothing=0.1), rtol=1e-12)


@pytest.mark.parametrize("convention", ["uniform", "off_class"])
def test_gradcheck_float64(convention):
    logits, y = data(n=4, k=3)
    w = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda z: rt.label_smoothing_cross_entropy(z, y, 0.2, convention=convention, weight=w),
        (logits,),
    )
    soft = explicit(y, 3, 0.2, convention).requires_grad_(True)
    assert torch.autograd.gradcheck(rt.soft_target_cross_entropy, (logits, soft))


def test_cannot_smooth_twice():
    logits, y = data(k=5)
    x = torch.randn(7, 3, 8, 8)
    _, soft = rt.MixUpCutMix(num_classes=5, label_smoothing=0.1)(x, y)
    with pytest.raises(TypeError, match="soft-target"):
        rt.label_smoothing_cross_entropy(logits, soft, 0.1)
    with pytest.raises(TypeError, match="soft-target"):
        rt.LabelSmoothingCrossEntropy(0.1)(logits, soft)
    # the mixer itself refuses to smooth float targets again
    with pytest.raises(TypeError, match="label_smoothing"):
        rt.mixup(x, soft, num_classes=5, label_smoothing=0.1)


def test_bad_input():
    logits, y = data()
    with pytest.raises(ValueError, match="target holds label 5"):
        rt.label_smoothing_cross_entropy(logits, torch.full((7,), 5), 0.1)
    with pytest.raises(ValueError, match="target holds label -3"):
        rt.label_smoothing_cross_entropy(logits, torch.full((7,), -3), 0.1)
    with pytest.raises(ValueError, match="target shape"):
        rt.label_smoothing_cross_entropy(logits, y[:3], 0.1)
    with pytest.raises(ValueError, match="eps must be in"):
        rt.label_smoothing_cross_entropy(logits, y, 1.5)
    with pytest.raises(ValueError, match="convention"):
        rt.label_smoothing_cross_entropy(logits, y, 0.1, convention="keras")
    with pytest.raises(ValueError, match="weight must have shape"):
        rt.label_smoothing_cross_entropy(logits, y, 0.1, weight=torch.ones(3))
    with pytest.raises(ValueError, match="target shape"):
        rt.soft_target_cross_entropy(logits, torch.ones(7, 4))
    with pytest.raises(TypeError, match="integer labels"):
        rt.soft_target_cross_entropy(logits, y)


def test_module_and_autocast():
    logits, y = data(dtype=torch.float32)
    mod = rt.LabelSmoothingCrossEntropy(0.1, weight=torch.ones(5))
    assert "eps=0.1" in repr(mod)
    lin = torch.nn.Linear(5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = mod(lin(logits), y)
    assert torch.isfinite(loss)
    loss.backward()


def test_deferred_gpu_label_check_raises_at_a_later_call(monkeypatch):
    # on CUDA the range check is read back without waiting; simulate its pending event
    from reglab.torch import _checks

    class Event:
        def __init__(self):
            self.done = False

        def query(self):
            return self.done

        def synchronize(self):
            self.done = True

    event = Event()
    pending = [(event, torch.tensor([0, 7]), 5, "y holds label {}, outside [0, 5)")]
    monkeypatch.setattr(_checks, "_PENDING", pending)
    _checks.flush_label_checks()  # not finished on the device: nothing yet
    assert len(_checks._PENDING) == 1
    event.done = True
    logits, y = data()
    with pytest.raises(ValueError, match="y holds label 7.*earlier call"):
        rt.label_smoothing_cross_entropy(logits, y, 0.1)  # any later call reports it
    assert _checks._PENDING == []
    ok = [(Event(), torch.tensor([0, 4]), 5, "unused {}")]
    monkeypatch.setattr(_checks, "_PENDING", ok)
    _checks.flush_label_checks(wait=True)
    assert _checks._PENDING == []


# ---------------------------------------------------------------- issues 13 and 14
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (2, 4, 3, 2), (4,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_soft_target_cross_entropy_matches_torch_on_every_shape(shape, reduction):
    """torch's class axis is 1 ((N, K, d...)) or 0 (unbatched (K,)); the last axis was used."""
    g = torch.Generator().manual_seed(0)
    z = torch.randn(shape, generator=g, dtype=torch.float64)
    dim = 0 if len(shape) == 1 else 1
    q = torch.softmax(torch.randn(shape, generator=g, dtype=torch.float64), dim)
    ours = rt.soft_target_cross_entropy(z, q, reduction=reduction)
    ref = F.cross_entropy(z, q, reduction=reduction)
    assert ours.shape == ref.shape
    assert torch.allclose(ours, ref, rtol=1e-12)


def test_smooth_one_hot_refuses_integer_dtype_and_bad_labels():
    t = torch.tensor([0, 3, 1])
    with pytest.raises(TypeError, match="dtype must be a floating-point"):
        rt.smooth_one_hot(t, 4, eps=0.1, dtype=torch.int64)
    with pytest.raises(TypeError, match="target must hold integer class labels"):
        rt.smooth_one_hot(t.float(), 4, eps=0.1)
    with pytest.raises(ValueError, match=r"target holds label 4, outside \[0, 4\)"):
        rt.smooth_one_hot(torch.tensor([0, 4]), 4, eps=0.1)
    with pytest.raises(ValueError, match=r"target holds label -1"):
        rt.smooth_one_hot(torch.tensor([-1, 2]), 4, eps=0.1)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        rt.smooth_one_hot(t, 4.0)
    q = rt.smooth_one_hot(t, 4, 0.1, dtype=torch.float64)
    assert torch.allclose(q.sum(-1), torch.ones(3, dtype=torch.float64))
    assert q[0, 0] == pytest.approx(0.9 + 0.025)


def test_negative_or_nonfinite_class_weights_are_refused():
    z = torch.randn(4, 3)
    y = torch.tensor([0, 1, 2, 0])
    for w in ([1.0, -1.0, 1.0], [1.0, float("nan"), 1.0], [1.0, float("inf"), 1.0]):
        with pytest.raises(ValueError, match="weight must hold finite class weights >= 0"):
            rt.label_smoothing_cross_entropy(z, y, 0.1, weight=torch.tensor(w))
        with pytest.raises(ValueError, match="weight must hold finite class weights >= 0"):
            rt.LabelSmoothingCrossEntropy(0.1, weight=torch.tensor(w))
    with pytest.raises(TypeError, match="weight must be a floating-point tensor"):
        rt.label_smoothing_cross_entropy(z, y, 0.1, weight=torch.tensor([1, 2, 3]))
    zero = rt.label_smoothing_cross_entropy(z, y, 0.1, weight=torch.tensor([1.0, 0.0, 1.0]))
    assert torch.isfinite(zero)
