"""Geometric transforms: flips, rotation, translation, random resized crop."""

from __future__ import annotations

import math

import torch

from reglab.augment._validation import check_real
from reglab.augment.image._base import Transform, _check_p, _check_range, _uniform, _work


class HorizontalFlip(Transform):
    """Mirror left-right with probability ``p``: ``out[..., j] = x[..., W - 1 - j]``.

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    flip : bool tensor (B,)
        True for the samples that are mirrored.
    """

    param_names = ("flip",)

    def __init__(self, p: float = 0.5):
        self.p = _check_p(p)

    def sample(self, batch_size, height, width, generator):
        return {"flip": self._gate(batch_size, generator)}

    def apply(self, images, params):
        return images.flip(-1)

    def identity(self, params, height, width):
        return ~params["flip"]


class VerticalFlip(HorizontalFlip):
    """Mirror top-bottom with probability ``p``: ``out[..., i, :] = x[..., H - 1 - i, :]``.

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    flip : bool tensor (B,)
        True for the samples that are mirrored.
    """

    def apply(self, images, params):
        return images.flip(-2)


class Rotation(Transform):
    """Rotate counter-clockwise by an angle drawn uniformly from ``degrees`` (bilinear, zero fill).

    Parameters
    ----------
    degrees : float or (float, float)
        Angle range in degrees; a scalar ``d`` means ``(-d, d)``.
    p : float
        Probability of rotating a sample.

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    angle : float64 tensor (B,)
        Counter-clockwise angle in degrees; 0 for the samples that ``p`` leaves alone.
    """

    param_names = ("angle",)

    def __init__(self, degrees: float | tuple[float, float] = 30.0, p: float = 1.0):
        self.degrees = _check_range("degrees", degrees, low=-360.0, high=360.0)
        self.p = _check_p(p)

    def sample(self, batch_size, height, width, generator):
        angle = _uniform(batch_size, *self.degrees, generator)
        return {"angle": torch.where(self._gate(batch_size, generator), angle, 0.0)}

    def identity(self, params, height, width):
        return torch.remainder(params["angle"], 360.0) == 0

    def apply(self, images, params):
        from kornia.geometry.transform import rotate

        angle = params["angle"].to(images.device)
        out = torch.empty_like(images)
        quarter = torch.remainder(angle, 90.0) == 0
        if images.shape[-1] != images.shape[-2]:
            quarter = torch.zeros_like(quarter)
        # Lattice rotations are permutations of pixels: do them exactly.
        turns = torch.remainder(torch.round(angle / 90.0), 4).long()
        for k in range(4):
            rows = quarter & (turns == k)
            if rows.any():
                out[rows] = torch.rot90(images[rows], k, dims=(-2, -1))
        rows = ~quarter
        if rows.any():
            work = _work(images[rows])
            out[rows] = rotate(work, angle[rows].to(work.dtype)).to(images.dtype)
        return out


class Translation(Transform):
    """Shift by ``(tx, ty)`` pixels drawn uniformly in ``+-fraction * (W, H)`` (zero fill).

    Parameters
    ----------
    fraction : float or (float, float)
        Largest shift as a fraction of the width and of the height.
    p : float
        Probability of shifting a sample.

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    shift : float64 tensor (B, 2)
        ``(tx, ty)`` in pixels, positive to the right and down; zeros where ``p`` skips.
    """

    param_names = ("shift",)

    def __init__(self, fraction: float | tuple[float, float] = 0.1, p: float = 1.0):
        if isinstance(fraction, str | bytes):
            raise TypeError(f"fraction must be a number or a pair, got the string {fraction!r}")
        pair = (fraction, fraction) if not hasattr(fraction, "__len__") else tuple(fraction)
        if len(pair) != 2:
            raise ValueError(f"fraction must be in [0, 1] (or a pair of such), got {fraction}")
        self.fraction = tuple(check_real(f, "fraction", low=0.0, high=1.0) for f in pair)
        self.p = _check_p(p)

    def sample(self, batch_size, height, width, generator):
        fx, fy = self.fraction
        tx = _uniform(batch_size, -fx * width, fx * width, generator)
        ty = _uniform(batch_size, -fy * height, fy * height, generator)
        shift = torch.stack([tx, ty], dim=1)
        return {"shift": torch.where(self._gate(batch_size, generator)[:, None], shift, 0.0)}

    def identity(self, params, height, width):
        return (params["shift"] == 0).all(dim=1)

    def apply(self, images, params):
        from kornia.geometry.transform import translate

        work = _work(images)
        shift = params["shift"].to(device=images.device, dtype=work.dtype)
        return translate(work, shift).to(images.dtype)


