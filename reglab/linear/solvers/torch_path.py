"""Batched proximal-gradient (FISTA) path in torch: every alpha of the grid at once.

All alphas share the design, so one iteration is two matrix products ``X W`` and
``X^T R`` with ``W`` of shape (p, n_alphas): on a GPU the whole path costs about as much as
one large solve.  Each column runs FISTA (Beck & Teboulle, 2009) with its own momentum and
gradient restart (O'Donoghue & Candès, 2015), and stops when its relative duality gap is below
``tol`` (the same certificate as the NumPy solvers).  torch is imported here only, and this
module is imported only when a path function is given ``device=``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "device=... needs torch (pip install 'reglab[torch]'); omit device to use the "
            "NumPy solvers"
        ) from exc
    return torch


def resolve_device(torch, device):
    """``device`` as a ``torch.device``, refused with an error naming it when unusable.

    A device string torch does not parse, or a CUDA (or MPS) device on a machine without
    one, raises ValueError here rather than a torch error deep inside the solve.
    """
    if not isinstance(device, str | torch.device):
        raise TypeError(f"device must be a str or torch.device, got device={device!r}")
    try:
        dev = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device={device!r} is not a torch device ({err})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}: torch sees no CUDA device on this machine "
            "(torch.cuda.is_available() is False); use device='cpu' or omit device"
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r}: only {torch.cuda.device_count()} CUDA device(s) are visible"
        )
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r}: torch sees no MPS device on this machine")
    return dev


def torch_path(
    problem,
    penalty,
    alphas,
    *,
    device="cpu",
    tol=1e-4,
    max_iter=20000,
    check_every=20,
    dtype=None,
    timings=None,
):
    """Solve the least-squares elastic-net path for all ``alphas`` at once on ``device``.

    Parameters
    ----------
    problem : Problem
        A quadratic problem (centred; sparse X is densified on the device).
    penalty : L1, L2 or L1L2
        Its alpha is replaced by each grid value.
    alphas : array of shape (n_alphas,)
    device : str or torch.device, default='cpu'
    tol : float, default=1e-4
        Stop a column when its duality gap is <= ``tol * F(0)``.
    max_iter : int, default=20000
    check_every : int, default=20
        Gap computed every this many iterations.
    dtype : torch.dtype, optional
        Default float32 on CUDA, float64 otherwise.  With float32 the returned gaps (and the
        convergence warning) are recomputed in float64 at the final iterates.
    timings : dict, optional
        Filled with the wall time of each phase (``to_device``, ``lipschitz``,
        ``iterations``, ``certificate``), the device synchronised between phases: what a
        benchmark reads to see where the time goes (costs the synchronisations).

    Returns
    -------
    PathResult
    """
    torch = _torch()
    from reglab.linear.path import _make_result

    dev = resolve_device(torch, device)
    if dtype is None:
        dtype = torch.float32 if dev.type == "cuda" else torch.float64
    if problem.n_classes != 1 or problem.explicit_intercept:
        raise TypeError("the torch path solver handles the Quadratic datafit only")
    X = problem.X
    if sp.issparse(X):
        Xd = X.toarray()
        if problem.mu is not None:
            Xd -= np.outer(problem.v, problem.mu)
        X = Xd
    n, p = X.shape
    clock = _Clock(torch, dev, timings)
    # X travels in float64 in its own memory order (no host-side copy or cast) and is cast on
    # the device; the float64 copy stays there for the final certificate
    X64 = torch.as_tensor(X).to(dev)
    Xt = X64 if dtype == torch.float64 else X64.to(dtype)
    yt = torch.as_tensor(problem.y, dtype=dtype, device=dev)
    al = torch.as_tensor(np.asarray(alphas, dtype=np.float64), dtype=dtype, device=dev)
    a_unit, b_unit = penalty.with_alpha(1.0).separable_coefficients(p)
    A = torch.as_tensor(a_unit, dtype=dtype, device=dev)[:, None] * al[None, :]  # (p, k)
    B = torch.as_tensor(b_unit, dtype=dtype, device=dev)[:, None] * al[None, :]
    clock.lap("to_device")
    L = _lipschitz(torch, problem, Xt)
    clock.lap("lipschitz")
    step = 1.0 / L
    k = al.shape[0]
    W = torch.zeros((p, k), dtype=dtype, device=dev)
    Y = W.clone()
    t = torch.ones(k, dtype=dtype, device=dev)
    scale = problem.value_scale()
    active = torch.ones(k, dtype=torch.bool, device=dev)
    gaps = torch.full((k,), float("inf"), dtype=dtype, device=dev)
    n_iters = torch.zeros(k, dtype=torch.int64, device=dev)
    yy = yt @ yt
    it = 0
    for it in range(1, max_iter + 1):
        R = yt[:, None] - Xt @ Y
        V = Y + step * (Xt.T @ R) / n
        thr = step * A
        if penalty.positive:
            Z = torch.clamp(V - thr, min=0.0)
        else:
            Z = torch.sign(V) * torch.clamp(V.abs() - thr, min=0.0)
        W_new = Z / (1.0 + step * B)
        # per-column gradient restart, then Nesterov momentum
        restart = ((Y - W_new) * (W_new - W)).sum(dim=0) > 0
        t = torch.where(restart, torch.ones_like(t), t)
        t_new = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * t * t))
        beta = ((t - 1.0) / t_new) * active
        Y = W_new + beta[None, :] * (W_new - W)
        W = torch.where(active[None, :], W_new, W)
        t = t_new
        n_iters += active
        if it % check_every == 0 or it == max_iter:
            gaps = _gaps(torch, Xt, yt, yy, W, A, B, n, penalty.positive)
            active = gaps > tol * scale
            if not bool(active.any()):
                break
    clock.lap("iterations")
    if dtype != torch.float64:
        # float32 iterations (and stopping tests): the certificate returned is recomputed in
        # float64 on the final iterates (one more pair of passes over X), so a gap that float32
        # rounding made look small is reported, and warned about, as it is
        f64 = torch.float64
        al64 = torch.as_tensor(np.asarray(alphas, dtype=np.float64), dtype=f64, device=dev)
        A64 = torch.as_tensor(a_unit, dtype=f64, device=dev)[:, None] * al64[None, :]
        B64 = torch.as_tensor(b_unit, dtype=f64, device=dev)[:, None] * al64[None, :]
        y64 = torch.as_tensor(problem.y, dtype=f64, device=dev)
        gaps = _gaps(torch, X64, y64, None, W.double(), A64, B64, n, penalty.positive)
    del X64, Xt
    gaps_np = gaps.double().cpu().numpy()
    clock.lap("certificate")
    if np.any(gaps_np > tol * scale):
        warnings.warn(
            f"torch FISTA path did not converge in {it} iterations at "
            f"{int(np.sum(gaps_np > tol * scale))} alphas; largest duality gap "
            f"{gaps_np.max():.3e} > tol * F(0) = {tol * scale:.3e}",
            ConvergenceWarning,
            stacklevel=3,
        )
    coefs = W.double().cpu().numpy()
    if problem.fit_intercept:
        intercepts = problem.y_offset - problem.X_offset @ coefs
    else:
        intercepts = np.zeros(k)
    return _make_result(
        np.asarray(alphas, dtype=np.float64), coefs, gaps_np, intercepts, n_iters.cpu().numpy()
    )


class _Clock:
    """Phase timer for :func:`torch_path`'s ``timings`` (a no-op without a dict)."""

    def __init__(self, torch, dev, timings):
        import time

        self.torch, self.dev, self.timings, self.time = torch, dev, timings, time
        self.t = time.perf_counter()

    def lap(self, name):
        if self.timings is None:
            return
        if self.dev.type == "cuda":
            self.torch.cuda.synchronize(self.dev)
        now = self.time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.t
        self.t = now


