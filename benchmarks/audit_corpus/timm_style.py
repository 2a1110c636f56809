"""Set-ups in the style of timm training scripts: a ViT, param groups, DropPath, MixUp."""

from __future__ import annotations

import torch
from torch import nn

import reglab.torch as rt
from reglab.torch.audit import watch

from . import TinyViT, batches, images, run_epochs, setup


def _data():
    return batches(*images()), batches(*images(seed=1))


def _groups_timm_style(model, weight_decay, skip=()):
    """timm's param_groups_weight_decay: no decay for 1-D params, biases and ``skip``."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if p.ndim <= 1 or name.endswith(".bias") or name in skip:
            no_decay.append(p)
        else:
            decay.append(p)
    return [
        {"params": no_decay, "weight_decay": 0.0},
        {"params": decay, "weight_decay": weight_decay},
    ]


def _soft_ce():
    return rt.soft_target_cross_entropy


@setup("timm", "RA101")
def vit_adamw_without_param_groups():
    model = TinyViT()
    opt = torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.05)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("timm", "RA101")
def vit_groups_that_forget_layernorm_weights():
    model = TinyViT()
    decay = [p for n, p in model.named_parameters() if not n.endswith(".bias")]
    no_decay = [p for n, p in model.named_parameters() if n.endswith(".bias")]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=5e-4,
    )
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("timm", "RA102")
def vit_adam_l2_instead_of_adamw():
    model = TinyViT()
    opt = torch.optim.Adam(_groups_timm_style(model, 0.05), lr=5e-4)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("timm", "RA103")
def mixup_targets_smoothed_twice():
    model = TinyViT()
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05), lr=5e-4)
    mix = rt.MixUpCutMix(num_classes=4, mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1)
    crit = rt.LabelSmoothingCrossEntropy(0.1)
    train, _ = _data()
    with watch(model, opt, loss=crit, mixing=mix) as found:
        for x, y in train:
            x, soft = mix(x, y)
            opt.zero_grad()
            rt.soft_target_cross_entropy(model(x), soft).backward()
            opt.step()
    return found


@setup("timm", "RA103")
def cutmix_with_smoothed_cross_entropy():
    model = TinyViT()
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05), lr=5e-4)
    mix = rt.MixUpCutMix(num_classes=4, mixup_alpha=0.0, cutmix_alpha=1.0)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    train, _ = _data()
    with watch(model, opt, loss=crit, mixing=mix) as found:
        for x, y in train:
            x, soft = mix(x, y)
            opt.zero_grad()
            crit(model(x), soft).backward()
            opt.step()
    return found


@setup("timm", "RA104")
def vit_flat_drop_path():
    model = TinyViT(depth=6, rates=[0.1] * 6)
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05, skip=("pos_embed",)), lr=5e-4)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val)
    return found


@setup("timm", "RA104")
def vit_drop_path_rate_copied_to_every_block():
    drop_path_rate = 0.2
    model = TinyViT(depth=4, rates=[drop_path_rate for _ in range(4)])
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05), lr=5e-4)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val, epochs=1)
    return found


@setup("timm", "RA201")
def validate_fn_without_eval():
    model = TinyViT(drop=0.1)
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05), lr=5e-4)
    crit = nn.CrossEntropyLoss()
    train, val = _data()
    with watch(model, opt, loss=crit) as found:
        run_epochs(model, opt, crit, train, val, evaluate=False)
    return found


@setup("timm", "RA108")
def eval_dataset_with_train_transforms():
    class RandomResizedCrop:
        def __call__(self, x):
            return x

    class RandomHorizontalFlip:
        def __call__(self, x):
            return x

    class Compose:
        def __init__(self, transforms):
            self.transforms = transforms

        def __call__(self, x):
            for t in self.transforms:
                x = t(x)
            return x

    class ImageDataset(torch.utils.data.Dataset):
        def __init__(self, x, y, transform):
            self.x, self.y, self.transform = x, y, transform

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.transform(self.x[i]), self.y[i]

    model = TinyViT()
    opt = torch.optim.AdamW(_groups_timm_style(model, 0.05), lr=5e-4)
    train_tf = Compose([RandomResizedCrop(), RandomHorizontalFlip()])
    val_loader = torch.utils.data.DataLoader(
        ImageDataset(*images(seed=1), transform=train_tf), batch_size=16
    )
    crit = nn.CrossEntropyLoss()
    train, _ = _data()
    with watch(model, opt, loss=crit, val_data=val_loader) as found:
        run_epochs(model, opt, crit, train, list(val_loader))
    return found
