"""Host-to-device copies that do not make the host wait.

Per-sample draws (MixUp/CutMix rows, DropPath's dropped samples) are made on the CPU, where
B numbers cost nothing, and shipped to the batch's device. A plain ``.to(device)`` of a
pageable tensor synchronises the stream; through pinned memory with ``non_blocking=True``
the copy is queued behind the work already launched and the host runs on.
"""

from __future__ import annotations

import torch

__all__ = ["to_device_async"]


def to_device_async(host: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``host`` (a CPU tensor) on ``device``, copied without a host-device synchronisation.

    On the CPU the tensor itself is returned. On CUDA it goes through a pinned staging
    buffer (torch's caching host allocator keeps the buffer alive until the copy is done).
    """
    if device.type == "cpu":
        return host
    if device.type != "cuda":  # other backends: their own .to() semantics
        return host.to(device)
    pinned = torch.empty(host.shape, dtype=host.dtype, pin_memory=True)
    pinned.copy_(host)
    return pinned.to(device, non_blocking=True)
