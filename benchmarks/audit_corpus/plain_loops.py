"""Set-ups written as plain PyTorch loops, one seeded mistake each."""

from __future__ import annotations

import torch
from torch import nn

import reglab
import reglab.torch as rt
from reglab.torch.audit import watch

from . import batches, mlp, run_epochs, setup, tabular


def _data():
    x, y = tabular()
    return batches(x, y), batches(*tabular(seed=1))


@setup("plain", "RA101")
def sgd_weight_decay_on_everything():
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA101")
def adamw_default_decay_with_batchnorm():
    model = mlp(bn=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)  # AdamW's default weight_decay=0.01
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA102")
def adam_with_weight_decay():
    model = mlp()
    groups = rt.weight_decay_param_groups(model, 1e-4)
    opt = torch.optim.Adam(groups, lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA102")
def nadam_coupled_decay():
    model = mlp()
    opt = torch.optim.NAdam(rt.weight_decay_param_groups(model, 1e-3), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA102")
def radam_coupled_decay():
    model = mlp()
    opt = torch.optim.RAdam(rt.weight_decay_param_groups(model, 1e-3), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA103")
def smoothing_on_top_of_mixup():
    model = mlp()
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    mix = rt.MixUpCutMix(num_classes=3, mixup_alpha=0.2, cutmix_alpha=0.0)
    train, _ = _data()
    with watch(model, opt, loss=crit, mixing=mix) as found:
        for x, y in train:
            x, soft = mix(x, y)
            opt.zero_grad()
            crit(model(x), soft).backward()
            opt.step()
    return found


@setup("plain", "RA105")
def early_stopping_keeps_the_last_weights():
    model = mlp()
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    stopper = reglab.EarlyStopping(patience=2)
    train, val = _data()
    with watch(model, opt, loss=crit, early_stopping=stopper) as found:
        run_epochs(model, opt, crit, train, val, epochs=3, hook=stopper.step)
    return found


@setup("plain", "RA107")
def dropout_feeding_batchnorm():
    model = nn.Sequential(
        nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.BatchNorm1d(32), nn.Linear(32, 3)
    )
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("plain", "RA201")
def forgot_model_eval_with_dropout():
    model = mlp(p=0.5)
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val, evaluate=False)
    return found


@setup("plain", "RA201")
def forgot_model_eval_with_batchnorm():
    model = nn.Sequential(nn.Linear(8, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val, evaluate=False)
    return found


@setup("plain", "RA201")
def model_train_called_inside_evaluation():
    model = mlp(p=0.3)
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, epochs=1)
        model.eval()
        with torch.no_grad():
            for x, y in val:
                model.train()  # e.g. a helper that "resets" the model between batches
                crit(model(x), y)
    return found


@setup("plain", "RA202")
def two_pass_sam_by_hand_with_batchnorm():
    model = mlp(bn=True)
    opt = torch.optim.SGD(rt.weight_decay_param_groups(model, 5e-4), lr=0.05, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, _ = _data()
    with watch(model, opt, loss=crit) as found:
        for x, y in train:
            opt.zero_grad()
            crit(model(x), y).backward()
            with torch.no_grad():  # ascend to w + e, the SAM perturbation
                eps = [
                    0.05 * p.grad / (p.grad.norm() + 1e-12) if p.grad is not None else None
                    for p in model.parameters()
                ]
                for p, e in zip(model.parameters(), eps, strict=True):
                    if e is not None:
                        p.add_(e)
            opt.zero_grad()
            crit(model(x), y).backward()  # second pass on the same batch: BN updated again
            with torch.no_grad():
                for p, e in zip(model.parameters(), eps, strict=True):
                    if e is not None:
                        p.sub_(e)
            opt.step()
    return found


@setup("plain", "RA204")
def batchnorm_net_without_any_decay():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 3))
    opt = torch.optim.SGD(model.parameters(), lr=10.0, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    x, y = tabular()
    with watch(model, opt, loss=crit, norm_every=10) as found:
        run_epochs(model, opt, crit, batches(x, y, 64), epochs=60)
    return found


def _overfit(restore: bool = False, epochs: int = 30):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 256), nn.ReLU(), nn.Linear(256, 3))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    crit = nn.CrossEntropyLoss()
    train = batches(*tabular(n=32), size=32)
    val = batches(*tabular(n=256, seed=3), size=256)
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train * 5, val, epochs=epochs)
    return found


@setup("plain", "RA205")
def long_training_on_tiny_data():
    return _overfit()


@setup("plain", "RA206")
def fixed_epochs_no_restore():
    return _overfit(epochs=20)


@setup("plain", "RA207")
def overconfident_after_long_training():
    return _overfit(epochs=40)
