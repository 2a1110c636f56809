"""Clean set-ups that follow current recipes: the audit should find nothing of severity
warning or above here."""

from __future__ import annotations

import torch
from torch import nn

import reglab
import reglab.torch as rt
from reglab.torch.audit import watch

from . import TinyResNet, TinyViT, batches, images, mlp, run_epochs, setup, tabular


def _img():
    return batches(*images()), batches(*images(seed=1))


def _tab():
    return batches(*tabular()), batches(*tabular(seed=1))


@setup("clean", None)
def deit_style_vit():
    """DeiT: AdamW with decay groups (no decay on norms, biases, pos_embed), DropPath ramp,
    MixUp/CutMix with the loss taking soft targets, cosine schedule."""
    model = TinyViT(depth=4, rates=rt.drop_path_rates(4, 0.1))
    groups = rt.weight_decay_param_groups(model, 0.05, exclude=["pos_embed"])
    opt = torch.optim.AdamW(groups, lr=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
    mix = rt.MixUpCutMix(num_classes=4, mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1)
    crit = rt.soft_target_cross_entropy
    train, val = _img()
    with watch(model, opt, mixing=mix, scheduler=sched) as found:
        for _ in range(2):
            model.train()
            for x, y in train:
                x, soft = mix(x, y)
                opt.zero_grad()
                crit(model(x), soft).backward()
                opt.step()
            sched.step()
            model.eval()
            with torch.no_grad():
                [nn.functional.cross_entropy(model(x), y) for x, y in val]
    return found


@setup("clean", None)
def resnet_sgd_label_smoothing_cosine():
    model = TinyResNet()
    opt = torch.optim.SGD(
        rt.weight_decay_param_groups(model, 1e-4), lr=0.1, momentum=0.9, nesterov=True
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=3)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, val = _img()
    with watch(model, opt, loss=crit, scheduler=sched) as found:
        for _ in range(3):
            run_epochs(model, opt, crit, train, val, epochs=1)
            sched.step()
    return found


class LockedDropoutLM(nn.Module):
    """An AWD-LSTM-style language model: locked (variational) dropout between layers."""

    def __init__(self, vocab: int = 20, dim: int = 16):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, dim, batch_first=True)
        self.drop = rt.LockedDropout(0.3, batch_first=True)
        self.out = nn.Linear(dim, vocab)

    def forward(self, tokens):
        h, _ = self.lstm(self.drop(self.embed(tokens)))
        return self.out(self.drop(h)).flatten(0, 1)


@setup("clean", None)
def lstm_with_locked_dropout():
    torch.manual_seed(0)
    model = LockedDropoutLM()
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 1e-2), lr=3e-3)
    crit = nn.CrossEntropyLoss()
    tokens = torch.randint(0, 20, (16, 9))
    train = [
        (tokens[:8, :-1], tokens[:8, 1:].flatten()),
        (tokens[8:, :-1], tokens[8:, 1:].flatten()),
    ]
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, train[:1], epochs=2)
    return found


@setup("clean", None)
def mlp_early_stopping_with_best_weights():
    model = mlp()
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    best = rt.BestWeights(model)
    stopper = reglab.EarlyStopping(patience=3, on_improvement=best.save)
    train, val = _tab()
    with watch(model, opt, loss=crit, early_stopping=stopper) as found, best:
        run_epochs(model, opt, crit, train, val, epochs=5, hook=stopper.step)
    return found


@setup("clean", None)
def sam_with_first_pass_batchnorm():
    model = TinyResNet()
    opt = rt.SAM(
        rt.weight_decay_param_groups(model, 1e-4),
        torch.optim.SGD,
        model=model,
        lr=0.1,
        momentum=0.9,
    )
    crit = nn.CrossEntropyLoss()
    train, _ = _img()
    with watch(model, opt, loss=crit) as found:
        for x, y in train:

            def closure(x=x, y=y):
                opt.zero_grad()
                loss = crit(model(x), y)
                loss.backward()
                return loss

            closure()  # the loss and gradient at w
            opt.step(closure)  # SAM re-evaluates them at the perturbed weights
    return found


