"""MixUp and CutMix, vectorised on the batch's device.

MixUp (Zhang et al., 2018): ``x' = lam * x_i + (1 - lam) * x_j``, ``y' = lam * y_i + (1 - lam)
* y_j`` with ``lam ~ Beta(alpha, alpha)``. CutMix (Yun et al., 2019): paste a box of ``x_j``
into ``x_i``; the box side is ``sqrt(1 - lam)`` times the image side, its centre uniform, the
box clipped at the border, and ``lam`` is then *recomputed* from the clipped box so that
``1 - lam`` is exactly the fraction of pixels pasted (CutMix-PyTorch#1).

Unlike timm's ``Mixup``: any batch size (odd included, timm#1304), randomness from a
``torch.Generator`` on the batch's device (not NumPy's global state), every mode computed
with whole-batch tensor ops (no Python loop over samples), box sides not shortened by one
pixel when odd, and no input mutation unless ``inplace=True``.

Partners: ``mode='batch'`` and ``'elem'`` pair sample ``i`` with ``i - 1`` (``roll(1)``, no
sample is its own partner for ``B > 1``); ``mode='pair'`` pairs ``i`` with ``B - 1 - i`` and
both members of a pair share their draws (for odd ``B`` the middle sample is its own
partner, which leaves it unchanged).

Targets are float distributions (rows sum to 1), smoothed here if ``label_smoothing > 0``.
Train on them with :func:`reglab.torch.soft_target_cross_entropy`; the label-smoothing loss
refuses them, so smoothing cannot be applied twice.
"""

from __future__ import annotations

import torch

from reglab.torch._checks import (
    check_generator,
    check_labels,
    check_nonnegative,
    check_positive_int,
    check_probability,
    check_tensor,
)
from reglab.torch.targets import smooth_one_hot

__all__ = ["MixUpCutMix", "cutmix", "mixup"]

_MODES = ("batch", "pair", "elem")


def _beta(alpha: float, n: int, device, generator) -> torch.Tensor:
    """Beta(alpha, alpha) draws as a ratio of gammas, in float64: in float32 both gammas
    underflow to 0 for small alpha often enough to produce 0/0."""
    conc = torch.full((2, n), alpha, dtype=torch.float64, device=device)
    g = torch._standard_gamma(conc, generator=generator)
    total = g[0] + g[1]
    return torch.where(total > 0, g[0] / total, 0.5)


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


