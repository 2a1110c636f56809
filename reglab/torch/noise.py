"""Noise as a regularizer: on inputs/activations, on weights, on gradients.

- Gaussian input noise on least squares is exactly Tikhonov regularisation in expectation
  (Bishop, 1995, "Training with noise is equivalent to Tikhonov regularization").
- Weight noise: the forward pass sees ``W + sigma * xi``, the gradient updates the clean
  ``W`` (An, 1996; Graves, 2011).
- Annealed gradient noise: ``g_t <- g_t + N(0, sigma_t^2)``, ``sigma_t^2 = eta / (1 + t)^gamma``
  (Neelakantan et al., 2015, "Adding gradient noise improves learning for very deep
  networks", gamma = 0.55, eta in {0.01, 0.3, 1.0}).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from reglab.torch._checks import (
    MAX_SCALE,
    check_bool,
    check_generator,
    check_int,
    check_module,
    check_nonnegative,
    check_tensor,
)

__all__ = [
    "GaussianNoise",
    "GradientNoise",
    "WeightNoise",
    "gaussian_noise",
    "gradient_noise_std",
]


def _generator_arg(generator: object) -> torch.Generator | None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {generator!r}")
    return generator


def gaussian_noise(
    x: torch.Tensor,
    std: float = 0.1,
    training: bool = True,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Additive Gaussian noise ``x + std * xi``, ``xi ~ N(0, I)``.

    ``std = 0`` or ``training=False`` returns ``x`` itself. Noise is drawn in float32 and
    cast to ``x``'s dtype; memory format is preserved.
    """
    check_tensor("x", x)
    std = check_nonnegative("std", std, maximum=MAX_SCALE)
    check_bool("training", training)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if not training or std == 0.0:
        return x
    check_generator(generator, x.device)
    xi = torch.empty_like(x, dtype=torch.float32).normal_(generator=generator)
    return x + (std * xi).to(x.dtype)


class GaussianNoise(nn.Module):
    """Module form of :func:`gaussian_noise` (training mode only)."""

    def __init__(self, std: float = 0.1, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.std = check_nonnegative("std", std, maximum=MAX_SCALE)
        self.generator = _generator_arg(generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gaussian_noise(x, self.std, self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"std={self.std}"


class WeightNoise(nn.Module):
    """Run ``module`` with Gaussian noise added to its named weights (training mode only).

    The noisy weights are passed through :func:`torch.func.functional_call`; the module's
    own parameters are never modified, and the gradient reaches them unchanged
    (``d(W + sigma xi)/dW = I``): the gradient is taken at the noisy point and applied to the
    clean weights.

    Parameters
    ----------
    module : nn.Module
    std : float
        Noise standard deviation, >= 0.
    names : sequence of str
        Parameters to perturb; default: every parameter of ``module``.
    """

    def __init__(
        self,
        module: nn.Module,
        std: float = 0.01,
        names: Sequence[str] | None = None,
        *,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        self.generator = _generator_arg(generator)
        self.module = check_module("module", module)
        self.std = check_nonnegative("std", std, maximum=MAX_SCALE)
        own = [n for n, _ in module.named_parameters()]
        if names is not None and not isinstance(names, str | Sequence):
            raise TypeError(f"names must be a sequence of parameter names, got {names!r}")
        names = own if names is None else ([names] if isinstance(names, str) else list(names))
        missing = [n for n in names if n not in own]
        if missing:
            raise ValueError(f"names {missing!r} not among the parameters {own}")
        self.names = tuple(names)

    def forward(self, *args, **kwargs):
        if not self.training or self.std == 0.0:
            return self.module(*args, **kwargs)
        params = dict(self.module.named_parameters())
        noisy = {
            n: gaussian_noise(params[n], self.std, generator=self.generator) for n in self.names
        }
        return torch.func.functional_call(self.module, noisy, args, kwargs)

    def extra_repr(self) -> str:
        return f"std={self.std}, names={self.names}"


def gradient_noise_std(step: int, eta: float = 0.3, gamma: float = 0.55) -> float:
    """``sigma_t = sqrt(eta / (1 + t)^gamma)`` (Neelakantan et al., 2015).

    Computed as ``sqrt(eta) * exp(-gamma/2 * log(1 + t))``: no overflow of ``(1 + t)^gamma``
    for large ``gamma`` or ``t`` (the result then underflows to 0, its limit).
    """
    step = check_int("step", step, minimum=0)
    eta = check_nonnegative("eta", eta, maximum=MAX_SCALE)
    gamma = check_nonnegative("gamma", gamma)
    return math.sqrt(eta) * math.exp(-0.5 * gamma * math.log1p(step))


class GradientNoise:
    """Add annealed Gaussian noise to gradients; call :meth:`step` after ``backward()`` and
    before ``optimizer.step()``.

    Parameters
    ----------
    params : iterable of Tensor
        Parameters whose ``.grad`` receives noise (those without a gradient are skipped).
    eta : float
        Initial variance ``sigma_0^2``.
    gamma : float
        Decay exponent.
    generator : torch.Generator, optional
        On the parameters' device.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor],
        eta: float = 0.3,
        gamma: float = 0.55,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        if isinstance(params, torch.Tensor):
            params = [params]
        if isinstance(params, str | bytes) or not isinstance(params, Iterable):
            raise TypeError(f"params must be an iterable of tensors, got {type(params).__name__}")
        self.params = list(params)
        if not self.params:
            raise ValueError("params is empty")
        if not all(isinstance(p, torch.Tensor) for p in self.params):
            raise TypeError("params must be tensors (e.g. model.parameters())")
        self.eta = check_nonnegative("eta", eta, maximum=MAX_SCALE)
        self.gamma = check_nonnegative("gamma", gamma)
        self.generator = _generator_arg(generator)
        self.t = 0

    @torch.no_grad()
    def step(self) -> float:
        """Add ``N(0, sigma_t^2)`` to every gradient, advance ``t``; returns ``sigma_t``."""
        sigma = gradient_noise_std(self.t, self.eta, self.gamma)
        for p in self.params:
            if p.grad is None:
                continue
            check_generator(self.generator, p.grad.device)
            noise = torch.empty_like(p.grad, dtype=torch.float32).normal_(generator=self.generator)
            p.grad.add_(noise.mul_(sigma).to(p.grad.dtype))
        self.t += 1
        return sigma

    def state_dict(self) -> dict:
        """Step count, schedule and the generator's state: a resumed run draws the same noise."""
        state = {"t": self.t, "eta": self.eta, "gamma": self.gamma}
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        return state

    def load_state_dict(self, state: dict) -> None:
        missing = {"t", "eta", "gamma"} - set(state)
        if missing:
            raise ValueError(f"state is missing {sorted(missing)}")
        t = check_int("state['t']", state["t"], minimum=0)
        eta = check_nonnegative("state['eta']", state["eta"])
        gamma = check_nonnegative("state['gamma']", state["gamma"])
        self.t, self.eta, self.gamma = t, eta, gamma
        if "generator" in state:
            if self.generator is None:
                raise ValueError(
                    "state holds a generator state but this GradientNoise has generator=None"
                )
            self.generator.set_state(state["generator"])
