"""Cross-validation end to end: reglab's CV estimators against scikit-learn's and glmnet's.

Rows: ``LassoCV`` and ``ElasticNetCV`` (l1_ratio in {0.1, 0.5, 0.9}) on the dense wide, dense
tall and sparse problems of ``linear_paths.py`` and on diabetes (degree-3 polynomial
features); ``LogisticRegressionCV`` with an L1 penalty (binary) on ``linear_paths.py``'s
synthetic logistic problem and on breast_cancer; L2 and L1 multinomial on digits (10 classes).
Every row: 5 folds, 100 alphas (Cs) from alpha_max down to 1e-3 alpha_max (L2: C in
logspace(-4, 4, 100)), an intercept, the whole fit timed (every fold's path and the final
refit: the way a user calls it).

The same folds for everyone: python-glmnet's built-in CV splits with
``KFold(5, shuffle=True, random_state=0)`` (``StratifiedKFold`` for classification), and the
same splitter object is given to scikit-learn and reglab.  glmnet gets the same alphas as
``lambda_path`` (``standardize=False``); for logistic rows a C is ``lambda = 1 / (C n_train)``
(scikit-learn's C multiplies the summed loss), exact because n is cut to a multiple of 5 so
every training fold has the same size.  y of the regression rows is standardised (glmnet
rescales y inside, which changes the ridge part of the elastic net otherwise).  scikit-learn's
L1 logistic runs saga (liblinear penalises the intercept); glmnet runs once per l1_ratio
(its CV has no l1_ratio grid) and the times add up.

Matched accuracy: the CV curve (mean over folds of the held-out MSE; for logistic rows the
held-out log-loss, ``scoring='neg_log_loss'``) of a reference fit (reglab at tol=1e-10) is
computed first; each solver's tolerance is tightened (1e-4, 1e-6, ..., 1e-10) until its curve
agrees with the reference's to ``--rtol`` (relative, at every alpha) and it selects the same
alpha (and l1_ratio); the time at that tolerance is reported (median of ``--runs``; with
``--interleave`` the runs go round-robin over the solvers).  Where
tightening stops moving a solver's curve (a plateau, with the same selected alpha), its time
at the tolerance before is reported with the distance reached.  A solver that never gets
there within ``--budget`` seconds per fit is reported as such.  One
thread everywhere (``n_jobs=1``, BLAS on one thread); ``--jobs 2`` adds reglab rows with folds
in parallel (joblib processes).

    .venv-bench/bin/python benchmarks/linear_cv.py --quick
    .venv-bench/bin/python benchmarks/linear_cv.py --only lasso --solvers reglab,glmnet
"""

import argparse
import os
import sys
import time
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from benchmarks.linear_paths import (  # noqa: E402
    OverBudget,
    diabetes_poly3,
    limited,
    logistic_synth,
    sparse_problem,
    toeplitz_problem,
)

N_FOLDS = 5
N_ALPHAS = 100
EPS = 1e-3
RATIOS = (0.1, 0.5, 0.9)
LADDER = (1e-4, 1e-6, 1e-8, 1e-10)


# ----------------------------------------------------------------------------- problems
def _standardise(y):
    return (y - y.mean()) / y.std()


