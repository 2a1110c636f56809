"""Claim ``weight-decay-vs-l2``: weight decay = L2 for SGD, not for Adam; AdamW decouples them.

Deep dive, section 10 ("Weight decay (revisited)") and gotcha "Are L2 and weight decay the
same?". Loshchilov & Hutter (2019, "Decoupled weight decay regularization", ICLR).

For plain SGD the three updates are one and the same map,

    L2 in the loss:          w <- w - lr (g + wd w)
    coupled weight decay:    w <- w - lr (g + wd w)            (torch.optim.SGD(weight_decay))
    decoupled weight decay:  w <- (1 - lr wd) w - lr g,

so their iterates agree to round-off. For Adam, the L2 gradient wd w is added *before* the
adaptive scaling, m/sqrt(v), while AdamW shrinks w by (1 - lr wd) *outside* it. With zero
data gradient the difference is stark: AdamW gives exactly w_t = (1 - lr wd)^t w_0, a
geometric shrinkage whose speed is set by wd; Adam+L2 sees g = wd w, normalised to about
sign(w), so every coordinate moves by about lr per step whatever wd is -- the L2 term is
normalised away.

Experiment (float64; SGD lr 0.05, Adam lr 0.01; a 5-16-1 tanh network on a synthetic regression; decay applied to the
weight matrices only through :func:`reglab.torch.weight_decay_param_groups`, biases exempt;
the explicit penalty is :func:`reglab.torch.l2_penalty` with the same default mask):

1. SGD: 200 full-batch steps with SGD(weight_decay) vs SGD + explicit L2 loss vs a decoupled
   shrink; the largest relative parameter difference along the trajectories.
2. Adam: Adam(weight_decay) (torch's coupled L2) vs Adam + explicit L2 loss (the same
   algorithm) vs AdamW; the distance of AdamW's final weights from Adam+L2's, relative to
   the distance Adam+L2 travelled.
3. Zero data gradient: 100 steps from |w_0| in [1, 2] with lr = 1e-3.

An exact check (``result_kind = "exact"``; experiment unchanged from v1): every statement is
algebra of the update rules, so a failure would be a bug. What the difference does in real
training, with non-zero gradients, is measured by the empirical claim ``adamw-vs-adam-l2``.

Thresholds. (1) and the Adam(weight_decay)-vs-explicit check: the updates are the same
arithmetic in a different order, so the trajectories differ by accumulated round-off only:
relative difference <= 1e-10 in float64 (round-off is ~1e-16 per step). (2) "Different"
means materially different: the AdamW-vs-Adam+L2 gap must exceed 1% of the distance
travelled (8 orders of magnitude above round-off). (3) AdamW must match (1 - lr wd)^t w_0 to
1e-12 relative (repeated multiplication vs a power: t round-offs). For Adam+L2 the gradient
wd w keeps its sign and its magnitude drifts by at most the factor 1 - lr T / min|w_0| = 0.9
over the run, so m_hat and sqrt(v_hat) are averages of values within that factor and every
per-step move |w_{t+1} - w_t| / lr lies in [0.9, 1/0.9] (eps = 1e-8 is negligible against
|g| >= 9e-4). Across the wd grid, Adam+L2's total displacement must vary by less than that
same factor (independent of wd) while AdamW's grows in proportion to wd.

Measured on this project's 2-core x86_64 VM (loaded by other work), `reglab run
weight-decay-vs-l2 -j 1`: default grid 6 runs, 8.7 s CPU (31 s wall), smoke grid 6.2 s CPU;
both include about 2.5 s of CLI start-up.
"""

from __future__ import annotations

import numpy as np

from reglab.lab.claim import Claim, Rows, Verdict
from reglab.taxonomy import Kind

SAME_RTOL = 1e-10
DIFFERENT_MIN = 0.01
GEOM_RTOL = 1e-12
STEPS, LR, ADAM_LR = 200, 0.05, 0.01
ZG_STEPS, ZG_LR, ZG_DIM = 100, 1e-3, 50
DRIFT = 1 - ZG_LR * ZG_STEPS / 1.0  # min |w_0| = 1
STEP_RANGE = (DRIFT, 1 / DRIFT)


