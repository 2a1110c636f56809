"""Figures for the diagnostics: each helper returns a :class:`matplotlib.figure.Figure`.

Figures are built with the object-oriented API (``Figure`` directly, no ``pyplot``), so they
need no GUI backend, never open a window and leave no global state behind; save them with
``fig.savefig(...)``.

matplotlib is imported inside the functions, when a figure is drawn, so that
``import reglab.diagnostics`` does not pay for it (about 0.4 s) nor need it installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from reglab.diagnostics._validation import MAX_COUNT, check_int, check_real, check_seed

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "plot_bias_variance",
    "plot_bias_variance_sweep",
    "plot_double_descent",
    "plot_early_stopping",
    "plot_hessian_slice",
    "plot_shrinkage",
    "reliability_diagram",
]


def _figure(**kwargs: Any) -> Figure:
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _check_result(result: Any, name: str, cls_name: str) -> None:
    import reglab.diagnostics as diag

    cls = getattr(diag, cls_name)
    if not isinstance(result, cls):
        raise TypeError(
            f"{name} must be a reglab.diagnostics.{cls_name}, got {type(result).__name__}"
        )


def plot_bias_variance(result) -> Figure:
    """Stacked per-test-point bias^2, variance and noise against the measured loss."""
    _check_result(result, "result", "BiasVarianceResult")
    fig = _figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(result.bias2_points + result.variance_points + result.noise_points)
    x = np.arange(result.n_test)
    b, v, n = (a[order] for a in (result.bias2_points, result.variance_points, result.noise_points))
    ax.fill_between(x, 0, n, step="mid", label="noise", alpha=0.6)
    ax.fill_between(x, n, n + b, step="mid", label="bias$^2$", alpha=0.6)
    ax.fill_between(x, n + b, n + b + v, step="mid", label="variance", alpha=0.6)
    ax.plot(x, result.expected_loss_points[order], "k.", ms=3, label="measured loss")
    kind = " (bootstrap estimate)" if result.is_estimate else ""
    ax.set_title(
        f"{result.loss} loss{kind}: bias$^2$={result.bias2:.3g}, var={result.variance:.3g}, "
        f"noise={result.noise:.3g}, loss={result.expected_loss:.3g}"
        f"$\\pm${result.standard_error:.2g}",
        fontsize=9,
    )
    ax.set_xlabel("test point (sorted by decomposed loss)")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return fig


def plot_bias_variance_sweep(sweep) -> Figure:
    """The U-curve: bias^2, variance, noise and measured test loss along the parameter."""
    _check_result(sweep, "sweep", "BiasVarianceSweep")
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    x = np.asarray(sweep.values, dtype=float)
    ax.plot(x, sweep.bias2, "-o", ms=3, label="bias$^2$")
    ax.plot(x, sweep.variance, "-o", ms=3, label="variance")
    ax.plot(x, sweep.noise, "--", label="noise")
    ax.errorbar(
        x,
        sweep.expected_loss,
        yerr=sweep.standard_error,
        fmt="k-",
        capsize=2,
        label="measured test loss",
    )
    ax.axvline(float(sweep.best_value), color="grey", lw=0.8, ls=":")
    if np.all(x > 0) and x.max() / x.min() > 20:
        ax.set_xscale("log")
    ax.set_xlabel(sweep.param)
    ax.set_ylabel(f"{sweep.results[0].loss} loss")
    ax.set_title("bias-variance trade-off", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def reliability_diagram(probs, labels, *, n_bins: int = 15, strategy: str = "uniform") -> Figure:
    """Accuracy against confidence per bin, with bin counts; empty bins are marked."""
    from reglab.diagnostics.calibration import calibration_bins, ece

    b = calibration_bins(probs, labels, n_bins=n_bins, strategy=strategy)
    fig = _figure(figsize=(5, 6), layout="constrained")
    ax, ax_count = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    centres = 0.5 * (b.edges[:-1] + b.edges[1:])
    widths = np.diff(b.edges)
    full = ~b.empty
    ax.bar(
        centres[full],
        b.accuracy[full],
        width=widths[full],
        edgecolor="k",
        alpha=0.7,
        label="accuracy",
    )
    ax.bar(
        centres[full],
        b.confidence[full] - b.accuracy[full],
        bottom=b.accuracy[full],
        width=widths[full],
        color="red",
        alpha=0.3,
        label="gap",
    )
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    if b.empty.any():
        ax.plot(
            centres[b.empty],
            np.zeros(b.empty.sum()),
            "x",
            color="grey",
            label=f"empty bins ({int(b.empty.sum())})",
        )
    value = ece(probs, labels, n_bins=n_bins, strategy=strategy)
    ax.set_title(f"reliability ({strategy} bins): ECE = {value:.4f}", fontsize=10)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax_count.bar(centres, b.counts, width=widths, edgecolor="k")
    ax_count.set_xlabel("confidence")
    ax_count.set_ylabel("count")
    return fig


def plot_double_descent(result) -> Figure:
    """Test risk against features (or samples), closed form, ridge and measured threshold."""
    _check_result(result, "result", "DoubleDescentResult")
    fig = _figure(figsize=(6, 4), layout="constrained")
    ax = fig.add_subplot()
    x = result.values
    ax.errorbar(
        x,
        result.risk,
        yerr=result.risk_se,
        fmt="o-",
        ms=3,
        capsize=2,
        label="min-norm least squares",
    )
    if result.closed_form is not None:
        cf = np.where(np.isfinite(result.closed_form), result.closed_form, np.nan)
        ax.plot(x, cf, "k--", label="asymptotic closed form")
    ax.plot(x, result.ridge_risk, "s-", ms=3, label="optimally tuned ridge")
    ax.axvline(result.threshold, color="grey", ls=":", label=f"measured peak ({result.threshold})")
    top = np.nanmax(result.ridge_risk) * 6
    ax.set_ylim(0, max(top, np.nanmedian(result.risk) * 2))
    ax.set_xlabel(result.axis)
    ax.set_ylabel("test risk" + (" (with noise)" if result.include_noise else " (excess)"))
    ax.set_title("double descent", fontsize=10)
    ax.legend(fontsize=8)
    return fig


def plot_early_stopping(result) -> Figure:
    """Filter factors of GD and ridge per direction, and their risks along the steps."""
    _check_result(result, "result", "EarlyStoppingRidge")
    has_curve = result.curve is not None
    fig = _figure(figsize=(10 if has_curve else 5, 4), layout="constrained")
    axes = fig.subplots(1, 2 if has_curve else 1, squeeze=False)[0]
    s = result.singular_values
    axes[0].plot(s, result.gd_filter, "o", ms=3, label=f"GD, {result.steps} steps")
    axes[0].plot(s, result.gf_filter, ".", ms=3, label="gradient flow")
    axes[0].plot(s, result.ridge_filter, "x", ms=3, label=f"ridge, lam={result.lam:.3g}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("singular value s_i")
    axes[0].set_ylabel("filter factor")
    axes[0].legend(fontsize=8)
    if has_curve:
        c = result.curve
        ax = axes[1]
        ax.plot(c["steps"], c["gd"], label="GD after t steps")
        ax.plot(c["steps"], c["gf"], label="gradient flow, T = lr t")
        ax.plot(c["steps"], c["ridge"], label="ridge, lam = 1/(lr t)")
        ax.plot(c["steps"], 1.6862 * c["ridge"], "k:", lw=0.8, label="1.6862 x ridge")
        ax.set_xscale("log")
        ax.set_xlabel("steps t")
        ax.set_ylabel("estimation risk")
        ax.legend(fontsize=8)
    return fig


def plot_shrinkage(X, lams) -> Figure:
    """Ridge shrinkage factors per singular direction for several lam, and df(lam)."""
    from reglab.diagnostics._validation import check_nonneg_grid
    from reglab.diagnostics.conditioning import (
        effective_dof,
        ridge_shrinkage_factors,
        singular_values,
    )

    lams = np.atleast_1d(check_nonneg_grid(lams, "lams"))
    fig = _figure(figsize=(10, 4), layout="constrained")
    ax, ax_df = fig.subplots(1, 2)
    d = ridge_shrinkage_factors(X, lams)
    idx = np.arange(1, d.shape[1] + 1)
    for lam, row in zip(lams, d):
        ax.plot(idx, row, "-", label=f"lam={lam:.3g}")
    ax.set_xlabel("singular direction (decreasing s_i)")
    ax.set_ylabel("s^2 / (s^2 + lam)")
    ax.legend(fontsize=8)
    s2 = singular_values(X) ** 2
    pos = s2[s2 > 0]  # singular_values already zeroed those below the rank tolerance
    grid = np.geomspace(pos.min() * 1e-2, pos.max() * 1e2, 100)
    ax_df.plot(grid, effective_dof(X, grid))
    ax_df.set_xscale("log")
    ax_df.set_xlabel("lam")
    ax_df.set_ylabel("effective degrees of freedom")
    return fig


def plot_hessian_slice(
    loss_fn, params, *, radius: float = 1.0, points: int = 41, seed: int = 0
) -> Figure:
    """Loss along the top Hessian eigenvector and along a random direction (unit norm)."""
    import torch

    from reglab.diagnostics.sharpness import _flat_loss, _hessian

    radius = check_real(radius, "radius", low=0.0, low_open=True)
    points = check_int(points, "points", low=2, high=MAX_COUNT)
    seed = check_seed(seed, allow_generator=False) or 0
    f, theta = _flat_loss(loss_fn, params)
    _, vecs = torch.linalg.eigh(_hessian(f, theta))
    top = vecs[:, -1]
    gen = torch.Generator(device="cpu").manual_seed(seed)
    rand = torch.randn(theta.numel(), generator=gen, dtype=theta.dtype).to(theta.device)
    rand = rand / rand.norm()
    ts = np.linspace(-radius, radius, points)
    fig = _figure(figsize=(5, 4), layout="constrained")
    ax = fig.add_subplot()
    for name, d in (("top eigenvector", top), ("random direction", rand)):
        ax.plot(ts, [float(f(theta + t * d)) for t in ts], label=name)
    ax.set_xlabel("distance from the parameters")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return fig
