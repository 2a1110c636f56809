"""The training-loop watcher: mistakes that only show while a model trains.

``with watch(model, optimizer, loss=criterion) as findings:`` runs the static audit, then
hooks the model, the optimizer and the loss (no change to the code inside the loop):

- a forward pass with gradients off is an evaluation; Dropout or BatchNorm in training mode
  there is RA201 (``model.eval()`` forgotten);
- the same input tensor going through the model in training mode twice between two optimizer
  steps, with BatchNorm in the model, is RA202 (its running statistics updated twice);
- every ``norm_every`` steps, the norms of scale-invariant weights (a Linear/Conv layer
  followed by BatchNorm): if ``||w||^2`` grew ``lr_collapse``-fold, their effective learning
  rate ``lr / ||w||^2`` collapsed (RA204);
- the loss module's calls with gradients on are training, with gradients off validation; at
  the end of each validation the watcher records the mean training and validation losses,
  the gap, the validation ECE and a fingerprint of the weights (``findings.history``). A
  validation loss that rose at ``gap_validations`` consecutive validations while the training
  loss fell is RA205; leaving the loop with weights worse than an earlier validation's, not
  restored, is RA206; a final validation ECE above ``ece_threshold`` with confidence above
  accuracy is RA207.

Losses and confidences are accumulated on the device and read at the end of a validation
only, so the hooks add no host-device synchronisation to a training step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reglab.torch.audit._findings import Finding, Findings
from reglab.torch.audit._static import _BATCHNORM, audit

__all__ = ["Watcher", "watch"]

_LINEAR_OPS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _stochastic_types() -> tuple[type[nn.Module], ...]:
    from reglab.torch.mc_dropout import STOCHASTIC_MODULES

    return (*STOCHASTIC_MODULES, _BATCHNORM)


def _first_tensor(args: tuple, kwargs: dict) -> torch.Tensor | None:
    for value in (*args, *kwargs.values()):
        if isinstance(value, torch.Tensor):
            return value
    return None


def _scale_invariant(model: nn.Module) -> dict[str, nn.Parameter]:
    """Weights of Linear/Conv layers whose next leaf module is a BatchNorm."""
    leaves = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    out = {}
    for (name, m), (_, nxt) in zip(leaves, leaves[1:], strict=False):
        if isinstance(m, _LINEAR_OPS) and isinstance(nxt, _BATCHNORM):
            out[f"{name}.weight"] = m.weight
    return out


class Watcher:
    """Hooks on a model, its optimizer and its loss that record findings while it trains.

    Parameters
    ----------
    model : nn.Module
    optimizer : torch.optim.Optimizer
    loss : nn.Module, optional
        The criterion as a module (its calls give the training and validation losses).
    mixing, early_stopping, val_data, scheduler
        Passed to the static :func:`~reglab.torch.audit.audit`.
    ignore : iterable of str
        Codes to silence.
    norm_every : int
        Steps between two checks of the scale-invariant weights' norms.
    lr_collapse : float
        Growth of ``||w||^2`` (so shrinkage of the effective learning rate) that is RA204.
    gap_validations : int
        Consecutive validations with a rising validation loss (training loss falling) for
        RA205.
    ece_threshold : float
        Validation ECE above which an over-confident model is RA207.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        loss: Any = None,
        mixing: Any = None,
        scheduler: Any = None,
        early_stopping: Any = None,
        val_data: Any = None,
        ignore=(),
        norm_every: int = 50,
        lr_collapse: float = 10.0,
        gap_validations: int = 3,
        ece_threshold: float = 0.1,
    ):
        self.findings = audit(
            model,
            optimizer,
            loss=loss,
            mixing=mixing,
            scheduler=scheduler,
            early_stopping=early_stopping,
            val_data=val_data,
            ignore=ignore,
        )
        for name, value, low in (
            ("norm_every", norm_every, 1),
            ("gap_validations", gap_validations, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name, value in (("lr_collapse", lr_collapse), ("ece_threshold", ece_threshold)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.norm_every, self.lr_collapse = norm_every, float(lr_collapse)
        self.gap_validations, self.ece_threshold = gap_validations, float(ece_threshold)
        types = _stochastic_types()
        self._stochastic = [(n, m) for n, m in model.named_modules() if isinstance(m, types)]
        self._has_bn = any(isinstance(m, _BATCHNORM) for _, m in self._stochastic)
        self._invariant = _scale_invariant(model)
        self._norms0: dict[str, float] = {}
        self._handles: list[Any] = []
        self._inputs: dict[tuple, int] = {}
        self._bn_updates: dict[nn.Module, int] = {}
        self._seen_train_mode_eval = False
        self._entered = self._children_hooked = False
        self.steps = 0
        self._reset_accumulators()

    # -- accumulators -------------------------------------------------------------------
    def _reset_accumulators(self) -> None:
        # detached loss tensors, summed when a validation closes: no device sync per step
        self._train_losses: list[torch.Tensor] = []
        self._val_losses: list[torch.Tensor] = []
        self._conf: list[torch.Tensor] = []
        self._correct: list[torch.Tensor] = []

    # -- hooks --------------------------------------------------------------------------
    def _on_stochastic(self, module, args):
        # a Dropout/BatchNorm running in training mode with gradients off is an evaluation
        # forward with model.eval() forgotten (hooked on the modules themselves, so it is
        # seen however the model is entered: model(x), model.net(x), a Lightning step...)
        if not module.training:
            return
        if torch.is_grad_enabled():
            # a BatchNorm in training mode that tracks statistics updates them on this call
            # (SAM's bn_mode='first' switches tracking off for its second pass)
            if getattr(module, "track_running_stats", False):
                self._bn_updates[module] = self._bn_updates.get(module, 0) + 1
            return
        if self._seen_train_mode_eval:
            return  # reported once; the list below is only built the first time
        self._seen_train_mode_eval = True
        training = [n or type(m).__name__ for n, m in self._stochastic if m.training]
        shown = ", ".join(training[:4]) + (" ..." if len(training) > 4 else "")
        self.findings.add(
            Finding(
                "RA201",
                type(self.model).__name__,
                f"evaluation forward (gradients off) with {len(training)} "
                f"dropout/BatchNorm modules in training mode: {shown}",
                {"modules": float(len(training))},
            )
        )

    def _on_forward(self, module, args, kwargs):
        # hooked only when the model has BatchNorm: the input identities for RA202
        self._entered = True
        if not torch.is_grad_enabled():
            return None
        if module.training:
            x = _first_tensor(args, kwargs)
            if x is not None:
                # the model and its direct children are hooked (a LightningModule calls
                # self.net(x), not self(x)); a repeat is the same module seeing the same
                # tensor twice between two optimizer steps
                key = (id(module), id(x), x.data_ptr(), x._version, tuple(x.shape))
                self._inputs[key] = self._inputs.get(key, 0) + 1
        return None

    def _on_loss(self, module, args, output):
        if not isinstance(output, torch.Tensor) or output.numel() != 1:
            return
        if torch.is_grad_enabled():
            if self._val_losses:
                self._close_validation()
            self._train_losses.append(output.detach())
            return
        self._val_losses.append(output.detach())
        if len(args) >= 2:
            logits, target = args[0], args[1]
            if (
                isinstance(logits, torch.Tensor)
                and isinstance(target, torch.Tensor)
                and logits.ndim == 2
                and target.ndim == 1
                and not target.is_floating_point()
            ):
                probs = logits.detach().float().softmax(dim=1)
                conf, pred = probs.max(dim=1)
                self._conf.append(conf)
                self._correct.append((pred == target).float())

    def _on_step(self, optimizer, args, kwargs):
        self.steps += 1
        passes = max(self._inputs.values(), default=1)
        updates = max(self._bn_updates.values(), default=0)
        if passes > 1 and updates > 1:
            self.findings.add(
                Finding(
                    "RA202",
                    type(self.model).__name__,
                    f"the same batch went through the model in training mode "
                    f"{passes} times before step {self.steps}, updating the BatchNorm "
                    f"running statistics {updates} times",
                    {"passes": float(passes), "updates": float(updates)},
                )
            )
        if self._bn_updates and not self._entered and not self._children_hooked:
            # BatchNorm ran but the model itself was never called: it is entered through a
            # child (a LightningModule's self.net(x)); watch the children's inputs instead
            self._children_hooked = True
            for child in self.model.children():
                self._handles.append(
                    child.register_forward_pre_hook(self._on_forward, with_kwargs=True)
                )
        self._inputs.clear()
        self._bn_updates.clear()
        if self._invariant and (self.steps == 1 or self.steps % self.norm_every == 0):
            self._check_norms()

    def _check_norms(self) -> None:
        with torch.no_grad():
            norms = {n: float(w.detach().float().pow(2).sum()) for n, w in self._invariant.items()}
        if not self._norms0:
            self._norms0 = norms
            return
        growth = {n: norms[n] / max(self._norms0[n], 1e-30) for n in norms}
        name = max(growth, key=growth.__getitem__)
        if growth[name] >= self.lr_collapse:
            self.findings.add(
                Finding(
                    "RA204",
                    name,
                    f"||w||^2 grew {growth[name]:.1f}x in {self.steps} steps: its effective "
                    f"learning rate lr/||w||^2 fell {growth[name]:.1f}x "
                    f"({sum(g >= self.lr_collapse for g in growth.values())} of "
                    f"{len(growth)} scale-invariant weights)",
                    {"growth": growth[name], "steps": float(self.steps)},
                )
            )

    # -- validations --------------------------------------------------------------------
    def _fingerprint(self) -> float:
        with torch.no_grad():
            return float(sum(p.detach().double().sum() for p in self.model.parameters()))

    def _close_validation(self) -> None:
        val = float(torch.stack(self._val_losses).float().mean())
        train = (
            float(torch.stack(self._train_losses).float().mean())
            if self._train_losses
            else float("nan")
        )
        record = {
            "validation": float(len(self.findings.history)),
            "val_loss": val,
            "train_loss": train,
            "gap": val - train,
            "fingerprint": self._fingerprint(),
        }
        if self._conf:
            conf, correct = torch.cat(self._conf), torch.cat(self._correct)
            record["ece"] = _ece(conf, correct)
            record["overconfidence"] = float(conf.mean() - correct.mean())
        self.findings.history.append(record)
        self._reset_accumulators()
        self._check_gap()

    def _check_gap(self) -> None:
        h = self.findings.history
        k = self.gap_validations
        if len(h) <= k or any(f.code == "RA205" for f in self.findings._all):
            return  # reported once per run, at the first window where it shows
        last = h[-(k + 1) :]
        val_up = all(b["val_loss"] > a["val_loss"] for a, b in zip(last, last[1:], strict=False))
        train_down = all(
            not (b["train_loss"] > a["train_loss"]) for a, b in zip(last, last[1:], strict=False)
        )
        if val_up and train_down:
            self.findings.add(
                Finding(
                    "RA205",
                    f"validations {len(h) - k - 1}..{len(h) - 1}",
                    f"validation loss {last[0]['val_loss']:.4g} -> {last[-1]['val_loss']:.4g} "
                    f"while the training loss fell; gap {last[0]['gap']:.4g} -> "
                    f"{last[-1]['gap']:.4g}",
                    {"gap_start": last[0]["gap"], "gap_end": last[-1]["gap"]},
                )
            )

    def finish(self) -> Findings:
        """Close an open validation and check the end of the run (RA206, RA207)."""
        if self._val_losses:
            self._close_validation()
        h = self.findings.history
        # RA206 needs a run that went on well past its best validation: at least
        # gap_validations later validations and a loss 2% above the best
        if len(h) > self.gap_validations:
            best = min(range(len(h)), key=lambda i: h[i]["val_loss"])
            last = h[-1]
            worse = last["val_loss"] > h[best]["val_loss"] * 1.02 + 1e-12
            late = len(h) - 1 - best >= self.gap_validations
            if late and worse and self._fingerprint() != h[best]["fingerprint"]:
                self.findings.add(
                    Finding(
                        "RA206",
                        f"validation {best} of {len(h)}",
                        f"the run ended at validation loss {last['val_loss']:.4g}; validation "
                        f"{best} reached {h[best]['val_loss']:.4g} and its weights were not "
                        "restored",
                        {"best": h[best]["val_loss"], "last": last["val_loss"]},
                    )
                )
        if h and "ece" in h[-1] and h[-1]["ece"] > self.ece_threshold:
            if h[-1]["overconfidence"] > 0:
                self.findings.add(
                    Finding(
                        "RA207",
                        f"validation {len(h) - 1}",
                        f"validation ECE {h[-1]['ece']:.3f}, confidence above accuracy by "
                        f"{h[-1]['overconfidence']:.3f}",
                        {"ece": h[-1]["ece"]},
                    )
                )
        return self.findings

    # -- context manager ----------------------------------------------------------------
    def attach(self) -> Findings:
        """Register the hooks; :meth:`detach` removes them."""
        if self._has_bn:
            self._handles.append(
                self.model.register_forward_pre_hook(self._on_forward, with_kwargs=True)
            )
        for _, module in self._stochastic:
            self._handles.append(module.register_forward_pre_hook(self._on_stochastic))
        base = getattr(self.optimizer, "base_optimizer", self.optimizer)
        self._handles.append(base.register_step_post_hook(self._on_step))
        if isinstance(self.loss, nn.Module):
            self._handles.append(self.loss.register_forward_hook(self._on_loss))
        return self.findings

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> Findings:
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()
        self.finish()


def _ece(conf: torch.Tensor, correct: torch.Tensor) -> float:
    """Top-label ECE: the binary ECE of "the arg-max is right" scored by its confidence
    (:func:`reglab.diagnostics.ece`, 15 equal-width bins; Guo et al., 2017)."""
    from reglab.diagnostics import ece

    return ece(conf.double().cpu().numpy(), correct.cpu().numpy().astype(int))


def watch(model: nn.Module, optimizer: torch.optim.Optimizer, **kwargs) -> Watcher:
    """Watch a training loop: ``with watch(model, optimizer, loss=criterion) as findings:``.

    See :class:`Watcher` for the parameters and what is checked. The findings are complete
    when the ``with`` block exits.
    """
    return Watcher(model, optimizer, **kwargs)
