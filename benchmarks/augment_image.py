"""Throughput of reglab.augment.image.Pipeline vs kornia.augmentation.AugmentationSequential."""

import sys
import time

import kornia.augmentation as K
import torch

from reglab.augment import image as im

dev = sys.argv[1] if len(sys.argv) > 1 else "cpu"
B, S = (256, 224) if dev == "cuda" else (64, 64)
x = torch.rand(B, 3, S, S, device=dev)

ours = im.Pipeline(
    [
        im.HorizontalFlip(0.5),
        im.RandomResizedCrop((0.3, 1.0)),
        im.Rotation(20),
        im.Translation(0.1),
        im.ColorJitter(0.2, 0.2, 0.2, 0.05),
    ]
)
theirs = K.AugmentationSequential(
    K.RandomHorizontalFlip(p=0.5),
    K.RandomResizedCrop((S, S), scale=(0.3, 1.0)),
    K.RandomRotation(20.0, p=1.0),
    K.RandomAffine(0, translate=(0.1, 0.1), p=1.0),
    K.ColorJitter(0.2, 0.2, 0.2, 0.05, p=1.0),
).to(dev)


def timeit(f, reps):
    f()
    f()
    if dev == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    if dev == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t) / reps


reps = 20 if dev == "cuda" else 5
g = torch.Generator().manual_seed(0)
t_ours = timeit(lambda: ours(x, generator=g), reps)
t_theirs = timeit(lambda: theirs(x), reps)
name = torch.cuda.get_device_name() if dev == "cuda" else "CPU"
print(
    f"| {name} batch {B}x3x{S}x{S} | reglab Pipeline {t_ours * 1e3:.1f} ms | kornia AugmentationSequential {t_theirs * 1e3:.1f} ms | ratio {t_ours / t_theirs:.2f} |"
)