def _trajectory(make_opt, model, decayed, X, y, wd, *, explicit_l2=False, decoupled=0.0):
    """Full-batch steps; returns the flattened parameters after every step."""
    import torch

    from reglab.torch import l2_penalty

    model = _clone(model)
    params = list(model.parameters())
    opt = make_opt(model)
    decayed = [params[i] for i in decayed]
    out = []
    for _ in range(STEPS):
        loss = torch.nn.functional.mse_loss(model(X), y)
        if explicit_l2:
            # 1/2 sum ||w||^2 over the default decay mask: the same tensors as the decay group
            loss = loss + wd * l2_penalty(model)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if decoupled:
            with torch.no_grad():
                for p in decayed:
                    p.mul_(1 - decoupled)
        opt.step()
        out.append(torch.cat([p.detach().reshape(-1) for p in params]))
    return torch.stack(out)


def _clone(model):
    import copy

    return copy.deepcopy(model)


def _rel(a, b):
    """Largest relative difference between two trajectories of shape (steps, dim)."""
    return float(((a - b).norm(dim=1) / b.norm(dim=1)).max())


def _zero_gradient(wd, seed):
    """AdamW and Adam+L2 with no data gradient: returns both trajectories (T+1, dim)."""
    import torch

    from reglab.lab.claims._torch_nets import generator

    gen = generator(seed)
    w0 = (1 + torch.rand(ZG_DIM, generator=gen, dtype=torch.float64)) * torch.where(
        torch.rand(ZG_DIM, generator=gen) < 0.5, -1.0, 1.0
    ).double()
    traj = {}
    for name in ("adamw", "adam_l2"):
        w = torch.nn.Parameter(w0.clone())
        if name == "adamw":
            opt = torch.optim.AdamW([w], lr=ZG_LR, weight_decay=wd)
        else:
            opt = torch.optim.Adam([w], lr=ZG_LR, weight_decay=0.0)
        hist = [w.detach().clone()]
        for _ in range(ZG_STEPS):
            opt.zero_grad(set_to_none=True)
            if name == "adamw":
                w.grad = torch.zeros_like(w)  # the data loss is flat: zero gradient
            else:
                (0.5 * wd * w.square().sum()).backward()  # L2 term only
            opt.step()
            hist.append(w.detach().clone())
        traj[name] = torch.stack(hist)
    return w0, traj