# Largest Gram side whose eigenvalues are computed on the device (eigvalsh of 8192 x 8192
# takes about a second on an H100-class GPU); beyond it the NumPy estimate is used.
_DEVICE_GRAM_MAX = 8192


def _lipschitz(torch, problem, Xt):
    """``||X||_2^2 / n``, the Lipschitz constant of the least-squares gradient.

    On CUDA it comes from the exact eigenvalues of the smaller Gram matrix ``X X^T`` or
    ``X^T X`` formed on the device: ``problem.lipschitz()`` runs ARPACK on the CPU, which on
    a 4000 x 20000 design takes seconds, longer than the whole path on the GPU. The Gram is
    formed in ``Xt``'s dtype (float32 by default), so the eigenvalue is enlarged by a
    relative 1e-3 (beyond float32's accumulated rounding): a step ``1/L`` must not exceed the
    true ``1/L``, and a 0.1% smaller step costs nothing measurable.
    """
    if Xt.device.type != "cuda" or min(Xt.shape) > _DEVICE_GRAM_MAX:
        return float(problem.lipschitz())
    return _gram_lipschitz(torch, Xt) * problem.datafit.hessian_bound


def _gram_lipschitz(torch, Xt):
    """``lambda_max(X^T X) / n`` from the smaller Gram matrix, times ``1 + 1e-3``.

    ``Xt`` is the design as the solver sees it (densified and centred), so this is exact up
    to the Gram's rounding, which the factor covers."""
    n, p = Xt.shape
    G = Xt @ Xt.T if n <= p else Xt.T @ Xt
    return float(torch.linalg.eigvalsh(G.double())[-1]) / n * (1.0 + 1e-3)


