"""Label smoothing and soft-target cross-entropy.

Smoothing can be applied exactly once by construction: :func:`label_smoothing_cross_entropy`
accepts only integer class labels, and the soft targets produced by the mixers
(:mod:`reglab.torch.mixing`, which can smooth themselves) are float tensors that only
:func:`soft_target_cross_entropy` accepts — it has no smoothing parameter. Feeding a mixer's
output to the smoothing loss raises instead of smoothing twice (keras-cv PR #70).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from reglab.torch._checks import (
    MAX_CLASSES,
    _compiling,
    check_choice,
    check_float_dtype,
    check_int,
    check_labels,
    check_positive_int,
    check_probability,
    check_tensor,
)

__all__ = [
    "LabelSmoothingCrossEntropy",
    "label_smoothing_cross_entropy",
    "smooth_one_hot",
    "soft_target_cross_entropy",
]

_CONVENTIONS = ("uniform", "off_class")
_REDUCTIONS = ("mean", "sum", "none")


def smooth_one_hot(
    target: torch.Tensor,
    num_classes: int,
    eps: float = 0.0,
    *,
    convention: str = "uniform",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Smoothed one-hot targets.

    ``convention='uniform'`` (torch's and Szegedy et al. 2016's): ``q = (1 - eps) * onehot +
    eps / K`` on every class, the true class gets ``1 - eps + eps/K``.
    ``convention='off_class'``: the true class gets ``1 - eps`` and each of the ``K - 1``
    others ``eps / (K - 1)`` (pytorch#148884). Rows sum to 1 in both.

    Parameters
    ----------
    target : Tensor
        Integer class labels of any shape; the class axis is appended last (as
        ``F.one_hot``). Float or bool labels are refused (a float label would match no class
        and give an all-zero row); labels outside ``[0, num_classes)`` raise a ``ValueError``
        (checked as in :func:`label_smoothing_cross_entropy`).
    num_classes : int
        ``K >= 1``.
    eps : float
        Smoothing in [0, 1].
    convention : {'uniform', 'off_class'}
    dtype : torch.dtype
        A floating-point dtype (an integer dtype would round ``1 - eps + eps/K`` to 0).
    """
    check_tensor("target", target)
    num_classes = check_positive_int("num_classes", num_classes, maximum=MAX_CLASSES)
    eps = check_probability("eps", eps)
    check_choice("convention", convention, _CONVENTIONS)
    check_float_dtype("dtype", dtype)
    check_labels("target", target, num_classes)
    return _smooth_one_hot(target, num_classes, eps, convention, dtype)


def _smooth_one_hot(target, num_classes, eps, convention, dtype):
    """:func:`smooth_one_hot` on checked arguments (labels already in range)."""
    if convention == "uniform":
        off, on = eps / num_classes, 1.0 - eps + eps / num_classes
    else:
        if num_classes < 2:
            raise ValueError(f"convention='off_class' needs num_classes >= 2, got {num_classes}")
        off, on = eps / (num_classes - 1), 1.0 - eps
    classes = torch.arange(num_classes, device=target.device)
    hot = target.unsqueeze(-1) == classes
    # a device-side fill, not torch.tensor(on, device=...): copying a host scalar to the GPU
    # from pageable memory waits for the whole queue (measured +4% of a ViT-S step)
    on_t = torch.full((), on, dtype=dtype, device=target.device)
    return torch.where(hot, on_t, off)


