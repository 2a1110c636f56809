"""SAM / ASAM / LookSAM: perturbation norm, gradient at w+e, bit-identical restore, BatchNorm
statistics, AMP, scheduler/state_dict, rho=0 equivalence, errors."""

import copy

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


def make(dtype=torch.float64, bn=True, seed=0):
    torch.manual_seed(seed)
    layers = [nn.Linear(4, 8)] + ([nn.BatchNorm1d(8)] if bn else []) + [nn.Tanh(), nn.Linear(8, 3)]
    model = nn.Sequential(*layers).to(dtype)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.randn(16, 4, generator=g, dtype=dtype)
    y = torch.randint(0, 3, (16,), generator=g)
    return model, x, y


def loss_of(model, x, y):
    return nn.functional.cross_entropy(model(x), y)


def closure_for(model, x, y):
    def closure():
        loss = loss_of(model, x, y)
        loss.backward()
        return loss

    return closure


def flat(ts):
    return torch.cat([t.reshape(-1) for t in ts])


@pytest.mark.parametrize("adaptive", [False, True])
def test_perturbation_norm_is_rho(adaptive):
    model, x, y = make()
    opt = rt.SAM(
        model.parameters(), torch.optim.SGD, rho=0.07, adaptive=adaptive, eta=0.01, lr=0.1
    )  # BatchNorm's bias starts at 0: eta keeps T_w = |w| + eta invertible
    w0 = [p.detach().clone() for p in model.parameters()]
    loss_of(model, x, y).backward()
    opt.first_step()
    e = [p.detach() - w for p, w in zip(model.parameters(), w0)]
    if adaptive:  # ASAM: ||T_w^{-1} e|| = rho with T_w = |w| + eta
        e = [ei / (w.abs() + 0.01) for ei, w in zip(e, w0)]
    assert flat(e).norm().item() == pytest.approx(0.07, rel=1e-9)
    opt.restore()
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), w0))


@pytest.mark.parametrize("adaptive", [False, True])
def test_gradient_and_update_match_an_independent_copy(adaptive):
    model, x, y = make(bn=False)
    ref = copy.deepcopy(model)
    rho, lr = 0.05, 0.3
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=rho, adaptive=adaptive, lr=lr)
    loss_of(model, x, y).backward()
    opt.step(closure_for(model, x, y))
    # independent computation on the copy
    params = list(ref.parameters())
    g = torch.autograd.grad(loss_of(ref, x, y), params)
    t = [p.detach().abs() if adaptive else torch.ones_like(p) for p in params]
    tg = [ti * gi for ti, gi in zip(t, g)]
    norm = flat(tg).norm()
    with torch.no_grad():
        for p, ti, tgi in zip(params, t, tg):
            p.add_(rho * ti * tgi / norm)
    g_sam = torch.autograd.grad(loss_of(ref, x, y), params)
    w_orig = [p.detach().clone() for p in make(bn=False)[0].parameters()]
    for p, w, gs in zip(model.parameters(), w_orig, g_sam):
        assert torch.allclose(p, w - lr * gs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "base, kwargs",
    [(torch.optim.SGD, dict(lr=0.1, momentum=0.9, weight_decay=1e-3)), (torch.optim.Adam, {})],
)
def test_rho_zero_equals_base_optimizer_step_for_step(base, kwargs):
    model, x, y = make()
    ref = copy.deepcopy(model)
    sam = rt.SAM(model.parameters(), base, rho=0.0, model=model, **kwargs)
    plain = base(ref.parameters(), **kwargs)
    for _ in range(4):
        sam.zero_grad()
        loss_of(model, x, y).backward()
        sam.step(closure_for(model, x, y))
        plain.zero_grad()
        loss_of(ref, x, y).backward()
        plain.step()
        for p, q in zip(model.parameters(), ref.parameters()):
            assert torch.equal(p, q)
        for b1, b2 in zip(model.buffers(), ref.buffers()):
            assert torch.equal(b1, b2)


class TwoHeads(nn.Module):
    """head_b only receives a gradient in the first pass."""

    def __init__(self):
        super().__init__()
        self.body = nn.Linear(3, 3)
        self.head_a = nn.Linear(3, 1)
        self.head_b = nn.Linear(3, 1)
        self.use_b = True

    def forward(self, x):
        h = self.body(x)
        out = self.head_a(h)
        return out + self.head_b(h) if self.use_b else out


def test_every_saved_parameter_restored_even_without_second_grad():
    torch.manual_seed(0)
    model = TwoHeads().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.5, lr=0.0)
    model(x).sum().backward()

    def closure():
        model.use_b = False  # head_b gets no gradient at w + e
        loss = model(x).sum()
        loss.backward()
        return loss

    opt.step(closure)
    assert model.head_b.weight.grad is None
    for n, p in model.named_parameters():
        assert torch.equal(p, w0[n]), n  # lr=0: every parameter bit-identical


def test_bn_mode_first_keeps_running_stats_and_counter():
    model, x, y = make()
    ref = copy.deepcopy(model)
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.1, lr=0.0, model=model)
    assert opt.bn_mode == "first"
    loss_of(model, x, y).backward()
    opt.step(closure_for(model, x, y))
    loss_of(ref, x, y)  # one forward only
    bn, bn_ref = model[1], ref[1]
    assert torch.equal(bn.running_mean, bn_ref.running_mean)
    assert torch.equal(bn.running_var, bn_ref.running_var)
    assert bn.num_batches_tracked.item() == 1
    assert bn.track_running_stats  # flag restored


