"""Sharpness-Aware Minimization as a ``torch.optim.Optimizer`` wrapper.

SAM (Foret et al., 2021) minimises ``max_{||e|| <= rho} L(w + e)`` with one ascent step:

    e = rho * g / ||g||,    g = grad L(w)
    w <- base_update(w, grad L(w + e))

ASAM (Kwon et al., 2021, ``adaptive=True``) measures the ball in the scaled coordinates
``T_w^{-1} e`` with ``T_w = |w| + eta``: ``e = rho * T_w^2 g / ||T_w g||``, so
``||T_w^{-1} e|| = rho``. The gradient norm is global over every parameter with a gradient.

What this implementation guarantees, where the most used one does not (davda54/sam):

- every perturbed parameter is restored bit-identically from a saved copy, including those
  that receive no gradient in the second pass;
- ``bn_mode='first'`` leaves BatchNorm running statistics *and* ``num_batches_tracked``
  untouched by the second pass (sam#17, #30, #40);
- AMP: ``step(closure, scaler=GradScaler)`` (the ascent direction is scale-invariant, the
  base step goes through ``scaler.step``, and a skipped step leaves the weights restored);
- the learning-rate scheduler and ``state_dict`` reach the base optimizer (sam#34): the two
  share their ``param_groups``;
- ``rho = 0`` equals the base optimizer step for step.

Efficient variants: ``interval=k`` perturbs only every k-th step (plain base steps in
between); ``look_alpha > 0`` additionally reuses the ascent direction in between, LookSAM
(Liu et al., 2022): ``g_v = g_s - (<g_s, g>/||g||^2) g`` is stored on SAM steps and the other
steps use ``g + look_alpha * ||g|| / ||g_v|| * g_v``. :class:`LookSAM` sets k=5, alpha=0.7.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from reglab.torch._checks import (
    MAX_COUNT,
    MAX_SCALE,
    check_bool,
    check_module,
    check_nonnegative,
    check_positive_int,
)

__all__ = ["LookSAM", "SAM"]

_BN_MODES = ("both", "first")
_TINY = 1e-30  # guards 0/0 for an all-zero gradient without biasing the norm


def _fits(buf: torch.Tensor | None, p: torch.Tensor) -> bool:
    return buf is not None and (buf.shape, buf.dtype, buf.device) == (p.shape, p.dtype, p.device)


def _global_norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    norms = torch._foreach_norm(tensors)
    dtype = torch.float64 if any(n.dtype == torch.float64 for n in norms) else torch.float32
    return torch.linalg.vector_norm(torch.stack([n.to(dtype) for n in norms]))


class SAM(torch.optim.Optimizer):
    """Sharpness-Aware Minimization wrapping any torch optimizer class.

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups (groups may set their own ``rho``/``adaptive``).
    base_optimizer : type
        Optimizer class (e.g. ``torch.optim.SGD``), built on the same param groups with
        ``**base_kwargs``.
    rho : float
        Radius of the ascent step, >= 0.
    adaptive : bool
        ASAM's scale-invariant ball.
    eta : float
        ASAM's offset in ``T_w = |w| + eta``.
    model : nn.Module, optional
        Needed for ``bn_mode='first'`` (to find the BatchNorm layers).
    bn_mode : {'first', 'both'}, optional
        ``'first'``: BatchNorm running statistics are updated by the first forward pass only
        (the second pass normalises with its batch statistics and records nothing).
        ``'both'``: both passes update them (what plain two-pass code does). Default:
        ``'first'`` when ``model`` is given, else ``'both'``.
    interval : int
        Perturb every ``interval``-th call of :meth:`step`.
    look_alpha : float
        LookSAM reuse strength on the steps in between (0: plain base steps).
    **base_kwargs
        Passed to ``base_optimizer`` (``lr``, ``momentum``, ``weight_decay``...).

    Examples
    --------
    >>> opt = SAM(model.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)  # doctest: +SKIP
    >>> loss_fn(model(x), y).backward()
    >>> def closure():
    ...     loss = loss_fn(model(x), y)
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure); opt.zero_grad()
    """

    def __init__(
        self,
        params,
        base_optimizer: Callable[..., torch.optim.Optimizer],
        rho: float = 0.05,
        adaptive: bool = False,
        *,
        eta: float = 0.0,
        model: nn.Module | None = None,
        bn_mode: str | None = None,
        interval: int = 1,
        look_alpha: float = 0.0,
        **base_kwargs,
    ) -> None:
        rho = check_nonnegative("rho", rho, maximum=MAX_SCALE)
        if isinstance(params, torch.Tensor | str | bytes) or not hasattr(params, "__iter__"):
            raise TypeError(
                "params must be an iterable of parameters or parameter groups (e.g. "
                f"model.parameters()), got {type(params).__name__}"
            )
        params = list(params)
        flat = [p for g in params for p in (g["params"] if isinstance(g, dict) else [g])]
        if not all(isinstance(p, torch.Tensor) for p in flat):
            raise TypeError("params must hold tensors (e.g. model.parameters())")
        eta = check_nonnegative("eta", eta)
        # a string such as "no" would be truthy and switch ASAM on
        adaptive = check_bool("adaptive", adaptive)
        if isinstance(base_optimizer, torch.optim.Optimizer) or not callable(base_optimizer):
            raise TypeError(
                "base_optimizer must be an optimizer class such as torch.optim.SGD (SAM builds "
                f"it on its own param groups), got {base_optimizer!r}"
            )
        if bn_mode is None:
            bn_mode = "first" if model is not None else "both"
        if bn_mode not in _BN_MODES:
            raise ValueError(f"bn_mode must be one of {_BN_MODES}, got {bn_mode!r}")
        if bn_mode == "first" and not isinstance(model, nn.Module):
            raise ValueError("bn_mode='first' needs model=<the nn.Module> to find its BatchNorms")
        if model is not None:
            check_module("model", model)
        self.interval = check_positive_int("interval", interval, maximum=MAX_COUNT)
        self.look_alpha = check_nonnegative("look_alpha", look_alpha)
        self.model, self.bn_mode = model, bn_mode
        super().__init__(params, dict(rho=rho, adaptive=adaptive, eta=eta, **base_kwargs))
        for i, group in enumerate(self.param_groups):  # groups may set their own values
            group["rho"] = check_nonnegative(
                f"param_groups[{i}]['rho']", group["rho"], maximum=MAX_SCALE
            )
            group["eta"] = check_nonnegative(f"param_groups[{i}]['eta']", group["eta"])
            group["adaptive"] = check_bool(f"param_groups[{i}]['adaptive']", group["adaptive"])
        self.base_optimizer = base_optimizer(self.param_groups, **base_kwargs)
        # Share the group dicts: a scheduler changing SAM's lr changes the base's.
        self.base_optimizer.param_groups = self.param_groups
        self.defaults.update(self.base_optimizer.defaults)
        self.state = self.base_optimizer.state  # momentum buffers etc. live in the base
        self._perturbed: list[torch.Tensor] = []
        self._backup: dict[torch.Tensor, torch.Tensor] = {}
        self._g: dict[torch.Tensor, torch.Tensor] = {}
        self._gv: dict[torch.Tensor, torch.Tensor] = {}
        self._frozen_bn: list[nn.Module] = []
        self._phase = "idle"  # idle -> perturbed -> restored -> idle
        self._calls = 0

    # ----------------------------------------------------------------- the two passes
    def _with_grad(self) -> list[tuple[dict, list[torch.Tensor]]]:
        groups = [(g, [p for p in g["params"] if p.grad is not None]) for g in self.param_groups]
        if not any(ps for _, ps in groups):
            raise RuntimeError(
                "SAM step called before backward(): no parameter has a .grad; compute the loss "
                "at w and call loss.backward() first"
            )
        return groups

    @torch.no_grad()
    def first_step(self, zero_grad: bool = True) -> None:
        """Save ``w``, move to ``w + e`` and (by default) clear the gradients."""
        zero_grad = check_bool("zero_grad", zero_grad)
        if self._phase == "perturbed":
            raise RuntimeError("first_step called twice: call second_step() or restore() first")
        groups = self._with_grad()
        scaled = {}
        for group, ps in groups:
            for p in ps:
                t = p.abs().add_(group["eta"]) if group["adaptive"] else None
                scaled[p] = (p.grad * t, t) if t is not None else (p.grad, None)
        # A GradScaler's scale cancels in g / ||g||: no unscaling needed here.
        inv = 1.0 / _global_norm([tg for tg, _ in scaled.values()]).clamp_min(_TINY)
        if self.look_alpha > 0:
            # keep the gradient tensors themselves: zero_grad(set_to_none) below detaches them
            # from the parameters, and the second backward allocates new ones
            self._g = {p: p.grad if zero_grad else p.grad.clone() for p in scaled}
        # save w: one foreach copy into persistent buffers (allocated on first use)
        stale = [p for p in scaled if not _fits(self._backup.get(p), p)]
        for p in stale:
            self._backup[p] = torch.empty_like(p)
        params = list(scaled)
        torch._foreach_copy_([self._backup[p] for p in params], params)
        for group, ps in groups:
            if not ps:
                continue
            es = torch._foreach_mul([scaled[p][0] for p in ps], inv * group["rho"])
            if group["adaptive"]:
                torch._foreach_mul_(es, [scaled[p][1] for p in ps])
            torch._foreach_add_(ps, [e.to(p.dtype) for e, p in zip(es, ps)])
        self._perturbed = list(scaled)
        self._freeze_bn()
        self._phase = "perturbed"
        if zero_grad:
            self.zero_grad(set_to_none=True)

    @torch.no_grad()
    def restore(self) -> None:
        """Copy every saved parameter back (bit-identical) and unfreeze BatchNorm."""
        if self._phase != "perturbed":
            return
        if self._perturbed:
            torch._foreach_copy_(self._perturbed, [self._backup[p] for p in self._perturbed])
        self._unfreeze_bn()
        self._phase = "restored"

    @torch.no_grad()
    def second_step(self, zero_grad: bool = False, *, scaler=None) -> None:
        """Restore ``w`` and let the base optimizer step with the gradient taken at ``w + e``."""
        zero_grad = check_bool("zero_grad", zero_grad)
        if self._phase == "idle":
            raise RuntimeError("second_step called without first_step")
        self.restore()
        if self.look_alpha > 0 and self._g:
            self._store_look_direction()
        self._base_step(scaler)
        self._phase = "idle"
        if zero_grad:
            self.zero_grad(set_to_none=True)

    def _base_step(self, scaler) -> None:
        if scaler is None:
            self.base_optimizer.step()
        else:
            scaler.step(self.base_optimizer)

    def _freeze_bn(self) -> None:
        if self.bn_mode != "first":
            return
        for m in self.model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training:
                if m.track_running_stats:
                    # training mode without tracking = batch statistics, no update, no
                    # num_batches_tracked increment
                    m.track_running_stats = False
                    self._frozen_bn.append(m)

    def _unfreeze_bn(self) -> None:
        for m in self._frozen_bn:
            m.track_running_stats = True
        self._frozen_bn = []

    # ----------------------------------------------------------------- LookSAM
    def _store_look_direction(self) -> None:
        ps = [p for p in self._g if p.grad is not None]
        if not ps:
            return
        g = [self._g[p] for p in ps]
        gs = [p.grad for p in ps]
        dot = torch.stack([torch.vdot(a.flatten(), b.flatten()) for a, b in zip(gs, g)]).sum()
        coef = dot / (_global_norm(g) ** 2).clamp_min(_TINY)
        self._gv = dict(zip(ps, torch._foreach_sub(gs, torch._foreach_mul(g, coef))))
        self._g = {}

    def _apply_look_direction(self) -> None:
        ps = [p for p in self._gv if p.grad is not None]
        if not ps:
            return
        gv = [self._gv[p] for p in ps]
        ratio = _global_norm([p.grad for p in ps]) / _global_norm(gv).clamp_min(_TINY)
        torch._foreach_add_([p.grad for p in ps], torch._foreach_mul(gv, ratio * self.look_alpha))

    # ----------------------------------------------------------------- optimizer API
    def step(self, closure: Callable[[], torch.Tensor] | None = None, *, scaler=None):
        """One SAM update; gradients at ``w`` must already be in ``.grad``.

        Parameters
        ----------
        closure : callable
            Recomputes the loss and calls ``backward()`` on it (through ``scaler.scale``
            when AMP is used); called at ``w + e``. Without a closure, ``step()`` only
            completes a manual :meth:`first_step` (e.g. from ``GradScaler.step``).
        scaler : torch.amp.GradScaler, optional
            The base step then goes through ``scaler.step``; call ``scaler.update()``
            afterwards as usual.

        Returns
        -------
        The closure's loss on perturbing steps, else None.
        """
        if closure is None:
            if self._phase == "idle":
                raise ValueError(
                    "closure is required: SAM.step(closure) re-evaluates the loss at the "
                    "perturbed weights (or call first_step() and second_step() yourself)"
                )
            self.second_step(scaler=scaler)
            return None
        if not callable(closure):
            raise TypeError(f"closure must be callable, got {closure!r}")
        self._with_grad()
        self._calls += 1
        if (self._calls - 1) % self.interval != 0:
            if self.look_alpha > 0 and self._gv:
                with torch.no_grad():
                    self._apply_look_direction()
            self._base_step(scaler)
            return None
        self.first_step(zero_grad=True)
        try:
            with torch.enable_grad():
                loss = closure()
        except BaseException:
            self.restore()  # never leave the weights perturbed
            self._phase = "idle"
            raise
        self.second_step(scaler=scaler)
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none=check_bool("set_to_none", set_to_none))

    def state_dict(self) -> dict:
        """The base optimizer's state plus SAM's step counter and LookSAM direction."""
        params = [p for g in self.param_groups for p in g["params"]]
        return {
            "base": self.base_optimizer.state_dict(),
            "sam": {
                "calls": self._calls,
                "gv": [self._gv.get(p) for p in params] if self._gv else None,
            },
        }

    def load_state_dict(self, state_dict: dict) -> None:
        if not isinstance(state_dict, dict) or set(state_dict) != {"base", "sam"}:
            raise ValueError("state_dict must come from SAM.state_dict() (keys 'base', 'sam')")
        self.base_optimizer.load_state_dict(state_dict["base"])
        self.param_groups = self.base_optimizer.param_groups  # keep sharing the dicts
        self.state = self.base_optimizer.state
        self._calls = int(state_dict["sam"]["calls"])
        gv = state_dict["sam"]["gv"]
        params = [p for g in self.param_groups for p in g["params"]]
        self._gv = {}
        if gv is not None:
            self._gv = {p: t.to(p.device) for p, t in zip(params, gv) if t is not None}


class LookSAM(SAM):
    """SAM every ``interval`` steps, reusing the ascent direction in between (Liu et al.,
    2022, "Towards efficient and scalable sharpness-aware minimization"): defaults k=5,
    alpha=0.7 as in the paper."""

    def __init__(self, params, base_optimizer, rho: float = 0.05, adaptive: bool = False, *,
                 interval: int = 5, look_alpha: float = 0.7, **kwargs) -> None:  # fmt: skip
        super().__init__(params, base_optimizer, rho, adaptive, interval=interval,
                         look_alpha=look_alpha, **kwargs)  # fmt: skip
