"""Small seeded networks for the perturbation claims: a conv net, a residual MLP.

Initialised from an explicit :class:`torch.Generator` through
:func:`reglab.lab.claims._torch_nets.init_`, so a run depends on its seed only. torch is
imported inside the functions (the claims registry must not import torch).
"""

from __future__ import annotations

from typing import Any


def conv_net(
    gen: Any,
    *,
    in_channels: int = 1,
    channels: int = 16,
    n_classes: int = 10,
    dims: int = 2,
    side: int = 8,
    p: float = 0.0,
    spatial: bool = False,
) -> Any:
    """``[conv3-ReLU-(drop)] x 2 -> max-pool 2 -> flatten -> (drop) -> linear``.

    ``dims`` 1 (sequences of length ``side``) or 2 (``side x side`` images). ``p`` is the
    dropout rate after each conv block: element-wise :class:`reglab.torch.Dropout`, or, with
    ``spatial``, :class:`reglab.torch.ChannelDropout` (whole feature maps; Tompson et al.,
    CVPR 2015). Masks are drawn from ``gen``.
    """
    from torch import nn

    from reglab.lab.claims._torch_nets import init_
    from reglab.torch import ChannelDropout, Dropout

    if dims not in (1, 2):
        raise ValueError(f"dims={dims!r} must be 1 or 2")
    if side % 2:
        raise ValueError(f"side={side!r} must be even (one 2x pooling)")
    Conv = nn.Conv1d if dims == 1 else nn.Conv2d
    Pool = nn.MaxPool1d if dims == 1 else nn.MaxPool2d
    layout = "NCL" if dims == 1 else "NCHW"

    def drop() -> list[nn.Module]:
        if p <= 0:
            return []
        if spatial:
            return [ChannelDropout(p, layout=layout, generator=gen)]
        return [Dropout(p, generator=gen)]

    c2 = 2 * channels
    layers: list[nn.Module] = [
        Conv(in_channels, channels, 3, padding=1), nn.ReLU(), *drop(),
        Conv(channels, c2, 3, padding=1), nn.ReLU(), *drop(),
        Pool(2), nn.Flatten(),
        nn.Linear(c2 * (side // 2) ** dims, n_classes),
    ]  # fmt: skip
    return init_(nn.Sequential(*layers), gen)


def residual_mlp(
    gen: Any,
    *,
    d_in: int,
    width: int,
    depth: int,
    n_classes: int = 10,
    drop_path: float = 0.0,
    dropout: float = 0.0,
) -> Any:
    """A pre-activation residual MLP: ``h <- h + DropPath(Linear(ReLU(Linear(LN(h)))))``.

    ``depth`` blocks of width ``width`` between an input and an output linear layer;
    ``drop_path`` is the stochastic-depth rate of every block (Huang et al., ECCV 2016,
    :class:`reglab.torch.DropPath`), ``dropout`` an element-wise rate inside every block
    (after its hidden activation). Both draw from ``gen``.
    """
    import torch
    from torch import nn

    from reglab.lab.claims._torch_nets import init_
    from reglab.torch import Dropout, DropPath

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.LayerNorm(width)
            self.fc1 = nn.Linear(width, width)
            self.fc2 = nn.Linear(width, width)
            self.drop = Dropout(dropout, generator=gen)
            self.path = DropPath(drop_path, generator=gen)

        def forward(self, h: torch.Tensor) -> torch.Tensor:
            return h + self.path(self.fc2(self.drop(torch.relu(self.fc1(self.norm(h))))))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = nn.Linear(d_in, width)
            self.blocks = nn.Sequential(*(Block() for _ in range(depth)))
            self.out = nn.Linear(width, n_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.blocks(self.inp(x.flatten(1))))

    return init_(Net(), gen)
