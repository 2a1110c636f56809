"""Parameter penalties and weight-decay groups: masks, exclusions, AdamW vs Adam+L2."""

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import reglab.torch as rt  # noqa: E402

pytestmark = pytest.mark.torch


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(10, 4)
        self.pos_embed = nn.Parameter(torch.randn(1, 3, 4))
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm1d(4)
        self.ln = nn.LayerNorm(4)
        self.head = nn.Linear(4, 2)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)
        self.tied = self.head  # shared module: its parameters must appear once


PENALTIES = {
    "l2": (rt.l2_penalty, lambda w: 0.5 * (w**2).sum()),
    "l1": (rt.l1_penalty, lambda w: w.abs().sum()),
}


def test_default_mask_excludes_bias_1d_norm_and_frozen():
    mask = rt.decay_mask(Net())
    assert mask == {
        "pos_embed": True,
        "embed.weight": True,
        "conv.weight": True,
        "conv.bias": False,
        "bn.weight": False,
        "bn.bias": False,
        "ln.weight": False,
        "ln.bias": False,
        "head.weight": True,
        "head.bias": False,
    }
    assert rt.decay_mask(Net(), exclude=["*pos_embed", "embed.*"])["pos_embed"] is False


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_values_over_default_mask(name):
    fn, ref = PENALTIES[name]
    net = Net()
    expected = sum(ref(p) for n, p in net.named_parameters() if rt.decay_mask(net).get(n))
    assert torch.allclose(fn(net), expected)
    # explicit callable / mapping masks and elementwise tensor masks
    only_head = fn(net, mask=lambda n, p: n == "head.weight")
    assert torch.allclose(only_head, ref(net.head.weight))
    assert torch.allclose(fn(net, mask={"conv.bias": True}), ref(net.conv.bias))
    elem = torch.zeros_like(net.head.weight)
    elem[0] = 1
    assert torch.allclose(fn(net, mask={"head.weight": elem}), ref(net.head.weight[0]))
    assert fn(list(net.named_parameters()), mask=lambda n, p: False).item() == 0.0


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_gradient(name):
    fn, _ = PENALTIES[name]
    net = Net()
    fn(net).backward()
    w = net.head.weight
    expected = w if name == "l2" else w.sign()
    assert torch.allclose(w.grad, expected)
    assert net.head.bias.grad is None


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_bad_mask(name):
    fn, _ = PENALTIES[name]
    with pytest.raises(ValueError, match="mask for 'head.weight' has shape"):
        fn(Net(), mask={"head.weight": torch.ones(3)})
    with pytest.raises(TypeError, match="mask"):
        fn(Net(), mask=3)


def test_param_groups_partition_trainable_parameters():
    net = Net()
    groups = rt.weight_decay_param_groups(net, 0.05, exclude=["pos_embed"])
    ids = [id(p) for g in groups for p in g["params"]]
    trainable = [p for p in net.parameters() if p.requires_grad]
    assert sorted(ids) == sorted(id(p) for p in trainable)  # each exactly once
    assert len(ids) == len(set(ids))
    assert all(id(p) not in ids for p in net.frozen.parameters())
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0]
    decayed = {id(p) for p in groups[0]["params"]}
    assert id(net.pos_embed) not in decayed and id(net.conv.weight) in decayed
    opt = torch.optim.AdamW(groups, lr=1e-3)
    assert opt.param_groups[1]["weight_decay"] == 0.0
    with pytest.raises(ValueError, match="weight_decay must be finite and >= 0"):
        rt.weight_decay_param_groups(net, -1.0)
    with pytest.raises(TypeError, match="model"):
        rt.weight_decay_param_groups([], 0.1)


def test_adamw_vs_adam_l2_one_step_closed_forms():
    lr, wd = 0.01, 0.1
    w0 = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    g = torch.tensor([[0.3, 0.1], [-0.2, 0.0]], dtype=torch.float64)
    eps = 1e-8

    def one_step(opt_cls, penalty, decay):
        w = nn.Parameter(w0.clone())
        opt = opt_cls([{"params": [w], "weight_decay": decay}], lr=lr, eps=eps)
        loss = (w * g).sum() + (
            wd * rt.l2_penalty({"w": w}, mask=lambda *_: True) if penalty else 0
        )
        loss.backward()
        opt.step()
        return w.detach()

    # Adam + L2: g' = g + wd w, first step moves by lr * g' / (|g'| + eps)
    gp = g + wd * w0
    assert torch.allclose(one_step(torch.optim.Adam, True, 0.0), w0 - lr * gp / (gp.abs() + eps))
    # AdamW: shrink by (1 - lr wd), then the same normalised step on g alone
    adamw = one_step(torch.optim.AdamW, False, wd)
    assert torch.allclose(adamw, w0 * (1 - lr * wd) - lr * g / (g.abs() + eps))


def test_zero_gradient_adamw_shrinks_geometrically_adam_l2_moves_by_lr():
    lr, wd, steps = 0.01, 0.5, 5
    w0 = torch.tensor([2.0, -3.0], dtype=torch.float64)
    wa = nn.Parameter(w0.clone())
    wb = nn.Parameter(w0.clone())
    adamw = torch.optim.AdamW([wa], lr=lr, weight_decay=wd)
    adam = torch.optim.Adam([wb], lr=lr)
    for _ in range(steps):
        wa.grad = torch.zeros_like(wa)
        adamw.step()
        adam.zero_grad()
        (wd * rt.l2_penalty({"w": wb}, mask=lambda *_: True)).backward()
        adam.step()
    assert torch.allclose(wa.detach(), w0 * (1 - lr * wd) ** steps)
    # the L2 gradient is normalised away: every coordinate moved by ~lr per step
    assert torch.allclose(
        (w0 - wb.detach()).abs(), torch.full((2,), lr * steps, dtype=torch.float64), rtol=1e-3
    )
