"""Set-ups written as Lightning modules, audited by the one-line callback."""

from __future__ import annotations

import warnings

import torch
from torch import nn

import reglab.torch as rt
from reglab.torch.audit import lightning_callback

from . import TinyResNet, images, mlp, setup, tabular


def _fit(module_cls, data, epochs: int = 1, **callback_kwargs):
    import lightning.pytorch as pl

    callback = lightning_callback(**callback_kwargs)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*data), batch_size=16)
    trainer = pl.Trainer(
        max_epochs=epochs, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Lightning's hints about workers and log intervals
        trainer.fit(module_cls(), loader, loader)
    return callback.findings


def _module(net_factory, optimizer_factory, train_mode_in_validation=False, smoothing=0.0):
    import lightning.pytorch as pl

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net_factory()
            self.criterion = nn.CrossEntropyLoss(label_smoothing=smoothing)

        def training_step(self, batch, _):
            x, y = batch
            return self.criterion(self.net(x), y)

        def validation_step(self, batch, _):
            if train_mode_in_validation:
                self.net.train()
            x, y = batch
            self.log("val_loss", self.criterion(self.net(x), y))

        def configure_optimizers(self):
            return optimizer_factory(self)

    return Module


@setup("lightning", "RA101")
def lightning_adamw_on_all_parameters():
    module = _module(mlp, lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.05))
    return _fit(module, tabular())


@setup("lightning", "RA102")
def lightning_adam_weight_decay():
    module = _module(
        mlp, lambda m: torch.optim.Adam(rt.weight_decay_param_groups(m, 1e-4), lr=1e-3)
    )
    return _fit(module, tabular())


@setup("lightning", "RA201")
def lightning_validation_step_switches_to_train():
    module = _module(
        lambda: mlp(p=0.5),
        lambda m: torch.optim.AdamW(rt.weight_decay_param_groups(m, 0.05), lr=1e-3),
        train_mode_in_validation=True,
    )
    return _fit(module, tabular())


@setup("lightning", "RA101")
def lightning_resnet_sgd_decay_everywhere():
    module = _module(
        TinyResNet,
        lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
    )
    return _fit(module, images())
