"""Coordinate descent with working sets, Anderson extrapolation and dual extrapolation.

Least squares: an outer loop computes the full duality gap (with the better of the residual
and the Anderson-extrapolated residual as dual point), ranks features by their distance to
the dual constraint ``(a_j - |x_j^T theta|) / ||x_j||`` and solves the subproblem on a working
set of about twice the support (Massias, Gramfort & Salmon, 2018, Celer, ICML; Bertrand &
Massias, 2021, AISTATS).  When ``n > p`` on dense data the inner solver runs on the Gram
matrix (covariance updates, Friedman et al. 2010).  Logistic: proximal Newton (newGLMNET,
Yuan, Ho & Lin, 2012) with the same working sets and a numba CD on the quadratic model (on
its Gram matrix for small dense working sets); for the Logistic datafit with every feature
penalised the gap, Armijo search and intercept are compiled too.  Multinomial: prox-Newton
with the exact coupled Hessian (CD over feature-class pairs, intercepts eliminated), each step
closed by the exact minimisation over the shift the softmax ignores
(:meth:`CoordinateDescent._solve_multinomial`).
"""

from __future__ import annotations

import numpy as np

from reglab.linear._problem import duality_gap
from reglab.linear._validation import check_positive_int
from reglab.linear.datafits import (
    Logistic,
    Multinomial,
    Quadratic,
    _norm_weights,
    _softmax_rows,
)
from reglab.linear.solvers import _cd_kernels as K
from reglab.linear.solvers import _gram_path as GP
from reglab.linear.solvers import _multinomial_kernels as MK
from reglab.linear.solvers._base import Solver, SolveResult, init_coef

_EMPTY_I = np.zeros(0, dtype=np.int32)
_EMPTY_F = np.zeros(0)
_EMPTY_2D = np.zeros((0, 0), order="F")
_EMPTY_2D32 = np.zeros((0, 0), dtype=np.float32, order="F")
# dense designs of at least this many entries (4 MiB of float64, past the L2 caches) run the
# prox-Newton model's curvature term on a float32 copy (see _cd_kernels.newton_inner); not past
# 2^29 entries (a 2 GiB copy), where the extra memory is the user's to grant (True)
_MIXED_MIN_ENTRIES = 1 << 19
_MIXED_MAX_ENTRIES = 1 << 29
# Working-set gap checks inside inner_cd, in epochs, by mode (0 dense, 1 sparse): the first
# after _CHECK_FIRST, then doubling on each failed check up to _CHECK_MAX. Sparse solves run
# long (1 000s of epochs in the tail of a path) and a check costs two epochs' worth of
# work over the whole working set; doubling to 160 measured (one core): issue-size sparse
# lasso path at tol=1e-6 15.1-15.7 -> 13.6 s, at 1e-5 10.5-11.1 -> 9.8 s; smaller sparse
# paths 0.91 -> 0.88, 0.59 -> 0.49 (tall), 1.58 -> 1.52 (intercept), enet 0.38 -> 0.38 s. A
# fixed 160 tripled the tall and enet paths (overshoot); on dense X doubling was mixed
# (wide lasso 0.83 -> 0.86 s, enet 0.47 -> 0.42 s), so dense keeps a fixed 20.
# Sparse: first check after one Anderson cycle (4 epochs), with the inner tolerance at the
# outer one (see _solve_quadratic): a warm-started alpha along a CV path often needs only a
# few epochs (quick sparse lasso path, one fold, cpu: 20 -> 4 with the tolerance change,
# 0.232 -> 0.217 s at inner 0.5 tol; alone, with 0.3 x gap, 4 cost more outer iterations).
# Sparse doubling capped at 16 epochs since the working-set gap's X^T r runs as one flat loop
# (_cd_kernels._xt_sparse_all, a check now costs about one active epoch), CPU, same minutes:
# issue-size sparse lasso path at tol 1e-6 11.52 -> 11.18 s (intercept: 11.47 -> 9.99 s),
# quick fold path at 1e-6 0.61 -> 0.46 s, quick sparse LassoCV 1.07-1.17 -> 1.00-1.01 s,
# ElasticNetCV 1.66-1.77 -> 1.67-1.69 s.
_CHECK_FIRST = (20, 4)
_CHECK_MAX = (20, 16)


