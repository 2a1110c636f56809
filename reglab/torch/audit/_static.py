"""The static audit: what a training set-up gets wrong before it trains.

Looks at the model, the optimizer and, when given, the loss, the MixUp/CutMix object, the
early-stopping object and the validation data. Everything here reads attributes only: no
forward pass, no gradient, no change to any object, so it costs milliseconds even on a
model of hundreds of layers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from reglab.torch.audit._findings import Finding, Findings

__all__ = ["audit"]

_NORM_TYPES: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.LocalResponseNorm,
) + ((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())
_BATCHNORM = nn.modules.batchnorm._BatchNorm
# Adam-family optimizers whose `weight_decay` is an L2 term in the gradient (coupled); NAdam
# and RAdam are decoupled when built with decoupled_weight_decay=True
_COUPLED_ADAPTIVE = (torch.optim.Adam, torch.optim.Adamax, torch.optim.NAdam, torch.optim.RAdam)
_SHOWN = 4  # parameter names quoted per finding


def audit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    loss: Any = None,
    mixing: Any = None,
    scheduler: Any = None,
    early_stopping: Any = None,
    val_data: Any = None,
    ignore=(),
) -> Findings:
    """Check a training set-up for the regularization mistakes of the deep dive.

    Parameters
    ----------
    model : nn.Module
    optimizer : torch.optim.Optimizer, optional
        Its parameter groups are checked for decay on biases and normalisation weights
        (RA101) and coupled L2 in Adam (RA102); a SAM optimizer for BatchNorm updated twice
        (RA106).
    loss : callable, optional
        The training criterion; label smoothing on top of MixUp/CutMix targets is RA103.
    mixing : object, optional
        A :class:`reglab.torch.MixUpCutMix` (or any object with ``mixup_alpha`` /
        ``cutmix_alpha``), meaning the targets are soft.
    scheduler : object, optional
        A learning-rate scheduler; its optimizer must be ``optimizer``.
    early_stopping : object, optional
        A :class:`reglab.EarlyStopping` without ``on_improvement``, or a Keras-style object
        with ``restore_best_weights=False``, never restores the best weights (RA105).
    val_data : DataLoader or Dataset, optional
        Random transforms in its ``transform`` are RA108.
    ignore : iterable of str
        Codes to silence.

    Returns
    -------
    Findings
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}"
        )
    if scheduler is not None and getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise ValueError("scheduler drives another optimizer than optimizer=")
    findings = Findings(ignore=ignore)
    if optimizer is not None:
        for f in _optimizer_findings(model, optimizer):
            findings.add(f)
    for check in (_flat_drop_path, _dropout_before_batchnorm):
        for f in check(model):
            findings.add(f)
    for f in _smoothing_on_mixed(loss, mixing):
        findings.add(f)
    for f in _early_stopping(early_stopping):
        findings.add(f)
    for f in _augmented_validation(val_data):
        findings.add(f)
    return findings


def _param_names(model: nn.Module) -> dict[int, str]:
    return {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}


def _not_to_decay(model: nn.Module) -> dict[int, str]:
    """Biases, 1-D tensors and normalisation weights, by id -> name."""
    out = {}
    for mod_name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for p_name, p in module.named_parameters(recurse=False):
            if is_norm or p.ndim <= 1 or p_name == "bias":
                out[id(p)] = f"{mod_name}.{p_name}" if mod_name else p_name
    return out


def _groups_of(optimizer: torch.optim.Optimizer) -> list[dict]:
    # SAM wraps a base optimizer whose groups carry the base's hyper-parameters
    base = getattr(optimizer, "base_optimizer", None)
    return (base if isinstance(base, torch.optim.Optimizer) else optimizer).param_groups


def _optimizer_findings(model: nn.Module, optimizer: torch.optim.Optimizer):
    excluded = _not_to_decay(model)
    base = getattr(optimizer, "base_optimizer", optimizer)
    for i, group in enumerate(_groups_of(optimizer)):
        wd = float(group.get("weight_decay", 0.0) or 0.0)
        if wd <= 0:
            continue
        hit = [excluded[id(p)] for p in group["params"] if id(p) in excluded and p.requires_grad]
        if hit:
            shown = ", ".join(hit[:_SHOWN]) + (
                f" (+{len(hit) - _SHOWN} more)" if len(hit) > _SHOWN else ""
            )
            yield Finding(
                "RA101",
                f"param_groups[{i}]",
                f"weight_decay={wd:g} on {len(hit)} bias/normalisation parameters: {shown}",
                {"weight_decay": wd, "parameters": float(len(hit))},
            )
        coupled = isinstance(base, _COUPLED_ADAPTIVE) and not group.get(
            "decoupled_weight_decay", False
        )
        if coupled and not isinstance(base, torch.optim.AdamW):
            yield Finding(
                "RA102",
                f"param_groups[{i}]",
                f"{type(base).__name__}(weight_decay={wd:g}) adds L2 to the gradient "
                "(coupled), not decoupled decay",
                {"weight_decay": wd},
            )
    if getattr(optimizer, "bn_mode", None) == "both" and any(
        isinstance(m, _BATCHNORM) for m in model.modules()
    ):
        yield Finding(
            "RA106",
            type(optimizer).__name__,
            "SAM with bn_mode='both' on a model with BatchNorm: both passes update the running "
            "statistics",
        )


