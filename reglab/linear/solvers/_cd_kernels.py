"""Numba kernels of coordinate descent (compiled once, cached on disk: ``cache=True``).

Least squares on a working set, for a dense Fortran-ordered design (``mode=0``) or a CSC design
with implicit centring (``mode=1``: column ``x_j = X_j - mu_j v``, residual kept as
``r = r_raw + m v`` with ``m = mu.w`` so that sparse updates stay sparse), and on a Gram matrix
(:func:`gram_cd`).  The coordinate update minimises
``1/(2n)||r + x_j w_j - x_j t||^2 + a_j |t| + b_j t^2 / 2`` exactly:
``t = ST(L_j w_j + x_j.r/n, a_j) / (L_j + b_j)`` with ``L_j = ||x_j||^2 / n``
(Friedman, Hastie & Tibshirani, 2010, "Regularization paths for generalized linear models via
coordinate descent", JSS 33(1)).

Every ``K + 1`` epochs the last iterates are combined by Anderson extrapolation and the result
kept when it lowers the objective (Bertrand & Massias, 2021, "Anderson acceleration of
coordinate descent", AISTATS).  The residual at the extrapolated point, ``sum_k c_k r_k``, is
also an extrapolated dual point (Massias, Gramfort & Salmon, 2018): it is tried as the dual
point of the gap when the primal step is rejected.  The cycle's residuals (and centring
scalars) are kept, so the candidate's residual costs O(K n) instead of an axpy per moved
coordinate.
Between full sweeps of the working set, epochs visit only its non-zero coordinates (glmnet's
active-set cycling).  The inner stopping test is a duality gap on the working set, every
fourth Anderson cycle.  An epoch is one call of :func:`_epoch_dense` or :func:`_epoch_sparse`,
specialised so that the coordinate loop keeps its scalars in registers (4x fewer ns per
update on sparse columns).

Binary logistic regression (:func:`newton_inner` and the ``logistic_*`` kernels): CD on the
proximal-Newton quadratic model (with Anderson steps between full sweeps, and on large dense
designs a float32 curvature term), its gap, line search and intercept.  The outer
working-set loop's selection and residual are here too (:func:`select_working_set`,
:func:`residual`).

First-call compilation: kernels compile lazily, for the signatures a call needs, and are
cached on disk.  With an empty cache most of the dense wide lasso's compilation was numba's
generic implementations, not these kernels: ``np.partition`` (with the ``np.unique`` of its
kth argument), ``np.linalg.solve`` and ``@`` (with their error-message string handling) and
array-to-array slice assignment ``a[:] = b`` (its broadcasting checks), 85% of a 106 s cold
compilation on the loaded 2-core VM.  The kernels on that path therefore write these out as
loops (:func:`_copy`, :func:`_kth_smallest`, :func:`_anderson`); ``benchmarks/first_call.py``
measures the effect.  What remained was a fixed cost per compiled function (typing, lowering
through llvmlite, an LLVM module, machine code, a cache file; a caller re-emits its callees'
code), not LLVM's optimisation level: small helpers are therefore ``inline="always"`` (typed
inside their caller, no dispatcher of their own) wherever their floating-point flags equal
the caller's, so that inlining cannot change a result's bits (:func:`_epoch_dense` and
:func:`_pen_value` stay separate: their flags differ from some caller's), and buffers are
allocated with one ``np.empty`` signature where possible (each generic ``np.zeros``/``max``/
``arange`` signature is one more compilation).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Reassociation (and fused multiply-add) lets LLVM vectorise the dense dot products, which
# strict IEEE ordering forbids: 2.3x on the dense wide lasso path.  No other fast-math flag:
# the inputs are validated finite, and NaN/inf semantics are left untouched.
_REASSOC = {"reassoc", "contract"}

# A dense least-squares call passes ``data=None`` to :func:`inner_cd`,
# :func:`gap_and_correlations` and :func:`residual`: numba prunes ``if data is None`` branches
# before type inference, so the CSC loops (and ``_epoch_sparse``) are not compiled for a
# dense problem's first call.  ``mode`` still selects the branch when ``data`` is an array.
_DENSE_NONE = None


@njit(cache=True, inline="always")
def _prox1d(z, a, b, L, positive):
    if positive:
        t = z - a
        if t < 0.0:
            t = 0.0
    else:
        if z > a:
            t = z - a
        elif z < -a:
            t = z + a
        else:
            t = 0.0
    return t / (L + b)


@njit(cache=True, fastmath=_REASSOC)
def _epoch_dense(X, r, w, L, a, b, ws, positive):
    """One CD pass over ``ws`` on a dense Fortran-ordered design (``r`` updated in place)."""
    n = X.shape[0]
    inv_n = 1.0 / n
    for j in ws:
        Lj = L[j]
        if Lj == 0.0:
            continue
        s = 0.0
        for i in range(n):
            s += X[i, j] * r[i]
        old = w[j]
        new = _prox1d(Lj * old + s * inv_n, a[j], b[j], Lj, positive)
        if new != old:
            w[j] = new
            d = new - old
            for i in range(n):
                r[i] -= d * X[i, j]


@njit(cache=True)
def _epoch_sparse(data, indices, indptr, mu, xv, m_sv, center, r, w, L, a, b, ws, positive, n):
    """One CD pass over ``ws`` on a CSC design; implicit centring through ``m_sv`` (module doc).

    The centring scalars live in locals during the pass: kept in ``m_sv`` (memory that may
    alias ``r`` for the compiler) they would be reloaded at every coordinate.
    """
    inv_n = 1.0 / n
    m, sv, vv = m_sv[0], m_sv[1], m_sv[2]
    for j in ws:
        Lj = L[j]
        if Lj == 0.0:
            continue
        s = 0.0
        for k in range(indptr[j], indptr[j + 1]):
            s += data[k] * r[indices[k]]
        if center:
            s += m * xv[j] - mu[j] * (sv + m * vv)
        old = w[j]
        new = _prox1d(Lj * old + s * inv_n, a[j], b[j], Lj, positive)
        if new != old:
            w[j] = new
            d = new - old
            for k in range(indptr[j], indptr[j + 1]):
                r[indices[k]] -= d * data[k]
            if center:
                sv -= d * xv[j]
                m += d * mu[j]
    m_sv[0], m_sv[1] = m, sv


@njit(cache=True)
def _pen_value(w, a, b, ws):
    s = 0.0
    for j in ws:
        s += a[j] * abs(w[j]) + 0.5 * b[j] * w[j] * w[j]
    return s


@njit(cache=True, inline="always")
def _copy(src, dst):
    """``dst[:] = src`` as a loop (see the module's note on first-call compilation)."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(cache=True, inline="always")
def _true_residual(mode, r, v, m_sv, out):
    if mode == 0:
        _copy(r, out)
    else:
        m = m_sv[0]
        for i in range(r.shape[0]):
            out[i] = r[i] + m * v[i]


@njit(cache=True, fastmath=_REASSOC)
def gap_and_correlations(
    mode, X, data, indices, indptr, mu, v, y, w, r_primal, a, b, ws, positive, r_true, us
):
    """Duality gap restricted to ``ws``; ``us[k]`` receives ``x_{ws[k]}.r_true / n``.

    Primal ``||r_primal||^2 / (2n) + sum_{j in ws} g_j(w_j)``; dual point ``theta = r_true / n``
    divided by ``s = max(1, max_j |x_j.theta| / a_j)`` over the features with ``b_j = 0``
    (Massias et al., 2018), dual ``theta.y / s - n ||theta||^2 / (2 s^2) - sum_j g_j^*(u_j / s)``.
    With ``ws`` every feature (all penalised) this is the full problem's certificate.
    """
    n = r_true.shape[0]
    rr = 0.0
    ry = 0.0
    rp = 0.0
    for i in range(n):
        rp += r_primal[i] * r_primal[i]
        rr += r_true[i] * r_true[i]
        ry += r_true[i] * y[i]
    primal = 0.5 * rp / n + _pen_value(w, a, b, ws)
    # x_j.r_true computed directly (x_j = X_j - mu_j v in sparse mode); data=None is a dense
    # call whose CSC branch is pruned before typing (see _DENSE_NONE)
    if data is None:
        _xt_dense(X, ws, r_true, us)
    elif mode == 0:
        _xt_dense(X, ws, r_true, us)
    else:
        sv = 0.0
        for i in range(n):
            sv += v[i] * r_true[i]
        if _is_every_column(ws, indptr.shape[0] - 1):
            _xt_sparse_all(data, indices, indptr, r_true, us)
            for j in range(ws.shape[0]):
                us[j] = (us[j] - mu[j] * sv) / n
        else:
            for k in range(ws.shape[0]):
                j = ws[k]
                s = 0.0
                for kk in range(indptr[j], indptr[j + 1]):
                    s += data[kk] * r_true[indices[kk]]
                us[k] = (s - mu[j] * sv) / n
    scale, conj = _dual_rescaling(us, ws, a, b, positive)
    dual = ry / (n * scale) - 0.5 * rr / (n * scale * scale) - conj
    return primal - dual


@njit(cache=True)
def _is_every_column(ws, m):
    """Whether ``ws`` is ``0, 1, ..., m - 1`` (the full gap, or a compacted working set)."""
    if ws.shape[0] != m:
        return False
    for k in range(m):
        if ws[k] != k:
            return False
    return True


@njit(cache=True)
def _xt_sparse_all(data, indices, indptr, r, out):
    """``out[j] = X_j.r`` for every column of a CSC matrix, in one loop over the non-zeros.

    The column boundary is a counter, not a nested loop: with a few non-zeros per column
    (3.2 on the quick sparse problem) the nested loop's exit mispredicts at every column,
    which made it 2.6x slower (77 -> 29 us for 1600 x 10000 at density 2e-3, one core).
    The sums are the same, in the same order.
    """
    m = out.shape[0]
    j = 0
    while j < m and indptr[j + 1] == 0:
        out[j] = 0.0
        j += 1
    if j == m:
        return
    end = indptr[j + 1]
    s = 0.0
    for k in range(indptr[m]):
        while k >= end:  # close column j (and any empty ones after it)
            out[j] = s
            s = 0.0
            j += 1
            end = indptr[j + 1]
        s += data[k] * r[indices[k]]
    out[j] = s
    for jj in range(j + 1, m):
        out[jj] = 0.0


@njit(cache=True, fastmath=_REASSOC, inline="always")
def _xt_dense(X, ws, r, us):
    """``us[k] = x_{ws[k]}.r / n`` for a dense ``X``."""
    n = r.shape[0]
    for k in range(ws.shape[0]):
        j = ws[k]
        s = 0.0
        for i in range(n):
            s += X[i, j] * r[i]
        us[k] = s / n


@njit(cache=True, inline="always")
def _dual_rescaling(us, ws, a, b, positive):
    """``(s, sum_j g_j^*(u_j / s))`` for the correlations ``us[k] = x_{ws[k]}.theta``.

    ``s = max(1, max_j |u_j| / a_j)`` over the features with ``b_j = 0 < a_j`` makes
    ``theta / s`` dual feasible (Massias et al., 2018); ``g_j^*(u) = (|u| - a_j)_+^2 / (2 b_j)``
    for the others (``u`` instead of ``|u|`` with ``positive``).
    """
    scale = 1.0
    for k in range(ws.shape[0]):
        j = ws[k]
        if b[j] == 0.0 and a[j] > 0.0:
            val = us[k] if positive else abs(us[k])
            if val / a[j] > scale:
                scale = val / a[j]
    conj = 0.0
    for k in range(ws.shape[0]):
        j = ws[k]
        u = us[k] / scale
        val = u if positive else abs(u)
        if b[j] > 0.0 and val > a[j]:
            conj += (val - a[j]) ** 2 / (2.0 * b[j])
    return scale, conj


@njit(cache=True, inline="always")
def _anderson(W_hist, K):
    """Anderson weights c (sum 1) minimising ||sum_k c_k (w_{k+1} - w_k)||; empty if singular.

    ``c = z / sum(z)`` with ``(U U^T / tr + 1e-10 I) z = 1``, ``U_k = w_{k+1} - w_k``; the
    K x K system (K <= ~10) by Gaussian elimination with partial pivoting, written out: numba's
    ``np.linalg.solve`` and ``@`` took 16.6 s of a 106 s cold compilation (loaded VM) for a
    call that takes microseconds (see the module's note on first-call compilation).
    """
    m = W_hist.shape[1]
    C = np.empty((K, K + 1))  # [C | 1], every entry set below, eliminated in place
    for k in range(K):
        for ll in range(k + 1):
            s = 0.0
            for i in range(m):
                s += (W_hist[k + 1, i] - W_hist[k, i]) * (W_hist[ll + 1, i] - W_hist[ll, i])
            C[k, ll] = s
            C[ll, k] = s
    nrm = 0.0
    for k in range(K):
        nrm += C[k, k]
    if not nrm > 0.0 or not np.isfinite(nrm):
        return np.empty(0)
    for k in range(K):
        for ll in range(K):
            C[k, ll] /= nrm
        C[k, k] += 1e-10
        C[k, K] = 1.0
    for col in range(K):
        piv = col
        for k in range(col + 1, K):
            if abs(C[k, col]) > abs(C[piv, col]):
                piv = k
        if C[piv, col] == 0.0:
            return np.empty(0)
        if piv != col:
            for ll in range(col, K + 1):
                C[col, ll], C[piv, ll] = C[piv, ll], C[col, ll]
        for k in range(col + 1, K):
            f = C[k, col] / C[col, col]
            for ll in range(col, K + 1):
                C[k, ll] -= f * C[col, ll]
    z = np.empty(K)
    for k in range(K - 1, -1, -1):
        s = C[k, K]
        for ll in range(k + 1, K):
            s -= C[k, ll] * z[ll]
        z[k] = s / C[k, k]
    s = 0.0
    for k in range(K):
        s += z[k]
    if not np.isfinite(s) or s == 0.0:
        return np.empty(0)
    for k in range(K):
        z[k] /= s
    return z


# glmnet's active-set cycling (Friedman et al., 2010, sec. 2.6): between full sweeps of the
# working set, epochs visit only its non-zero coordinates.  A full sweep opens every
# _FULL_EVERY-th Anderson cycle.  Measured on the quick benchmark paths (2-core VM, one core):
# sparse lasso 2000x10000 2.73 s -> 2.17 s, dense wide lasso 0.66 s -> 0.51 s (3: 2.16/0.50,
# 10: 2.07/0.43; every value from 3 to 10 is within the noise of the others).
_ACTIVE_CYCLING = True
_FULL_EVERY = 5


@njit(cache=True)
def inner_cd(
    mode,
    X,
    data,
    indices,
    indptr,
    mu,
    v,
    xv,
    m_sv,
    y,
    w,
    r,
    L,
    a,
    b,
    ws,
    positive,
    tol,
    max_epochs,
    anderson_k,
    check_every,
    r_acc,
    acc_flag,
    check_max,
):
    """Coordinate descent on the working set ``ws`` until its duality gap is <= ``tol``.

    ``r`` (raw residual in sparse mode) and ``m_sv`` are updated in place with ``w``.
    When the residual at a rejected Anderson candidate gives the better dual point it is left
    in ``r_acc`` and ``acc_flag[0]`` is set to 1.  The gap is first checked after
    ``check_every`` epochs (rounded up to whole Anderson cycles); each check that fails doubles
    the interval, up to ``check_max`` epochs (``check_max <= check_every``: a fixed interval),
    so a long solve pays O(log) checks and overshoots its tolerance by at most the last
    interval.  Returns ``(n_epochs, gap_on_ws)``.
    """
    n = r.shape[0]
    nws = ws.shape[0]
    K = anderson_k
    # np.empty, not np.zeros, for buffers written before they are read: np.zeros is one more
    # generic implementation to compile per shape (first call, see the module docstring)
    hist = np.empty((K + 1, nws))
    cand = np.empty(nws)
    # no centring term to carry when every column mean is zero (no intercept)
    center = False
    if mode == 1:
        for j in range(mu.shape[0]):
            if mu[j] != 0.0:
                center = True
                break
    n_cycle = 0
    # in Anderson cycles of K + 1 epochs (in epochs when K == 0), rounded up
    # (conditional expressions, not the builtins max/min: each is a generic implementation
    # compiled on the first call)
    cycles_per_check = (check_every + K) // (K + 1)
    cycles_per_check = cycles_per_check if cycles_per_check > 1 else 1
    max_cycles_per_check = (check_max + K) // (K + 1)
    if max_cycles_per_check < cycles_per_check:
        max_cycles_per_check = cycles_per_check
    next_check = cycles_per_check
    acc_flag[0] = 0
    n_hist = 0
    cyc = ws
    n_c = nws
    r_true = np.empty(n)
    us = np.empty(nws)  # the working set's correlations, filled by each gap check
    # keep the residuals of the cycle: the candidate's residual is then sum_k c_k r_k (r is
    # affine in w and sum_k c_k = 1), O(K n) instead of one axpy per changed coordinate, and a
    # rejected candidate costs nothing to undo; with implicit centring the scalars m_sv too.
    # Sparse too: n-vectors are cheap next to a sweep (quick sparse path 1.97 -> 1.43 s,
    # issue-size 22.0 -> 19.7 s, one core; with an intercept, quick 1.47 -> 1.38 s)
    rhist = np.empty((K + 1, n))
    mhist = np.empty((K + 1, 2))
    r_cand = np.empty(n)
    gap = np.inf
    epoch = 0
    active = ws
    active_buf = ws.copy()
    for epoch in range(1, max_epochs + 1):  # noqa: B007
        # active-set cycling (see _FULL_EVERY): a full sweep, then sweeps over the
        # coordinates it left non-zero; the ws gap still certifies every ws coordinate
        full = K == 0 or not _ACTIVE_CYCLING or (n_hist == 0 and n_cycle % _FULL_EVERY == 0)
        sweep = ws if full else active
        if data is None:  # a dense call: the sparse epoch is not compiled (see _DENSE_NONE)
            _epoch_dense(X, r, w, L, a, b, sweep, positive)
        elif mode == 0:
            _epoch_dense(X, r, w, L, a, b, sweep, positive)
        else:
            _epoch_sparse(
                data, indices, indptr, mu, xv, m_sv, center, r, w, L, a, b, sweep, positive, n
            )
        if full and _ACTIVE_CYCLING:
            # into one buffer, a prefix of it: the previous active set is not read after this
            # (cyc takes the new one below), and np.empty(n, ws.dtype) would be one more
            # generic implementation to compile on the first call
            n_act = 0
            for k in range(nws):
                if w[ws[k]] != 0.0:
                    active_buf[n_act] = ws[k]
                    n_act += 1
            active = active_buf[:n_act]
        if K > 0:
            # one Anderson cycle = K + 1 plain CD epochs, whose iterates contain no jump
            if n_hist == 0:
                # after a cycle's first epoch only the active coordinates move: extrapolate
                # those (half the working set or less in the tail of a path)
                cyc = active
                n_c = cyc.shape[0]
            for k in range(n_c):
                hist[n_hist, k] = w[cyc[k]]
            for i in range(n):
                rhist[n_hist, i] = r[i]
            mhist[n_hist, 0] = m_sv[0]
            mhist[n_hist, 1] = m_sv[1]
            n_hist += 1
            if n_hist < K + 1:
                continue
            n_hist = 0
        # (K == 0: every epoch is a cycle, no extrapolation)
        n_cycle += 1
        check = n_cycle >= next_check
        have_cand = False
        if K > 0:
            c = _anderson(hist[:, :n_c], K)
            have_cand = c.shape[0] == K
            if have_cand:
                for k in range(n_c):
                    cand[k] = 0.0
                for kk in range(K):
                    for k in range(n_c):
                        cand[k] += c[kk] * hist[kk + 1, k]
                if positive:
                    for k in range(n_c):
                        if cand[k] < 0.0:
                            have_cand = False
        accepted = False
        if have_cand:
            # primal Anderson extrapolation, kept when it lowers the objective; its residual
            # is the extrapolated residual, the dual extrapolation of Massias et al.
            # with implicit centring the true residual is r + m v, and m, v.r are affine in w
            # too: ||r + m v||^2 = ||r||^2 + 2 m v.r + m^2 v.v
            m0, s0, vv = m_sv[0], m_sv[1], m_sv[2]
            f_old = 2.0 * m0 * s0 + m0 * m0 * vv
            for i in range(n):
                f_old += r[i] * r[i]
            for i in range(n):
                r_cand[i] = 0.0
            m_c = 0.0
            s_c = 0.0
            for kk in range(K):
                ck = c[kk]
                m_c += ck * mhist[kk + 1, 0]
                s_c += ck * mhist[kk + 1, 1]
                for i in range(n):
                    r_cand[i] += ck * rhist[kk + 1, i]
            f_new = 2.0 * m_c * s_c + m_c * m_c * vv
            for i in range(n):
                f_new += r_cand[i] * r_cand[i]
            # the penalty differs on the extrapolated coordinates only
            pen_old = 0.0
            pen_new = 0.0
            for k in range(n_c):
                j = cyc[k]
                pen_old += a[j] * abs(w[j]) + 0.5 * b[j] * w[j] * w[j]
                pen_new += a[j] * abs(cand[k]) + 0.5 * b[j] * cand[k] * cand[k]
            f_old = 0.5 * f_old / n + pen_old
            f_new = 0.5 * f_new / n + pen_new
            if center:
                for i in range(n):
                    r_acc[i] = r_cand[i] + m_c * v[i]
            else:
                _copy(r_cand, r_acc)
            accepted = f_new < f_old
            if accepted:
                for k in range(n_c):
                    w[cyc[k]] = cand[k]
                _copy(r_cand, r)
                m_sv[0], m_sv[1] = m_c, s_c
        if not check:
            continue
        _true_residual(mode, r, v, m_sv, r_true)
        gap = gap_and_correlations(
            mode,
            X,
            data,
            indices,
            indptr,
            mu,
            v,
            y,
            w,
            r_true,
            a,
            b,
            ws,
            positive,
            r_true,
            us,
        )
        acc_flag[0] = 0
        if have_cand and not accepted:
            gap_acc = gap_and_correlations(
                mode,
                X,
                data,
                indices,
                indptr,
                mu,
                v,
                y,
                w,
                r_true,
                a,
                b,
                ws,
                positive,
                r_acc,
                us,
            )
            if gap_acc < gap:
                gap = gap_acc
                acc_flag[0] = 1
        if gap <= tol:
            break
        cycles_per_check = 2 * cycles_per_check
        if cycles_per_check > max_cycles_per_check:
            cycles_per_check = max_cycles_per_check
        next_check = n_cycle + cycles_per_check
    return epoch, gap


@njit(cache=True)
def gram_cd(G, q, yy, w, h, a, b, ws, positive, tol, max_epochs, check_every, anderson_k=5):
    """Coordinate descent on the Gram form ``1/2 w^T G w - q^T w + yy/2``.

    ``G = X^T X / n``, ``q = X^T y / n``, ``yy = ||y||^2 / n``; ``h = q - G w`` is kept in
    place, so one update costs O(p) instead of O(n): the covariance updates that win when
    n >> p.  The gap is computed from ``h`` alone in O(|ws|).  Every ``anderson_k + 1``
    epochs the iterates are Anderson-extrapolated and the result kept if it lowers the
    objective (as in :func:`inner_cd`).  Returns ``(n_epochs, gap_on_ws)``.
    """
    nws = ws.shape[0]
    gap = np.inf
    epoch = 0
    p = G.shape[0]
    K = anderson_k
    hist = np.zeros((K + 1, nws))
    n_hist = 0
    # active-set Newton steps (see _gram_active_newton): tried once the signs of the working
    # set have not changed for `wait` Anderson cycles; a failed try doubles the wait
    signs = np.zeros(nws)
    stable = 0
    wait = 2
    for epoch in range(1, max_epochs + 1):  # noqa: B007
        for k in range(nws):
            j = ws[k]
            Lj = G[j, j]
            if Lj == 0.0:
                continue
            old = w[j]
            new = _prox1d(Lj * old + h[j], a[j], b[j], Lj, positive)
            if new != old:
                d = new - old
                w[j] = new
                # G is symmetric and C-ordered: read row j (contiguous), not column j
                for i in range(p):
                    h[i] -= d * G[j, i]
        if K > 0:
            for k in range(nws):
                hist[n_hist, k] = w[ws[k]]
            n_hist += 1
            if n_hist == K + 1:
                n_hist = 0
                c = _anderson(hist, K)
                if c.shape[0] == K:
                    cand = np.zeros(nws)
                    for kk in range(K):
                        cand += c[kk] * hist[kk + 1]
                    ok = True
                    if positive:
                        for k in range(nws):
                            if cand[k] < 0.0:
                                ok = False
                    if ok:
                        f_old = _gram_obj(q, yy, w, h, a, b, ws)
                        w_old = np.empty(nws)
                        h_old = h.copy()
                        for k in range(nws):
                            w_old[k] = w[ws[k]]
                            d = cand[k] - w_old[k]
                            if d != 0.0:
                                jj = ws[k]
                                for i in range(p):
                                    h[i] -= d * G[jj, i]
                            w[ws[k]] = cand[k]
                        if not _gram_obj(q, yy, w, h, a, b, ws) < f_old:
                            for k in range(nws):
                                w[ws[k]] = w_old[k]
                            h[:] = h_old
                same = True
                for k in range(nws):
                    sk = np.sign(w[ws[k]])
                    if sk != signs[k]:
                        same = False
                        signs[k] = sk
                stable = stable + 1 if same else 0
                if stable >= wait:
                    stable = 0
                    if not _gram_active_newton(G, q, yy, w, h, a, b, ws, signs):
                        wait *= 2
        if epoch % check_every == 0:
            gap = gram_gap(q, yy, w, h, a, b, ws, positive)
            if gap <= tol:
                break
    return epoch, gap


@njit(cache=True)
def _gram_active_newton(G, q, yy, w, h, a, b, ws, signs):
    """Jump to the minimiser on the current orthant face; True if it was taken.

    With the support ``S`` and its signs ``s`` fixed, the objective is the quadratic
    ``1/2 w_S^T G_SS w_S - (q_S - a_S s_S)^T w_S + b_S |w_S|^2 / 2``, minimised by one linear
    solve.  When the solution keeps every sign it is the exact answer if the zero coordinates
    satisfy their KKT conditions (which the gap checks); otherwise the step stops where the
    first coordinate reaches zero, as in an active-set method.  Kept only if the objective
    decreases.  On the ill-conditioned Gram matrices where CD crawls (diabetes
    with degree-3 features: one alpha took 42 000 epochs) this ends the crawl in O(|S|^3).
    """
    m = 0
    for k in range(ws.shape[0]):
        if signs[k] != 0.0:
            m += 1
    if m == 0:
        return False
    S = np.empty(m, dtype=np.int64)
    sg = np.empty(m)
    m = 0
    for k in range(ws.shape[0]):
        if signs[k] != 0.0:
            S[m] = ws[k]
            sg[m] = signs[k]
            m += 1
    A = np.empty((m, m))
    rhs = np.empty(m)
    for r in range(m):
        for c in range(m):
            A[r, c] = G[S[r], S[c]]
        A[r, r] += b[S[r]]
        rhs[r] = q[S[r]] - a[S[r]] * sg[r]
    x = np.linalg.solve(A, rhs)
    # the objective is a convex quadratic on the face: moving from w toward x lowers it all
    # the way to x; stop where the first coordinate reaches zero (it leaves the support)
    t = 1.0
    hit = -1
    for r in range(m):
        if not np.isfinite(x[r]):
            return False
        if x[r] * sg[r] <= 0.0:
            wr = w[S[r]]
            frac = wr / (wr - x[r])
            if frac < t:
                t = frac
                hit = r
    for r in range(m):
        x[r] = w[S[r]] + t * (x[r] - w[S[r]])
    if hit >= 0:
        x[hit] = 0.0
    f_old = _gram_obj(q, yy, w, h, a, b, ws)
    h_old = h.copy()
    w_old = np.empty(m)
    p = G.shape[0]
    for r in range(m):
        j = S[r]
        w_old[r] = w[j]
        d = x[r] - w[j]
        if d != 0.0:
            for i in range(p):
                h[i] -= d * G[j, i]
        w[j] = x[r]
    if _gram_obj(q, yy, w, h, a, b, ws) < f_old:
        return True
    for r in range(m):
        w[S[r]] = w_old[r]
    h[:] = h_old
    return False


@njit(cache=True)
def _gram_obj(q, yy, w, h, a, b, ws):
    """Objective on the working set from the Gram state: ``yy/2 - w.(q + h)/2 + pen``."""
    s = 0.0
    for j in ws:
        s += w[j] * (q[j] + h[j])
    return 0.5 * yy - 0.5 * s + _pen_value(w, a, b, ws)


@njit(cache=True)
def gram_gap(q, yy, w, h, a, b, ws, positive):
    """Duality gap from the Gram state: ``F = yy/2 - w.(q + h)/2``, ``X^T theta = h``."""
    wq = 0.0
    wh = 0.0
    for j in ws:
        wq += w[j] * q[j]
        wh += w[j] * h[j]
    F = 0.5 * yy - 0.5 * (wq + wh)
    primal = F + _pen_value(w, a, b, ws)
    scale = 1.0
    for j in ws:
        if b[j] == 0.0 and a[j] > 0.0:
            val = h[j] if positive else abs(h[j])
            if val / a[j] > scale:
                scale = val / a[j]
    conj = 0.0
    for j in ws:
        u = h[j] / scale
        val = u if positive else abs(u)
        if b[j] > 0.0 and val > a[j]:
            conj += (val - a[j]) ** 2 / (2.0 * b[j])
    # theta = r/n: theta.y = yy - w.q, n/2 ||theta||^2 = F
    dual = (yy - wq) / scale - F / (scale * scale) - conj
    return primal - dual


# Working sets up to this size (dense X, n >= 4 |ws|) solve the Newton model on its Gram
# matrix: an epoch then costs |ws|^2 instead of 2 n |ws|, and ill-conditioned models (the
# correlated breast_cancer features) take a hundred epochs or more per Newton step.
_NEWTON_GRAM_MAX = 128


@njit(cache=True, fastmath=_REASSOC)
def _newton_inner_gram(
    X, g, d, w, delta, q, ws, a, b, positive, center, m, xd, H, db, max_epochs, tol
):
    """:func:`newton_inner` on the Gram matrix of the (D-weighted, centred) working set.

    With the intercept step eliminated the model in ``delta`` has Hessian
    ``Hm = X_ws^T D X_ws - m xd^T`` (``xd = X_ws^T d``, ``m = xd / sum(d)``) and linear term
    ``X_ws^T g - m sum(g)``; its gradient ``grad = lin + Hm delta`` is updated in O(|ws|) per
    coordinate step and ``q = X delta + db`` is formed once at the end.  Same stopping rule
    and result as the direct form.
    """
    n = g.shape[0]
    nws = ws.shape[0]
    Xs = np.empty((nws, n))  # rows sqrt(d_i) x_ij, so that X_ws^T D X_ws = Xs Xs^T (BLAS)
    gsum = 0.0
    for i in range(n):
        gsum += g[i]
    grad = np.empty(nws)
    for k in range(nws):
        j = ws[k]
        s = 0.0
        for i in range(n):
            Xs[k, i] = np.sqrt(d[i]) * X[i, j]
            s += X[i, j] * g[i]
        grad[k] = s - m[k] * gsum if center else s
    Hm = Xs @ Xs.T
    if center:
        for k in range(nws):
            for kk in range(nws):
                Hm[k, kk] -= m[k] * xd[kk]
    for k in range(nws):  # a warm delta enters the gradient
        dk = delta[ws[k]]
        if dk != 0.0:
            for kk in range(nws):
                grad[kk] += Hm[kk, k] * dk
    epoch = 0
    for epoch in range(1, max_epochs + 1):  # noqa: B007
        max_change = 0.0
        max_w = 0.0
        for k in range(nws):
            j = ws[k]
            if H[k] <= 1e-14:
                continue
            old = w[j] + delta[j]
            new = _prox1d(H[k] * old - grad[k], a[j], b[j], H[k], positive)
            if new != old:
                dd = new - old
                delta[j] += dd
                for kk in range(nws):
                    grad[kk] += dd * Hm[kk, k]
                ch = abs(dd) * np.sqrt(H[k])
                if ch > max_change:
                    max_change = ch
            if abs(new) * np.sqrt(H[k]) > max_w:
                max_w = abs(new) * np.sqrt(H[k])
        if max_change <= tol * max(max_w, 1.0):
            break
    s_off = 0.0
    if center:
        s_off = -gsum
        for k in range(nws):
            s_off -= xd[k] * delta[ws[k]]
        s_off /= d.sum()
    _add_X_delta(X, ws, delta, q)
    db[0] = s_off
    return epoch


@njit(cache=True, inline="always")
def _add_X_delta(X, ws, delta, q):
    """``q += X_ws delta_ws`` on a dense design, over the moved coordinates only."""
    for k in range(ws.shape[0]):
        j = ws[k]
        dk = delta[j]
        if dk != 0.0:
            for i in range(X.shape[0]):
                q[i] += dk * X[i, j]


@njit(cache=True, inline="always")
def _model_curvature(mode, X, data, indices, indptr, d, center, dsum, ws, k, H, xd, m):
    """``H[k]``: the model's curvature along working-set column ``k`` (D-weighted, centred).

    ``xd[k] = x_j^T d`` and, with the intercept eliminated, ``m[k] = xd[k] / sum(d)`` and
    ``H[k] = x_j^T D x_j - m[k] xd[k]`` (the centred column's weighted square norm).
    """
    j = ws[k]
    s = 0.0
    t = 0.0
    if mode == 0:
        for i in range(X.shape[0]):
            s += d[i] * X[i, j] * X[i, j]
            t += d[i] * X[i, j]
    else:
        for kk in range(indptr[j], indptr[j + 1]):
            s += d[indices[kk]] * data[kk] * data[kk]
            t += d[indices[kk]] * data[kk]
    xd[k] = t
    if center:
        m[k] = t / dsum
        s -= m[k] * t
    H[k] = max(s, 0.0)


@njit(cache=True, fastmath=_REASSOC)
def newton_inner(
    mode,
    X,
    data,
    indices,
    indptr,
    g,
    d,
    w,
    delta,
    q,
    ws,
    a,
    b,
    positive,
    fit_intercept,
    db,
    max_epochs,
    tol,
    anderson_k,
    X32,
    gx,
):
    """CD on the prox-Newton model ``g.q + 1/2 q.D q + pen(w + delta)``, ``q = X delta + db``.

    ``g`` and ``d`` are the datafit's raw gradient and Hessian diagonal at the current
    predictor (Yuan, Ho & Lin, 2012, "An improved GLMNET for L1-regularized logistic
    regression", JMLR 13).  The intercept step is eliminated exactly, which amounts to
    D-weighted centring of the columns: without it, uncentred features (mean 100, say) make the
    model ill-conditioned and CD crawl.  ``q`` receives ``X delta`` and ``db[0]`` the
    intercept step; both and ``delta`` are updated in place.  Returns the number of epochs.

    Between full sweeps the active coordinates' iterates are Anderson-extrapolated every
    ``anderson_k + 1`` epochs (as :func:`inner_cd` does for least squares), the candidate kept
    when it lowers the model; ``anderson_k=0`` turns it off.

    Mixed precision (dense ``X`` only): given ``X32``, a float32 copy of ``X``, and ``gx``,
    the exact ``X_ws^T g`` in float64, the model's curvature term ``X^T D X delta`` is formed
    from ``X32`` (half the memory traffic of a sweep, which is what a sweep costs) while its
    gradient stays exact.  The Newton step is then that of a Hessian perturbed by ~1e-7
    relative: the fixed point (delta = 0 at the optimum) is unchanged and the outer loop still
    converges, linearly at a rate ~1e-7 near the solution.  ``q`` is recomputed exactly from
    ``delta`` at the end, so the line search sees the true ``X delta``.  An empty ``X32``
    turns it off.
    """
    n = g.shape[0]
    nws = ws.shape[0]
    dsum = d.sum()
    gsum = g.sum()
    center = fit_intercept and dsum > 0.0
    s_off = 0.0
    if center:
        s_off = -gsum / dsum
    H = np.zeros(nws)
    xd = np.zeros(nws)
    m = np.zeros(nws)
    gram = mode == 0 and 4 * nws <= n and nws <= _NEWTON_GRAM_MAX
    if gram:
        for k in range(nws):
            _model_curvature(mode, X, data, indices, indptr, d, center, dsum, ws, k, H, xd, m)
        return _newton_inner_gram(
            X, g, d, w, delta, q, ws, a, b, positive, center, m, xd, H, db, max_epochs, tol
        )
    epoch = 0
    # glmnet's active-set cycling: a full sweep, then sweeps over the coordinates it left
    # non-zero until they converge, then a full sweep to confirm; only a full sweep may
    # stop the loop.  (A periodic full sweep every 5 epochs, as inner_cd does, cost 25% more
    # on the 2000 x 2000 L1-logistic path: 7.3 s -> 5.9 s without it.)
    sweep = np.arange(nws)
    n_sweep = nws
    full = True
    Ka = anderson_k
    hist = np.zeros((Ka + 1, nws))
    qhist = np.zeros((Ka + 1, n))
    cand = np.zeros(nws)
    q_cand = np.empty(n)
    n_hist = 0
    mixed = mode == 0 and X32.shape[1] > 0
    for epoch in range(1, max_epochs + 1):  # noqa: B007
        max_change = 0.0
        max_w = 0.0
        for kk_ in range(n_sweep if not full else nws):
            k = kk_ if full else sweep[kk_]
            j = ws[k]
            if epoch == 1:
                # the curvature in the first sweep, while the column is in cache (a pass of
                # its own over the working set cost ~10% of the L1-logistic path)
                if mixed:
                    _model_curvature(
                        mode, X32, data, indices, indptr, d, center, dsum, ws, k, H, xd, m
                    )
                else:
                    _model_curvature(
                        mode, X, data, indices, indptr, d, center, dsum, ws, k, H, xd, m
                    )
            if H[k] <= 1e-14:
                continue
            s = 0.0
            if mixed:
                s = gx[k]
                for i in range(n):
                    s += X32[i, j] * (d[i] * q[i])
            elif mode == 0:
                for i in range(n):
                    s += X[i, j] * (g[i] + d[i] * q[i])
            else:
                for kk in range(indptr[j], indptr[j + 1]):
                    i = indices[kk]
                    s += data[kk] * (g[i] + d[i] * q[i])
            # the centred column's gradient: sum_i (g_i + d_i q_i) = 0 once db is optimal
            s += s_off * xd[k]
            old = w[j] + delta[j]
            new = _prox1d(H[k] * old - s, a[j], b[j], H[k], positive)
            if new != old:
                dd = new - old
                delta[j] += dd
                if mixed:
                    for i in range(n):
                        q[i] += dd * X32[i, j]
                elif mode == 0:
                    for i in range(n):
                        q[i] += dd * X[i, j]
                else:
                    for kk in range(indptr[j], indptr[j + 1]):
                        q[indices[kk]] += dd * data[kk]
                s_off -= dd * m[k]
                ch = abs(dd) * np.sqrt(H[k])
                if ch > max_change:
                    max_change = ch
            if abs(new) * np.sqrt(H[k]) > max_w:
                max_w = abs(new) * np.sqrt(H[k])
        converged = max_change <= tol * max(max_w, 1.0)
        if converged and full:
            break
        if full:
            n_sweep = 0
            for k in range(nws):
                if w[ws[k]] + delta[ws[k]] != 0.0:
                    sweep[n_sweep] = k
                    n_sweep += 1
            n_hist = 0  # a full sweep breaks the sequence of active-set iterates
        elif Ka > 0 and not converged:
            for kk_ in range(n_sweep):
                hist[n_hist, kk_] = delta[ws[sweep[kk_]]]
            qhist[n_hist, :] = q
            n_hist += 1
            if n_hist == Ka + 1:
                n_hist = 0
                # fmt: off
                s_off = _newton_anderson(
                    g, d, w, delta, q, ws, a, b, positive, center, gsum, dsum, s_off,
                    sweep[:n_sweep], hist[:, :n_sweep], qhist, cand, q_cand, Ka,
                )
                # fmt: on
        full = converged
    if mixed:  # the line search needs the exact X delta
        q[:] = 0.0
        _add_X_delta(X, ws, delta, q)
    db[0] = s_off
    return epoch


@njit(cache=True, fastmath=_REASSOC)
def _model_value(g, d, q, s_off):
    """Smooth part of the prox-Newton model, ``g.(q + s) + 1/2 (q + s).D(q + s)``."""
    f = 0.0
    for i in range(g.shape[0]):
        qi = q[i] + s_off
        f += g[i] * qi + 0.5 * d[i] * qi * qi
    return f


@njit(cache=True, fastmath=_REASSOC)
def _newton_anderson(
    g,
    d,
    w,
    delta,
    q,
    ws,
    a,
    b,
    positive,
    center,
    gsum,
    dsum,
    s_off,
    act,
    hist,
    qhist,
    cand,
    q_cand,
    K,
):
    """Anderson step on the active coordinates of :func:`newton_inner`; returns ``s_off``.

    ``q = X delta`` is affine in ``delta`` and the weights sum to one, so the candidate's
    ``q`` is the same combination of the recorded ones (no pass over X).  The eliminated
    intercept step is recomputed from it: ``s = -(sum g + d.q) / sum d``.  The candidate
    replaces the iterate only when the model's value drops.
    """
    n_c = act.shape[0]
    c = _anderson(hist, K)
    if c.shape[0] != K:
        return s_off
    for k in range(n_c):
        cand[k] = 0.0
    q_cand[:] = 0.0
    for kk in range(K):
        ck = c[kk]
        for k in range(n_c):
            cand[k] += ck * hist[kk + 1, k]
        for i in range(q.shape[0]):
            q_cand[i] += ck * qhist[kk + 1, i]
    pen_old = 0.0
    pen_new = 0.0
    for k in range(n_c):
        j = ws[act[k]]
        old = w[j] + delta[j]
        new = w[j] + cand[k]
        if positive and new < 0.0:
            return s_off
        pen_old += a[j] * abs(old) + 0.5 * b[j] * old * old
        pen_new += a[j] * abs(new) + 0.5 * b[j] * new * new
    s_new = 0.0
    if center:
        dq = 0.0
        for i in range(q.shape[0]):
            dq += d[i] * q_cand[i]
        s_new = -(gsum + dq) / dsum
    if _model_value(g, d, q_cand, s_new) + pen_new >= _model_value(g, d, q, s_off) + pen_old:
        return s_off
    for k in range(n_c):
        delta[ws[act[k]]] = cand[k]
    q[:] = q_cand
    return s_new


# ------------------------------------------------------------------------------- logistic
# Compiled pieces of the prox-Newton outer loop for the Logistic datafit.  In Python they cost
# ~0.3 ms per Newton step (a dozen numpy temporaries each), which dominated small problems
# (breast_cancer: 569 x 30, ~400 Newton steps along a 100-alpha path).


@njit(cache=True, inline="always")
def _log1pexp(m):
    """``log(1 + exp(m))`` without overflow."""
    if m > 0.0:
        return m + np.log1p(np.exp(-m))
    return np.log1p(np.exp(m))


@njit(cache=True, inline="always")
def _expit(m):
    """``1 / (1 + exp(-m))`` without overflow."""
    if m >= 0.0:
        return 1.0 / (1.0 + np.exp(-m))
    e = np.exp(m)
    return e / (1.0 + e)


@njit(cache=True, fastmath=_REASSOC)
def logistic_value(y, c, z, q, t):
    """``sum_i c_i log(1 + exp(-y_i (z_i + t q_i)))``: the datafit along a search direction."""
    s = 0.0
    for i in range(z.shape[0]):
        s += c[i] * _log1pexp(-y[i] * (z[i] + t * q[i]))
    return s


@njit(cache=True)
def logistic_derivatives(y, c, z, g, d):
    """Raw gradient ``g_i = -c_i y_i sigma(-y_i z_i)`` and Hessian ``d_i = c_i s_i (1 - s_i)``."""
    for i in range(z.shape[0]):
        s = _expit(-y[i] * z[i])
        g[i] = -c[i] * y[i] * s
        d[i] = c[i] * s * (1.0 - s)


@njit(cache=True, fastmath=_REASSOC)
def logistic_gap_and_correlations(mode, X, data, indices, indptr, y, c, z, w, a, b, positive, u):
    """Duality gap of the L1/L2 logistic problem at ``w``; ``u`` receives ``X^T theta``.

    ``theta_i = c_i y_i sigma(-y_i z_i)`` (minus the raw gradient) is divided by
    ``s = max(1, max_j |x_j.theta| / a_j)`` over the features with ``b_j = 0``; the dual is
    ``-sum_i c_i (t_i log t_i + (1 - t_i) log(1 - t_i)) - sum_j g_j^*(u_j / s)`` with
    ``t_i = sigma(-y_i z_i) / s`` (Massias et al., 2018).  Every feature must be penalised
    and, with an intercept, ``sum_i theta_i = 0`` must hold (an optimal intercept).
    """
    n = z.shape[0]
    p = w.shape[0]
    sig = np.empty(n)
    theta = np.empty(n)
    primal = 0.0
    for i in range(n):
        m = -y[i] * z[i]
        primal += c[i] * _log1pexp(m)
        sig[i] = _expit(m)
        theta[i] = c[i] * y[i] * sig[i]
    for j in range(p):
        primal += a[j] * abs(w[j]) + 0.5 * b[j] * w[j] * w[j]
    for j in range(p):
        s = 0.0
        if mode == 0:
            for i in range(n):
                s += X[i, j] * theta[i]
        else:
            for kk in range(indptr[j], indptr[j + 1]):
                s += data[kk] * theta[indices[kk]]
        u[j] = s
    scale, conj = _dual_rescaling(u, np.arange(p), a, b, positive)
    dual = -conj
    for i in range(n):
        t = sig[i] / scale
        if t > 0.0:
            dual -= c[i] * t * np.log(t)
        if t < 1.0:
            dual -= c[i] * (1.0 - t) * np.log1p(-t)
    return primal - dual


@njit(cache=True)
def logistic_line_search(y, c, z, q, g, w, delta, a, b, ws, sigma, max_halvings):
    """Armijo backtracking on ``F(z + t q) + pen(w + t delta)``; returns the step ``t``.

    Accepts the first ``t = 2^-k`` with ``f(t) <= f(0) + sigma t (g.q + pen(w + delta) -
    pen(w))``, the sufficient decrease of Tseng & Yun (2009) used by newGLMNET, or with
    ``phi'_+(t) <= 0``, ``phi(t) = f(t) + pen(w + t delta)``: phi is convex, so phi is then
    non-increasing on ``[0, t]`` and ``t`` is at least as good as any step that would pass
    Armijo's test.  The slope is what decides near the optimum, where ``f(t) - f(0)`` is
    below the rounding of ``f(0)`` and Armijo's test fails at every t (the outer loop then
    stalled with the gap at ~1e-10 F(0) on the 500 x 500 L1-logistic path, each Newton step
    taking t ~ 1e-9).  ``delta`` is zero outside ``ws``, so the penalty is summed over
    ``ws`` only.
    """
    pen0 = 0.0
    pen1 = 0.0
    for j in ws:
        pen0 += a[j] * abs(w[j]) + 0.5 * b[j] * w[j] * w[j]
        v = w[j] + delta[j]
        pen1 += a[j] * abs(v) + 0.5 * b[j] * v * v
    gq = 0.0
    for i in range(z.shape[0]):
        gq += g[i] * q[i]
    f0 = logistic_value(y, c, z, q, 0.0) + pen0
    decrease = gq + pen1 - pen0
    t = 1.0
    for _ in range(max_halvings):
        pen_t = 0.0
        for j in ws:
            v = w[j] + t * delta[j]
            pen_t += a[j] * abs(v) + 0.5 * b[j] * v * v
        if logistic_value(y, c, z, q, t) + pen_t <= f0 + sigma * t * decrease:
            break
        if _logistic_slope(y, c, z, q, w, delta, a, b, ws, t) <= 0.0:
            break
        t *= 0.5
    return t


@njit(cache=True, fastmath=_REASSOC)
def _logistic_slope(y, c, z, q, w, delta, a, b, ws, t):
    """Right derivative at ``t`` of ``sum_i c_i log(1 + exp(-y_i (z + t q)_i)) + pen(w + t delta)``.

    Computed from the gradient, not as a difference of objective values: accurate where
    those differences are lost to rounding.
    """
    s = 0.0
    for i in range(z.shape[0]):
        if q[i] != 0.0:
            s -= c[i] * y[i] * _expit(-y[i] * (z[i] + t * q[i])) * q[i]
    for j in ws:
        dj = delta[j]
        if dj == 0.0:
            continue
        v = w[j] + t * dj
        if v > 0.0:
            s += a[j] * dj
        elif v < 0.0:
            s -= a[j] * dj
        else:  # the kink: the right derivative of |v| along dj
            s += a[j] * abs(dj)
        s += b[j] * v * dj
    return s


@njit(cache=True)
def logistic_intercept(y, c, xw, b, max_newton):
    """Minimise ``sum_i c_i log(1 + exp(-y_i (xw_i + b)))`` over ``b`` by Newton's method.

    An optimal intercept makes ``sum_i theta_i = 0``, the dual constraint it imposes.
    """
    for _ in range(max_newton):
        grad = 0.0
        hess = 0.0
        for i in range(xw.shape[0]):
            s = _expit(-y[i] * (xw[i] + b))
            grad -= c[i] * y[i] * s
            hess += c[i] * s * (1.0 - s)
        if abs(grad) < 1e-15 or hess <= 0.0:
            break
        b -= grad / hess
    return b


# ------------------------------------------------------------------------- outer loop
# The outer (working-set) iteration's own work, compiled: in numpy it cost ~110 us per
# iteration at p = 2000 (score temporaries, argpartition, sort), a third of the dense wide
# elastic-net path.


@njit(cache=True, inline="always")
def _kth_smallest(d, k):
    """The ``k``-th smallest entry (from 0) of ``d`` (no NaN), ``d`` left unchanged.

    Quickselect (Hoare, 1961, "Algorithm 65: find", CACM 4(7)) with a median-of-three pivot
    and a three-way partition, so that the many tied scores (the support's -inf, zero
    columns' +inf) are settled in one pass; O(p) expected.  Written out instead of numba's
    ``np.partition``, whose implementation (with its ``np.unique`` of the kth argument) took
    32 s of a 106 s cold compilation on the loaded VM, for a selection done once per
    working-set round.
    """
    buf = np.empty(d.shape[0])
    _copy(d, buf)
    lo = 0
    hi = buf.shape[0] - 1
    while lo < hi:
        x0, x1, x2 = buf[lo], buf[(lo + hi) // 2], buf[hi]
        if x0 > x1:
            x0, x1 = x1, x0
        if x1 > x2:
            x1 = x2
        pivot = x0 if x0 > x1 else x1  # the median of the three
        lt = lo
        i = lo
        gt = hi
        # buf[lo:lt] < pivot, buf[lt:i] == pivot, buf[gt + 1:hi + 1] > pivot
        while i <= gt:
            x = buf[i]
            if x < pivot:
                buf[i] = buf[lt]
                buf[lt] = x
                lt += 1
                i += 1
            elif x > pivot:
                buf[i] = buf[gt]
                buf[gt] = x
                gt -= 1
            else:
                i += 1
        if k < lt:
            hi = lt - 1
        elif k > gt:
            lo = gt + 1
        else:
            return pivot
    return buf[lo]


@njit(cache=True)
def select_working_set(u, w, a, norms, positive, size):
    """Sorted indices of the ``size`` features closest to violating optimality (and ties).

    Celer's score ``(a_j - |x_j.theta|) / ||x_j||`` (``u = X^T theta``; with ``positive`` only
    ``x_j.theta > a_j`` violates, so no absolute value); the support and the unpenalised
    features come first, zero columns last (Massias, Gramfort & Salmon, 2018).  Selection by
    a partition, O(p).
    """
    p = u.shape[0]
    if size >= p:
        out = np.empty(p, dtype=np.int32)
        for j in range(p):
            out[j] = j
        return out
    d = np.empty(p)
    for j in range(p):
        if w[j] != 0.0:
            d[j] = -np.inf
        elif norms[j] == 0.0:
            d[j] = np.inf
        elif a[j] == 0.0:
            d[j] = -np.inf
        else:
            val = u[j] if positive else abs(u[j])
            d[j] = (a[j] - val) / np.sqrt(norms[j])
            if not np.isfinite(d[j]):
                d[j] = -np.inf
    thr = _kth_smallest(d, size - 1)
    # every score within rounding of the threshold is taken too (the set may exceed
    # ``size``): which of two mathematically tied features gets in must not be decided by
    # the order of a floating-point sum, or a weighted problem and its repeated-rows copy
    # (equal scores up to 1e-16) follow different paths and stop at different points
    # (scikit-learn's check_sample_weight_equivalence, rtol 1e-7, failed on that)
    if np.isfinite(thr):
        thr += 1e-9 * abs(thr) + 1e-300
    # one pass in index order, so the result needs no sort: numba's np.sort degenerated on
    # the former "sorted run + ties appended" layout (4.3 ms of a 6 ms call at p = 50 000;
    # issue-size sparse path, 261 calls)
    count = 0
    for j in range(p):
        if d[j] <= thr:
            count += 1
    out = np.empty(count, dtype=np.int32)
    k = 0
    for j in range(p):
        if d[j] <= thr:
            out[k] = j
            k += 1
    return out


@njit(cache=True)
def take_columns(data, indices, indptr, cols):
    """The CSC arrays ``(data, indices, indptr)`` of the columns ``cols``, in that order.

    What ``X[:, cols]`` gives, without scipy's per-call validation and index-dtype handling,
    which took 70 of the 80 us of a 3 000-column copy on the quick sparse lasso (CV paths
    run it at every outer iteration).
    """
    nc = cols.shape[0]
    out_ptr = np.empty(nc + 1, dtype=np.int32)
    out_ptr[0] = 0
    for k in range(nc):
        j = cols[k]
        out_ptr[k + 1] = out_ptr[k] + (indptr[j + 1] - indptr[j])
    nnz = out_ptr[nc]
    out_data = np.empty(nnz)
    out_idx = np.empty(nnz, dtype=np.int32)
    for k in range(nc):
        j = cols[k]
        pos = out_ptr[k]
        for kk in range(indptr[j], indptr[j + 1]):
            out_data[pos] = data[kk]
            out_idx[pos] = indices[kk]
            pos += 1
    return out_data, out_idx, out_ptr


@njit(cache=True, fastmath=_REASSOC)
def residual(mode, X, data, indices, indptr, y, w, r):
    """``r = y - X w`` (raw columns, no centring) over the non-zero coefficients only.

    ``data=None``: a dense call, its CSC branch pruned before typing (see ``_DENSE_NONE``).
    """
    _copy(y, r)
    if data is None:
        _residual_dense(X, w, r)
    elif mode == 0:
        _residual_dense(X, w, r)
    else:
        for j in range(w.shape[0]):
            wj = w[j]
            if wj == 0.0:
                continue
            for k in range(indptr[j], indptr[j + 1]):
                r[indices[k]] -= wj * data[k]


@njit(cache=True, fastmath=_REASSOC, inline="always")
def _residual_dense(X, w, r):
    """``r -= X w`` over the non-zero coefficients of ``w``."""
    for j in range(w.shape[0]):
        wj = w[j]
        if wj == 0.0:
            continue
        for i in range(X.shape[0]):
            r[i] -= wj * X[i, j]
