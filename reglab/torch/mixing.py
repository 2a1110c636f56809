"""MixUp and CutMix, vectorised on the batch's device.

MixUp (Zhang et al., 2018): ``x' = lam * x_i + (1 - lam) * x_j``, ``y' = lam * y_i + (1 - lam)
* y_j`` with ``lam ~ Beta(alpha, alpha)``. CutMix (Yun et al., 2019): paste a box of ``x_j``
into ``x_i``; the box side is ``sqrt(1 - lam)`` times the image side, its centre uniform, the
box clipped at the border, and ``lam`` is then *recomputed* from the clipped box so that
``1 - lam`` is exactly the fraction of pixels pasted (CutMix-PyTorch#1).

Unlike timm's ``Mixup``: any batch size (odd included, timm#1304), randomness from a
``torch.Generator`` (not NumPy's global state), every mode computed with whole-batch tensor
ops (no Python loop over samples), box sides not shortened by one pixel when odd, and no
input mutation unless ``inplace=True``.

Where the work happens: the few numbers per sample (decisions, lambdas, boxes) are drawn on
the CPU with a CPU ``torch.Generator`` and reach the batch's device in one non-blocking copy;
the device does only whole-batch arithmetic (a lerp, a masked select), and nothing waits for
the device. Draws are therefore identical on every device for a given generator seed.

Partners: ``mode='batch'`` and ``'elem'`` pair sample ``i`` with ``i - 1`` (``roll(1)``, no
sample is its own partner for ``B > 1``); ``mode='pair'`` pairs ``i`` with ``B - 1 - i`` and
both members of a pair share their draws (for odd ``B`` the middle sample is its own
partner, which leaves it unchanged).

Targets are float distributions (rows sum to 1), smoothed here if ``label_smoothing > 0``.
Train on them with :func:`reglab.torch.soft_target_cross_entropy`; the label-smoothing loss
refuses them, so smoothing cannot be applied twice.
"""

from __future__ import annotations

import numpy as np
import torch

from reglab.torch._checks import (
    check_labels,
    check_nonnegative,
    check_positive_int,
    check_probability,
    check_tensor,
)
from reglab.torch._transfer import to_device_async
from reglab.torch.targets import smooth_one_hot

__all__ = ["MixUpCutMix", "cutmix", "mixup"]

_MODES = ("batch", "pair", "elem")


def _check_cpu_generator(generator) -> None:
    if generator is None:
        return
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    if torch.device(generator.device).type != "cpu":
        raise ValueError(
            f"generator must be a CPU torch.Generator (the per-sample draws are made on the "
            f"CPU and sent to the batch's device), got one on {generator.device}"
        )


