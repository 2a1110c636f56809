"""CPU training-step overhead of reglab.torch's regularizers, beside timm's and torch's.

The same measurement as ``gpu_overhead.py`` (see its docstring) with CPU-sized defaults: a
small ViT (64x64 images, 8x8 patches, dim 192, depth 4, 3 heads, batch 32, 100 classes) in
float32. Ratios are step time with the regularizer divided by the plain step.

    python benchmarks/torch_overhead.py
    .venv-bench/bin/python benchmarks/torch_overhead.py   # with timm installed there
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_overhead import main  # noqa: E402

CPU_DEFAULTS = [
    "--device", "cpu", "--no-amp", "--batch", "32", "--image", "64", "--patch", "8",
    "--dim", "192", "--depth", "4", "--heads", "3", "--classes", "100",
    "--steps", "5", "--warmup", "2", "--rounds", "3",
]  # fmt: skip

if __name__ == "__main__":
    main(CPU_DEFAULTS + sys.argv[1:])