def _cut(X, y):
    """The first multiple of N_FOLDS rows: every training fold then has the same size."""
    m = (X.shape[0] // N_FOLDS) * N_FOLDS
    return X[:m], y[:m]


def problems(quick):
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.preprocessing import StandardScaler

    if quick:
        wide, tall, spd, logn = (200, 2000), (5000, 200), (2000, 10000, 2e-3), (500, 500)
    else:
        wide, tall, spd, logn = (500, 5000), (20000, 500), (10000, 50000, 1e-3), (2000, 2000)
    out = []
    reg = {
        "dense wide {}x{}".format(*wide): toeplitz_problem(*wide),
        "dense tall {}x{}".format(*tall): toeplitz_problem(*tall),
        "sparse {}x{}".format(*spd[:2]): sparse_problem(*spd),
        "diabetes poly3": diabetes_poly3(),
    }
    for name, (X, y) in reg.items():
        out.append((f"LassoCV {name}", "lasso", X, _standardise(y)))
        out.append((f"ElasticNetCV {name}", "enet", X, _standardise(y)))
    Xl, yl = logistic_synth(*logn)
    out.append(("LogisticRegressionCV L1 synthetic {}x{}".format(*logn), "l1", Xl, yl > 0))
    Xb, yb = load_breast_cancer(return_X_y=True)
    out.append(
        (
            "LogisticRegressionCV L1 breast_cancer",
            "l1",
            *_cut(StandardScaler().fit_transform(Xb), yb),
        )
    )
    Xd, yd = load_digits(return_X_y=True)
    Xd = StandardScaler().fit_transform(Xd)
    out.append(("LogisticRegressionCV L2 multinomial digits", "l2multi", *_cut(Xd, yd)))
    out.append(("LogisticRegressionCV L1 multinomial digits", "l1multi", *_cut(Xd, yd)))
    return out


def splitter(kind):
    from sklearn.model_selection import KFold, StratifiedKFold

    if kind in ("lasso", "enet"):
        return KFold(N_FOLDS, shuffle=True, random_state=0)
    return StratifiedKFold(N_FOLDS, shuffle=True, random_state=0)


def reg_grid(X, y, l1_ratio):
    """scikit-learn's default grid with an intercept: alpha_max = max|Xc^T yc| / (n l1_ratio)."""
    Xc = X - np.asarray(X.mean(axis=0)).ravel()
    amax = np.max(np.abs(Xc.T @ (y - y.mean()))) / (X.shape[0] * l1_ratio)
    return np.geomspace(amax, amax * EPS, N_ALPHAS)


def log_Cs(kind, X, y):
    """Cs (increasing) for the logistic rows: C = 1 / (n_train alpha) on the alpha grid."""
    n_train = X.shape[0] * (N_FOLDS - 1) // N_FOLDS
    if kind == "l2multi":
        return np.logspace(-4, 4, N_ALPHAS)
    Y = (y[:, None] == np.unique(y)[None, :]).astype(float)
    Xc = X - X.mean(axis=0)
    amax = np.max(np.abs(Xc.T @ (Y - Y.mean(axis=0)))) / X.shape[0]
    if kind == "l1":
        amax /= 1.0  # binary: the gradient of one column is the same as each class's
    return np.sort(1.0 / (n_train * np.geomspace(amax, amax * EPS, N_ALPHAS)))


# ----------------------------------------------------------------------------- solvers
# each returns (curve, selected): curve an array over (l1_ratio,) alpha, ordered like the
# reference's; selected a tuple compared exactly (indices into the common grid)


def _reg_result(alphas, mse, alpha, ratios=None, ratio=None):
    """Curves (n_ratios, n_alphas) on descending alphas and the selected (ratio, alpha) index."""
    alphas = np.atleast_2d(alphas)
    curve = np.atleast_3d(mse).mean(axis=-1) if mse.ndim == 3 else mse.mean(axis=-1)[None]
    r = 0 if ratios is None else list(ratios).index(ratio)
    i = int(np.argmin(np.abs(np.log(alphas[r] / alpha))))
    return np.atleast_2d(curve), (r, i)


def run_reglab(kind, X, y, tol, grid, jobs=1):
    import reglab.linear as rl

    cv = splitter(kind)
    if kind == "lasso":
        est = rl.LassoCV(alphas=grid, cv=cv, tol=tol, max_iter=100000, n_jobs=jobs).fit(X, y)
        return _reg_result(est.alphas_, est.mse_path_, est.alpha_)
    if kind == "enet":
        est = rl.ElasticNetCV(
            l1_ratio=list(RATIOS), alphas=N_ALPHAS, eps=EPS, cv=cv, tol=tol, max_iter=100000,
            n_jobs=jobs,
        ).fit(X, y)  # fmt: skip
        return _reg_result(est.alphas_, est.mse_path_, est.alpha_, RATIOS, est.l1_ratio_)
    ratios = [0.0] if kind == "l2multi" else [1.0]
    est = rl.LogisticRegressionCV(
        Cs=grid, l1_ratios=ratios, cv=cv, tol=tol, max_iter=100000, scoring="neg_log_loss",
        n_jobs=jobs,
    ).fit(X, y)  # fmt: skip
    return _log_result(est, grid)


def _log_result(est, Cs):
    scores = np.asarray(next(iter(est.scores_.values())))
    curve = -scores.reshape(N_FOLDS, -1).mean(axis=0)
    C = float(np.ravel(est.C_)[0])
    return curve[None], (0, int(np.argmin(np.abs(np.log(Cs / C)))))


def run_sklearn(kind, X, y, tol, grid, jobs=1):
    from sklearn import linear_model as lm

    cv = splitter(kind)
    if kind == "lasso":
        est = lm.LassoCV(alphas=grid, cv=cv, tol=tol, max_iter=1000000).fit(X, y)
        return _reg_result(est.alphas_, est.mse_path_, est.alpha_)
    if kind == "enet":
        est = lm.ElasticNetCV(
            l1_ratio=list(RATIOS), alphas=N_ALPHAS, eps=EPS, cv=cv, tol=tol, max_iter=1000000
        ).fit(X, y)
        return _reg_result(est.alphas_, est.mse_path_, est.alpha_, RATIOS, est.l1_ratio_)
    est = lm.LogisticRegressionCV(
        Cs=grid, l1_ratios=[0.0] if kind == "l2multi" else [1.0],
        solver="lbfgs" if kind == "l2multi" else "saga", cv=cv, tol=tol, max_iter=1000000,
        scoring="neg_log_loss", use_legacy_attributes=True,
    ).fit(X, y)  # fmt: skip
    return _log_result(est, grid)


def run_glmnet(kind, X, y, tol, grid, jobs=1):
    import glmnet

    if kind in ("lasso", "enet"):
        ratios = [1.0] if kind == "lasso" else RATIOS
        curves, best = [], []
        for r, ratio in enumerate(ratios):
            lam = grid if kind == "lasso" else reg_grid(X, y, ratio)
            est = glmnet.ElasticNet(
                alpha=ratio, lambda_path=lam, standardize=False, n_splits=N_FOLDS,
                random_state=0, scoring="mean_squared_error", tol=tol, max_iter=1000000,
            ).fit(X, y)  # fmt: skip
            curve = -np.asarray(est.cv_mean_score_)
            curves.append(curve)
            best.append((curve.min(), r, int(est.lambda_max_inx_)))
        _, r, i = min(best)
        return np.array(curves), (r, i)
    n_train = X.shape[0] * (N_FOLDS - 1) // N_FOLDS
    lam = 1.0 / (n_train * grid)  # increasing Cs: decreasing lambdas, glmnet's order
    est = glmnet.LogitNet(
        alpha=0.0 if kind == "l2multi" else 1.0, lambda_path=lam, standardize=False,
        n_splits=N_FOLDS, random_state=0, scoring="log_loss", tol=tol, max_iter=1000000,
    ).fit(X, y)  # fmt: skip
    curve = -np.asarray(est.cv_mean_score_)
    return curve[None], (0, int(est.lambda_max_inx_))


SOLVERS = {"reglab": run_reglab, "scikit-learn": run_sklearn, "glmnet": run_glmnet}


def timed(fn, *args):
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*args)
    return time.perf_counter() - t0, out


