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

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import torch

Params = dict[str, torch.Tensor]
Policy = Literal["per_sample", "per_batch"]


class Augmented(NamedTuple):
    """Output of a :class:`Pipeline` call: images, the untouched labels and the parameters."""

    images: torch.Tensor
    labels: Any
    params: list[Params]


def _check_images(images: Any) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images must be a torch.Tensor of shape (B, C, H, W), got {type(images)}")
    if images.ndim != 4:
        raise ValueError(
            f"images must have rank 4 (B, C, H, W), got rank {images.ndim} "
            f"with shape {tuple(images.shape)}"
        )
    if images.shape[0] == 0:
        raise ValueError(f"images is an empty batch (shape {tuple(images.shape)})")
    if not images.is_floating_point():
        raise TypeError(
            f"images must have a floating dtype, got {images.dtype}; "
            "convert with images.float() / 255 first"
        )
    return images


def _check_range(name: str, value: Any, *, low: float, high: float) -> tuple[float, float]:
    """Normalise a scalar or a (min, max) pair into a checked interval."""
    if isinstance(value, int | float):
        pair = (-float(value), float(value)) if low < 0 else (float(value), float(value))
    else:
        pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not (low <= pair[0] <= pair[1] <= high):
        raise ValueError(
            f"{name} must be an interval (min, max) inside [{low}, {high}], got {value}"
        )
    return pair


