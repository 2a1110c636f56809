"""Shared pieces of the image pipeline: the result type, input checks, the Transform base."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import torch

from reglab.augment._validation import check_interval, check_probability

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
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contains NaN or inf")
    return images


def _check_range(name: str, value: Any, *, low: float, high: float) -> tuple[float, float]:
    """Normalise a scalar or a (min, max) pair into a checked interval (strings refused)."""
    return check_interval(value, name, low=low, high=high, symmetric=low < 0)


def _check_p(p: float) -> float:
    return check_probability(p, "p")


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _work(x: torch.Tensor) -> torch.Tensor:
    # kornia's warps are float32 kernels; half precision would lose sub-pixel accuracy.
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class Transform:
    """Base class: ``sample`` draws parameters, ``apply`` uses them, ``identity`` marks no-ops.

    Subclasses draw every parameter from the generator even when ``p`` skips a sample, so the
    random stream (and hence every later transform) does not depend on ``p``. ``param_names``
    lists the keys of the dict that ``sample`` returns and ``apply`` expects (documented in
    each subclass under "Sampled parameters").
    """

    param_names: tuple[str, ...] = ()

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