def _use_mixed_precision(setting, dense, fast, n_entries):
    """Whether the prox-Newton model runs its curvature term on a float32 copy of X."""
    if not (dense and fast) or setting is False:
        return False
    return setting is True or _MIXED_MIN_ENTRIES <= n_entries <= _MIXED_MAX_ENTRIES


def _clip_rounding(gap, problem):
    """A gap below zero by no more than rounding of ``F(0)``-sized terms is reported as 0.

    Primal and dual are each of the order of ``F(0)`` and nearly equal at convergence (the
    Gram form even forms the primal as a difference, ``yy/2 - w.(q + h)/2``), so their
    difference carries an absolute error of a few ulps of ``F(0)``.  A larger negative value
    is left as it is: it would be a bug, not rounding.
    """
    if 0.0 > gap >= -64 * np.finfo(np.float64).eps * problem.value_scale():
        return 0.0
    return gap


class CoordinateDescent(Solver):
    """Working-set coordinate descent (numba), for Quadratic and Logistic datafits.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol * F(0)`` (F the datafit at zero coefficients).
    max_iter : int, default=100
        Maximum number of outer (working-set) iterations per solve.
    max_epochs : int, default=50000
        Maximum number of passes over a working set per outer iteration.
    ws_start : int, default=10
        Initial working-set size; it then grows to about twice the support.
    anderson_k : int or None, default=None
        Number of iterates combined by Anderson extrapolation (0 turns it off, primal and
        dual alike).  None: 3 for least squares on sparse X, 5 otherwise (measured, one core:
        issue-size sparse lasso path 16.8-17.4 s with 5, 14.6-15.3 s with 3; with 3 the
        diabetes poly3 path went 0.33 -> 0.50 s and the dense wide lasso at tol=1e-8
        1.58 -> 1.80 s).
    gram : {'auto', True, False}, default='auto'
        Use covariance updates on ``X^T X / n``; 'auto' means dense X with n > p.
    use_working_sets : bool, default=True
        Solve on working sets; False runs CD on every feature (for measurements).
    mixed_precision : {'auto', True, False}, default='auto'
        Logistic (prox-Newton) on dense X: form the quadratic model's curvature term from a
        float32 copy of X, keeping its gradient, the line search and the duality gap in
        float64.  A CD sweep is memory-bound, so this halves its cost; the Newton step is that
        of a Hessian perturbed by ~1e-7 relative, which leaves the solution and the
        certificate unchanged.  'auto': dense X of 2^19 to 2^29 entries with the Logistic
        datafit itself and every feature penalised; the copy costs half of X's memory.
    """

    requires_datafit = ("raw_gradient", "raw_hessian", "dual_value")
    requires_penalty = ("separable_coefficients", "dual_scaling", "conjugate")

    def __init__(
        self,
        *,
        tol=1e-4,
        max_iter=100,
        max_epochs=50000,
        ws_start=10,
        anderson_k=None,
        gram="auto",
        use_working_sets=True,
        mixed_precision="auto",
        verbose=False,
    ):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.max_epochs = check_positive_int(max_epochs, "max_epochs")
        self.ws_start = check_positive_int(ws_start, "ws_start")
        self.anderson_k = (
            anderson_k
            if anderson_k is None
            else check_positive_int(anderson_k, "anderson_k", minimum=0)
        )
        if gram not in ("auto", True, False):
            raise ValueError(f"gram must be 'auto', True or False, got gram={gram!r}")
        self.gram = gram
        if not isinstance(use_working_sets, bool | np.bool_):
            raise TypeError(
                f"use_working_sets must be a bool, got use_working_sets={use_working_sets!r}"
            )
        self.use_working_sets = bool(use_working_sets)
        if mixed_precision not in ("auto", True, False):
            raise ValueError(
                "mixed_precision must be 'auto', True or False, got "
                f"mixed_precision={mixed_precision!r}"
            )
        self.mixed_precision = mixed_precision

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        if problem.n_classes > 1:
            if not isinstance(problem.datafit, Multinomial):
                raise TypeError(
                    "solver CoordinateDescent cannot handle this problem: a vector predictor "
                    f"needs the Multinomial datafit, got {problem.datafit!r}"
                )
            return self._solve_multinomial(problem, penalty, w0, b0)
        if isinstance(problem.datafit, Quadratic):
            use_gram = self.gram is True or (
                self.gram == "auto"
                and not problem.is_sparse
                and problem.n_samples > problem.n_features
            )
            if use_gram and not problem.is_sparse:
                return self._solve_gram(problem, penalty, w0)
            return self._solve_quadratic(problem, penalty, w0)
        return self._solve_newton(problem, penalty, w0, b0)

    # ------------------------------------------------------------------ helpers
    def _anderson_depth(self, problem):
        if self.anderson_k is not None:
            return self.anderson_k
        return 3 if problem.is_sparse and isinstance(problem.datafit, Quadratic) else 5

    def _ws(self, u, w, a, norms, positive, size, p):
        """Working set: the support plus the features closest to violating optimality."""
        if not self.use_working_sets or size >= p:
            return np.arange(p, dtype=np.int32)
        return K.select_working_set(u, w, a, norms, positive, size)

    def _next_size(self, size, ws, w, p, gap, prev_gap):
        new = min(p, max(self.ws_start, 2 * int(np.count_nonzero(w))))
        if gap > 0.5 * prev_gap:  # little progress: the working set misses violators
            new = max(new, min(p, 2 * ws.shape[0]))
        return new

    # --------------------------------------------------------------- quadratic
    def _solve_quadratic(self, problem, penalty, w0):
        X, y = problem.X, problem.y
        n, p = X.shape
        w, _ = init_coef(problem, w0, None)
        a, b = penalty.separable_coefficients(p)
        norms = problem.col_sq_norms()
        L = norms / n
        tol_abs = self._tol_abs(problem)
        if problem.is_sparse:
            mode = 1
            data, indices, indptr = X.data.astype(np.float64, copy=False), X.indices, X.indptr
            if problem.mu is not None:
                mu, v = problem.mu, problem.v
            else:
                mu, v = np.zeros(p), np.zeros(n)
            if "xv" not in problem._cache:  # X^T v, the same at every alpha of a path
                problem._cache["xv"] = np.asarray(X.T @ v).ravel()
            xv = problem._cache["xv"]
            Xd = _EMPTY_2D
        else:
            mode = 0
            Xd = problem.fortran()
            # data=None: the kernels' CSC branches are pruned at compile time (first call)
            data, indices, indptr = K._DENSE_NONE, _EMPTY_I, _EMPTY_I
            mu, v, xv = _EMPTY_F, _EMPTY_F, _EMPTY_F
        # y - X w over the non-zero coefficients only (a warm start along a path is sparse)
        r = np.empty(n)
        K.residual(mode, Xd, data, indices, indptr, y, w, r)
        m_sv = np.array([mu @ w, v @ r, v @ v]) if mode == 1 else np.zeros(3)
        r_acc = np.zeros(n)
        acc_flag = np.zeros(1, dtype=np.int64)
        size = min(p, max(self.ws_start, 2 * int(np.count_nonzero(w))))
        prev_gap = np.inf
        gap = np.inf
        n_iter = 0
        all_pen = bool(np.all(penalty.is_penalized(p)))
        ws_all = np.arange(p, dtype=np.int32)
        u = np.empty(p)
        u_acc = np.empty(p)
        # sparse, warm-started (the next alpha of a path): the first working set is ranked by
        # the correlations X^T theta the previous solve on this problem ended with, and its
        # full gap is skipped; the certificate is the gap after the working-set solve.  Not
        # after a solve that its warm start already certified (the next one likely is too,
        # and its first gap is then all it costs).  Quick sparse 5-fold CV, 600/1600 solves:
        # lasso 1343 -> 742 full gaps (570 inner solves both), elastic net 2988 -> 2152
        # (1102 -> 1152 inner solves).
        u_prev, prev_immediate = problem._cache.get("sparse_u", (None, True))
        if not (mode == 1 and all_pen):
            u_prev = None
        skip_first = (
            w0 is not None and u_prev is not None and not prev_immediate and self.max_iter > 1
        )
        have_u = False
        first_epochs = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 (read after the loop)
            if n_iter > 1:
                # fresh residual: the certificate must not inherit the drift of CD's updates
                K.residual(mode, Xd, data, indices, indptr, y, w, r)
                if mode == 1:
                    m_sv[:] = (mu @ w, v @ r, v @ v)
            r_true = r + m_sv[0] * v if mode == 1 else r
            skip = skip_first and n_iter == 1
            if skip:
                gap = np.inf  # the inner tolerance is then tol_abs
            elif all_pen:
                # one compiled pass: X^T theta for the ranking and the gap, the primal from r
                gap = K.gap_and_correlations(
                    *(mode, Xd, data, indices, indptr, mu, v, y, w, r_true, a, b, ws_all),
                    *(penalty.positive, r_true, u),
                )
                have_u = True
                # the extrapolated dual point only when the residual's does not certify
                if acc_flag[0] and not (mode == 1 and gap <= tol_abs):
                    gap = min(
                        gap,
                        K.gap_and_correlations(
                            *(mode, Xd, data, indices, indptr, mu, v, y, w, r_true, a, b),
                            *(ws_all, penalty.positive, r_acc, u_acc),
                        ),
                    )
            else:
                thetas = [r_true / n] + ([r_acc / n] if acc_flag[0] else [])
                gap = min(duality_gap(problem, penalty, w, 0.0, theta=th)[0] for th in thetas)
                u = problem.rmatvec(r_true / n)
            if not skip and (gap <= tol_abs or not np.isfinite(gap)):
                break
            ws = self._ws(u_prev if skip else u, w, a, norms, penalty.positive, size, p)
            compact = mode == 1 and ws.shape[0] < p
            if compact:
                # the working set's columns copied next to each other: CD sweeps then walk
                # the CSC arrays contiguously (issue-size sparse path 17.4-19.5 -> 16.3 s,
                # one core; the copy is O(nnz) per outer iteration, against ~100s of epochs)
                cols = K.take_columns(data, indices, indptr, ws)
                wc = w[ws]
                ws_args = (mu[ws], v, xv[ws], m_sv, y, wc, r, L[ws], a[ws], b[ws])
                ws_inner = np.arange(ws.shape[0], dtype=np.int32)
            else:
                wc, cols = w, (data, indices, indptr)
                ws_args = (mu, v, xv, m_sv, y, w, r, L, a, b)
                ws_inner = ws
            n_ep, _ = K.inner_cd(
                mode,
                Xd,
                *cols,
                *ws_args,
                ws_inner,
                penalty.positive,
                # sparse: the working set solved to the outer tolerance itself, not to 0.3 x
                # the current gap, so that a good working set ends its alpha in one outer
                # iteration (quick sparse lasso path, one fold, cpu: 245 -> 191 outer
                # iterations, 0.258 -> 0.171 s with _CHECK_FIRST 4; see _CHECK_FIRST)
                min(0.3 * gap, tol_abs) if mode == 1 else 0.3 * gap,
                self.max_epochs,
                self._anderson_depth(problem),
                # working-set gap every 4th Anderson cycle (24 epochs; for sparse X growing,
                # see _CHECK_MAX): checking every 2nd
                # stopped inner solves early and paid for more outer iterations (quick
                # benchmark paths, one core: enet 0.12 -> 0.10 s, lasso 0.49 -> 0.45 s,
                # sparse 2.2 -> 1.85 s)
                _CHECK_FIRST[mode],
                r_acc,
                acc_flag,
                _CHECK_MAX[mode],
            )
            if compact:
                w[ws] = wc
            first_epochs = n_ep if n_iter == 1 else first_epochs
            # skglm/celer rule: twice the support (at least ws_start); doubled on stagnation
            size = self._next_size(size, ws, w, p, gap, prev_gap)
            prev_gap = gap
        if mode == 1 and have_u:
            # "immediate": certified at its warm start, or (skipped) after one inner check
            quick = skip_first and n_iter == 2 and first_epochs <= _CHECK_FIRST[1]
            problem._cache["sparse_u"] = (u, n_iter == 1 or quick)
        return self._finish(w, 0.0, _clip_rounding(gap, problem), n_iter, tol_abs)

    def _solve_gram(self, problem, penalty, w0):
        p = problem.n_features
        # X^T X by one symmetric rank-k update (dsyrk, half a matrix product), cached
        G, q, yy = GP.problem_gram(problem)
        w, _ = init_coef(problem, w0, None)
        a, b = penalty.separable_coefficients(p)
        tol_abs = self._tol_abs(problem)
        h = q - G @ w
        unpen = ~penalty.is_penalized(p)
        if not np.any(unpen):
            # the outer loop compiled (GP.gram_solve): ~0.3 ms of Python per solve was more
            # than the solve itself on 5000 x 200 (600 solves in a 5-fold LassoCV)
            gap, n_iter = GP.gram_solve(
                *(G, q, float(yy), w, h, a, b, np.diag(G).copy(), bool(penalty.positive)),
                *(float(tol_abs), self.max_iter, self.max_epochs, self.ws_start),
                *(self._anderson_depth(problem), self.use_working_sets),
            )
            return self._finish(w, 0.0, _clip_rounding(gap, problem), n_iter, tol_abs)

        # dual feasibility needs x_j^T theta = 0 on unpenalised features: the general gap
        def gap_fn():
            return duality_gap(problem, penalty, w, 0.0)[0]

        norms = np.diag(G).copy()
        size = min(p, max(self.ws_start, 2 * int(np.count_nonzero(w))))
        prev_gap = np.inf
        gap = np.inf
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 (read after the loop)
            gap = gap_fn()
            if gap <= tol_abs or not np.isfinite(gap):
                break
            ws = self._ws(h, w, a, norms, penalty.positive, size, p)
            K.gram_cd(
                G,
                q,
                yy,
                w,
                h,
                a,
                b,
                ws,
                penalty.positive,
                0.3 * gap,
                self.max_epochs,
                10,
                self._anderson_depth(problem),
            )
            size = self._next_size(size, ws, w, p, gap, prev_gap)
            prev_gap = gap
        return self._finish(w, 0.0, _clip_rounding(gap, problem), n_iter, tol_abs)

    # ---------------------------------------------------------------- logistic
    def _solve_newton(self, problem, penalty, w0, b0):
        X, y, df, sw = problem.X, problem.y, problem.datafit, problem.sample_weight
        n, p = X.shape
        w, b = init_coef(problem, w0, b0)
        a, bq = penalty.separable_coefficients(p)
        norms = problem.col_sq_norms()
        tol_abs = self._tol_abs(problem)
        if problem.is_sparse:
            mode, Xd = 1, _EMPTY_2D
            data, indices, indptr = X.data.astype(np.float64, copy=False), X.indices, X.indptr
        else:
            mode = 0
            Xd = problem.fortran()
            data, indices, indptr = _EMPTY_F, _EMPTY_I, _EMPTY_I
        # the Logistic datafit itself (not a subclass, whose overrides the kernels would
        # ignore) with every feature penalised runs the outer loop's gap, line search and
        # intercept in compiled code; any other datafit through its own methods
        fast = type(df) is Logistic and bool(np.all(penalty.is_penalized(p)))
        # the float32 model needs the exact X^T g, which the compiled gap leaves in u
        mixed = _use_mixed_precision(self.mixed_precision, mode == 0, fast, n * p)
        X32 = problem.fortran_float32() if mixed else _EMPTY_2D32
        c = _norm_weights(sw, n)
        u = np.empty(p)
        g = np.empty(n)
        d = np.empty(n)

        def intercept(xw, b):
            if fast:
                return K.logistic_intercept(y, c, xw, float(b), 50)
            return problem.optimal_intercept(xw, b)

        Xw = np.asarray(X @ w)
        if problem.explicit_intercept:
            b = intercept(Xw, b)
        size = min(p, max(self.ws_start, 2 * int(np.count_nonzero(w))))
        prev_gap = np.inf
        gap = np.inf
        n_iter = 0
        # the inner CD stops on a relative change below inner_tol, tightened 10x per Newton
        # step; a warm start (along a path) is close to its answer, so its first Newton step
        # is worth solving accurately: fewer outer steps of gap and line search
        inner_tol = 0.1 if w0 is None else 1e-4
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 (read after the loop)
            z = Xw + b
            if fast:
                gap = K.logistic_gap_and_correlations(
                    mode, Xd, data, indices, indptr, y, c, z, w, a, bq, penalty.positive, u
                )
            else:
                theta = -df.raw_gradient(y, z, sw)
                gap, _ = duality_gap(problem, penalty, w, b, theta=theta)
                u = problem.rmatvec(theta)
            if gap <= tol_abs or not np.isfinite(gap):
                break
            ws = self._ws(u, w, a, norms, penalty.positive, size, p)
            if fast:
                K.logistic_derivatives(y, c, z, g, d)
            else:
                g = df.raw_gradient(y, z, sw)
                d = df.raw_hessian(y, z, sw)
            delta = np.zeros(p)
            q = np.zeros(n)
            db = np.zeros(1)
            gx = -u[ws] if mixed else _EMPTY_F  # u = X^T theta = -X^T g
            K.newton_inner(
                *(mode, Xd, data, indices, indptr, g, d, w, delta, q, ws, a, bq),
                *(penalty.positive, problem.explicit_intercept, db, 200, inner_tol),
                *(self._anderson_depth(problem), X32, gx),
            )
            q += db[0]
            # backtracking line search on the full objective (Armijo, sigma = 0.01)
            if fast:
                t = K.logistic_line_search(y, c, z, q, g, w, delta, a, bq, ws, 0.01, 30)
            else:
                t = self._line_search(problem, penalty, z, q, g, w, delta)
            w = w + t * delta
            Xw = Xw + t * (q - db[0])
            b = b + t * db[0]
            if problem.explicit_intercept:
                b = intercept(Xw, b)
            inner_tol = max(inner_tol * 0.1, 1e-13)
            size = self._next_size(size, ws, w, p, gap, prev_gap)
            prev_gap = gap
        return self._finish(w, b, _clip_rounding(gap, problem), n_iter, tol_abs)

    # ------------------------------------------------------------- multinomial
    def _solve_multinomial(self, problem, penalty, w0, b0):
        """Proximal Newton with the coupled multinomial Hessian, on working sets of features.

        Each outer iteration forms the quadratic model of the multinomial datafit at the
        current scores with its exact ``K x K``-per-sample Hessian and minimises it (plus the
        penalty) by coordinate descent over (feature, class) pairs and the intercept block
        (:func:`_multinomial_kernels.multinomial_newton_inner`), then takes an Armijo step on
        the full objective (Lee, Sun & Saunders, 2014, SIAM J. Optim. 24(3)).  The inner
        tolerance tightens 10x per step, so the outer iterations converge superlinearly.
        The previous class-at-a-time scheme (glmnet's, Friedman, Hastie & Tibshirani, 2010,
        JSS 33(1), section 4: each class with its diagonal Hessian) converged linearly
        across cycles: scikit-learn's digits with L1 at ``C=1`` was still above ``tol=1e-4``
        after 100 cycles (2.96 s) on the 2-core VM.

        Working sets (Massias, Gramfort & Salmon, 2018) rank features by the celer score of
        their largest class correlation ``max_k |x_j^T theta_k|``.  A CD step cannot move a
        feature's coefficients of all classes together, a direction the loss ignores
        (softmax is invariant to ``w_j. + t``) but the penalty does not: each outer
        iteration ends with the exact minimisation over that shift,
        ``argmin_t sum_k a_j |w_jk - t| + b_j/2 (w_jk - t)^2`` (the median for L1).  The gap
        is computed at the start of every outer iteration, with the intercept re-solved
        exactly so that the dual constraint it imposes holds.
        """
        X, y, df, sw = problem.X, problem.y, problem.datafit, problem.sample_weight
        n, p = X.shape
        Kc = problem.n_classes
        W, B = init_coef(problem, w0, b0)
        W = np.array(W, dtype=np.float64)
        B = np.array(B, dtype=np.float64)
        a, bq = penalty.separable_coefficients(p)
        norms = problem.col_sq_norms()
        tol_abs = self._tol_abs(problem)
        if problem.is_sparse:
            mode, Xd = 1, _EMPTY_2D
            data, indices, indptr = X.data.astype(np.float64, copy=False), X.indices, X.indptr
        else:
            mode = 0
            Xd = problem.fortran()
            data, indices, indptr = _EMPTY_F, _EMPTY_I, _EMPTY_I
        c = _norm_weights(sw, n)
        onehot = Multinomial._onehot(y, Kc)
        every_penalised = bool(np.all(penalty.is_penalized(p)))
        inner_tol = 0.1 if w0 is None else 1e-4
        Z = np.asarray(problem.matvec(W)) + B
        size = min(p, max(self.ws_start, 2 * int(np.count_nonzero(np.any(W != 0, axis=1)))))
        prev_gap = np.inf
        gap = np.inf
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):  # noqa: B007 (read after the loop)
            if problem.explicit_intercept:
                B_cert = problem.optimal_intercept(Z - B, B)
                Z = Z + (B_cert - B)
                B = B_cert
            P = _softmax_rows(Z)
            G = c[:, None] * (P - onehot)
            U = np.asarray(problem.rmatvec(G))  # X^T G = -X^T theta, (p, K)
            if every_penalised:
                # the certificate of duality_gap from the scores and correlations at hand
                # (it would form X W and X^T theta again: two of the four passes over X of
                # an outer iteration, 90 ms on the 5000 x 1000 10-class path)
                scale = max(1.0, penalty.dual_scaling(-U))
                primal = df.value(y, Z, sw) + penalty.value(W)
                dual = df.dual_value(y, -G / scale, sw) - penalty.conjugate(-U / scale)
                gap = float(primal - dual)
            else:
                gap = duality_gap(problem, penalty, W, B)[0]
            if gap <= tol_abs or not np.isfinite(gap):
                break
            if penalty.positive:
                u = np.max(-U, axis=1)
            else:
                u = np.max(np.abs(U), axis=1)
            w_any = _row_max_abs(W)
            ws = self._ws(u, w_any, a, norms, penalty.positive, size, p)
            Delta = np.zeros((p, Kc))
            Qt = np.zeros((Kc, n))
            db = np.zeros(Kc)
            Xws = X[:, ws] if problem.is_sparse else Xd[:, ws]
            H, N, R, Minv = MK.multinomial_model_curvatures(Xws, P, c, problem.explicit_intercept)
            MK.multinomial_newton_inner(
                *(mode, Xd, data, indices, indptr, np.ascontiguousarray(G.T)),
                *(np.ascontiguousarray(P.T), c, W, Delta, Qt, ws, a, bq, penalty.positive),
                *(H, N, R, Minv, db, 200, inner_tol, self._anderson_depth(problem)),
            )
            Q = Qt.T
            f0 = df.value(y, Z, sw) + penalty.value(W)
            decrease = float(np.sum(G * Q)) + penalty.value(W + Delta) - penalty.value(W)
            t = 1.0
            for _ in range(30):  # Armijo, sigma = 0.01, on the full objective
                Wt = W + t * Delta
                Zt = Z + t * Q
                if df.value(y, Zt, sw) + penalty.value(Wt) <= f0 + 0.01 * t * decrease:
                    break
                t *= 0.5
            W, Z, B = Wt, Zt, B + t * db
            if not penalty.positive:
                shift = _best_common_shift(W, a, bq)
                moved = np.flatnonzero(shift)
                if moved.size:
                    W = W - shift[:, None]
                    if moved.size < p // 4 and not problem.is_sparse:
                        # only the shifted columns: X[:, moved] @ shift[moved]
                        Z = Z - (Xd[:, moved] @ shift[moved])[:, None]
                    else:
                        Z = Z - np.asarray(problem.matvec(shift))[:, None]
            inner_tol = max(inner_tol * 0.1, 1e-13)
            size = self._next_size(size, ws, _row_max_abs(W), p, gap, prev_gap)
            prev_gap = gap
        return self._finish(W, B, _clip_rounding(gap, problem), n_iter, tol_abs)

    @staticmethod
    def _line_search(problem, penalty, z, q, g, w, delta, sigma=0.01, max_halvings=30):
        """Armijo backtracking on the full objective through the datafit's own methods.

        As :func:`_cd_kernels.logistic_line_search`: a step whose right slope is <= 0 is
        accepted too (convexity makes it at least as good as an Armijo step), which is what
        decides once objective differences are below rounding.
        """
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        pen0 = penalty.value(w)
        f0 = df.value(y, z, sw) + pen0
        decrease = g @ q + penalty.value(w + delta) - pen0
        a, b = penalty.separable_coefficients(w.shape[0])
        t = 1.0
        for _ in range(max_halvings):
            wt = w + t * delta
            if df.value(y, z + t * q, sw) + penalty.value(wt) <= f0 + sigma * t * decrease:
                break
            # right derivative of pen(w + t delta): sign(wt) at non-zeros, |delta| at kinks
            slope_pen = np.sum(np.where(wt != 0, np.sign(wt) * delta, np.abs(delta)) * a)
            slope = df.raw_gradient(y, z + t * q, sw) @ q + slope_pen + np.sum(b * wt * delta)
            if slope <= 0.0:
                break
            t *= 0.5
        return t


