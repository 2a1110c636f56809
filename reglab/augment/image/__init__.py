"""Batched image augmentation with explicit, replayable parameters (kornia underneath).

A :class:`Pipeline` is a list of transforms. Calling it on a batch ``(B, C, H, W)`` first
*samples* every transform's parameters on the CPU from an explicit ``torch.Generator`` (so a
seed reproduces the same parameters on every device), then *applies* them on the batch's own
device. The sampled parameters are returned, and :meth:`Pipeline.apply` replays them exactly.
Labels pass through untouched: every transform here is label-preserving (Simard, Steinkraus &
Platt, ICDAR 2003; Krizhevsky, Sutskever & Hinton, NeurIPS 2012).

A sample whose parameters are the identity (no flip, zero angle, zero shift, the full crop box,
unit colour factors) is copied through, not resampled, so identity parameters return the input
bit for bit; rotations by multiples of 90 degrees of square images use :func:`torch.rot90`,
which is exact, instead of bilinear warping.
"""

from reglab.augment.image._base import Augmented, Params, Policy, Transform
from reglab.augment.image.color import ColorJitter
from reglab.augment.image.geometric import (
    HorizontalFlip,
    RandomResizedCrop,
    Rotation,
    Translation,
    VerticalFlip,
)
from reglab.augment.image.pipeline import Pipeline

__all__ = [
    "Augmented",
    "ColorJitter",
    "HorizontalFlip",
    "Params",
    "Pipeline",
    "Policy",
    "RandomResizedCrop",
    "Rotation",
    "Transform",
    "Translation",
    "VerticalFlip",
]
