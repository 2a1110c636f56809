"""Set-ups in the style of torchvision's reference recipes: ResNets, SGD, schedules."""

from __future__ import annotations

import torch
from torch import nn

import reglab
import reglab.torch as rt
from reglab.torch.audit import watch

from . import TinyResNet, batches, images, run_epochs, setup


def _data():
    return batches(*images()), batches(*images(seed=1))


def _norm_groups(model, weight_decay, norm_weight_decay=0.0):
    """torchvision's set_weight_decay: normalisation layers get norm_weight_decay."""
    norm, other = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            is_norm = isinstance(
                module, nn.modules.batchnorm._BatchNorm | nn.LayerNorm | nn.GroupNorm
            )
            (norm if is_norm or name == "bias" else other).append(p)
    return [
        {"params": norm, "weight_decay": norm_weight_decay},
        {"params": other, "weight_decay": weight_decay},
    ]


@setup("torchvision", "RA101")
def resnet_sgd_decay_on_batchnorm():
    model = TinyResNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    train, val = _data()
    with watch(model, opt, loss=crit, scheduler=sched) as found:
        run_epochs(model, opt, crit, train, val)
        sched.step()
    return found


@setup("torchvision", "RA101")
def resnet_norm_weight_decay_set_to_the_main_decay():
    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4, norm_weight_decay=1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("torchvision", "RA102")
def resnet_adam_with_l2():
    model = TinyResNet()
    opt = torch.optim.Adam(_norm_groups(model, 1e-4), lr=1e-3)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("torchvision", "RA103")
def mixup_cutmix_collate_and_smoothed_loss():
    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    mix = rt.MixUpCutMix(num_classes=4, mixup_alpha=0.2, cutmix_alpha=1.0)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, _ = _data()
    with watch(model, opt, loss=crit, mixing=mix) as found:
        for x, y in train:
            x, soft = mix(x, y)
            opt.zero_grad()
            crit(model(x), soft).backward()
            opt.step()
    return found


@setup("torchvision", "RA105")
def keras_style_early_stopping_without_restore():
    class EarlyStopping:  # a Keras-like callback object, as ported scripts carry
        def __init__(self, patience, restore_best_weights=False):
            self.patience, self.restore_best_weights = patience, restore_best_weights

    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit, early_stopping=EarlyStopping(patience=5)) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("torchvision", "RA105")
def reglab_early_stopping_without_snapshot():
    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    stopper = reglab.EarlyStopping(patience=3, min_delta=1e-3)
    train, val = _data()
    with watch(model, opt, loss=crit, early_stopping=stopper) as found:
        run_epochs(model, opt, crit, train, val, hook=stopper.step)
    return found


@setup("torchvision", "RA106")
def sam_with_batchnorm_updated_by_both_passes():
    model = TinyResNet()
    opt = rt.SAM(
        _norm_groups(model, 1e-4),
        torch.optim.SGD,
        model=model,
        bn_mode="both",
        lr=0.1,
        momentum=0.9,
    )
    crit = nn.CrossEntropyLoss()
    train, _ = _data()
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


@setup("torchvision", "RA106")
def sam_without_model_argument():
    model = TinyResNet()
    opt = rt.SAM(_norm_groups(model, 1e-4), torch.optim.SGD, lr=0.1, momentum=0.9)  # bn_mode='both'
    crit = nn.CrossEntropyLoss()
    train, _ = _data()
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


@setup("torchvision", "RA107")
def dropout_between_conv_and_batchnorm():
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.Dropout2d(0.2), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4),
    )  # fmt: skip
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("torchvision", "RA108")
def reglab_augmentation_on_validation():
    from reglab.augment.image import HorizontalFlip, Pipeline, Translation

    class Folder(torch.utils.data.Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.transform = x, y, transform

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i], self.y[i]

    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    val_set = Folder(*images(seed=1), transform=Pipeline([HorizontalFlip(), Translation(0.1)]))
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit, val_data=val_set) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("torchvision", "RA201")
def evaluate_helper_forgets_eval():
    model = TinyResNet(dropout=0.2)
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, val = _data()

    def evaluate(model, data):
        with torch.inference_mode():
            return [crit(model(x), y) for x, y in data]

    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, epochs=1)
        evaluate(model, val)
    return found


@setup("torchvision", "RA202")
def gradient_of_one_batch_accumulated_twice():
    model = TinyResNet()
    opt = torch.optim.SGD(_norm_groups(model, 1e-4), lr=0.1, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    train, _ = _data()
    with watch(model, opt, loss=crit) as found:
        for x, y in train:
            opt.zero_grad()
            for _ in range(2):  # "accumulation" that replays the same batch
                (crit(model(x), y) / 2).backward()
            opt.step()
    return found


@setup("torchvision", "RA204")
def resnet_without_weight_decay_high_lr():
    torch.manual_seed(0)
    model = TinyResNet()
    opt = torch.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
    crit = nn.CrossEntropyLoss()
    x, y = images(n=16)
    with watch(model, opt, loss=crit, norm_every=10) as found:
        run_epochs(model, opt, crit, [(x, y)], epochs=40)
    return found
