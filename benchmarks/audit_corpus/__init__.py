"""A corpus of small training set-ups for evaluating ``reglab.torch.audit``.

Each set-up is a function registered with :func:`setup`: it builds a model, an optimizer and
the rest the way one style of code does (plain loops, timm-style param groups,
torchvision-style recipes, Lightning modules), trains for a few steps under
:func:`reglab.torch.audit.watch` (or the Lightning callback), and returns the findings.
``fault`` is the one regularization mistake seeded in it (a finding code), or ``None`` for a
clean set-up that follows a current recipe. ``benchmarks/audit_benchmark.py`` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

import reglab.torch as rt


@dataclass(frozen=True)
class Setup:
    name: str
    style: str
    fault: str | None
    build: Callable


SETUPS: list[Setup] = []


def setup(style: str, fault: str | None):
    def register(fn):
        SETUPS.append(Setup(f"{style}/{fn.__name__}", style, fault, fn))
        return fn

    return register


# -- tiny data ----------------------------------------------------------------------------------
def tabular(n: int = 64, d: int = 8, k: int = 3, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, k, generator=g)
    return x, (x @ w + 0.5 * torch.randn(n, k, generator=g)).argmax(1)


def images(n: int = 32, k: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, k, (n,), generator=g)


def batches(x, y, size: int = 16):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(x), size)]


# -- tiny models in the styles of the libraries people copy from -------------------------------
class Block(nn.Module):
    """A pre-norm transformer block as timm writes it (DropPath on both residual branches)."""

    def __init__(self, dim: int, drop_path: float, drop: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, 2, dropout=drop, batch_first=True)
        self.drop_path1 = rt.DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(drop), nn.Linear(2 * dim, dim)
        )
        self.drop_path2 = rt.DropPath(drop_path)

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.drop_path1(self.attn(h, h, h, need_weights=False)[0])
        return x + self.drop_path2(self.mlp(self.norm2(x)))


class TinyViT(nn.Module):
    def __init__(self, depth: int = 4, dim: int = 16, classes: int = 4, rates=None, drop=0.0):
        super().__init__()
        rates = rt.drop_path_rates(depth, 0.1) if rates is None else rates
        self.patch_embed = nn.Conv2d(3, dim, 4, stride=4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 4, dim))
        self.blocks = nn.Sequential(*[Block(dim, r, drop) for r in rates])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        return self.head(self.norm(self.blocks(x)).mean(1))


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block, shrunk."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        return torch.relu(x + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x))))))


class TinyResNet(nn.Module):
    def __init__(self, c: int = 8, classes: int = 4, dropout: float = 0.0):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        )
        self.layer1 = BasicBlock(c)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        return self.fc(self.dropout(self.pool(self.layer1(self.stem(x))).flatten(1)))


def mlp(d: int = 8, k: int = 3, width: int = 32, p: float = 0.2, bn: bool = False) -> nn.Module:
    norm = [nn.BatchNorm1d(width)] if bn else []
    return nn.Sequential(nn.Linear(d, width), *norm, nn.ReLU(), nn.Dropout(p), nn.Linear(width, k))


def run_epochs(model, optimizer, criterion, train, val=None, epochs=2, evaluate=True, hook=None):
    """The plain loop everybody writes: train, then evaluate under no_grad."""
    for _ in range(epochs):
        model.train()
        for x, y in train:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
        if val is not None:
            if evaluate:
                model.eval()
            with torch.no_grad():
                losses = [float(criterion(model(x), y)) for x, y in val]
            if hook is not None and hook(sum(losses) / len(losses)):
                break


from . import (  # noqa: E402,F401  (importing them registers the set-ups)
    clean,
    lightning_style,
    plain_loops,
    timm_style,
    torchvision_style,
)
