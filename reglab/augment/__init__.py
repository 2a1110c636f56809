"""Data augmentation for images, text and audio, and the invariance it buys.

The deep dive, section 8: "Image: rotations, crops, flips, color jitter. Text: synonym
replacement, back-translation, dropout-style masking. Audio: time stretching, pitch shifting,
noise addition."

Submodules
----------
image
    Batched tensor pipeline on any device (kornia underneath); needs torch.
text
    Word dropout, swap, deletion, WordNet synonyms, back-translation.
translate
    Pluggable back-translation and the offline Apertium translator.
audio
    Time stretch, pitch shift, noise at a target SNR, gain; NumPy arrays or torch tensors.
invariance
    :func:`invariance_gap`: mean KL and arg-max flip rate of a model under a transformation.

Importing this package imports neither torch nor the submodules; names are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("image", "text", "translate", "audio", "invariance")
_NAMES = {
    "invariance_gap": "invariance",
    "InvarianceGap": "invariance",
    "Pipeline": "image",
    "Augmented": "image",
}

__all__ = [*_SUBMODULES, *_NAMES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
