"""The pipeline: sample parameters on the CPU from a generator, apply them on the batch's device."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from reglab.augment._validation import check_choice, check_int, check_keys, check_seed
from reglab.augment.image._base import Augmented, Params, Policy, Transform, _check_images


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
        if isinstance(transforms, Transform) or not isinstance(transforms, Sequence):
            raise TypeError(
                f"transforms must be a sequence of Transform, got {type(transforms).__name__}"
            )
        transforms = list(transforms)
        for t in transforms:
            if not isinstance(t, Transform):
                raise TypeError(f"transforms must be Transform instances, got {t!r}")
        check_choice(policy, "policy", ("per_sample", "per_batch"))
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
        batch_size = check_int(batch_size, "batch_size", low=1)
        height = check_int(height, "height", low=1)
        width = check_int(width, "width", low=1)
        seed = check_seed(seed, allow_generator=False)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
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
        if not isinstance(params, list | tuple):
            raise TypeError(f"params must be a list of dicts, got {type(params).__name__}")
        if len(params) != len(self.transforms):
            raise ValueError(
                f"params has {len(params)} entries but the pipeline has "
                f"{len(self.transforms)} transforms"
            )
        batch, _, height, width = images.shape
        x = images
        for i, (t, p) in enumerate(zip(self.transforms, params)):
            # a mistyped key would otherwise be ignored (or fail deep inside kornia)
            check_keys(p, f"params[{i}]", t.param_names)
            missing = [k for k in t.param_names if k not in p]
            if missing:
                raise ValueError(f"params[{i}] lacks keys {missing} of {type(t).__name__}")
            for k, v in p.items():
                if not isinstance(v, torch.Tensor):
                    raise TypeError(f"params[{i}][{k!r}] must be a tensor, got {type(v).__name__}")
                if v.is_floating_point() and not bool(torch.isfinite(v).all()):
                    raise ValueError(f"params[{i}][{k!r}] contains NaN or inf")
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