def _view(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.view(-1, *([1] * (ndim - 1)))


def _boxes(lam: torch.Tensor, h: int, w: int, generator) -> tuple[torch.Tensor, ...]:
    """Per-sample boxes (y1, y2, x1, x2), clipped, and the exact pasted fraction."""
    n, device = lam.shape[0], lam.device
    ratio = torch.sqrt(1.0 - lam)
    cut_h = torch.floor(h * ratio).long()
    cut_w = torch.floor(w * ratio).long()
    cy = torch.randint(0, h, (n,), device=device, generator=generator)
    cx = torch.randint(0, w, (n,), device=device, generator=generator)
    y1 = (cy - cut_h // 2).clamp(0, h)
    y2 = (cy - cut_h // 2 + cut_h).clamp(0, h)
    x1 = (cx - cut_w // 2).clamp(0, w)
    x2 = (cx - cut_w // 2 + cut_w).clamp(0, w)
    frac = ((y2 - y1) * (x2 - x1)).double() / (h * w)
    return y1, y2, x1, x2, frac


def _mix(x, y, *, mixup_alpha, cutmix_alpha, prob, switch_prob, mode, label_smoothing,
         num_classes, inplace, generator):  # fmt: skip
    check_tensor("x", x)
    check_tensor("y", y)
    check_generator(generator, x.device)
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
    b, device = x.shape[0], x.device
    n = 1 if mode == "batch" else b
    # All draws happen whatever is used, so the stream of a generator does not depend on
    # the outcome of earlier draws.
    u = torch.rand(2, n, device=device, generator=generator, dtype=torch.float64)
    apply = u[0] < prob
    use_cut = (u[1] < switch_prob) if (mixup_alpha > 0 and cutmix_alpha > 0) else None
    if use_cut is None:
        use_cut = torch.full_like(apply, cutmix_alpha > 0)
    lam_mix = _beta(mixup_alpha, n, device, generator) if mixup_alpha > 0 else None
    h, w = x.shape[-2:] if x.ndim >= 3 else (1, 1)
    box = _boxes(_beta(cutmix_alpha, n, device, generator), h, w, generator) if (
        cutmix_alpha > 0) else None  # fmt: skip
    if mode == "pair":  # both members of a pair share every draw
        idx = torch.arange(b, device=device)
        first = torch.minimum(idx, b - 1 - idx)
        apply, use_cut = apply[first], use_cut[first]
        lam_mix = lam_mix[first] if lam_mix is not None else None
        box = tuple(t[first] for t in box) if box is not None else None
    cut = apply & use_cut
    mix = apply & ~use_cut
    one = torch.ones((), dtype=torch.float64, device=device)
    lam = torch.where(mix, lam_mix, one) if lam_mix is not None else one.expand(cut.shape)
    if box is not None:
        lam = torch.where(cut, 1.0 - box[4], lam)
    lam = lam.expand(b)
    partner = (lambda t: t.flip(0)) if mode == "pair" else (lambda t: t.roll(1, 0))
    tl = lam.to(tdtype).unsqueeze(1)
    targets = tl * soft + (1.0 - tl) * partner(soft)

    if mode == "batch":
        out = _mix_batch(x, partner, cut, mix, lam_mix, box, inplace)
    else:
        out = _mix_elem(x, partner, lam_mix, mix, cut, box, inplace)
    return out, targets, lam


def _mix_batch(x, partner, cut, mix, lam_mix, box, inplace):
    """One decision for the whole batch: read it on the host (one sync) and do the cheapest
    op: a lerp, a copy of one box, or nothing."""
    zero = torch.zeros(1, dtype=torch.float64, device=x.device)
    parts = [cut.double(), mix.double(), lam_mix if lam_mix is not None else zero]
    parts += [t.double() for t in box[:4]] if box is not None else [zero] * 4
    is_cut, is_mix, lam, y1, y2, x1, x2 = torch.cat(parts).tolist()
    if is_cut:
        y1, y2, x1, x2 = int(y1), int(y2), int(x1), int(x2)
        out = x if inplace else x.clone()
        if y2 > y1 and x2 > x1:
            out[..., y1:y2, x1:x2] = partner(x[..., y1:y2, x1:x2])
        return out
    if not is_mix or lam == 1.0:
        return x
    xp = partner(x)
    return x.lerp_(xp, 1.0 - lam) if inplace else torch.lerp(x, xp, 1.0 - lam)


def _mix_elem(x, partner, lam_mix, mix, cut, box, inplace):
    """Per-sample decisions as masks: ``out = where(box, x_j, lerp(x_i, x_j, 1 - lam))``."""
    xp = partner(x)
    out = x
    if lam_mix is not None:
        weight = _view(torch.where(mix, 1.0 - lam_mix, 0.0).to(x.dtype), x.ndim)
        out = x.lerp_(xp, weight) if inplace else torch.lerp(x, xp, weight)
    if box is not None:
        y1, y2, x1, x2 = (t[:, None] for t in box[:4])
        h, w = x.shape[-2:]
        rows = torch.arange(h, device=x.device)
        cols = torch.arange(w, device=x.device)
        inside = ((rows >= y1) & (rows < y2) & cut[:, None])[:, :, None] & (
            (cols >= x1) & (cols < x2)
        )[:, None, :]
        inside = inside.view(x.shape[0], *([1] * (x.ndim - 3)), h, w)
        target = out if (inplace or out is not x) else torch.empty_like(x)
        out = torch.where(inside, xp, out, out=target)
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
        On ``x``'s device.
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
