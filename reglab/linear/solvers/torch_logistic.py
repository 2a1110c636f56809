"""Batched proximal-gradient logistic paths in torch: every alpha of the grid at once.

Binary and multinomial logistic regression with an L1, L2 or elastic-net penalty, solved for
all alphas together by :func:`~reglab.linear.solvers.torch_path.batched_fista`: one
iteration is the two products ``X W`` and ``X^T G`` with ``W`` holding every alpha's
coefficients side by side, so on a GPU the path costs about one large solve.

The iterations run on the same exact reparametrisation as :class:`~reglab.linear.FISTA`:
with an intercept the columns are centred with the sample weights, and every column is scaled
to unit weighted norm (``w~ = s w``, the penalty's coefficients divided by ``s`` and ``s^2``).
Each alpha stops when its duality gap, computed as
:func:`reglab.linear._problem.duality_gap` does (intercept at its exact minimiser, dual point
``-grad F`` rescaled into the dual feasible set, the datafit's ``dual_value`` and the
penalty's conjugate; Massias, Gramfort & Salmon, 2018), is at most ``tol * F(0)``.  Iterates
may run in float32; the certificate is always computed in float64.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from reglab.linear.datafits import Logistic, Multinomial, _norm_weights
from reglab.linear.solvers.torch_path import _gram_top_eig, _torch, batched_fista, resolve_device


def torch_logistic_path(
    problem, penalty, alphas, *, device="cpu", tol=1e-4, max_iter=20000, check_every=10, dtype=None
):
    """Solve the logistic / multinomial penalised path for all ``alphas`` at once on ``device``.

    Parameters
    ----------
    problem : Problem
        A Logistic (labels in {-1, +1}) or Multinomial (labels 0..K-1) problem.
    penalty : L1, L2 or L1L2
        Its alpha is replaced by each grid value; every feature must be penalised.
    alphas : array of shape (n_alphas,), all > 0
    device : str or torch.device, default='cpu'
    tol : float, default=1e-4
        Stop an alpha when its duality gap is <= ``tol * F(0)``.
    max_iter : int, default=20000
        FISTA iterations at most (per alpha).
    check_every : int, default=10
        Gaps computed every this many iterations.
    dtype : torch.dtype, optional
        dtype of the iterations (default float64); with float32 the gap is still computed
        in float64 on a float64 copy of the design.

    Returns
    -------
    coefs : ndarray of shape (n_features, n_alphas) or (n_features, n_classes, n_alphas)
    intercepts : ndarray of shape (n_alphas,) or (n_alphas, n_classes)
    gaps, n_iters : ndarray of shape (n_alphas,)
    """
    torch = _torch()
    dev = resolve_device(torch, device)
    dtype = torch.float64 if dtype is None else dtype
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got dtype={dtype!r}")
    if not isinstance(problem.datafit, Logistic | Multinomial):
        raise TypeError(
            f"the torch logistic path handles Logistic and Multinomial, got {problem.datafit!r}"
        )
    alphas = np.asarray(alphas, dtype=np.float64)
    if np.any(alphas <= 0):
        raise ValueError(
            f"device=... solves penalised paths only: alphas must be > 0, got alphas={alphas!r}"
        )
    n, p = problem.X.shape
    if not np.all(penalty.with_alpha(1.0).is_penalized(p)):
        raise ValueError("device=... needs every feature penalised (weights > 0); got zero weights")
    multi = problem.n_classes > 1
    K = problem.n_classes if multi else 1
    k = alphas.size
    f64 = torch.float64
    c_np = _norm_weights(problem.sample_weight, n)
    Xd = problem.X.toarray() if sp.issparse(problem.X) else np.asarray(problem.X)
    center = problem.explicit_intercept

    # the reparametrised design X~ = (X - 1 m^T) diag(1/s), formed on the device
    X64 = torch.as_tensor(Xd, dtype=f64, device=dev)
    c = torch.as_tensor(c_np, dtype=f64, device=dev)
    m = c @ X64 if center else torch.zeros(p, dtype=f64, device=dev)
    if center:
        X64 = X64 - m
    s = torch.sqrt(torch.clamp(c @ (X64 * X64), min=0.0))
    s = torch.where(s > 0, s, torch.ones_like(s))
    X64 = X64 / s
    L = _gram_top_eig(torch, X64 * torch.sqrt(c)[:, None]) * (1.0 + 1e-9)
    if dtype == torch.float32:
        L *= 1.0 + 1e-3  # covers the float32 rounding of the iterations' products
    L = problem.datafit.hessian_bound * (L + (1.0 if center else 0.0))
    Xit = X64 if dtype == f64 else X64.to(dtype)

    yv = torch.as_tensor(problem.y, dtype=f64, device=dev)
    if multi:
        Y1 = torch.nn.functional.one_hot(yv.long(), K).to(f64)  # (n, K)
    al = torch.as_tensor(alphas, dtype=f64, device=dev)
    a_unit, b_unit = penalty.with_alpha(1.0).separable_coefficients(p)
    sd = s.to(f64)
    A = (torch.as_tensor(a_unit, dtype=f64, device=dev) / sd)[:, None, None] * al[None, :, None]
    B = (torch.as_tensor(b_unit, dtype=f64, device=dev) / sd**2)[:, None, None] * al[None, :, None]
    A, B = A.expand(p, k, K).contiguous(), B.expand(p, k, K).contiguous()
    scale = problem.value_scale()
    tol_abs = torch.full((k,), tol * scale, dtype=f64, device=dev)

    def raw_grad(Z, c_, y_):
        """``-theta``: derivative of the datafit in the scores Z of shape (n, k, K)."""
        if multi:
            return c_[:, None, None] * (torch.softmax(Z, dim=2) - y_[:, None, :])
        return -(c_ * y_)[:, None, None] * torch.sigmoid(-y_[:, None, None] * Z)

    cit, yit = c.to(dtype), yv.to(dtype)
    Y1it = Y1.to(dtype) if multi else None

    def grad_fn(W, b, idx):
        ka = W.shape[1]
        Z = (Xit @ W.reshape(p, ka * K)).reshape(n, ka, K)
        if b is not None:
            Z = Z + b[None]
        G = raw_grad(Z, cit, Y1it if multi else yit)
        dW = (Xit.T @ G.reshape(n, ka * K)).reshape(p, ka, K)
        return dW, (G.sum(dim=0) if b is not None else None)

    def intercept(Z0, b):
        """Exact minimiser of the datafit over the intercept with ``X~ W`` fixed (Newton)."""
        for _ in range(50):
            Z = Z0 + b[None]
            if multi:
                P = torch.softmax(Z, dim=2)
                cP = torch.einsum("n,nka->ka", c, P)
                g = cP - (c @ Y1)[None, :]
                H = torch.diag_embed(cP) - torch.einsum("n,nka,nkb->kab", c, P, P)
                # H 1 = 0 (softmax's invariance): H + 1 1^T is definite on the
                # sum-zero subspace where g lives, and its solution d satisfies 1^T d = 0
                H = H + 1.0
                d = torch.linalg.solve(H, g.unsqueeze(-1)).squeeze(-1)
            else:
                sig = torch.sigmoid(Z[..., 0])
                g = (c[:, None] * (sig - (yv[:, None] > 0).to(f64))).sum(dim=0)
                h = (c[:, None] * sig * (1.0 - sig)).sum(dim=0)
                d = (g / torch.clamp(h, min=1e-300))[:, None]
            b = b - d
            if multi:
                b = b - b.mean(dim=1, keepdim=True)
            if float(g.abs().max()) < 1e-14:
                break
        return b

    def gap_fn(W, b, idx):
        """Duality gaps (float64) of the problems ``idx`` and their certified intercepts."""
        W = W.to(f64)
        ka = W.shape[1]
        Z = (X64 @ W.reshape(p, ka * K)).reshape(n, ka, K)
        bc = None
        if center:
            bc = intercept(Z, b.to(f64))
            Z = Z + bc[None]
        Ai, Bi = A[:, idx], B[:, idx]
        if multi:
            lse = torch.logsumexp(Z, dim=2)
            primal = c @ (lse - (Z * Y1[:, None, :]).sum(dim=2))
        else:
            primal = -(c @ torch.nn.functional.logsigmoid(yv[:, None] * Z[..., 0]))
        primal = primal + (Ai * W.abs() + 0.5 * Bi * W * W).sum(dim=(0, 2))
        theta = -raw_grad(Z, c, Y1 if multi else yv)
        U = (X64.T @ theta.reshape(n, ka * K)).reshape(p, ka, K).abs()
        lasso_like = (Bi == 0) & (Ai > 0)
        ratio = torch.where(lasso_like, U / torch.where(Ai > 0, Ai, torch.ones_like(Ai)), 0.0)
        sc = torch.clamp(ratio.amax(dim=(0, 2)), min=1.0)  # (ka,)
        excess = torch.clamp(U / sc[None, :, None] - Ai, min=0.0)
        conj = torch.where(
            Bi > 0, excess**2 / (2 * torch.where(Bi > 0, Bi, torch.ones_like(Bi))), 0.0
        ).sum(dim=(0, 2))
        # -F^*(-theta / sc): the entropy of the rescaled probabilities
        if multi:
            P = torch.softmax(Z, dim=2)
            Pd = Y1[:, None, :] * (1.0 - 1.0 / sc[None, :, None]) + P / sc[None, :, None]
            dual = -(c @ torch.special.xlogy(Pd, Pd).sum(dim=2))
        else:
            t = torch.sigmoid(-yv[:, None] * Z[..., 0]) / sc[None, :]
            dual = -(c @ (torch.special.xlogy(t, t) + torch.special.xlogy(1 - t, 1 - t)))
        return primal - (dual - conj), bc

    W0 = torch.zeros((p, k, K), dtype=dtype, device=dev)
    b0 = torch.zeros((k, K), dtype=dtype, device=dev) if center else None
    W, b, gaps, n_iters = batched_fista(
        torch,
        grad_fn,
        gap_fn,
        A.to(dtype),
        B.to(dtype),
        torch.full((k,), 1.0 / L, dtype=dtype, device=dev),
        tol_abs,
        W0=W0,
        b0=b0,
        max_iter=max_iter,
        check_every=check_every,
    )
    gaps_np = gaps.cpu().numpy()
    bad = ~(gaps_np <= tol * scale)
    if np.any(bad):
        warnings.warn(
            f"torch FISTA logistic path did not converge in {max_iter} iterations at "
            f"{int(bad.sum())} of {k} alphas; largest duality gap {np.nanmax(gaps_np):.3e} > "
            f"tol * F(0) = {tol * scale:.3e}",
            ConvergenceWarning,
            stacklevel=3,
        )
    # back to the original features: w = w~ / s, b = b~ - m^T w
    Wo = W.to(f64) / sd[:, None, None]
    coefs = Wo.cpu().numpy()  # (p, k, K)
    if center:
        intercepts = (b.to(f64) - torch.einsum("p,pka->ka", m, Wo)).cpu().numpy()
    else:
        intercepts = np.zeros((k, K))
    coefs = np.moveaxis(coefs, 1, 2)  # (p, K, k)
    if not multi:
        coefs, intercepts = coefs[:, 0, :], intercepts[:, 0]
    return coefs, intercepts, gaps_np, n_iters.cpu().numpy()