def _gaps(torch, X, y, yy, W, A, B, n, positive):
    """Duality gap of every column at the rescaled residual (see ``_problem.duality_gap``)."""
    R = y[:, None] - X @ W
    U = X.T @ R / n
    Uv = torch.clamp(U, min=0.0) if positive else U.abs()
    lasso_like = (B == 0) & (A > 0)
    ratio = torch.where(
        lasso_like, Uv / torch.where(A > 0, A, torch.ones_like(A)), torch.zeros_like(U)
    )
    s = torch.clamp(ratio.max(dim=0).values, min=1.0)
    excess = torch.clamp(Uv / s - A, min=0.0)
    conj = torch.where(
        B > 0, excess**2 / (2 * torch.where(B > 0, B, torch.ones_like(B))), torch.zeros_like(U)
    ).sum(dim=0)
    rr = (R * R).sum(dim=0)
    pen = (A * W.abs() + 0.5 * B * W * W).sum(dim=0)
    primal = 0.5 * rr / n + pen
    ry = y @ R
    dual = ry / (n * s) - 0.5 * rr / (n * s * s) - conj
    return primal - dual


# ---------------------------------------------------------------------------------------------
# Batched FISTA over many independent problems that share one design (logistic paths, CV).


def batched_fista(
    torch,
    grad_fn,
    gap_fn,
    A,
    B,
    step,
    tol_abs,
    *,
    W0,
    b0=None,
    positive=False,
    max_iter=20000,
    check_every=10,
):
    """FISTA with per-column restart on ``k`` problems at once, each certified by its gap.

    Problem ``j`` minimises ``f_j(W[:, j], b[j]) + sum_{i,c} A_ijc |W_ijc| + B_ijc W_ijc^2 / 2``
    over ``W[:, j]`` of shape (p, K) (``K`` = 1, or the number of classes) and an unpenalised
    intercept ``b[j]`` (``b0=None``: none).  Each runs FISTA (Beck & Teboulle, 2009) with step
    ``step[j]`` and the gradient restart of O'Donoghue & Candès (2015).

    ``grad_fn(W, b, idx)`` returns the gradients ``(dW, db)`` of the problems ``idx`` at
    ``(W, b)`` (``db`` None without intercept); ``gap_fn(W, b, idx)`` their duality gaps and
    the certified intercepts (the intercept's exact minimiser, as the NumPy solvers use).
    The gap is computed every ``check_every`` iterations; converged problems (gap <=
    ``tol_abs[j]``) are dropped from the batch, so later iterations multiply by fewer
    columns.  Only the gap check synchronises with the host.

    Returns ``(W, b, gaps, n_iters)`` on the device, ``b`` the certified intercepts.
    """
    dev = W0.device
    k = W0.shape[1]
    W_all = W0.clone()
    b_all = None if b0 is None else b0.clone()
    n_iters = torch.zeros(k, dtype=torch.int64, device=dev)
    idx = torch.arange(k, device=dev)
    gaps_all, b_cert = gap_fn(W_all, b_all, idx)
    if b_all is not None:
        b_all = b_cert.to(b0.dtype)  # start from the intercept that is optimal at W0
        b_cert = b_cert.clone()  # the certified intercepts, in the certificate's dtype
    keep = ~(gaps_all <= tol_abs)  # a NaN gap keeps iterating (and warns at the end)

    def sub(keep_mask, idx):
        sel = idx[keep_mask]
        return sel, A[:, sel], B[:, sel], step[sel][None, :, None]

    idx, Ai, Bi, st = sub(keep, idx)
    W = W_all[:, idx]
    b = None if b_all is None else b_all[idx]
    Y, yb = W.clone(), (None if b is None else b.clone())
    t = torch.ones(idx.numel(), dtype=W.dtype, device=dev)
    done = 0
    while idx.numel() and done < max_iter:
        n_run = min(check_every, max_iter - done)
        for _ in range(n_run):
            dW, db = grad_fn(Y, yb, idx)
            V = Y - st * dW
            thr = st * Ai
            if positive:
                Z = torch.clamp(V - thr, min=0.0)
            else:
                Z = torch.sign(V) * torch.clamp(V.abs() - thr, min=0.0)
            Wn = Z / (1.0 + st * Bi)
            bn = None if yb is None else yb - st[0] * db
            restart = ((Y - Wn) * (Wn - W)).sum(dim=(0, 2)) > 0
            t = torch.where(restart, torch.ones_like(t), t)
            t_new = 0.5 * (1.0 + torch.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            Y = Wn + beta[None, :, None] * (Wn - W)
            if bn is not None:
                yb = bn + beta[:, None] * (bn - b)
            W, b, t = Wn, bn, t_new
        done += n_run
        n_iters[idx] += n_run
        gaps, bc = gap_fn(W, b, idx)
        W_all[:, idx] = W
        gaps_all[idx] = gaps
        if b_cert is not None:
            b_cert[idx] = bc
        keep = ~(gaps <= tol_abs[idx])
        if not bool(keep.any()):
            break
        if not bool(keep.all()):
            idx, Ai, Bi, st = sub(keep, idx)
            W, Y, t = W[:, keep], Y[:, keep], t[keep]
            if b is not None:
                b, yb = b[keep], yb[keep]
    return W_all, b_cert, gaps_all, n_iters


def _gram_top_eig(torch, Xs):
    """Largest eigenvalue of ``Xs^T Xs`` from the smaller Gram matrix, in float64."""
    n, p = Xs.shape
    if min(n, p) > _DEVICE_GRAM_MAX:  # too large for eigvalsh: ARPACK on the host
        from reglab.linear._problem import _op_norm2

        return _op_norm2(Xs.double().cpu().numpy(), np.ones(n))
    G = Xs @ Xs.T if n <= p else Xs.T @ Xs
    return float(torch.linalg.eigvalsh(G.double())[-1])


def torch_cv_errors(
    X,
    y,
    sample_weight,
    fit_intercept,
    folds,
    runs,
    *,
    device="cpu",
    tol=1e-4,
    max_iter=20000,
    return_info=False,
):
    """Held-out MSE of every fold x alpha (x penalty) of a least-squares CV as ONE batched solve.

    The folds share ``X``: fold ``f``'s training objective is

        1/2 sum_i c_fi (y_i - ybar_f - (x_i - m_f)^T w)^2 + alpha * pen(w),

    with ``c_f`` the sample weights zeroed on its held-out rows and normalised to sum 1, and
    ``m_f, ybar_f`` the weighted means of its training rows (the intercept profiled out, as
    :func:`~reglab.linear._problem.make_problem` does per fold).  So ``X W`` with ``W`` of
    shape (p, n_folds * n_alphas) serves every fold in one product, the centring being
    the rank-one correction ``m_f^T w`` per column.  Each column runs FISTA with its fold's
    step ``1 / lambda_max(X_cf^T C_f X_cf)`` on the column-scaled design (an exact
    reparametrisation) and stops at the same certificate as the CPU path: the fold's duality
    gap at the rescaled residual <= ``tol`` times its ``F(0)``.

    Parameters
    ----------
    X : array or sparse matrix (n_samples, n_features)
        Densified on the device.
    y : array (n_samples,)
    sample_weight : array (n_samples,) or None
    fit_intercept : bool
    folds : list of (train, test) index arrays
    runs : list of (penalty, alphas)
        Elastic-net type penalties (``separable_coefficients``), each with its alpha grid.
    device, tol, max_iter
        As in :func:`torch_path`.
    return_info : bool, default=False
        Also return a dict: ``n_iter`` (iterations of the slowest column, i.e. of the batch),
        ``n_columns``, ``check_every``, the largest relative ``gap`` and ``seconds`` per
        phase (the design to the device, the folds' step sizes, setup, iterations; the
        device synchronised between phases), for the benchmark's estimates.

    Returns
    -------
    list of arrays of shape (n_alphas, n_folds), one per run: the held-out weighted MSE.
    """
    torch = _torch()
    dev = resolve_device(torch, device)
    f64 = torch.float64
    n, p = X.shape
    Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    F = len(folds)
    Ctr = np.zeros((n, F))
    Cte = np.zeros((n, F))
    for f, (tr, te) in enumerate(folds):
        Ctr[tr, f] = sw[tr]
        Cte[te, f] = sw[te]
    Ctr /= Ctr.sum(axis=0)
    Cte /= Cte.sum(axis=0)
    phases = {} if return_info else None
    clock = _Clock(torch, dev, phases)
    Xt = torch.as_tensor(Xd, dtype=f64, device=dev)
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64), dtype=f64, device=dev)
    Ctr_t = torch.as_tensor(Ctr, dtype=f64, device=dev)
    Cte_t = torch.as_tensor(Cte, dtype=f64, device=dev)
    # column scaling to unit (all rows') weighted standard deviation: conditions FISTA like
    # standardised data; exact, since the penalty's coefficients are rescaled with it
    c_all = torch.as_tensor(sw / sw.sum(), dtype=f64, device=dev)
    mean_all = c_all @ Xt if fit_intercept else torch.zeros(p, dtype=f64, device=dev)
    s = torch.sqrt(torch.clamp(c_all @ (Xt * Xt) - mean_all**2, min=0.0))
    s = torch.where(s > 0, s, torch.ones_like(s))
    Xt = Xt / s
    clock.lap("to_device")
    if fit_intercept:
        M = Ctr_t.T @ Xt  # (F, p) training means
        ybar = Ctr_t.T @ yt  # (F,)
    else:
        M = torch.zeros((F, p), dtype=f64, device=dev)
        ybar = torch.zeros(F, dtype=f64, device=dev)
    Lf = []
    for f, (tr, _) in enumerate(folds):
        tr_t = torch.as_tensor(tr, device=dev)
        Xf = (Xt[tr_t] - M[f]) * torch.sqrt(Ctr_t[tr_t, f])[:, None]
        Lf.append(_gram_top_eig(torch, Xf) * (1.0 + 1e-9))
    Lf = torch.as_tensor(Lf, dtype=f64, device=dev)
    clock.lap("lipschitz")
    F0 = 0.5 * (Ctr_t * (yt[:, None] - ybar[None, :]) ** 2).sum(dim=0)  # (F,)

    # columns: run-major, then fold, then alpha
    fcol, As, Bs, sizes = [], [], [], []
    positive = False
    for penalty, alphas in runs:
        alphas = np.asarray(alphas, dtype=np.float64)
        a_unit, b_unit = penalty.with_alpha(1.0).separable_coefficients(p)
        positive = positive or penalty.positive
        for f in range(F):
            fcol.append(np.full(alphas.size, f))
            As.append(np.outer(a_unit, alphas))
            Bs.append(np.outer(b_unit, alphas))
        sizes.append(alphas.size)
    fcol = torch.as_tensor(np.concatenate(fcol), device=dev)
    A = (torch.as_tensor(np.hstack(As), dtype=f64, device=dev) / s[:, None])[..., None]
    B = (torch.as_tensor(np.hstack(Bs), dtype=f64, device=dev) / (s * s)[:, None])[..., None]
    C = fcol.numel()
    Cw = Ctr_t[:, fcol]  # (n, C) training weights per column
    Mc = M[fcol].T.contiguous()  # (p, C)
    yb = ybar[fcol]
    cache = {}

    def cols(idx):
        # the per-column data of the active columns, gathered once per batch composition
        if cache.get("idx") is not idx:
            cache.update(idx=idx, Cw=Cw[:, idx], Mc=Mc[:, idx], yc=yt[:, None] - yb[idx][None, :])
        return cache["Cw"], cache["Mc"], cache["yc"]

    def residual(W, idx):
        Cwi, Mci, yci = cols(idx)
        Wm = W[:, :, 0]
        R = yci - Xt @ Wm + (Mci * Wm).sum(dim=0)[None, :]
        CR = Cwi * R
        U = Xt.T @ CR - Mci * CR.sum(dim=0)[None, :]  # X_c^T (c r); the sum is ~0 by centring
        return Wm, R, CR, U, yci

    def grad_fn(W, b, idx):
        return -residual(W, idx)[3][..., None], None

    def gap_fn(W, b, idx):
        Wm, R, CR, U, yci = residual(W, idx)
        Ai, Bi = A[:, idx, 0], B[:, idx, 0]
        Uv = torch.clamp(U, min=0.0) if positive else U.abs()
        lasso_like = (Bi == 0) & (Ai > 0)
        ratio = torch.where(lasso_like, Uv / torch.where(Ai > 0, Ai, torch.ones_like(Ai)), 0.0)
        sc = torch.clamp(ratio.amax(dim=0), min=1.0)
        excess = torch.clamp(Uv / sc - Ai, min=0.0)
        conj = torch.where(
            Bi > 0, excess**2 / (2 * torch.where(Bi > 0, Bi, torch.ones_like(Bi))), 0.0
        ).sum(dim=0)
        rr = (CR * R).sum(dim=0)
        primal = 0.5 * rr + (Ai * Wm.abs() + 0.5 * Bi * Wm * Wm).sum(dim=0)
        dual = (CR * yci).sum(dim=0) / sc - 0.5 * rr / (sc * sc) - conj
        return primal - dual, None

    tol_abs = tol * F0[fcol]
    clock.lap("setup")
    W, _, gaps, n_iters = batched_fista(
        torch,
        grad_fn,
        gap_fn,
        A,
        B,
        1.0 / Lf[fcol],
        tol_abs,
        W0=torch.zeros((p, C, 1), dtype=f64, device=dev),
        positive=positive,
        max_iter=max_iter,
        check_every=10,
    )
    clock.lap("iterations")
    bad = ~(gaps <= tol_abs)
    if bool(bad.any()):
        g = gaps.cpu().numpy()
        warnings.warn(
            f"torch batched CV did not converge in {max_iter} iterations at "
            f"{int(bad.sum())} of {C} (fold, alpha) pairs; largest relative duality gap "
            f"{float(np.nanmax(g / (F0[fcol]).cpu().numpy())):.3e} > tol = {tol:.3e}",
            ConvergenceWarning,
            stacklevel=3,
        )
    Wm = W[:, :, 0]
    pred = Xt @ Wm + (yb - (Mc * Wm).sum(dim=0))[None, :]
    mse = (Cte_t[:, fcol] * (pred - yt[:, None]) ** 2).sum(dim=0).cpu().numpy()
    out, start = [], 0
    for k in sizes:
        block = mse[start : start + F * k].reshape(F, k).T  # (k, F)
        out.append(np.ascontiguousarray(block))
        start += F * k
    if return_info:
        info = {
            "n_iter": int(n_iters.max()),
            "n_columns": C,
            "check_every": 10,
            "gap": float((gaps / F0[fcol]).max()),
            "seconds": phases,
        }
        return out, info
    return out
