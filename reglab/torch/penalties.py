"""Penalties on parameters: L1/L2 over named parameters with masks, and decoupled weight
decay parameter groups.

Which parameters to penalise matters as much as how: decaying biases and normalisation
scales is a common silent mistake (transformers#492, #4360). The default rule, shared by the
penalties and :func:`weight_decay_param_groups`, penalises a trainable parameter iff it has
at least 2 dimensions, its name does not end in ``bias`` and it does not belong to a
normalisation layer; name patterns (``fnmatch``) exclude more.

Adam + L2 (``l2_penalty`` added to the loss, or ``Adam(weight_decay=...)``) adds ``wd * w``
to the gradient *before* the adaptive scaling, so the decay is normalised away; AdamW
(Loshchilov & Hutter, 2019) shrinks ``w <- (1 - lr * wd) w`` outside it. Defaults differ
(torch's AdamW: 1e-2, Adam: 0); nothing here changes an optimizer's default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase

import torch
from torch import nn

from reglab.torch._checks import check_bool, check_keys, check_module, check_nonnegative

__all__ = [
    "NORM_LAYERS",
    "decay_mask",
    "l1_penalty",
    "l2_penalty",
    "weight_decay_param_groups",
]

#: Module types whose parameters are never decayed by default.
NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
    nn.RMSNorm,
)


def _named(model_or_named, name: str = "params") -> list[tuple[str, torch.Tensor]]:
    if isinstance(model_or_named, nn.Module):
        return list(model_or_named.named_parameters())
    if isinstance(model_or_named, Mapping):
        return list(model_or_named.items())
    if isinstance(model_or_named, str | bytes | torch.Tensor) or not isinstance(
        model_or_named, Iterable
    ):
        raise TypeError(
            f"{name} must be an nn.Module, a mapping or (name, tensor) pairs, got "
            f"{type(model_or_named).__name__}"
        )
    items = list(model_or_named)
    ok = all(
        isinstance(i, tuple) and len(i) == 2 and isinstance(i[0], str)
        and isinstance(i[1], torch.Tensor) for i in items
    )  # fmt: skip
    if not ok:
        raise TypeError(f"{name} must be an nn.Module, a mapping or (name, tensor) pairs")
    return items


def _patterns(exclude: object) -> list[str]:
    if not isinstance(exclude, str | Iterable):
        raise TypeError(f"exclude must be name patterns (strings), got {exclude!r}")
    patterns = [exclude] if isinstance(exclude, str) else list(exclude)
    if not all(isinstance(pat, str) for pat in patterns):
        raise TypeError(f"exclude must be name patterns (strings), got {exclude!r}")
    return patterns


def _norm_param_names(model: nn.Module) -> set[str]:
    names = set()
    for mod_name, mod in model.named_modules():
        if isinstance(mod, NORM_LAYERS):
            for p_name, _ in mod.named_parameters(recurse=False):
                names.add(f"{mod_name}.{p_name}" if mod_name else p_name)
    return names


def decay_mask(
    model: nn.Module | Iterable[tuple[str, torch.Tensor]],
    exclude: Iterable[str] = (),
    *,
    exclude_1d: bool = True,
    exclude_bias: bool = True,
    exclude_norm: bool = True,
) -> dict[str, bool]:
    """Which trainable parameters to decay, by name.

    Parameters
    ----------
    model : nn.Module or (name, tensor) pairs
        Normalisation layers can only be recognised from a module.
    exclude : iterable of str
        Extra ``fnmatch`` patterns of names never to decay (e.g. ``'*pos_embed'``).
    exclude_1d, exclude_bias, exclude_norm : bool
        The default exclusions (see the module docstring).

    Returns
    -------
    dict
        ``name -> bool`` for every parameter with ``requires_grad``; frozen ones are absent.
    """
    patterns = _patterns(exclude)
    exclude_1d = check_bool("exclude_1d", exclude_1d)
    exclude_bias = check_bool("exclude_bias", exclude_bias)
    exclude_norm = check_bool("exclude_norm", exclude_norm)
    norm = _norm_param_names(model) if (exclude_norm and isinstance(model, nn.Module)) else set()
    mask = {}
    for name, p in _named(model, "model"):
        if not p.requires_grad:
            continue
        skip = (
            (exclude_1d and p.ndim < 2)
            or (exclude_bias and name.rsplit(".", 1)[-1] == "bias")
            or name in norm
            or any(fnmatchcase(name, pat) for pat in patterns)
        )
        mask[name] = not skip
    return mask


MaskLike = Callable[[str, torch.Tensor], "bool | torch.Tensor"] | Mapping[str, object] | None


def _masked_terms(params, mask: MaskLike, exclude, fn):
    named = _named(params)
    if mask is None:
        chosen = decay_mask(params if isinstance(params, nn.Module) else named, exclude)
        mask = lambda name, p: chosen.get(name, False)  # noqa: E731
    elif isinstance(mask, Mapping):
        # a mistyped name must not silently switch its penalty off
        table = check_keys("mask", mask, {n for n, _ in named}, what="parameter names")
        mask = lambda name, p: table.get(name, False)  # noqa: E731
    elif not callable(mask):
        raise TypeError(f"mask must be None, a mapping or a callable, got {type(mask).__name__}")
    else:
        _patterns(exclude)
    terms = []
    for name, p in named:
        m = mask(name, p)
        if not isinstance(m, torch.Tensor):
            # a string such as "no" is truthy: only real booleans select a parameter
            m = check_bool(f"mask[{name!r}]", m)
        if isinstance(m, torch.Tensor):
            if m.shape != p.shape:
                raise ValueError(
                    f"mask for {name!r} has shape {tuple(m.shape)}, parameter has {tuple(p.shape)}"
                )
            terms.append(fn(p * m.to(p.dtype)))
        elif m:
            terms.append(fn(p))
    if not terms:  # nothing selected: a zero on the parameters' device (no graph to keep)
        return torch.zeros((), device=named[0][1].device if named else None)
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in terms) else torch.float32
    return torch.stack([t.to(dtype) for t in terms]).sum()


def _wide(w: torch.Tensor) -> torch.Tensor:
    # accumulate half-precision parameters in float32, keep float64 as is
    return w.to(torch.promote_types(w.dtype, torch.float32))


def l2_penalty(params, *, mask: MaskLike = None, exclude: Iterable[str] = ()) -> torch.Tensor:
    """``1/2 * sum ||w||_2^2`` over the selected parameters (gradient ``w``: add
    ``wd * l2_penalty(model)`` to the loss for classic L2 / coupled weight decay).

    Parameters
    ----------
    params : nn.Module, mapping or (name, tensor) pairs
    mask : callable ``(name, param) -> bool | Tensor``, mapping ``name -> bool | Tensor``, or None
        Which parameters (bool) or which entries (a 0/1 tensor of the parameter's shape) to
        penalise; None uses :func:`decay_mask` (no biases, 1-D or norm parameters). A
        mapping may only name existing parameters (a mistyped key is an error, not a
        penalty silently switched off), and its values must be bools or tensors.
    exclude : iterable of str
        Name patterns added to the default mask (ignored when ``mask`` is given).

    Returns
    -------
    Tensor
        Scalar in float32 (float64 if a parameter is float64), differentiable.
    """
    return _masked_terms(params, mask, exclude, lambda w: 0.5 * _wide(w).square().sum())


def l1_penalty(params, *, mask: MaskLike = None, exclude: Iterable[str] = ()) -> torch.Tensor:
    """``sum ||w||_1`` over the selected parameters (Tibshirani, 1996). Arguments as in
    :func:`l2_penalty`. Its (sub)gradient ``sign(w)`` makes SGD oscillate around 0 rather
    than reach exact zeros: use a proximal step for exact sparsity."""
    return _masked_terms(params, mask, exclude, lambda w: _wide(w).abs().sum())


def weight_decay_param_groups(
    model: nn.Module,
    weight_decay: float,
    exclude: Iterable[str] = (),
    *,
    exclude_1d: bool = True,
    exclude_bias: bool = True,
    exclude_norm: bool = True,
) -> list[dict]:
    """Two optimizer parameter groups: decayed and not decayed.

    Every trainable parameter lands in exactly one group (tied parameters once), frozen ones
    in none; empty groups are omitted. Pass the result to e.g. ``torch.optim.AdamW``.

    Parameters
    ----------
    model : nn.Module
    weight_decay : float
        Decay of the first group (>= 0); the second group gets 0.
    exclude, exclude_1d, exclude_bias, exclude_norm
        As in :func:`decay_mask`.

    Returns
    -------
    list of dict
        ``[{'params': [...], 'weight_decay': weight_decay}, {'params': [...],
        'weight_decay': 0.0}]``.
    """
    check_module("model", model)
    weight_decay = check_nonnegative("weight_decay", weight_decay)
    mask = decay_mask(
        model, exclude, exclude_1d=exclude_1d, exclude_bias=exclude_bias, exclude_norm=exclude_norm
    )
    params = dict(model.named_parameters())
    decay = [params[n] for n, m in mask.items() if m]
    no_decay = [params[n] for n, m in mask.items() if not m]
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups
