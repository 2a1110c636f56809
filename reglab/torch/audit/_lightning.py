"""The watcher as a Lightning callback (lightning is an optional dependency)."""

from __future__ import annotations

from typing import Any

from reglab.torch.audit._watch import Watcher

# attribute names under which LightningModules commonly keep their criterion
_LOSS_ATTRS = ("criterion", "loss_fn", "loss_func", "loss")


def _callback_base() -> type:
    try:
        from lightning.pytorch.callbacks import Callback
    except ImportError:
        try:
            from pytorch_lightning.callbacks import Callback
        except ImportError:
            raise ImportError(
                "lightning_callback needs Lightning: pip install 'reglab[lightning]'"
            ) from None
    return Callback


def make_callback(**kwargs: Any):
    """Build the callback class on Lightning's ``Callback`` and return an instance."""
    base = _callback_base()

    class RegularizationAudit(base):  # type: ignore[misc, valid-type]
        """Audits the set-up when fitting starts and watches the fit; ``findings`` holds the
        result, printed when fitting ends."""

        def __init__(self) -> None:
            super().__init__()
            self.findings = None
            self._watcher: Watcher | None = None

        def on_fit_start(self, trainer, pl_module) -> None:
            if not trainer.optimizers:
                raise ValueError("the LightningModule configured no optimizer to audit")
            options = dict(kwargs)
            if "loss" not in options:
                options["loss"] = next(
                    (getattr(pl_module, a) for a in _LOSS_ATTRS if hasattr(pl_module, a)), None
                )
            self._watcher = Watcher(pl_module, trainer.optimizers[0], **options)
            self.findings = self._watcher.attach()

        def on_fit_end(self, trainer, pl_module) -> None:
            if self._watcher is not None:
                self._watcher.detach()
                self._watcher.finish()
                print(self.findings)

    return RegularizationAudit()