def _drop_rate(module: nn.Module) -> float | None:
    if type(module).__name__ not in ("DropPath", "StochasticDepth"):
        return None
    for attr in ("p", "drop_prob"):
        value = getattr(module, attr, None)
        if isinstance(value, int | float):
            return float(value)
    return None


def _flat_drop_path(model: nn.Module):
    rates = [(n, r) for n, m in model.named_modules() if (r := _drop_rate(m)) is not None]
    values = {round(r, 12) for _, r in rates}
    if len(rates) >= 3 and len(values) == 1 and rates[0][1] > 0:
        yield Finding(
            "RA104",
            f"{rates[0][0]} ... {rates[-1][0]}",
            f"{len(rates)} DropPath modules all at p={rates[0][1]:g} (no depth ramp)",
            {"modules": float(len(rates)), "p": rates[0][1]},
        )


def _dropout_before_batchnorm(model: nn.Module):
    dropouts = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)
    for name, module in model.named_modules():
        if not isinstance(module, nn.Sequential):
            continue
        children = list(module.named_children())
        for (a_name, a), (b_name, b) in zip(children, children[1:], strict=False):
            is_dropout = isinstance(a, dropouts) or type(a).__name__ in (
                "Dropout",
                "ChannelDropout",
            )
            if is_dropout and isinstance(b, _BATCHNORM) and getattr(a, "p", 0) > 0:
                where = f"{name}.{a_name}" if name else a_name
                yield Finding(
                    "RA107",
                    where,
                    f"{type(a).__name__}(p={a.p:g}) feeds {type(b).__name__} {b_name}",
                )


def _smoothing(loss: Any) -> float:
    for attr in ("label_smoothing", "eps", "smoothing"):
        value = getattr(loss, attr, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return 0.0


def _smoothing_on_mixed(loss: Any, mixing: Any):
    if mixing is None or loss is None:
        return
    mixes = any(
        float(getattr(mixing, a, 0) or 0) > 0 for a in ("mixup_alpha", "cutmix_alpha", "alpha")
    )
    eps = _smoothing(loss)
    if mixes and eps > 0:
        yield Finding(
            "RA103",
            type(loss).__name__,
            f"the loss smooths labels by {eps:g} and {type(mixing).__name__} already gives soft "
            f"targets"
            + (f" (smoothed by {_smoothing(mixing):g} there)" if _smoothing(mixing) else ""),
            {"loss_smoothing": eps, "mixing_smoothing": _smoothing(mixing)},
        )


def _early_stopping(stopper: Any):
    if stopper is None:
        return
    never = False
    if hasattr(stopper, "on_improvement"):  # reglab.EarlyStopping
        never = stopper.on_improvement is None
    elif hasattr(stopper, "restore_best_weights"):  # Keras' EarlyStopping
        never = not stopper.restore_best_weights
    if never:
        yield Finding(
            "RA105",
            type(stopper).__name__,
            f"{type(stopper).__name__} without a snapshot of the best weights "
            f"(patience={getattr(stopper, 'patience', '?')})",
        )


_RANDOM_PREFIXES = (
    "Random",
    "ColorJitter",
    "AutoAugment",
    "RandAugment",
    "TrivialAugment",
    "AugMix",
)


def _random_transforms(transform: Any, depth: int = 0) -> list[str]:
    if transform is None or depth > 4:
        return []
    name = type(transform).__name__
    found = [name] if name.startswith(_RANDOM_PREFIXES) else []
    # every transform of reglab.augment.image draws random parameters (the Pipeline only
    # chains them)
    if type(transform).__module__.startswith("reglab.augment.image") and name != "Pipeline":
        found.append(name)
    for attr in ("transforms", "children"):
        inner = getattr(transform, attr, None)
        if callable(inner) and attr == "children":
            inner = list(inner())
        if isinstance(inner, list | tuple):
            for t in inner:
                found += _random_transforms(t, depth + 1)
    return found


def _augmented_validation(val_data: Any):
    if val_data is None:
        return
    dataset = getattr(val_data, "dataset", val_data)
    for attr in ("transform", "transforms"):
        found = _random_transforms(getattr(dataset, attr, None))
        if found:
            yield Finding(
                "RA108",
                f"{type(dataset).__name__}.{attr}",
                f"random transforms on the validation data: {', '.join(dict.fromkeys(found))}",
            )
            return
