"""L-BFGS for smooth penalised GLMs: logistic and multinomial with an L2 penalty or none.

The objective ``F(Xw + b) + 1/2 sum_j b_j w_j^2`` (``b_j = alpha c_j``) is smooth, so a
quasi-Newton method converges superlinearly where proximal gradient (FISTA) is linear with a
rate set by the condition number: on iris, multinomial with ``C=1`` reaches a relative gap
of 1e-10 in ~40 L-BFGS iterations, where FISTA needed thousands.  scipy's L-BFGS-B
(Byrd, Lu, Nocedal & Zhu, 1995, SIAM J. Sci. Comput. 16(5); Liu & Nocedal, 1989) runs on the
centred, column-scaled reparametrisation of :class:`~reglab.linear.solvers.fista._Reparam`
(exact, so the objective is unchanged) with the loss and its gradient from one pass over
``Z = Xw + b``; its own stopping rules are switched off (``gtol = ftol = 0``): it stops on the
duality gap ``<= tol * F(0)``, checked every ``check_every`` iterations, like every solver
here.  ``positive=True`` becomes the bound ``w >= 0`` of L-BFGS-B.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from reglab.linear._problem import duality_gap
from reglab.linear._validation import check_positive_int
from reglab.linear.datafits import Logistic, Multinomial, _logsumexp_rows, _norm_weights
from reglab.linear.solvers._base import Solver, SolveResult, init_coef
from reglab.linear.solvers.fista import _Reparam


def _loss_and_raw_gradient(df, y, Z, sw, onehot):
    """Datafit value and its derivative in ``Z`` from one evaluation of the softmax/sigmoid."""
    c = _norm_weights(sw, len(y))
    if type(df) is Multinomial:
        lse = _logsumexp_rows(Z)
        value = float(c @ (lse - np.sum(Z * onehot, axis=1)))
        G = np.exp(Z - lse[:, None])
        G -= onehot
        G *= c[:, None]
        return value, G
    if type(df) is Logistic:
        yz = y * Z
        return float(-c @ log_expit(yz)), -c * y * expit(-yz)
    return df.value(y, Z, sw), df.raw_gradient(y, Z, sw)


class LBFGS(Solver):
    """Limited-memory BFGS for smooth penalties (L2 or none) and any smooth datafit.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol * F(0)``.
    max_iter : int, default=1000
        Maximum number of L-BFGS iterations (as scikit-learn's ``lbfgs`` solver).
    memory : int, default=20
        Number of correction pairs kept (``maxcor``).
    check_every : int, default=5
        Compute the duality gap every this many iterations.
    """

    requires_datafit = ("raw_gradient", "dual_value", "value")
    requires_penalty = ("separable_coefficients", "conjugate", "dual_scaling")

    def __init__(self, *, tol=1e-4, max_iter=1000, memory=20, check_every=5, verbose=False):
        super().__init__(tol=tol, max_iter=max_iter, verbose=verbose)
        self.memory = check_positive_int(memory, "memory")
        if self.memory > 10_000:  # L-BFGS-B stores 2 * memory vectors of the problem's size
            raise ValueError(f"memory must be <= 10000 correction pairs, got memory={memory!r}")
        self.check_every = check_positive_int(check_every, "check_every")

    def check(self, datafit, penalty) -> None:
        super().check(datafit, penalty)
        if getattr(penalty, "alpha", 0.0) > 0 and getattr(penalty, "_rho", 1.0) > 0:
            raise TypeError(
                f"solver LBFGS cannot handle this problem: it needs a smooth penalty (L2 or "
                f"alpha=0), got {penalty!r} with an L1 part; use CoordinateDescent or FISTA"
            )

    def _certificate(self, problem, penalty, w, b):
        if problem.explicit_intercept:
            b = problem.optimal_intercept(problem.matvec(w), b)
        return duality_gap(problem, penalty, w, b)[0], b

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        K = problem.n_classes
        p = problem.n_features
        op = _Reparam(problem)
        _, bq = penalty.separable_coefficients(p)
        bq = bq / op.s**2
        if K > 1:
            bq = bq[:, None]
        onehot = Multinomial._onehot(y, K) if K > 1 else None
        tol_abs = self._tol_abs(problem)
        w, b = init_coef(problem, w0, b0)
        gap, b_cert = self._certificate(problem, penalty, w, b)
        if gap <= tol_abs:
            return self._finish(w, b_cert, gap, 0, tol_abs)
        wt, bt = op.from_original(w, b_cert)
        shape = wt.shape
        n_w = wt.size
        fit_b = problem.explicit_intercept

        def unpack(x):
            wt = x[:n_w].reshape(shape)
            bt = (x[n_w:] if K > 1 else float(x[n_w])) if fit_b else (np.zeros(K) if K > 1 else 0.0)
            return wt, bt

        def fun(x):
            wt, bt = unpack(x)
            value, G = _loss_and_raw_gradient(df, y, op.matvec(wt) + bt, sw, onehot)
            gw = op.rmatvec(G) + bq * wt
            value += 0.5 * float(np.sum(bq * wt * wt))
            if fit_b:
                return value, np.concatenate([gw.ravel(), np.atleast_1d(G.sum(axis=0))])
            return value, gw.ravel()

        state = {"gap": gap, "w": w, "b": b_cert, "it": 0}

        def callback(intermediate_result):
            state["it"] += 1
            if state["it"] % self.check_every:
                return
            w, b = op.to_original(*unpack(intermediate_result.x))
            gap, b = self._certificate(problem, penalty, w, b)
            if gap < state["gap"]:
                state.update(gap=gap, w=w, b=b)
            if gap <= tol_abs or not np.isfinite(gap):
                raise StopIteration

        x0 = np.concatenate([wt.ravel(), np.atleast_1d(bt)]) if fit_b else wt.ravel()
        bounds = None
        if penalty.positive:
            bounds = [(0.0, None)] * n_w + [(None, None)] * (x0.size - n_w)
        res = minimize(
            fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            callback=callback,
            options={
                "maxiter": self.max_iter,
                "maxfun": 20 * self.max_iter + 20,
                "maxcor": self.memory,
                "gtol": 0.0,
                "ftol": 0.0,
                "maxls": 50,
            },
        )
        n_iter = max(int(res.nit), state["it"], 1)
        if state["gap"] > tol_abs:
            # the last iterate (stopped by max_iter or a line-search failure at rounding level)
            w, b = op.to_original(*unpack(res.x))
            gap, b = self._certificate(problem, penalty, w, b)
            if gap < state["gap"]:
                state.update(gap=gap, w=w, b=b)
        return self._finish(
            state["w"], state["b"], state["gap"], min(n_iter, self.max_iter), tol_abs
        )


class NewtonCG(LBFGS):
    """Inexact Newton (truncated conjugate gradient) for smooth penalties (L2 or none).

    Each iteration solves ``H d = -g`` by conjugate gradient with Hessian-vector products
    (two passes over ``X``, never forming ``H``) to the forcing tolerance
    ``min(0.5, sqrt(||g||)) ||g||`` (Eisenstat & Walker, 1996; Nocedal & Wright, 2006,
    Alg. 7.1), then backtracks on the objective (Armijo).  Locally superlinear: where
    L-BFGS needs hundreds of iterations on near-separable multinomial data (digits: 355 to a
    relative gap of 1e-4), Newton-CG needs ~10-20 outer iterations, so the default
    ``max_iter=100`` of scikit-learn's estimators is reached with room to spare.  The
    multinomial Hessian-vector product is ``X^T [c (P * XV - P rowsum(P * XV))] + Lambda V``.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when the duality gap is <= ``tol * F(0)`` (checked every Newton iteration).
    max_iter : int, default=100
        Maximum number of Newton iterations (scikit-learn's ``newton-cg`` counts the same).
    max_cg : int, default=250
        Maximum conjugate-gradient iterations per Newton step.
    """

    def __init__(self, *, tol=1e-4, max_iter=100, max_cg=250, verbose=False):
        Solver.__init__(self, tol=tol, max_iter=max_iter, verbose=verbose)
        self.max_cg = check_positive_int(max_cg, "max_cg")

    def solve(self, problem, penalty, w0=None, b0=None) -> SolveResult:
        self.check(problem.datafit, penalty)
        if penalty.positive:
            raise TypeError(
                "solver NewtonCG cannot handle positive=True (no bound constraints); use LBFGS"
            )
        df, y, sw = problem.datafit, problem.y, problem.sample_weight
        K = problem.n_classes
        op = _Reparam(problem)
        _, bq = penalty.separable_coefficients(problem.n_features)
        bq = bq / op.s**2
        if K > 1:
            bq = bq[:, None]
        onehot = Multinomial._onehot(y, K) if K > 1 else None
        c = _norm_weights(sw, len(y))
        fit_b = problem.explicit_intercept
        tol_abs = self._tol_abs(problem)
        w, b = init_coef(problem, w0, b0)
        gap, b = self._certificate(problem, penalty, w, b)
        best = (gap, w, b)
        wt, bt = op.from_original(w, b)
        zero_b = np.zeros(K) if K > 1 else 0.0

        def objective(wt, bt):
            Z = op.matvec(wt) + bt
            value, G = _loss_and_raw_gradient(df, y, Z, sw, onehot)
            return value + 0.5 * float(np.sum(bq * wt * wt)), Z, G

        def dot(u, v):
            # vdot: no temporary and no ufunc-reduce dispatch (a third of the CG loop's time
            # on digits' L2 path went to np.sum of products)
            return float(np.vdot(u[0], v[0]) + np.vdot(u[1], v[1]))

        # A smoothness constant of the objective in the reparametrised variables, from the
        # trace bound lambda_max(X~^T diag(c) X~) <= tr = p (unit weighted column scales),
        # + 1 for the intercept: any x has f(x) - f* >= ||grad f(x)||^2 / (2 L), and the gap
        # bounds f(x) - f*, so while ||grad||^2 > 2 L tol F(0) the certificate cannot pass and
        # is not computed (a third of a Newton-CG fit on digits was certificates)
        smooth_L = df.hessian_bound * (problem.n_features + float(fit_b)) + float(
            np.max(bq, initial=0.0)
        )

        def gradient(wt, G):
            return (op.rmatvec(G) + bq * wt, G.sum(axis=0) if fit_b else zero_b)

        f, Z, G = objective(wt, bt)
        g_next = None
        n_iter = 0
        while best[0] > tol_abs and n_iter < self.max_iter and np.isfinite(best[0]):
            n_iter += 1
            g = gradient(wt, G) if g_next is None else g_next
            if K > 1:
                P = G / np.where(c > 0, c, 1.0)[:, None] + onehot

                cP = c[:, None] * P

                def hessp(v, P=P, cP=cP):
                    ZV = op.matvec(v[0])
                    if fit_b:
                        ZV += v[1]
                    # c_i (p_i * zv_i - p_i (p_i . zv_i)), in place
                    rowdot = np.einsum("ik,ik->i", P, ZV)
                    ZV -= rowdot[:, None]
                    ZV *= cP
                    return op.rmatvec(ZV) + bq * v[0], (ZV.sum(axis=0) if fit_b else zero_b)

                D = c[:, None] * P * (1.0 - P)
            else:
                s = expit(Z)
                d = c * s * (1.0 - s)

                def hessp(v, d=d):
                    R = d * (op.matvec(v[0]) + (v[1] if fit_b else 0.0))
                    return op.rmatvec(R) + bq * v[0], (float(R.sum()) if fit_b else 0.0)

                D = d

            # truncated CG on H x = -g, preconditioned by the Hessian's diagonal (Jacobi):
            # the curvature of a class's coefficients scales with c p_k (1 - p_k), which
            # near-separable classes drive towards 0 (raw digits, C=1, tol=1e-8: 1912 -> 782
            # Hessian-vector products over two fits; on standardised digits it changes
            # little).  H is positive semi-definite; stop on non-positive curvature with the
            # last iterate, or the preconditioned steepest descent direction first.
            pre = (op.diag_hessian(D) + bq, D.sum(axis=0) if fit_b else zero_b + 1.0)
            pre = (np.where(pre[0] > 0, pre[0], 1.0), np.where(pre[1] > 0, pre[1], 1.0))
            gnorm = np.sqrt(dot(g, g))
            eta = min(0.5, np.sqrt(gnorm)) * gnorm
            x = (np.zeros_like(wt), zero_b * 0.0)
            r = (-g[0], -np.asarray(g[1]))
            zr = (r[0] / pre[0], r[1] / pre[1])
            pdir = zr
            rz = dot(r, zr)
            for _ in range(self.max_cg):
                Hp = hessp(pdir)
                curv = dot(pdir, Hp)
                if curv <= 0.0:
                    if dot(x, x) == 0.0:
                        x = pdir
                    break
                step = rz / curv
                x = (x[0] + step * pdir[0], x[1] + step * pdir[1])
                r = (r[0] - step * Hp[0], r[1] - step * np.asarray(Hp[1]))
                if np.sqrt(dot(r, r)) <= eta:
                    break
                zr = (r[0] / pre[0], r[1] / pre[1])
                rz_new = dot(r, zr)
                pdir = (zr[0] + (rz_new / rz) * pdir[0], zr[1] + (rz_new / rz) * pdir[1])
                rz = rz_new
            # Armijo backtracking; a step whose objective is not above f within rounding is
            # kept too, so that progress at rounding level is not refused
            slope = dot(g, x)
            t = 1.0
            for _ in range(40):
                f_new, Z_new, G_new = objective(wt + t * x[0], bt + t * x[1])
                if (
                    f_new <= f + 1e-4 * t * slope
                    or f_new <= f * (1 + 4 * np.finfo(float).eps)
                    and slope > -4 * np.finfo(float).eps * abs(f)
                ):
                    break
                t *= 0.5
            wt, bt = wt + t * x[0], bt + t * x[1]
            if K == 1:
                bt = float(bt)
            f, Z, G = f_new, Z_new, G_new
            g_next = gradient(wt, G)
            if dot(g_next, g_next) > 2.0 * smooth_L * tol_abs and n_iter < self.max_iter:
                continue  # not certifiable yet (see smooth_L)
            w, b = op.to_original(wt, bt)
            gap, b = self._certificate(problem, penalty, w, b)
            if gap < best[0]:
                best = (gap, w, b)
        return self._finish(best[1], best[2], best[0], max(n_iter, 1), tol_abs)
