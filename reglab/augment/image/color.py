"""Photometric transform: colour jitter (brightness, contrast, saturation, hue)."""

from __future__ import annotations

import math

import torch

from reglab.augment._validation import check_real
from reglab.augment.image._base import Transform, _check_p, _uniform, _work


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

    Notes
    -----
    The parameters sampled per image (the keys of ``Augmented.params``):

    brightness, contrast, saturation : float64 tensor (B,)
        The factors ``b, c, s`` (1 where ``p`` skips a sample).
    hue : float64 tensor (B,)
        The hue shift ``h`` in turns (0 where ``p`` skips).
    """

    param_names = ("brightness", "contrast", "saturation", "hue")

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
            check_real(v, name, low=0.0, high=top)
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