def _reduce(loss: torch.Tensor, weight: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    # Weighted mean; an all-ignored batch gives 0 (with a graph), not torch's 0/0 = NaN.
    return loss.sum() / weight.sum().clamp_min(torch.finfo(loss.dtype).tiny)


def _check_class_weight(weight: object, num_classes: int | None) -> torch.Tensor:
    """Class weights: a float ``(K,)`` tensor of finite values >= 0 (torch's own
    ``cross_entropy`` takes negative weights and returns a negative or infinite loss).

    The values are read on the CPU; on CUDA they are asserted asynchronously (no wait for
    the device), and under ``torch.compile`` the assert is traced into the graph.
    """
    check_tensor("weight", weight)
    if not weight.is_floating_point():
        raise TypeError(f"weight must be a floating-point tensor, got dtype {weight.dtype}")
    if weight.ndim != 1 or (num_classes is not None and weight.shape[0] != num_classes):
        k = "K" if num_classes is None else num_classes
        raise ValueError(f"weight must have shape ({k},), got {tuple(weight.shape)}")
    if weight.numel() == 0:
        return weight
    ok = (weight >= 0).all() & torch.isfinite(weight).all()
    message = "weight must hold finite class weights >= 0"
    if _compiling() or weight.device.type == "cuda":
        torch._assert_async(ok, message)
    elif not bool(ok):
        raise ValueError(f"{message}, got {weight.tolist()!r}")
    return weight


def label_smoothing_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    eps: float = 0.1,
    *,
    convention: str = "uniform",
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy against smoothed one-hot targets (Szegedy et al., 2016).

    ``loss_i = w[y_i] * (-sum_k q_ik log softmax(z_i)_k)`` with ``q_i`` from
    :func:`smooth_one_hot`; ``reduction='mean'`` divides by ``sum_i w[y_i]`` over the rows
    that are not ignored.

    Class weights reweight *samples* by their true class and leave the smoothing
    distribution alone. torch's ``cross_entropy(weight=..., label_smoothing=...)`` instead
    weights each class term of the smoothing part, which changes the effective smoothing
    with the weights (pytorch#104776); the two agree when ``weight`` is None or ``eps = 0``.
    Rows whose label equals ``ignore_index`` contribute nothing to the value, the gradient
    or the denominator (pytorch#73205).

    Parameters
    ----------
    logits : Tensor
        ``(N, K)`` or ``(N, K, d1, ...)`` unnormalised scores.
    target : Tensor
        Integer labels ``(N,)`` or ``(N, d1, ...)``. Float (soft) targets are refused: they
        may already be smoothed; use :func:`soft_target_cross_entropy`.
    eps : float
        Smoothing in [0, 1].
    convention : {'uniform', 'off_class'}
        How ``eps`` is spread (see :func:`smooth_one_hot`).
    weight : Tensor, optional
        ``(K,)`` non-negative class weights.
    ignore_index : int
        Label value whose rows are excluded.
    reduction : {'mean', 'sum', 'none'}
    """
    check_tensor("logits", logits)
    check_tensor("target", target)
    if target.dtype.is_floating_point:
        raise TypeError(
            "target is a float (soft-target) tensor: it may already be mixed or smoothed, and "
            "smoothing it again would double-count; pass integer labels, or use "
            "soft_target_cross_entropy for soft targets"
        )
    check_choice("reduction", reduction, _REDUCTIONS)
    eps = check_probability("eps", eps)
    check_choice("convention", convention, _CONVENTIONS)
    ignore_index = check_int("ignore_index", ignore_index)
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.ndim < 2:
        raise ValueError(f"logits must be (N, K, ...), got shape {tuple(logits.shape)}")
    if target.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits shape "
            f"{tuple(logits.shape)} (expected {tuple(logits.shape[:1] + logits.shape[2:])})"
        )
    num_classes = logits.shape[1]
    check_labels("target", target, num_classes, ignore_index=ignore_index)
    if weight is not None:
        _check_class_weight(weight, num_classes)
    if weight is None and convention == "uniform" and reduction != "mean":
        # torch's fused kernel computes exactly this case (and costs less CPU time per call)
        return F.cross_entropy(
            logits, target, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps
        )
    if weight is None and convention == "uniform":
        total = F.cross_entropy(
            logits, target, ignore_index=ignore_index, reduction="sum", label_smoothing=eps
        )
        # torch's mean is 0/0 = NaN when every row is ignored; this is 0
        count = (target != ignore_index).sum().clamp_min(1)
        return total / count
    log_p = F.log_softmax(logits, dim=1).movedim(1, -1)  # (N, ..., K)
    keep = target != ignore_index
    safe = torch.where(keep, target, 0).clamp_(0, num_classes - 1)
    q = _smooth_one_hot(safe, num_classes, eps, convention, log_p.dtype)
    loss = -(q * log_p).sum(-1)
    w = keep.to(loss.dtype)
    if weight is not None:
        w = w * weight.to(loss.dtype)[safe]
    # where(), not multiplication: an ignored row with -inf logits must not give 0 * inf = NaN
    loss = torch.where(keep, loss * w, 0.0)
    return _reduce(loss, w, reduction)


def soft_target_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, *, reduction: str = "mean"
) -> torch.Tensor:
    """Cross-entropy with a target distribution: ``loss_i = -sum_k q_ik log softmax(z_i)_k``.

    Use it with the soft targets of :class:`reglab.torch.MixUpCutMix` (already smoothed if
    the mixer was asked to). There is deliberately no smoothing parameter.

    The class axis is torch's: axis 1 of ``(N, K)`` and ``(N, K, d1, ...)`` inputs, axis 0
    of an unbatched ``(K,)`` input, so the value equals ``F.cross_entropy(logits, target)``
    with probability targets for every shape torch accepts; ``'mean'`` averages over the
    ``N * d1 * ...`` positions, as torch does.

    Parameters
    ----------
    logits : Tensor
        ``(N, K)``, ``(N, K, d1, ...)`` or ``(K,)`` scores.
    target : Tensor
        Float probabilities of the same shape (summing to 1 over the class axis).
    reduction : {'mean', 'sum', 'none'}
        ``'none'`` returns the loss per position, shape ``(N, d1, ...)`` (``()`` unbatched).
    """
    check_tensor("logits", logits)
    check_tensor("target", target)
    if not target.dtype.is_floating_point:
        raise TypeError(
            f"target must be a float (N, K) distribution, got dtype {target.dtype}; for "
            "integer labels use label_smoothing_cross_entropy"
        )
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got dtype {logits.dtype}")
    if logits.ndim < 1:
        raise ValueError("logits must be (K,), (N, K) or (N, K, d1, ...), got a 0-d tensor")
    if target.shape != logits.shape:
        raise ValueError(
            f"target shape {tuple(target.shape)} does not match logits shape {tuple(logits.shape)}"
        )
    check_choice("reduction", reduction, _REDUCTIONS)
    dim = 0 if logits.ndim == 1 else 1  # torch's class axis
    log_p = F.log_softmax(logits, dim=dim)
    loss = -(target.to(log_p.dtype) * log_p).sum(dim)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


class LabelSmoothingCrossEntropy(nn.Module):
    """Module form of :func:`label_smoothing_cross_entropy`."""

    def __init__(
        self,
        eps: float = 0.1,
        *,
        convention: str = "uniform",
        weight: torch.Tensor | None = None,
        ignore_index: int = -100,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        self.eps = check_probability("eps", eps)
        self.convention = check_choice("convention", convention, _CONVENTIONS)
        self.reduction = check_choice("reduction", reduction, _REDUCTIONS)
        self.ignore_index = check_int("ignore_index", ignore_index)
        if weight is not None:
            _check_class_weight(weight, None)
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return label_smoothing_cross_entropy(
            logits,
            target,
            self.eps,
            convention=self.convention,
            weight=self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )

    def extra_repr(self) -> str:
        return f"eps={self.eps}, convention={self.convention!r}, reduction={self.reduction!r}"
