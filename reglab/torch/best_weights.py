"""Restore-best-weights for early stopping, done right.

``model.state_dict()`` returns tensors that *alias* the live parameters: keeping it as the
"best" snapshot keeps nothing, since training overwrites it in place. The snapshot here is a
copy (``clone``), restored with ``load_state_dict`` (in-place copies, so an optimizer holding
the parameters keeps working), and a ``with`` block restores the best weights when training
ends *without* an early stop too (keras#12511).
"""

from __future__ import annotations

import torch
from torch import nn

from reglab.torch._checks import check_bool, check_module

__all__ = ["BestWeights"]


class BestWeights:
    """Snapshot and restore a model's best weights.

    Parameters
    ----------
    model : nn.Module
    device : torch.device or str, optional
        Where to keep the snapshot (e.g. ``'cpu'`` to spare GPU memory); default: alongside
        each tensor.
    restore_on_exit : bool
        Restore the snapshot when leaving a ``with`` block (normally or by exception), if one
        was taken.

    Examples
    --------
    >>> best = BestWeights(model)                                         # doctest: +SKIP
    >>> stopper = reglab.EarlyStopping(patience=5, on_improvement=best.save)
    >>> with best:
    ...     for epoch in range(100):
    ...         train_one_epoch()
    ...         if stopper.step(validate()):
    ...             break
    >>> # here the model holds the best weights, stopped or not
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        device: torch.device | str | None = None,
        restore_on_exit: bool = True,
    ) -> None:
        self.model: nn.Module = check_module("model", model)
        if device is not None:
            try:
                device = torch.device(device)
            except (RuntimeError, TypeError):
                raise ValueError(f"device must be a torch.device or a device string, got "
                                 f"{device!r}") from None  # fmt: skip
        self.device = device
        self.restore_on_exit = check_bool("restore_on_exit", restore_on_exit)
        self.snapshot: dict[str, torch.Tensor] | None = None
        self.n_saves = 0

    @torch.no_grad()
    def save(self) -> None:
        """Copy the current parameters and buffers (a deep copy, never an alias)."""
        self.snapshot = {
            k: v.detach().to(self.device, copy=True) if self.device is not None else
            v.detach().clone()
            for k, v in self.model.state_dict().items()
        }  # fmt: skip
        self.n_saves += 1

    @property
    def has_snapshot(self) -> bool:
        return self.snapshot is not None

    @torch.no_grad()
    def restore(self) -> None:
        """Copy the snapshot back into the model, bit-identically."""
        if self.snapshot is None:
            raise RuntimeError("restore() called before any save(): there is no snapshot")
        self.model.load_state_dict(self.snapshot)

    def __enter__(self) -> BestWeights:
        return self

    def __exit__(self, *exc) -> None:
        if self.restore_on_exit and self.snapshot is not None:
            self.restore()