def _agree(res, ref, rtol):
    curve, sel = res
    rcurve, rsel = ref
    if curve.shape != rcurve.shape:
        return False, np.inf
    diff = float(np.max(np.abs(curve - rcurve) / np.abs(rcurve)))
    return diff <= rtol and sel == rsel, diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller problems")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--budget", type=float, default=120.0, help="seconds per fit")
    ap.add_argument("--rtol", type=float, default=1e-2, help="CV curve agreement (relative)")
    ap.add_argument("--only", default=None, help="substring of the row names to run")
    ap.add_argument("--skip", default=None, help="substring of the row names not to run")
    ap.add_argument("--solvers", default=",".join(SOLVERS))
    ap.add_argument("--jobs", type=int, default=1, help="> 1: also reglab with folds in parallel")
    ap.add_argument(
        "--interleave",
        action="store_true",
        help="time the solvers' runs round-robin (after each found its tolerance)",
    )
    args = ap.parse_args()
    chosen = [s.strip() for s in args.solvers.split(",")]
    rows = []
    for name, kind, X, y in problems(args.quick):
        if (args.only and args.only not in name) or (args.skip and args.skip in name):
            continue
        if kind == "lasso":
            grid = reg_grid(X, y, 1.0)
        elif kind == "enet":
            grid = None
        else:
            grid = log_Cs(kind, X, y)
        try:
            _, ref = limited(5 * args.budget, run_reglab, kind, X, y, 1e-10, grid)
        except OverBudget:
            _, ref = limited(5 * args.budget, run_reglab, kind, X, y, 1e-8, grid)
        row = {"problem": name}
        pending = []
        for sname in chosen:
            fn = SOLVERS[sname]
            # warm-up in this process (JIT, imports, numba's cache loads), inherited by the
            # forked timed runs; on tall data with enough rows that every training fold stays
            # tall (n > p), so the same kernels as the timed fit's are loaded (100 rows of a
            # 5000 x 200 problem left reglab's Gram kernels to load inside every timed run)
            m = min(X.shape[0], 3 * X.shape[1]) if X.shape[0] > X.shape[1] else 100
            try:
                timed(fn, kind, X[:m], y[:m], 1e-4, grid)
            except Exception:  # noqa: S110 - a warm-up on a tiny subset may not be well-posed
                pass
            found = None
            for tol in LADDER:
                try:
                    t, res = limited(args.budget, fn, kind, X, y, tol, grid)
                except OverBudget:
                    row[sname] = f">{args.budget:.3g} (killed at tol {tol:.0e})"
                    break
                except Exception as exc:
                    row[sname] = f"n/a ({type(exc).__name__}: {str(exc)[:60]})"
                    break
                ok, diff = _agree(res, ref, args.rtol)
                if not ok and found is not None and res[1] == ref[1] and diff > 0.9 * found[3]:
                    # a plateau: tightening no longer moves the curve (glmnet stops its path
                    # once the deviance ratio passes 0.999 and interpolates the rest); timed at
                    # the previous tolerance and reported with its distance
                    found = (found[0], found[1], True, found[3])
                    row[sname + "_plateau"] = found[3]
                    break
                found = (tol, t, ok, diff)
                if ok:
                    break
            if found is None:
                continue
            tol, t, ok, diff = found
            if not ok:
                row[sname] = f">{t:.3g} (curve off by {diff:.0e} at tol {tol:.0e})"
                continue
            row[sname + "_tol"] = tol
            if args.interleave:
                pending.append((sname, fn, tol, [t]))
                continue
            times = [t] + [
                limited(3 * args.budget, fn, kind, X, y, tol, grid)[0]
                for _ in range(max(args.runs - 1, 0))
            ]
            row[sname] = float(np.median(times))
        # --interleave: the timed runs round-robin over the solvers (one run each in turn),
        # so that a load that drifts over minutes on a shared machine weighs on all alike
        for _ in range(max(args.runs - 1, 0)):
            for _, fn, tol, times in pending:
                times.append(limited(3 * args.budget, fn, kind, X, y, tol, grid)[0])
        for sname, _, _, times in pending:
            row[sname] = float(np.median(times))
        if args.jobs > 1 and "reglab" in chosen and isinstance(row.get("reglab"), float):
            tol = row["reglab_tol"]
            times = [
                limited(3 * args.budget, run_reglab, kind, X, y, tol, grid, args.jobs)[0]
                for _ in range(max(args.runs, 1))
            ]
            row[f"reglab n_jobs={args.jobs}"] = float(np.median(times))
        rows.append(row)
        print(
            name + ": " + ", ".join(f"{k}={fmt(v)}" for k, v in row.items() if k != "problem"),
            flush=True,
        )
    print()
    print_table(rows, chosen, args.jobs)


def fmt(v):
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def print_table(rows, chosen, jobs):
    extra = [f"reglab n_jobs={jobs}"] if jobs > 1 else []
    names = chosen + extra
    print("| row | " + " | ".join(names) + " | scikit-learn / reglab | glmnet / reglab |")
    print("|---" * (len(names) + 3) + "|")
    for row in rows:
        cells = []
        for n in names:
            v = row.get(n, "-")
            tol = row.get(n + "_tol")
            note = f" (tol {tol:.0e})" if tol is not None else ""
            if n + "_plateau" in row:
                note = f" (tol {tol:.0e}, curve within {row[n + '_plateau']:.0e})"
            cells.append(fmt(v) + note)
        ours = row.get("reglab")
        ratios = []
        for peer in ("scikit-learn", "glmnet"):
            t = row.get(peer)
            ok = isinstance(ours, float) and isinstance(t, float)
            ratios.append(f"{t / ours:.2f}x" if ok else "-")
        print(f"| {row['problem']} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("(seconds, median of runs, whole CV fit on one core; ratios > 1: reglab faster)")


if __name__ == "__main__":
    main()