def test_bn_mode_both_updates_twice_and_first_needs_model():
    model, x, y = make()
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.1, lr=0.1, bn_mode="both")
    loss_of(model, x, y).backward()
    opt.step(closure_for(model, x, y))
    assert model[1].num_batches_tracked.item() == 2
    with pytest.raises(ValueError, match="model="):
        rt.SAM(model.parameters(), torch.optim.SGD, bn_mode="first", lr=0.1)
    with pytest.raises(ValueError, match="bn_mode"):
        rt.SAM(model.parameters(), torch.optim.SGD, bn_mode="eval", model=model, lr=0.1)


@pytest.mark.parametrize("enabled", [False, True])
def test_amp_autocast_and_grad_scaler(enabled):
    model, x, y = make(dtype=torch.float32, bn=False)
    ref = copy.deepcopy(model)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, enabled=enabled)
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)
    ref_opt = rt.SAM(ref.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)

    def amp_closure(m):
        def closure():
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = loss_of(m, x, y)
            scaler.scale(loss).backward()
            return loss

        return closure

    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = loss_of(model, x, y)
    scaler.scale(loss).backward()
    opt.step(amp_closure(model), scaler=scaler)
    scaler.update()
    # same thing without the scaler: scaling by a power of two is exact
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss_of(ref, x, y).backward()

    def ref_closure():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = loss_of(ref, x, y)
        loss.backward()
        return loss

    ref_opt.step(ref_closure)
    for p, q in zip(model.parameters(), ref.parameters()):
        assert torch.allclose(p, q, rtol=1e-6, atol=1e-7)


def test_amp_skipped_step_leaves_weights_restored():
    model, x, y = make(dtype=torch.float32, bn=False)
    w0 = [p.detach().clone() for p in model.parameters()]
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)
    scaler.scale(loss_of(model, x, y)).backward()

    def overflowing():
        loss = loss_of(model, x, y) * float("inf")
        scaler.scale(loss).backward()
        return loss

    opt.step(overflowing, scaler=scaler)
    scaler.update()
    assert scaler.get_scale() < 2.0**10  # the step was skipped
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), w0))


def test_scheduler_and_state_dict_reach_base():
    model, x, y = make()
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9, model=model)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    twin = copy.deepcopy(model)
    for _ in range(2):
        opt.zero_grad()
        loss_of(model, x, y).backward()
        opt.step(closure_for(model, x, y))
        sched.step()
    assert opt.base_optimizer.param_groups[0]["lr"] == pytest.approx(0.025)
    state = opt.state_dict()
    assert state["base"]["state"][0]["momentum_buffer"] is not None
    # resume into a fresh optimizer over a copy: identical next step
    twin.load_state_dict(model.state_dict())
    opt2 = rt.SAM(twin.parameters(), torch.optim.SGD, rho=0.05, lr=0.1, momentum=0.9, model=twin)
    opt2.load_state_dict(copy.deepcopy(state))
    assert opt2.param_groups is opt2.base_optimizer.param_groups
    assert opt2.param_groups[0]["lr"] == pytest.approx(0.025)
    for m, o in ((model, opt), (twin, opt2)):
        o.zero_grad()
        loss_of(m, x, y).backward()
        o.step(closure_for(m, x, y))
    for p, q in zip(model.parameters(), twin.parameters()):
        assert torch.equal(p, q)


def test_interval_and_looksam_reuse():
    model, x, y = make(bn=False)
    calls = []
    opt = rt.LookSAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=1.0, interval=3)
    assert opt.look_alpha == 0.7

    def closure():
        calls.append(1)
        return closure_for(model, x, y)()

    for step in range(6):
        opt.zero_grad()
        loss_of(model, x, y).backward()
        if step % 3 != 0:
            # LookSAM: g + alpha ||g|| / ||g_v|| g_v, with g_v orthogonal-ish to the old g
            g = {p: p.grad.clone() for p in model.parameters()}
            gv = {p: opt._gv[p] for p in model.parameters()}
            ratio = flat(list(g.values())).norm() / flat(list(gv.values())).norm()
            w = {p: p.detach().clone() for p in model.parameters()}
            opt.step(closure)
            for p in model.parameters():  # SGD, lr = 1: w_new = w - grad
                assert torch.allclose(w[p] - p.detach(), g[p] + 0.7 * ratio * gv[p], rtol=1e-10)
        else:
            opt.step(closure)
    assert len(calls) == 2


def test_looksam_direction_is_orthogonal_to_g():
    model, x, y = make(bn=False)
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.0, interval=2, look_alpha=0.5)
    loss_of(model, x, y).backward()
    g = flat([p.grad.clone() for p in model.parameters()])
    opt.step(closure_for(model, x, y))
    gv = flat([opt._gv[p] for p in model.parameters()])
    assert abs(torch.dot(g, gv).item()) < 1e-12 * g.norm().item() * gv.norm().item() + 1e-15


def test_errors():
    model, x, y = make()
    opt = rt.SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)
    with pytest.raises(RuntimeError, match="before backward"):
        opt.step(closure_for(model, x, y))
    loss_of(model, x, y).backward()
    with pytest.raises(ValueError, match="closure is required"):
        opt.step()
    with pytest.raises(ValueError, match="rho must be finite and >= 0"):
        rt.SAM(model.parameters(), torch.optim.SGD, rho=-0.1, lr=0.1)
    with pytest.raises(TypeError, match="base_optimizer"):
        rt.SAM(model.parameters(), torch.optim.SGD(model.parameters(), lr=0.1), lr=0.1)
    with pytest.raises(ValueError, match="interval"):
        rt.SAM(model.parameters(), torch.optim.SGD, interval=0, lr=0.1)
    # a failing closure leaves the weights restored
    w0 = [p.detach().clone() for p in model.parameters()]

    def broken():
        raise KeyError("boom")

    with pytest.raises(KeyError):
        opt.step(broken)
    assert all(torch.equal(p, w) for p, w in zip(model.parameters(), w0))