def _row_max_abs(W):
    """Per feature, the largest absolute coefficient over the classes (0: feature unused)."""
    return np.max(np.abs(W), axis=1)


def _best_common_shift(W, a, b):
    """Per feature j, ``argmin_t sum_k a_j |w_jk - t| + b_j/2 (w_jk - t)^2`` (0 if unpenalised).

    The objective is convex piecewise quadratic in ``t`` with breakpoints at the ``w_jk``; on
    the piece with ``m`` of them below ``t`` its stationary point is
    ``mean_k w_jk - a_j (2m - K) / (K b_j)``.  Every breakpoint and every piece's stationary
    point (clipped into the piece) is evaluated and the best kept: O(p K^2), vectorised.
    """
    p, Kc = W.shape
    Ws = np.sort(W, axis=1)
    m = np.arange(Kc + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cm = W.mean(axis=1)[:, None] - a[:, None] * (2 * m[None, :] - Kc) / (Kc * b[:, None])
    lo = np.concatenate([np.full((p, 1), -np.inf), Ws], axis=1)
    hi = np.concatenate([Ws, np.full((p, 1), np.inf)], axis=1)
    cm = np.clip(cm, lo, hi)
    cm[~np.isfinite(cm)] = Ws[:, :1].repeat(Kc + 1, axis=1)[~np.isfinite(cm)]
    cand = np.concatenate([Ws, cm], axis=1)
    D = W[:, None, :] - cand[:, :, None]
    h = a[:, None] * np.abs(D).sum(axis=2) + 0.5 * b[:, None] * (D**2).sum(axis=2)
    best = cand[np.arange(p), np.argmin(h, axis=1)]
    best[(a == 0) & (b == 0)] = 0.0
    return best