def _check_p(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    return float(p)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _work(x: torch.Tensor) -> torch.Tensor:
    # kornia's warps are float32 kernels; half precision would lose sub-pixel accuracy.
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class Transform:
    """Base class: ``sample`` draws parameters, ``apply`` uses them, ``identity`` marks no-ops.

    Subclasses draw every parameter from the generator even when ``p`` skips a sample, so the
    random stream (and hence every later transform) does not depend on ``p``.
    """

    def sample(
        self, batch_size: int, height: int, width: int, generator: torch.Generator
    ) -> Params:
        raise NotImplementedError

    def apply(self, images: torch.Tensor, params: Params) -> torch.Tensor:
        raise NotImplementedError

    def identity(self, params: Params, height: int, width: int) -> torch.Tensor:
        """Boolean mask ``(B,)`` of the samples that this transform leaves unchanged."""
        raise NotImplementedError

    def _gate(self, batch_size: int, generator: torch.Generator) -> torch.Tensor:
        return torch.rand(batch_size, generator=generator, dtype=torch.float64) < self.p

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class HorizontalFlip(Transform):
    """Mirror left-right with probability ``p``: ``out[..., j] = x[..., W - 1 - j]``."""

    def __init__(self, p: float = 0.5):
        self.p = _check_p(p)

    def sample(self, batch_size, height, width, generator):
        return {"flip": self._gate(batch_size, generator)}

    def apply(self, images, params):
        return images.flip(-1)

    def identity(self, params, height, width):
        return ~params["flip"]


class VerticalFlip(HorizontalFlip):
    """Mirror top-bottom with probability ``p``: ``out[..., i, :] = x[..., H - 1 - i, :]``."""

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
    """

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
    """

    def __init__(self, fraction: float | tuple[float, float] = 0.1, p: float = 1.0):
        pair = (fraction, fraction) if isinstance(fraction, int | float) else tuple(fraction)
        if len(pair) != 2 or not all(0.0 <= f <= 1.0 for f in pair):
            raise ValueError(f"fraction must be in [0, 1] (or a pair of such), got {fraction}")
        self.fraction = tuple(float(f) for f in pair)
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
    """

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


class ColorJitter(Transform):
    """Brightness, contrast, saturation and hue changes, in that order, on RGB in ``[0, 1]``.

    With grey level ``g(x) = 0.299 R + 0.587 G + 0.114 B``: brightness ``b x``; contrast
    ``c x + (1 - c) mean(g(x))``; saturation ``s x + (1 - s) g(x)``; hue rotates the HSV hue
    by ``h`` turns (kornia). Factors ``b, c, s`` are drawn in ``[1 - v, 1 + v]`` and ``h`` in
    ``[-v, v]`` (the torchvision convention); the result is clipped to ``[0, 1]``.

    Parameters
    ----------
    brightness, contrast, saturation : float
        Half-width ``v`` of each factor's range, ``0 <= v <= 1``.
    hue : float
        Half-width of the hue shift in turns, ``0 <= hue <= 0.5``.
    p : float
        Probability of jittering a sample.
    """

    def __init__(
        self,
        brightness: float = 0.2,
        contrast: float = 0.2,
        saturation: float = 0.2,
        hue: float = 0.0,
        p: float = 1.0,
    ):
        for name, v, top in (
            ("brightness", brightness, 1.0),
            ("contrast", contrast, 1.0),
            ("saturation", saturation, 1.0),
            ("hue", hue, 0.5),
        ):
            if not 0.0 <= v <= top:
                raise ValueError(f"{name} must be in [0, {top}], got {v}")
        self.brightness, self.contrast = float(brightness), float(contrast)
        self.saturation, self.hue = float(saturation), float(hue)
        self.p = _check_p(p)

    def sample(self, batch_size, height, width, generator):
        out = {
            "brightness": _uniform(batch_size, 1 - self.brightness, 1 + self.brightness, generator),
            "contrast": _uniform(batch_size, 1 - self.contrast, 1 + self.contrast, generator),
            "saturation": _uniform(batch_size, 1 - self.saturation, 1 + self.saturation, generator),
            "hue": _uniform(batch_size, -self.hue, self.hue, generator),
        }
        gate = self._gate(batch_size, generator)
        return {k: torch.where(gate, v, 0.0 if k == "hue" else 1.0) for k, v in out.items()}

    def identity(self, params, height, width):
        return (
            (params["brightness"] == 1)
            & (params["contrast"] == 1)
            & (params["saturation"] == 1)
            & (params["hue"] == 0)
        )

    def apply(self, images, params):
        if images.shape[1] != 3 and (
            (params["saturation"] != 1).any() or (params["hue"] != 0).any()
        ):
            raise ValueError(
                f"saturation and hue jitter need RGB images (C=3), got C={images.shape[1]}"
            )
        x = _work(images)

        def factor(name: str) -> torch.Tensor:
            return params[name].to(device=x.device, dtype=x.dtype)[:, None, None, None]

        weights = torch.tensor([0.299, 0.587, 0.114], device=x.device, dtype=x.dtype)
        x = (x * factor("brightness")).clamp(0, 1)
        grey = (x * weights[:, None, None]).sum(1, keepdim=True) if x.shape[1] == 3 else x
        c = factor("contrast")
        x = (c * x + (1 - c) * grey.mean(dim=(1, 2, 3), keepdim=True)).clamp(0, 1)
        if x.shape[1] == 3:
            s = factor("saturation")
            grey = (x * weights[:, None, None]).sum(1, keepdim=True)
            x = (s * x + (1 - s) * grey).clamp(0, 1)
            if (params["hue"] != 0).any():
                from kornia.enhance import adjust_hue

                x = adjust_hue(x, 2 * math.pi * factor("hue").flatten()).clamp(0, 1)
        return x.to(images.dtype)


class Pipeline:
    """Apply transforms in order, with parameters drawn per sample or once per batch.

    Parameters
    ----------
    transforms : sequence of Transform
        Applied left to right.
    policy : {"per_sample", "per_batch"}
        ``"per_sample"`` draws independent parameters for each image; ``"per_batch"`` draws one
        set and applies it to every image of the batch.

    Examples
    --------
    >>> import torch
    >>> pipe = Pipeline([HorizontalFlip(), Rotation(15)])
    >>> out = pipe(torch.rand(4, 3, 8, 8), torch.arange(4), seed=0)
    >>> again = pipe.apply(torch.rand(4, 3, 8, 8), out.params)  # same flips and angles
    """

    def __init__(self, transforms: Sequence[Transform], *, policy: Policy = "per_sample"):
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"transforms must be Transform instances, got {t!r}")
        if policy not in ("per_sample", "per_batch"):
            raise ValueError(f"policy must be 'per_sample' or 'per_batch', got {policy!r}")
        self.transforms = transforms
        self.policy = policy

    def __repr__(self) -> str:
        return f"Pipeline({self.transforms!r}, policy={self.policy!r})"

    def sample(
        self,
        batch_size: int,
        height: int,
        width: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> list[Params]:
        """Draw every transform's parameters on the CPU (one dict of ``(B, ...)`` tensors each)."""
        if generator is not None and seed is not None:
            raise ValueError("pass either generator or seed, not both")
        if generator is None:
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(int(seed))
        if generator.device.type != "cpu":
            raise ValueError(
                f"generator must be a CPU generator (parameters are drawn on the CPU so a seed "
                f"gives the same parameters on every device), got device {generator.device}"
            )
        n = 1 if self.policy == "per_batch" else batch_size
        params = []
        for t in self.transforms:
            p = t.sample(n, height, width, generator)
            params.append({k: v.expand(batch_size, *v.shape[1:]).clone() for k, v in p.items()})
        return params

    def apply(self, images: torch.Tensor, params: list[Params]) -> torch.Tensor:
        """Apply given parameters; samples whose parameters are the identity are copied through."""
        images = _check_images(images)
        if len(params) != len(self.transforms):
            raise ValueError(
                f"params has {len(params)} entries but the pipeline has "
                f"{len(self.transforms)} transforms"
            )
        batch, _, height, width = images.shape
        x = images
        for t, p in zip(self.transforms, params):
            for k, v in p.items():
                if v.shape[0] != batch:
                    raise ValueError(
                        f"params[{k!r}] is for a batch of {v.shape[0]}, images has {batch}"
                    )
            moved = ~t.identity(p, height, width).to(images.device)
            if not moved.any():
                continue
            if moved.all():
                x = t.apply(x, p)
                continue
            rows = moved.nonzero().flatten()
            sub = {k: v[moved.cpu()] for k, v in p.items()}
            x = x.index_copy(0, rows, t.apply(x[rows], sub))
        return x

    def __call__(
        self,
        images: torch.Tensor,
        labels: Any = None,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Augmented:
        """Sample parameters, apply them, and return ``Augmented(images, labels, params)``."""
        images = _check_images(images)
        if labels is not None and hasattr(labels, "__len__") and len(labels) != images.shape[0]:
            raise ValueError(
                f"labels has length {len(labels)} but images has batch size {images.shape[0]}"
            )
        params = self.sample(*images.shape[:1], *images.shape[2:], generator=generator, seed=seed)
        return Augmented(self.apply(images, params), labels, params)