class RandomResizedCrop(Transform):
    """Crop a box of random area and aspect ratio and resize it back to ``(H, W)``.

    The box is drawn as in Szegedy et al. (CVPR 2015, "Going deeper with convolutions"):
    area fraction uniform in ``scale``, log aspect ratio uniform in ``log(ratio)``, ten tries,
    then the central crop of the largest admissible aspect ratio.

    Parameters
    ----------
    scale : (float, float)
        Range of the cropped area as a fraction of the image area.
    ratio : (float, float)
        Range of the crop's width / height.
    p : float
        Probability of cropping a sample.

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    box : float64 tensor (B, 4)
        ``(x0, y0, x1, y1)``: pixel coordinates of the crop's top-left and bottom-right
        pixels, inclusive; the full image ``(0, 0, W - 1, H - 1)`` where ``p`` skips.
    """

    param_names = ("box",)

    def __init__(
        self,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        p: float = 1.0,
    ):
        self.scale = _check_range("scale", scale, low=1e-6, high=1.0)
        self.ratio = _check_range("ratio", ratio, low=1e-6, high=1e6)
        self.p = _check_p(p)

    def _one_box(self, height, width, u: torch.Tensor) -> list[float]:
        area = height * width
        log_r = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for t in range(10):
            target = area * (self.scale[0] + (self.scale[1] - self.scale[0]) * float(u[3 * t]))
            aspect = math.exp(log_r[0] + (log_r[1] - log_r[0]) * float(u[3 * t + 1]))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                x0 = math.floor(float(u[3 * t + 2]) * (width - w + 1))
                y0 = math.floor(float(u[30 + t]) * (height - h + 1))
                return [x0, y0, x0 + w - 1, y0 + h - 1]
        aspect = width / height
        if aspect < self.ratio[0]:
            w, h = width, round(width / self.ratio[0])
        elif aspect > self.ratio[1]:
            w, h = round(height * self.ratio[1]), height
        else:
            w, h = width, height
        x0, y0 = (width - w) // 2, (height - h) // 2
        return [x0, y0, x0 + w - 1, y0 + h - 1]

    def sample(self, batch_size, height, width, generator):
        # A fixed number of draws per sample keeps the stream independent of rejections.
        u = torch.rand(batch_size, 40, generator=generator, dtype=torch.float64)
        boxes = torch.tensor([self._one_box(height, width, row) for row in u], dtype=torch.float64)
        full = torch.tensor([0.0, 0.0, width - 1.0, height - 1.0], dtype=torch.float64)
        gate = self._gate(batch_size, generator)[:, None]
        return {"box": torch.where(gate, boxes, full)}

    def identity(self, params, height, width):
        full = torch.tensor([0.0, 0.0, width - 1.0, height - 1.0], dtype=params["box"].dtype)
        return (params["box"] == full).all(dim=1)

    def apply(self, images, params):
        from kornia.geometry.transform import crop_and_resize

        work = _work(images)
        x0, y0, x1, y1 = params["box"].to(device=images.device, dtype=work.dtype).unbind(1)
        corners = torch.stack(
            [torch.stack(c, dim=1) for c in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))], dim=1
        )
        size = (images.shape[-2], images.shape[-1])
        return crop_and_resize(work, corners, size).to(images.dtype)