def _boxes(lam_c: np.ndarray, u_y: np.ndarray, u_x: np.ndarray, h: int, w: int):
    """Boxes ``(y1, y2, x1, x2)`` of side ``floor(side * sqrt(1 - lam))`` (not shortened when
    odd), centre uniform over the pixels, clipped; and the exact pasted fraction."""
    ratio = np.sqrt(1.0 - lam_c)
    cut_h = np.floor(h * ratio).astype(np.int64)
    cut_w = np.floor(w * ratio).astype(np.int64)
    cy = np.minimum(np.floor(u_y * h).astype(np.int64), h - 1)
    cx = np.minimum(np.floor(u_x * w).astype(np.int64), w - 1)
    y1 = np.clip(cy - cut_h // 2, 0, h)
    y2 = np.clip(cy - cut_h // 2 + cut_h, 0, h)
    x1 = np.clip(cx - cut_w // 2, 0, w)
    x2 = np.clip(cx - cut_w // 2 + cut_w, 0, w)
    return y1, y2, x1, x2, (y2 - y1) * (x2 - x1) / (h * w)


def _draw(n, mode, mixup_alpha, cutmix_alpha, prob, switch_prob, h, w, generator):
    """All per-sample random quantities, on the CPU. Every draw is made whatever is used, so
    a generator's stream does not depend on earlier outcomes."""
    k = 1 if mode == "batch" else n
    u = torch.rand(4, k, dtype=torch.float64, generator=generator).numpy()
    conc = np.repeat([mixup_alpha or 1.0, mixup_alpha or 1.0, cutmix_alpha or 1.0,
                      cutmix_alpha or 1.0], k).reshape(4, k)  # fmt: skip
    g = torch._standard_gamma(torch.from_numpy(conc), generator=generator).numpy()
    tiny = np.finfo(np.float64).tiny
    lam_m = g[0] / np.maximum(g[0] + g[1], tiny)
    lam_c = g[2] / np.maximum(g[2] + g[3], tiny)
    apply = u[0] < prob
    if mixup_alpha > 0 and cutmix_alpha > 0:
        use_cut = u[1] < switch_prob
    else:
        use_cut = np.full(k, cutmix_alpha > 0)
    y1, y2, x1, x2, frac = _boxes(lam_c, u[2], u[3], h, w)
    cut, mix = apply & use_cut, apply & ~use_cut
    lam = np.where(cut, 1.0 - frac, np.where(mix, lam_m, 1.0))
    weight = np.where(mix, 1.0 - lam_m, 0.0)  # lerp weight of the partner
    z = np.zeros_like(y1)
    boxes = [np.where(cut, t, z) for t in (y1, y2, x1, x2)]  # empty box: no paste
    rows = np.stack([weight, lam, cut, mix, *boxes]).astype(np.float64)
    if mode == "pair":  # both members of a pair share every draw
        idx = np.arange(n)
        rows = rows[:, np.minimum(idx, n - 1 - idx)]
    elif mode == "batch":
        rows = np.repeat(rows, n, axis=1)
    return rows


def _targets(y, num_classes, label_smoothing, dtype) -> torch.Tensor:
    if y.dtype.is_floating_point:
        if label_smoothing > 0:
            raise TypeError(
                "y is a float (soft-target) tensor and label_smoothing > 0: it may already be "
                "smoothed; pass integer labels to smooth here, or label_smoothing=0"
            )
        if y.ndim != 2 or y.shape[1] != num_classes:
            raise ValueError(
                f"soft targets y must have shape (B, {num_classes}), got {tuple(y.shape)}"
            )
        return y.to(dtype)
    if y.ndim != 1:
        raise ValueError(f"integer labels y must have shape (B,), got {tuple(y.shape)}")
    check_labels("y", y, num_classes)
    return smooth_one_hot(y, num_classes, label_smoothing, dtype=dtype)


def _mix(x, y, *, mixup_alpha, cutmix_alpha, prob, switch_prob, mode, label_smoothing,
         num_classes, inplace, generator):  # fmt: skip
    check_tensor("x", x)
    check_tensor("y", y)
    _check_cpu_generator(generator)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if x.ndim < 1 or y.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same batch size, got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    if cutmix_alpha > 0 and x.ndim < 3:
        raise ValueError(f"cutmix needs x of shape (B, ..., H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    tdtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    soft = _targets(y, num_classes, label_smoothing, tdtype)
    b = x.shape[0]
    h, w = x.shape[-2:] if x.ndim >= 3 else (1, 1)
    rows = _draw(b, mode, mixup_alpha, cutmix_alpha, prob, switch_prob, h, w, generator)
    partner = (lambda t: t.flip(0)) if mode == "pair" else (lambda t: t.roll(1, 0))
    dev = to_device_async(torch.from_numpy(rows), x.device)
    lam = dev[1]
    tl = lam.to(tdtype).unsqueeze(1)
    targets = torch.lerp(partner(soft), soft, tl)  # lam * y_i + (1 - lam) * y_j
    if mode == "batch":
        out = _mix_batch(x, partner, rows[:, 0], inplace)
    else:
        out = _mix_elem(x, partner, dev, bool(rows[3].any()), bool(rows[2].any()), inplace)
    return out, targets, lam


def _mix_batch(x, partner, row, inplace):
    """One decision for the whole batch, known on the host: a lerp, one box copy, or
    nothing."""
    weight, _, is_cut, is_mix, y1, y2, x1, x2 = row.tolist()
    if is_cut:
        y1, y2, x1, x2 = int(y1), int(y2), int(x1), int(x2)
        out = x if inplace else x.clone()
        if y2 > y1 and x2 > x1:
            out[..., y1:y2, x1:x2] = partner(x[..., y1:y2, x1:x2])
        return out
    if not is_mix or weight == 0.0:
        return x
    xp = partner(x)
    return x.lerp_(xp, weight) if inplace else torch.lerp(x, xp, weight)


def _mix_elem(x, partner, dev, any_mix, any_cut, inplace):
    """Per-sample decisions as masks: ``out = where(box, x_j, lerp(x_i, x_j, weight))``."""
    xp = partner(x)
    out = x
    if any_mix:
        weight = dev[0].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        out = x.lerp_(xp, weight) if inplace else torch.lerp(x, xp, weight)
    if any_cut:
        h, w = x.shape[-2:]
        y1, y2, x1, x2 = (t.unsqueeze(1) for t in dev[4:8])
        rows = torch.arange(h, device=x.device, dtype=dev.dtype)
        cols = torch.arange(w, device=x.device, dtype=dev.dtype)
        inside = ((rows >= y1) & (rows < y2)).unsqueeze(2) & ((cols >= x1) & (cols < x2)).unsqueeze(
            1
        )
        inside = inside.view(x.shape[0], *([1] * (x.ndim - 3)), h, w)
        target = out if (inplace or out is not x) else torch.empty_like(x)
        out = torch.where(inside, xp, out, out=target)
    if out is x and not inplace:
        return x  # nothing was mixed (prob): the input itself, as for p = 0
    return out


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int,
    mode: str = "batch",
    label_smoothing: float = 0.0,
    inplace: bool = False,
    generator: torch.Generator | None = None,
    return_lam: bool = False,
):
    """MixUp a batch: ``x' = lam x_i + (1 - lam) x_j``, ``y' = lam y_i + (1 - lam) y_j``.

    Parameters
    ----------
    x : Tensor
        ``(B, ...)`` floating-point batch; dtype, device and memory format preserved.
    y : Tensor
        ``(B,)`` integer labels or ``(B, num_classes)`` float targets.
    alpha : float
        ``lam ~ Beta(alpha, alpha)``, ``alpha > 0``.
    num_classes : int
    mode : {'batch', 'pair', 'elem'}
        One ``lam`` per batch, per pair or per sample (see the module docstring).
    label_smoothing : float
        Smoothing of integer labels (torch's eps/K convention) before mixing.
    inplace : bool
        Write the mixed batch into ``x``.
    generator : torch.Generator, optional
        A CPU generator: the per-sample draws are made on the CPU, whatever ``x``'s device
        (None: torch's default CPU generator).
    return_lam : bool
        Also return the per-sample ``lam`` (float64, shape ``(B,)``).

    Returns
    -------
    x_mixed, targets[, lam]
    """
    alpha = check_nonnegative("alpha", alpha, strict=True)
    num_classes = check_positive_int("num_classes", num_classes)
    out = _mix(x, y, mixup_alpha=alpha, cutmix_alpha=0.0, prob=1.0, switch_prob=0.0, mode=mode,
               label_smoothing=check_probability("label_smoothing", label_smoothing),
               num_classes=num_classes, inplace=inplace, generator=generator)  # fmt: skip
    return out if return_lam else out[:2]


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int,
    mode: str = "batch",
    label_smoothing: float = 0.0,
    inplace: bool = False,
    generator: torch.Generator | None = None,
    return_lam: bool = False,
):
    """CutMix a batch over its last two axes ``(H, W)``; ``1 - lam`` is exactly the pasted
    pixel fraction of each sample. Arguments as in :func:`mixup`."""
    alpha = check_nonnegative("alpha", alpha, strict=True)
    num_classes = check_positive_int("num_classes", num_classes)
    out = _mix(x, y, mixup_alpha=0.0, cutmix_alpha=alpha, prob=1.0, switch_prob=1.0, mode=mode,
               label_smoothing=check_probability("label_smoothing", label_smoothing),
               num_classes=num_classes, inplace=inplace, generator=generator)  # fmt: skip
    return out if return_lam else out[:2]


class MixUpCutMix:
    """MixUp and/or CutMix with timm's knobs, vectorised.

    With probability ``prob`` (per batch, pair or sample, by ``mode``) the batch is mixed;
    when both alphas are positive CutMix is chosen with probability ``switch_prob``, MixUp
    otherwise. An alpha of 0 disables that method (timm's convention); negative alphas and
    both disabled are errors.

    Parameters
    ----------
    mixup_alpha, cutmix_alpha : float
        Beta concentration of each method (0 disables it).
    prob : float
        Probability of mixing at all.
    switch_prob : float
        Probability of CutMix when both are enabled.
    mode : {'batch', 'pair', 'elem'}
    label_smoothing : float
        Applied once, here, to integer labels (torch's eps/K convention).
    num_classes : int

    Examples
    --------
    >>> mixer = MixUpCutMix(mixup_alpha=0.8, cutmix_alpha=1.0, num_classes=10)
    >>> x_mixed, soft = mixer(x, y, generator=g)            # doctest: +SKIP
    >>> loss = soft_target_cross_entropy(model(x_mixed), soft)  # doctest: +SKIP
    """

    def __init__(
        self,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        prob: float = 1.0,
        switch_prob: float = 0.5,
        mode: str = "batch",
        label_smoothing: float = 0.1,
        num_classes: int = 1000,
        *,
        inplace: bool = False,
    ) -> None:
        self.mixup_alpha = check_nonnegative("mixup_alpha", mixup_alpha)
        self.cutmix_alpha = check_nonnegative("cutmix_alpha", cutmix_alpha)
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ValueError("mixup_alpha and cutmix_alpha are both 0: nothing to mix")
        self.prob = check_probability("prob", prob)
        self.switch_prob = check_probability("switch_prob", switch_prob)
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
        self.mode = mode
        self.label_smoothing = check_probability("label_smoothing", label_smoothing)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.inplace = inplace

    def __call__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        return_lam: bool = False,
    ):
        """Mix ``(x, y)``; returns ``(x_mixed, soft_targets)`` (and ``lam`` if asked)."""
        out = _mix(x, y, mixup_alpha=self.mixup_alpha, cutmix_alpha=self.cutmix_alpha,
                   prob=self.prob, switch_prob=self.switch_prob, mode=self.mode,
                   label_smoothing=self.label_smoothing, num_classes=self.num_classes,
                   inplace=self.inplace, generator=generator)  # fmt: skip
        return out if return_lam else out[:2]

    def __repr__(self) -> str:
        return (
            f"MixUpCutMix(mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, "
            f"prob={self.prob}, switch_prob={self.switch_prob}, mode={self.mode!r}, "
            f"label_smoothing={self.label_smoothing}, num_classes={self.num_classes})"
        )