class WeightDecayVsL2(Claim):
    id = "weight-decay-vs-l2"
    kind = Kind.PARAMETER
    section = "10. Weight decay (revisited)"
    statement = (
        "For SGD, weight decay = L2 regularization. For Adam, they differ; AdamW decouples "
        "them (under zero gradients AdamW shrinks geometrically, Adam+L2 does not)."
    )
    interview = (
        "With SGD, adding wd/2 ||w||^2 to the loss adds wd*w to the gradient, and the step "
        "w - lr(g + wd w) is the same as shrinking w by (1 - lr wd) and then stepping, so L2 "
        "and weight decay are literally the same iterates. Adam divides the gradient by a "
        "running RMS, so an L2 gradient is rescaled per coordinate: weights with large "
        "gradient history are barely decayed, and when the data gradient vanishes the L2 "
        "gradient is normalised to about sign(w), moving every weight by about lr per step "
        "regardless of wd. AdamW applies the shrink outside the preconditioner, giving the "
        "uniform, geometric (1 - lr wd)^t decay that weight decay is supposed to be. That is "
        "why AdamW is the default for transformers, and why torch's Adam(weight_decay=...) "
        "is L2, not weight decay; biases and norm gains usually get no decay at all."
    )
    result_kind = "exact"
    grid = {"weight_decay": [1e-3, 1e-2, 1e-1]}
    smoke = {"weight_decay": [1e-3, 1e-1]}
    seeds = 2
    smoke_seeds = 1

    def run(self, params, seed):
        import torch
        from torch import nn

        from reglab.lab.claims._torch_nets import generator, mlp
        from reglab.torch import weight_decay_param_groups

        wd = float(params["weight_decay"])
        gen = generator(seed)
        X = torch.randn(64, 5, generator=gen, dtype=torch.float64)
        y = torch.sin(X @ torch.randn(5, 1, generator=gen, dtype=torch.float64))
        model = mlp([5, 16, 1], gen, activation=nn.Tanh, dtype=torch.float64)
        groups = weight_decay_param_groups(model, wd)
        ids = {id(p): i for i, p in enumerate(model.parameters())}
        decayed = [ids[id(p)] for g in groups if g["weight_decay"] > 0 for p in g["params"]]

        def grouped(opt_cls, decay=True):
            lr = LR if opt_cls is torch.optim.SGD else ADAM_LR

            def make(m):
                return opt_cls(weight_decay_param_groups(m, wd if decay else 0.0), lr=lr)

            return make

        # the weight-decay group's parameters, in the clone, are found by position
        sgd_wd = _trajectory(grouped(torch.optim.SGD), model, decayed, X, y, wd)
        sgd_l2 = _trajectory(grouped(torch.optim.SGD, False), model, decayed, X, y, wd,
                             explicit_l2=True)  # fmt: skip
        sgd_dec = _trajectory(grouped(torch.optim.SGD, False), model, decayed, X, y, wd,
                              decoupled=LR * wd)  # fmt: skip
        adam_wd = _trajectory(grouped(torch.optim.Adam), model, decayed, X, y, wd)
        adam_l2 = _trajectory(grouped(torch.optim.Adam, False), model, decayed, X, y, wd,
                              explicit_l2=True)  # fmt: skip
        adamw = _trajectory(grouped(torch.optim.AdamW), model, decayed, X, y, wd)
        adam = _trajectory(grouped(torch.optim.Adam, False), model, decayed, X, y, 0.0)
        theta0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        travelled = float((adam_l2[-1] - theta0).norm())

        w0, zg = _zero_gradient(wd, seed)
        t = torch.arange(ZG_STEPS + 1, dtype=torch.float64)[:, None]
        geometric = (1 - ZG_LR * wd) ** t * w0
        steps = (zg["adam_l2"][1:] - zg["adam_l2"][:-1]).abs() / ZG_LR
        return {
            "sgd_wd_vs_l2": _rel(sgd_wd, sgd_l2),
            "sgd_decoupled_vs_l2": _rel(sgd_dec, sgd_l2),
            "adam_wd_vs_l2": _rel(adam_wd, adam_l2),
            "adamw_vs_adam_l2": float((adamw[-1] - adam_l2[-1]).norm()) / travelled,
            # how far each penalty moves the final weights away from plain Adam
            "adam_l2_vs_adam": float((adam_l2[-1] - adam[-1]).norm()) / travelled,
            "adamw_vs_adam": float((adamw[-1] - adam[-1]).norm()) / travelled,
            "adamw_geometric_rel_error": _rel(zg["adamw"], geometric),
            "adam_l2_step_min": float(steps.min()),
            "adam_l2_step_max": float(steps.max()),
            "adam_l2_displacement": float((zg["adam_l2"][-1] - w0).abs().mean()),
            "adamw_displacement": float((zg["adamw"][-1] - w0).abs().mean()),
            "adamw_norm": (zg["adamw"].norm(dim=1) / w0.norm()).tolist(),
            "adam_l2_norm": (zg["adam_l2"].norm(dim=1) / w0.norm()).tolist(),
        }

    def verdict(self, rows: Rows) -> Verdict:
        import matplotlib.pyplot as plt

        same = {k: float(rows.values(k).max()) for k in
                ("sgd_wd_vs_l2", "sgd_decoupled_vs_l2", "adam_wd_vs_l2")}  # fmt: skip
        diff = rows.values("adamw_vs_adam_l2")
        geom = float(rows.values("adamw_geometric_rel_error").max())
        smin = float(rows.values("adam_l2_step_min").min())
        smax = float(rows.values("adam_l2_step_max").max())
        wds = rows.param_values("weight_decay")
        disp_l2 = np.array([rows.where(weight_decay=w).mean("adam_l2_displacement") for w in wds])
        disp_w = np.array([rows.where(weight_decay=w).mean("adamw_displacement") for w in wds])
        l2_flat = bool(disp_l2.max() / disp_l2.min() <= 1 / DRIFT)
        # AdamW's displacement |w0| (1 - (1 - lr wd)^T) is proportional to wd to first order
        w_scales = bool(
            np.all(np.diff(disp_w) > 0)
            and np.allclose(disp_w / np.asarray(wds), disp_w[0] / wds[0], rtol=0.1)
        )
        evidence = "\n".join(
            [
                f"SGD: weight_decay vs explicit L2, max relative difference along "
                f"{STEPS} steps {same['sgd_wd_vs_l2']:.1e}; decoupled shrink vs L2 "
                f"{same['sgd_decoupled_vs_l2']:.1e} (threshold {SAME_RTOL:g})",
                f"torch Adam(weight_decay) vs Adam + explicit L2: {same['adam_wd_vs_l2']:.1e} "
                f"(it is L2, threshold {SAME_RTOL:g})",
                f"AdamW vs Adam+L2 after {STEPS} steps: gap / distance travelled from "
                f"{diff.min():.3f} to {diff.max():.3f} (must be >= {DIFFERENT_MIN:g})",
                "distance from plain Adam's final weights / distance travelled: "
                + "; ".join(
                    f"wd={w:g}: Adam+L2 {g.mean('adam_l2_vs_adam'):.3f}, AdamW "
                    f"{g.mean('adamw_vs_adam'):.3f}"
                    for w, g in rows.by("weight_decay").items()
                )
                + " (the L2 gradient of weights with little data gradient is normalised up "
                "to ~lr per step, so even a tiny wd changes Adam's path)",
                f"zero gradient, AdamW vs (1 - lr wd)^t w_0: max relative error {geom:.1e} "
                f"(threshold {GEOM_RTOL:g})",
                f"zero gradient, Adam+L2 per-step move / lr in [{smin:.4f}, {smax:.4f}] "
                f"(bound [{STEP_RANGE[0]:.3f}, {STEP_RANGE[1]:.3f}])",
                "mean |w_T - w_0| after "
                f"{ZG_STEPS} steps (lr={ZG_LR:g}): "
                + "; ".join(
                    f"wd={w:g}: Adam+L2 {a:.4f}, AdamW {b:.2e}"
                    for w, a, b in zip(wds, disp_l2, disp_w)
                )
                + f"\nAdam+L2 displacement independent of wd (within {1 / DRIFT:.3f}x): "
                f"{l2_flat}; AdamW displacement proportional to wd (10%): {w_scales}",
            ]
        )
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
        for w, g in rows.by("weight_decay").items():
            r = g[0].metrics
            (line,) = ax1.plot(r["adamw_norm"], "-", label=f"AdamW, wd={w:g}")
            ax1.plot(r["adam_l2_norm"], "--", color=line.get_color(), label=f"Adam+L2, wd={w:g}")
        ax1.set_xlabel("step (zero data gradient)")
        ax1.set_ylabel("||w_t|| / ||w_0||")
        ax1.set_title("AdamW: geometric; Adam+L2: ~lr per step")
        ax1.legend(fontsize=6)
        labels = ["SGD wd\nvs L2", "SGD decoupled\nvs L2", "Adam wd\nvs L2", "AdamW\nvs Adam+L2"]
        vals = [*same.values(), float(diff.mean())]
        ax2.bar(range(4), np.maximum(vals, 1e-18), color=["C0", "C0", "C0", "C3"])
        ax2.set_yscale("log")
        ax2.axhline(SAME_RTOL, color="k", ls=":", lw=1, label="same (round-off) threshold")
        ax2.axhline(DIFFERENT_MIN, color="C3", ls="--", lw=1, label="different threshold")
        ax2.set_xticks(range(4), labels, fontsize=7)
        ax2.set_ylabel("relative difference of iterates")
        ax2.legend(fontsize=7)
        fig.tight_layout()
        from reglab.lab.claims._linear_data import exact_checks_verdict

        return exact_checks_verdict(
            {
                "SGD: weight_decay = L2 = decoupled (relative)": (
                    max(same["sgd_wd_vs_l2"], same["sgd_decoupled_vs_l2"]),
                    SAME_RTOL,
                ),
                "Adam(weight_decay) = Adam + explicit L2 (relative)": (
                    same["adam_wd_vs_l2"],
                    SAME_RTOL,
                ),
                "zero gradient: AdamW = (1 - lr wd)^t w_0 (relative)": (geom, GEOM_RTOL),
                "AdamW differs from Adam + L2: threshold / gap": (
                    DIFFERENT_MIN / float(diff.min()) if diff.min() > 0 else np.inf,
                    1.0,
                ),
                "zero gradient: Adam + L2 step / lr outside its bound": (
                    max(STEP_RANGE[0] / smin, smax / STEP_RANGE[1]) if smin > 0 else np.inf,
                    1.0,
                ),
                "zero gradient: Adam + L2 displacement ratio over wd": (
                    float(disp_l2.max() / disp_l2.min()) if disp_l2.min() > 0 else np.inf,
                    1 / DRIFT,
                ),
                "zero gradient: AdamW displacement not proportional to wd": (
                    float(not w_scales),
                    0.5,
                ),
            },
            primary="SGD: weight_decay = L2 = decoupled (relative)",
            what="for SGD, weight decay, decoupled decay and an L2 loss give the same iterates; "
            "for Adam they differ, and AdamW alone decays geometrically at lr wd",
            figure=fig,
            evidence=evidence,
            numbers={**same, "adamw_vs_adam_l2_min": float(diff.min()), "geometric_error": geom},
        )
