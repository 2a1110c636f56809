"""Run a user's training script under the watcher (``reglab audit train.py -- ARGS``).

The script is not changed: global torch hooks find the model, the optimizer and the loss as
the script uses them. The model is the outermost module called (a module called while no
other module's forward runs) that owns parameters of the optimizer that steps first; the loss
is the last outermost module called that is a torch loss (``nn.modules.loss._Loss``) or whose
class name ends in ``Loss``. The watcher is attached at that first step; the script's first
forward pass is therefore not watched.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import torch
from torch import nn

from reglab.torch.audit._findings import Findings
from reglab.torch.audit._watch import Watcher

__all__ = ["run_script"]


class _Discovery:
    def __init__(self, ignore) -> None:
        self.ignore = ignore
        self.depth = 0
        self.roots: dict[int, nn.Module] = {}
        self.loss: nn.Module | None = None
        self.watchers: dict[int, Watcher] = {}
        self.handles: list = []

    def pre(self, module, args):
        if self.depth == 0:
            if isinstance(module, nn.modules.loss._Loss) or type(module).__name__.endswith("Loss"):
                self.loss = module
            elif next(module.parameters(), None) is not None:
                self.roots[id(module)] = module
        self.depth += 1

    def post(self, module, args, output):
        self.depth = max(self.depth - 1, 0)

    def step(self, optimizer, args, kwargs):
        if id(optimizer) in self.watchers or not self.roots:
            return
        owned = {id(p) for g in optimizer.param_groups for p in g["params"]}
        model = max(self.roots.values(), key=lambda m: sum(id(p) in owned for p in m.parameters()))
        if not any(id(p) in owned for p in model.parameters()):
            return
        watcher = Watcher(model, optimizer, loss=self.loss, ignore=self.ignore)
        watcher.attach()
        watcher._on_step(optimizer, args, kwargs)  # this step counts
        self.watchers[id(optimizer)] = watcher

    def __enter__(self):
        from torch.nn.modules import module as module_hooks
        from torch.optim import optimizer as optimizer_hooks

        self.handles = [
            module_hooks.register_module_forward_pre_hook(self.pre),
            module_hooks.register_module_forward_hook(self.post),
            optimizer_hooks.register_optimizer_step_post_hook(self.step),
        ]
        return self

    def __exit__(self, *exc):
        for handle in self.handles:
            handle.remove()
        for watcher in self.watchers.values():
            watcher.detach()
            watcher.finish()


def run_script(path: str | Path, argv: list[str] | None = None, *, ignore=()) -> Findings:
    """Run the Python script at ``path`` with ``argv`` under the watcher; return its findings.

    A ``SystemExit`` with status 0 (or None) from the script is a normal end; another status,
    or an exception, propagates after the hooks are removed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"script={str(path)!r} is not a file")
    saved_argv = sys.argv
    sys.argv = [str(path), *(argv or [])]
    discovery = _Discovery(ignore)
    try:
        with discovery, torch.random.fork_rng(enabled=False):
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as stop:
                if stop.code not in (None, 0):
                    raise
    finally:
        sys.argv = saved_argv
    findings = Findings(ignore=ignore)
    for watcher in discovery.watchers.values():
        for f in watcher.findings._all:
            findings.add(f)
        findings.history.extend(watcher.findings.history)
    if not discovery.watchers:
        raise RuntimeError(f"{path.name} took no optimizer step on a model: nothing to audit")
    return findings
