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

Targets are float distributions (rows sum to 1), smoothed here if ``label_smoothing > 0``
(default 0, as torchvision; ``num_classes`` is required for integer labels).
Train on them with :func:`reglab.torch.soft_target_cross_entropy`; the label-smoothing loss
refuses them, so smoothing cannot be applied twice.
"""

from __future__ import annotations

import numpy as np
import torch

from reglab.torch._checks import (
    MAX_CLASSES,
    _compiling,
    check_bool,
    check_choice,
    check_labels,
    check_nonnegative,
    check_positive_int,
    check_probability,
    check_tensor,
    check_traceable_generator,
)
from reglab.torch._transfer import to_device_async
from reglab.torch.targets import _smooth_one_hot

__all__ = ["MixUpCutMix", "cutmix", "mixup"]

_MODES = ("batch", "pair", "elem")


def _check_cpu_generator(generator) -> None:
    if generator is None:
        return
    check_traceable_generator(generator)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    if torch.device(generator.device).type != "cpu":
        raise ValueError(
            f"generator must be a CPU torch.Generator (the per-sample draws are made on the "
            f"CPU and sent to the batch's device), got one on {generator.device}"
        )


def _check_layout(layout: object) -> str | None:
    if layout is None:
        return None
    if not isinstance(layout, str):
        raise TypeError(f"layout must be a string such as 'NCHW' or 'NHWC', got {layout!r}")
    ok = layout.isalpha() and len(set(layout)) == len(layout) and layout[:1] == "N"
    if not ok or "H" not in layout or "W" not in layout or layout.index("H") > layout.index("W"):
        raise ValueError(
            "layout must name every axis of x with distinct letters, 'N' first and 'H' before "
            f"'W' (e.g. 'NCHW', 'NHWC', 'NCDHW'), got {layout!r}"
        )
    return layout


def _spatial_axes(x: torch.Tensor, layout: str | None) -> tuple[int, int]:
    """Axes ``(H, W)`` of ``x`` that CutMix cuts its box from.

    Without a layout they are the last two (``(N, C, H, W)``, torch's layout). A 4-D batch
    whose last axis looks like a channel axis (1, 3 or 4 wide, narrower than the axis before
    it, while axis 1 is wider than 4) is refused: as ``(N, H, W, C)`` it would be cut across
    width and channels.
    """
    if layout is not None:
        if len(layout) != x.ndim:
            raise ValueError(
                f"layout {layout!r} describes {len(layout)} dimensions but x has {x.ndim} "
                f"(shape {tuple(x.shape)})"
            )
        return layout.index("H"), layout.index("W")
    if x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[-1] < x.shape[-2] and x.shape[1] > 4:
        raise ValueError(
            f"x has shape {tuple(x.shape)}, which looks like a channels-last (N, H, W, C) "
            "batch: CutMix cuts its box from the last two axes and would cut across width and "
            "channels; pass layout='NHWC' (or layout='NCHW' if it is channels-first)"
        )
    return x.ndim - 2, x.ndim - 1


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


def _boxes_traced(lam_c, u_y, u_x, h: int, w: int):
    """:func:`_boxes` on float64 tensors (int64 boxes, float64 fraction)."""
    ratio = torch.sqrt(1.0 - lam_c)
    cut_h = torch.floor(h * ratio).long()
    cut_w = torch.floor(w * ratio).long()
    cy = torch.floor(u_y * h).long().clamp_max(h - 1)
    cx = torch.floor(u_x * w).long().clamp_max(w - 1)
    y1 = (cy - cut_h // 2).clamp(0, h)
    y2 = (cy - cut_h // 2 + cut_h).clamp(0, h)
    x1 = (cx - cut_w // 2).clamp(0, w)
    x2 = (cx - cut_w // 2 + cut_w).clamp(0, w)
    return y1, y2, x1, x2, ((y2 - y1) * (x2 - x1)).double() / (h * w)


def _draw_traced(n, mode, mixup_alpha, cutmix_alpha, prob, switch_prob, h, w, generator, device):
    """:func:`_draw` in torch ops, for ``torch.compile``: the same ``(8, n)`` float64 rows
    ``weight, lam, cut, mix, y1, y2, x1, x2``, traced on the batch's device with its default
    generator (no host round trip, no ``.item()``). The random calls are :func:`_draw`'s, in
    its order, so on the CPU the numbers are the eager ones for the same seed. (Eager keeps
    the NumPy version: ~30 tiny torch ops cost about 0.7 ms more per call on the host.)
    """
    k = 1 if mode == "batch" else n
    f64 = dict(dtype=torch.float64, device=device)
    u = torch.rand(4, k, generator=generator, **f64)
    ma, ca = mixup_alpha or 1.0, cutmix_alpha or 1.0
    conc = torch.tensor([[ma], [ma], [ca], [ca]], **f64).expand(4, k).contiguous()
    g = torch._standard_gamma(conc, generator=generator)
    tiny = torch.finfo(torch.float64).tiny
    lam_m = g[0] / (g[0] + g[1]).clamp_min(tiny)
    lam_c = g[2] / (g[2] + g[3]).clamp_min(tiny)
    apply = u[0] < prob
    if mixup_alpha > 0 and cutmix_alpha > 0:
        use_cut = u[1] < switch_prob
    else:
        use_cut = torch.full((k,), cutmix_alpha > 0, dtype=torch.bool, device=device)
    y1, y2, x1, x2, frac = _boxes_traced(lam_c, u[2], u[3], h, w)
    cut, mix = apply & use_cut, apply & ~use_cut
    lam = torch.where(cut, 1.0 - frac, torch.where(mix, lam_m, 1.0))
    weight = torch.where(mix, 1.0 - lam_m, 0.0)  # lerp weight of the partner
    boxes = [torch.where(cut, t, 0).double() for t in (y1, y2, x1, x2)]  # empty: no paste
    rows = torch.stack([weight, lam, cut.double(), mix.double(), *boxes])
    if mode == "pair":  # both members of a pair share every draw
        idx = torch.arange(n, device=device)
        rows = rows[:, torch.minimum(idx, n - 1 - idx)]
    elif mode == "batch":
        rows = rows.expand(8, n).contiguous()
    return rows


def _targets(y, num_classes, label_smoothing, dtype) -> torch.Tensor:
    if y.dtype.is_floating_point:
        if label_smoothing > 0:
            raise TypeError(
                "y is a float (soft-target) tensor and label_smoothing > 0: it may already be "
                "smoothed; pass integer labels to smooth here, or label_smoothing=0"
            )
        if y.ndim != 2 or (num_classes is not None and y.shape[1] != num_classes):
            k = "num_classes" if num_classes is None else num_classes
            raise ValueError(f"soft targets y must have shape (B, {k}), got {tuple(y.shape)}")
        return y.to(dtype)
    if num_classes is None:
        raise ValueError(
            "num_classes is required with integer labels y (it is inferred only from (B, K) "
            "one-hot or soft targets): pass num_classes=K"
        )
    if y.ndim != 1:
        raise ValueError(f"integer labels y must have shape (B,), got {tuple(y.shape)}")
    check_labels("y", y, num_classes)
    return _smooth_one_hot(y, num_classes, label_smoothing, "uniform", dtype)


def _mix(x, y, *, mixup_alpha, cutmix_alpha, prob, switch_prob, mode, label_smoothing,
         num_classes, inplace, generator, layout=None):  # fmt: skip
    check_tensor("x", x)
    check_tensor("y", y)
    _check_cpu_generator(generator)
    check_choice("mode", mode, _MODES)
    check_bool("inplace", inplace)
    if x.ndim < 1 or y.ndim < 1 or x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must have the same batch size, got x {tuple(x.shape)} and y {tuple(y.shape)}"
        )
    if cutmix_alpha > 0 and x.ndim < 3:
        raise ValueError(f"cutmix needs x of shape (B, ..., H, W), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    hw_axes = _spatial_axes(x, layout) if cutmix_alpha > 0 else None
    tdtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    soft = _targets(y, num_classes, label_smoothing, tdtype)
    b = x.shape[0]
    h, w = (x.shape[hw_axes[0]], x.shape[hw_axes[1]]) if hw_axes else (1, 1)
    partner = (lambda t: t.flip(0)) if mode == "pair" else (lambda t: t.roll(1, 0))
    if _compiling() and generator is None:
        # drawn on the device inside the graph: no .item()/.tolist(), no host decisions
        dev = _draw_traced(b, mode, mixup_alpha, cutmix_alpha, prob, switch_prob, h, w, None,
                           x.device)  # fmt: skip
        out = _mix_elem(x, partner, dev, mixup_alpha > 0, cutmix_alpha > 0, inplace, hw_axes)
    else:
        rows = _draw(b, mode, mixup_alpha, cutmix_alpha, prob, switch_prob, h, w, generator)
        dev = to_device_async(torch.from_numpy(rows), x.device)
        if mode == "batch":
            out = _mix_batch(x, partner, rows[:, 0].tolist(), inplace, hw_axes)
        else:
            any_mix, any_cut = bool(rows[3].any()), bool(rows[2].any())
            out = _mix_elem(x, partner, dev, any_mix, any_cut, inplace, hw_axes)
    lam = dev[1]
    tl = lam.to(tdtype).unsqueeze(1)
    targets = torch.lerp(partner(soft), soft, tl)  # lam * y_i + (1 - lam) * y_j
    return out, targets, lam


def _mix_batch(x, partner, row, inplace, hw_axes):
    """One decision for the whole batch, known on the host: a lerp, one box copy, or
    nothing."""
    weight, _, is_cut, is_mix, y1, y2, x1, x2 = row
    if is_cut:
        y1, y2, x1, x2 = int(y1), int(y2), int(x1), int(x2)
        out = x if inplace else x.clone()
        if y2 > y1 and x2 > x1:
            box = [slice(None)] * x.ndim
            box[hw_axes[0]], box[hw_axes[1]] = slice(y1, y2), slice(x1, x2)
            out[tuple(box)] = partner(x[tuple(box)])
        return out
    if not is_mix or weight == 0.0:
        return x
    xp = partner(x)
    return x.lerp_(xp, weight) if inplace else torch.lerp(x, xp, weight)


def _mix_elem(x, partner, dev, any_mix, any_cut, inplace, hw_axes):
    """Per-sample decisions as masks: ``out = where(box, x_j, lerp(x_i, x_j, weight))``."""
    xp = partner(x)
    out = x
    if any_mix:
        weight = dev[0].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))
        out = x.lerp_(xp, weight) if inplace else torch.lerp(x, xp, weight)
    if any_cut:
        ha, wa = hw_axes
        h, w = x.shape[ha], x.shape[wa]
        y1, y2, x1, x2 = (t.unsqueeze(1) for t in dev[4:8])
        rows = torch.arange(h, device=x.device, dtype=dev.dtype)
        cols = torch.arange(w, device=x.device, dtype=dev.dtype)
        inside = ((rows >= y1) & (rows < y2)).unsqueeze(2) & ((cols >= x1) & (cols < x2)).unsqueeze(
            1
        )  # (B, H, W); H before W in x, so a view puts them on their axes
        shape = [x.shape[0]] + [1] * (x.ndim - 1)
        shape[ha], shape[wa] = h, w
        inside = inside.view(shape)
        if _compiling() or (torch.is_grad_enabled() and (x.requires_grad or xp.requires_grad)):
            # where(out=...) is not differentiable (and not needed under compile)
            mixed = torch.where(inside, xp, out)
            out = x.copy_(mixed) if inplace else mixed
        else:
            target = out if (inplace or out is not x) else torch.empty_like(x)
            out = torch.where(inside, xp, out, out=target)
    if out is x and not inplace:
        return x  # nothing was mixed (prob): the input itself, as for p = 0
    return out


def _check_return_lam(return_lam: object) -> bool:
    return check_bool("return_lam", return_lam)


def _num_classes(num_classes: object) -> int | None:
    return (
        None
        if num_classes is None
        else check_positive_int("num_classes", num_classes, maximum=MAX_CLASSES)
    )


def mixup(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int | None = None,
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
        ``(B,)`` integer labels or ``(B, K)`` float (one-hot or soft) targets.
    alpha : float
        ``lam ~ Beta(alpha, alpha)``, ``alpha > 0``.
    num_classes : int, optional
        ``K``; required with integer labels, inferred from ``(B, K)`` float targets (and
        checked against them when given).
    mode : {'batch', 'pair', 'elem'}
        One ``lam`` per batch, per pair or per sample (see the module docstring).
    label_smoothing : float
        Smoothing of integer labels (torch's eps/K convention) before mixing; default 0, as
        torchvision's MixUp/CutMix (timm's ``Mixup`` defaults to 0.1).
    inplace : bool
        Write the mixed batch into ``x``.
    generator : torch.Generator, optional
        A CPU generator: the per-sample draws are made on the CPU, whatever ``x``'s device
        (None: torch's default CPU generator). Under ``torch.compile`` pass None: the draws
        are then traced on ``x``'s device with its default generator (the same numbers on
        the CPU), with no ``.item()``/``.tolist()`` and no host decision in the graph.
    return_lam : bool
        Also return the per-sample ``lam`` (float64, shape ``(B,)``).

    Returns
    -------
    x_mixed, targets[, lam]
        ``x_mixed`` is differentiable in ``x`` (mixing hidden activations works).
    """
    alpha = check_nonnegative("alpha", alpha, strict=True)
    return_lam = _check_return_lam(return_lam)
    out = _mix(x, y, mixup_alpha=alpha, cutmix_alpha=0.0, prob=1.0, switch_prob=0.0, mode=mode,
               label_smoothing=check_probability("label_smoothing", label_smoothing),
               num_classes=_num_classes(num_classes), inplace=inplace,
               generator=generator)  # fmt: skip
    return out if return_lam else out[:2]


def cutmix(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    alpha: float = 1.0,
    num_classes: int | None = None,
    mode: str = "batch",
    label_smoothing: float = 0.0,
    inplace: bool = False,
    generator: torch.Generator | None = None,
    return_lam: bool = False,
    layout: str | None = None,
):
    """CutMix a batch over its spatial axes ``(H, W)``; ``1 - lam`` is exactly the pasted
    pixel fraction of each sample. Arguments as in :func:`mixup`, and:

    Parameters
    ----------
    layout : str, optional
        One letter per axis of ``x``, ``'N'`` first, ``'H'`` before ``'W'`` (e.g.
        ``'NCHW'``, ``'NHWC'``, ``'NCDHW'``). Default: the last two axes are ``(H, W)``; a
        4-D batch that looks channels-last (``(N, H, W, C)`` with ``C`` in 1, 3, 4) is then
        refused rather than cut across width and channels.
    """
    alpha = check_nonnegative("alpha", alpha, strict=True)
    return_lam = _check_return_lam(return_lam)
    out = _mix(x, y, mixup_alpha=0.0, cutmix_alpha=alpha, prob=1.0, switch_prob=1.0, mode=mode,
               label_smoothing=check_probability("label_smoothing", label_smoothing),
               num_classes=_num_classes(num_classes), inplace=inplace, generator=generator,
               layout=_check_layout(layout))  # fmt: skip
    return out if return_lam else out[:2]


class MixUpCutMix:
    """MixUp and/or CutMix with timm's knobs, vectorised.

    With probability ``prob`` (per batch, pair or sample, by ``mode``) the batch is mixed;
    when both alphas are positive CutMix is chosen with probability ``switch_prob``, MixUp
    otherwise. An alpha of 0 disables that method (timm's convention); negative alphas and
    both disabled are errors.

    Unlike timm's ``Mixup`` (``num_classes=1000``, ``label_smoothing=0.1``), there is no
    default number of classes (10-class labels must not silently become ``(N, 1000)``
    targets) and no default smoothing: torchvision's ``MixUp``/``CutMix`` convention.

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
        Applied once, here, to integer labels (torch's eps/K convention); default 0.
    num_classes : int, optional
        Required for integer labels; inferred from ``(B, K)`` float targets.
    inplace : bool
    layout : str, optional
        Axis letters of ``x`` for CutMix (see :func:`cutmix`).

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
        label_smoothing: float = 0.0,
        num_classes: int | None = None,
        *,
        inplace: bool = False,
        layout: str | None = None,
    ) -> None:
        self.mixup_alpha = check_nonnegative("mixup_alpha", mixup_alpha)
        self.cutmix_alpha = check_nonnegative("cutmix_alpha", cutmix_alpha)
        if self.mixup_alpha == 0 and self.cutmix_alpha == 0:
            raise ValueError("mixup_alpha and cutmix_alpha are both 0: nothing to mix")
        self.prob = check_probability("prob", prob)
        self.switch_prob = check_probability("switch_prob", switch_prob)
        self.mode = check_choice("mode", mode, _MODES)
        self.label_smoothing = check_probability("label_smoothing", label_smoothing)
        self.num_classes = _num_classes(num_classes)
        self.inplace = check_bool("inplace", inplace)
        self.layout = _check_layout(layout)

    def __call__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        return_lam: bool = False,
    ):
        """Mix ``(x, y)``; returns ``(x_mixed, soft_targets)`` (and ``lam`` if asked)."""
        return_lam = _check_return_lam(return_lam)
        out = _mix(x, y, mixup_alpha=self.mixup_alpha, cutmix_alpha=self.cutmix_alpha,
                   prob=self.prob, switch_prob=self.switch_prob, mode=self.mode,
                   label_smoothing=self.label_smoothing, num_classes=self.num_classes,
                   inplace=self.inplace, generator=generator, layout=self.layout)  # fmt: skip
        return out if return_lam else out[:2]

    def __repr__(self) -> str:
        return (
            f"MixUpCutMix(mixup_alpha={self.mixup_alpha}, cutmix_alpha={self.cutmix_alpha}, "
            f"prob={self.prob}, switch_prob={self.switch_prob}, mode={self.mode!r}, "
            f"label_smoothing={self.label_smoothing}, num_classes={self.num_classes}, "
            f"layout={self.layout!r})"
        )