@setup("clean", None)
def adamw_transformer_with_attention_dropout():
    model = TinyViT(drop=0.1)
    opt = torch.optim.AdamW(
        rt.weight_decay_param_groups(model, 0.1, exclude=["pos_embed"]), lr=3e-4, betas=(0.9, 0.95)
    )
    crit = nn.CrossEntropyLoss()
    train, val = _img()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("clean", None)
def sgd_without_decay_on_a_plain_mlp():
    """No BatchNorm, no decay: nothing to collapse, nothing decayed wrongly."""
    model = mlp(p=0.1)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, val = _tab()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("clean", None)
def batchnorm_net_with_decay_groups():
    model = nn.Sequential(
        nn.Linear(8, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 3)
    )
    opt = torch.optim.SGD(rt.weight_decay_param_groups(model, 5e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, val = _tab()
    with watch(model, opt, loss=crit, norm_every=5) as found:
        run_epochs(model, opt, crit, train, val, epochs=3)
    return found


@setup("clean", None)
def gradient_accumulation_over_micro_batches():
    model = TinyResNet()
    opt = torch.optim.SGD(rt.weight_decay_param_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    x, y = images()
    with watch(model, opt, loss=crit) as found:
        for _ in range(2):
            opt.zero_grad()
            for xb, yb in batches(x, y, 8):  # four different micro-batches per step
                (crit(model(xb), yb) / 4).backward()
            opt.step()
    return found


@setup("clean", None)
def mixup_with_plain_cross_entropy_on_soft_targets():
    model = mlp()
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    mix = rt.MixUpCutMix(num_classes=3, mixup_alpha=0.4, cutmix_alpha=0.0)
    crit = nn.CrossEntropyLoss()
    train, val = _tab()
    with watch(model, opt, loss=crit, mixing=mix) as found:
        for x, y in train:
            x, soft = mix(x, y)
            opt.zero_grad()
            crit(model(x), soft).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            [crit(model(x), y) for x, y in val]
    return found


@setup("clean", None)
def resnet_with_deterministic_validation_transforms():
    class CenterCrop:
        def __call__(self, x):
            return x

    class Normalize:
        def __call__(self, x):
            return x

    class Compose:
        def __init__(self, transforms):
            self.transforms = transforms

    class Folder(torch.utils.data.Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.transform = x, y, transform

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    model = TinyResNet()
    opt = torch.optim.SGD(rt.weight_decay_param_groups(model, 1e-4), lr=0.1, momentum=0.9)
    val_set = Folder(*images(seed=1), transform=Compose([CenterCrop(), Normalize()]))
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, val = _img()
    with watch(model, opt, loss=crit, val_data=val_set) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("clean", None)
def vit_with_drop_path_ramp_and_layer_decay_groups():
    model = TinyViT(depth=6, rates=rt.drop_path_rates(6, 0.2))
    opt = torch.optim.AdamW(
        rt.weight_decay_param_groups(model, 0.05, exclude=["pos_embed"]), lr=5e-4
    )
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, val = _img()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("clean", None)
def mc_dropout_prediction_after_training():
    model = mlp(p=0.3)
    opt = torch.optim.AdamW(rt.weight_decay_param_groups(model, 0.05), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _tab()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    # MC dropout switches dropout on deliberately, after training: outside the watched loop
    rt.mc_predict(model, val[0][0], samples=4)
    return found


@setup("clean", None)
def lightning_recipe():
    from .lightning_style import _fit, _module

    module = _module(
        mlp,
        lambda m: torch.optim.AdamW(rt.weight_decay_param_groups(m, 0.05), lr=1e-3),
        smoothing=0.1,
    )
    return _fit(module, tabular())


@setup("clean", None)
def lightning_resnet_recipe():
    from .lightning_style import _fit, _module

    module = _module(
        TinyResNet,
        lambda m: torch.optim.SGD(rt.weight_decay_param_groups(m, 1e-4), lr=0.1, momentum=0.9),
        smoothing=0.1,
    )
    return _fit(module, images())
