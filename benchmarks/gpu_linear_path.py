"""Issue 16 item 6 on a device: torch paths and batched CV against the CPU peers.

Rows (dense Gaussian designs, seed 0; REFERENCE.md):

1. lasso path, 4000 x 20000, 50 alphas down to 1e-2 alpha_max: ``lasso_path(device=)`` vs
   scikit-learn's ``lasso_path`` and reglab's CD path on the CPU (scikit-learn took 28.9 s on
   one CPU core; the issue's target is 0.1 s on an H200);
2. ``LassoCV(device=)``, 2000 x 5000, 5 folds x 100 alphas as one batched solve, vs
   scikit-learn's ``LassoCV`` (and reglab's CPU ``LassoCV``), same grid, chosen alphas printed;
3. ``logistic_path(device=)`` binary L1, 2000 x 2000, 50 alphas, vs reglab's CPU path and
   scikit-learn ``LogisticRegression(solver='liblinear', l1)`` over the same Cs;
4. ``logistic_path(device=)`` multinomial (5 classes) L1, same design, vs reglab's CPU path.

Every solver at tol=1e-4 (reglab: duality gap <= tol * F(0) per alpha).  For each device row the
bandwidth limit is printed: bytes of X read per iteration (two passes: ``X W`` and ``X^T R``,
float32 or float64 as the solver runs) x (iterations + the gap checks' passes) / HBM bandwidth
(3.35 TB/s H100 SXM, 4.8 TB/s H200), and the flop limit (2 n p flops per column per pass at
67 TFLOP/s, the float64 tensor-core and float32 peak of both): the iterations cannot beat
the larger of the two.  The CPU peers run with the threads the machine gives them unless
``--threads N`` is set (BLAS/OpenMP pools via threadpoolctl, torch's CPU threads); say which.

    python benchmarks/gpu_linear_path.py                      # full size, CUDA if available
    python benchmarks/gpu_linear_path.py --quick              # small sizes, seconds on CPU torch
    python benchmarks/gpu_linear_path.py --rows path,cv       # a subset of the rows
"""

import argparse
import os
import time
import warnings

import numpy as np

_BANDWIDTH = {"H100": 3.35e12, "H200": 4.8e12}


def _sync(torch, device):
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def _timed(torch, device, fn, repeat=1):
    """Median wall time of ``fn()`` (synchronised on CUDA) and its last result."""
    times, out = [], None
    for _ in range(repeat):
        _sync(torch, device)
        t0 = time.perf_counter()
        out = fn()
        _sync(torch, device)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _bandwidth(torch, device):
    if not str(device).startswith("cuda"):
        return None, "cpu"
    name = torch.cuda.get_device_name()
    for key, bw in _BANDWIDTH.items():
        if key in name:
            return bw, name
    return None, name


# dense peak of both Hopper parts in float64 (tensor cores) and float32 (no TF32: torch's
# default for matmul), FLOP/s
_PEAK = 67e12


def _limit(n, p, item, n_cols, n_iter, check_every, bw):
    """Lower bounds of the iterations' time: ``(bandwidth, flops)``.

    Passes over X: two per iteration (``X W``, ``X^T R``) and two per gap check; bytes = n p
    item per pass.  Flops: 2 n p per column per pass, every column counted at every pass
    (an upper count: converged columns leave the batch).
    """
    passes = 2 * n_iter + 2 * (n_iter // check_every + 1)
    if bw is None:
        return None
    return n * p * item * passes / bw, 2.0 * n * p * n_cols * passes / _PEAK


def _sparse_regression(rng, n, p, k):
    """Gaussian design, ``k`` non-zero Gaussian coefficients, noise sd 0.5."""
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:k] = rng.standard_normal(k)
    return X, X @ w + 0.5 * rng.standard_normal(n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default=None)
    ap.add_argument("--rows", default="path,cv,logistic,multinomial")
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--skip-cd", action="store_true", help="skip reglab's CPU paths")
    ap.add_argument("--repeat", type=int, default=3, help="device timings: median of this many")
    ap.add_argument("--threads", type=int, default=None, help="CPU threads of every solver")
    args = ap.parse_args()
    import torch

    if args.threads:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
        torch.set_num_threads(args.threads)
    from sklearn.linear_model import LassoCV as SkLassoCV
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model import lasso_path as sk_lasso_path

    import reglab.linear as rl
    from reglab.linear._fit import prepare
    from reglab.linear._problem import duality_gap
    from reglab.linear.solvers.torch_path import torch_cv_errors, torch_path

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    bw, devname = _bandwidth(torch, device)
    rows = args.rows.split(",")
    print(
        f"torch {torch.__version__} device {device} ({devname}); host {os.cpu_count()} cores, "
        f"load {os.getloadavg()[0]:.2f}; CPU threads {args.threads or 'all'}; "
        f"bandwidth {bw or 'n/a'} B/s"
    )
    table = []
    rng = np.random.default_rng(0)

    # warm-up: CUDA context, kernels, torch import
    Xw, yw = rng.standard_normal((60, 40)), rng.standard_normal(60)
    rl.lasso_path(Xw, yw, device=device, n_alphas=3)
    rl.logistic_path(Xw, yw > 0, device=device, n_alphas=3)
    rl.LassoCV(device=device, alphas=3, cv=3).fit(Xw, yw)

    if "path" in rows:
        n, p = (1000, 5000) if args.quick else (4000, 20000)
        X, y = _sparse_regression(rng, n, p, 50)
        kw = dict(n_alphas=50, eps=1e-2, tol=1e-4)
        t_dev, res = _timed(
            torch, device, lambda: rl.lasso_path(X, y, device=device, **kw), args.repeat
        )
        problem, _ = prepare(X, y, rl.Quadratic(), fit_intercept=False)
        scale = problem.value_scale()

        def worst_gap(coefs, alphas):
            return (
                max(duality_gap(problem, rl.L1(a), coefs[:, k])[0] for k, a in enumerate(alphas))
                / scale
            )

        it = int(np.max(res.n_iters))
        item = 4 if str(device).startswith("cuda") else 8  # torch_path: float32 on CUDA
        lim = _limit(n, p, item, 50, it, 20, bw)
        print(
            f"[path {n}x{p}] torch {t_dev:.3f} s, max rel gap (float64) "
            f"{worst_gap(res.coefs, res.alphas):.1e}, {it} iterations"
        )
        # where the time goes: host-side preparation (validation, alpha grid) and the
        # solver's phases, the device synchronised between them
        t0 = time.perf_counter()
        prob2, _ = prepare(X, y, rl.Quadratic(), fit_intercept=False)
        grid = rl.alpha_grid(rl.alpha_max(prob2, rl.L1(1.0)), eps=1e-2, n_alphas=50)
        phases = {"prepare+grid (host)": time.perf_counter() - t0}
        torch_path(prob2, rl.L1(1.0), grid, device=device, tol=1e-4, timings=phases)
        print("  phases: " + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()))
        t_cd = t_sk = float("nan")
        if not args.skip_cd:
            t_cd, res_cd = _timed(torch, "cpu", lambda: rl.lasso_path(X, y, **kw))
            print(
                f"  reglab CD (CPU) {t_cd:.2f} s, gap {worst_gap(res_cd.coefs, res_cd.alphas):.1e}"
            )
        if not args.skip_sklearn:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_sk, sk = _timed(
                    torch, "cpu", lambda: sk_lasso_path(X, y, alphas=res.alphas, tol=1e-4)
                )
            print(f"  scikit-learn lasso_path {t_sk:.2f} s, gap {worst_gap(sk[1], res.alphas):.1e}")
        table.append((f"lasso path {n}x{p}, 50 alphas", t_dev, t_sk, t_cd, it, lim))

    if "cv" in rows:
        n, p = (400, 1000) if args.quick else (2000, 5000)
        X, y = _sparse_regression(rng, n, p, 20)
        kw = dict(cv=5, alphas=100, eps=1e-3, tol=1e-4)
        t_dev, est = _timed(
            torch, device, lambda: rl.LassoCV(device=device, **kw).fit(X, y), args.repeat
        )
        # the batched fold solve alone, for its iteration count (the bandwidth estimate)
        from sklearn.model_selection import KFold

        folds = list(KFold(5).split(X))
        t_solve, (_, info) = _timed(
            torch,
            device,
            lambda: torch_cv_errors(
                X, y, None, True, folds, [(rl.L1(1.0), est.alphas_)], device=device,
                tol=1e-4, return_info=True,
            ),
        )  # fmt: skip
        it = info["n_iter"]
        lim = _limit(n, p, 8, info["n_columns"], it, info["check_every"], bw)
        print(
            f"[LassoCV {n}x{p}, 5 folds x 100 alphas] device fit {t_dev:.3f} s (batched solve "
            f"{t_solve:.3f} s, {info['n_columns']} columns, {it} iterations, max rel gap "
            f"{info['gap']:.1e}); alpha_ {est.alpha_:.5g}"
        )
        print("  phases: " + ", ".join(f"{k} {v:.3f} s" for k, v in info["seconds"].items()))
        t_sk = t_cd = float("nan")
        if not args.skip_cd:
            t_cd, cpu = _timed(torch, "cpu", lambda: rl.LassoCV(**kw).fit(X, y))
            print(f"  reglab LassoCV (CPU) {t_cd:.2f} s, alpha_ {cpu.alpha_:.5g}")
        if not args.skip_sklearn:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_sk, sk = _timed(
                    torch,
                    "cpu",
                    lambda: SkLassoCV(cv=5, alphas=est.alphas_, tol=1e-4, n_jobs=1).fit(X, y),
                )
            # mean curves: near alpha_min (p > n folds) tol=1e-4 leaves the curves apart
            m_sk, m_rl = sk.mse_path_.mean(axis=1), est.mse_path_.mean(axis=1)
            rel = np.max(np.abs(m_sk - m_rl) / m_sk)
            print(
                f"  scikit-learn LassoCV {t_sk:.2f} s, alpha_ {sk.alpha_:.5g}; "
                f"mean CV curve max rel diff {rel:.1e}"
            )
        table.append((f"LassoCV {n}x{p}, 5x100", t_dev, t_sk, t_cd, it, lim))

    def logistic_row(kind):
        n, p = (500, 500) if args.quick else (2000, 2000)
        K = 2 if kind == "logistic" else 5
        X = rng.standard_normal((n, p))
        Wt = np.zeros((p, K))
        Wt[:10] = rng.standard_normal((10, K))
        y = np.argmax(X @ Wt + rng.gumbel(size=(n, K)), axis=1)
        kw = dict(n_alphas=50, eps=1e-2, tol=1e-4, l1_ratio=1.0)
        t_dev, res = _timed(
            torch, device, lambda: rl.logistic_path(X, y, device=device, **kw), args.repeat
        )
        it = int(np.max(res.n_iters))
        lim = _limit(n, p, 8, 50 * (K if K > 2 else 1), it, 10, bw)
        print(f"[{kind} L1 path {n}x{p}, {K} classes] device {t_dev:.3f} s, {it} iterations")
        t_cd = t_sk = float("nan")
        if not args.skip_cd:
            t_cd, _ = _timed(torch, "cpu", lambda: rl.logistic_path(X, y, **kw))
            print(f"  reglab logistic_path (CPU) {t_cd:.2f} s")
        if not args.skip_sklearn and K == 2:
            Cs = 1.0 / (res.alphas * n)

            def sk_path():
                # liblinear (scikit-learn's L1 choice for small problems): saga needed
                # 11 s for the quick 500 x 500 row; liblinear penalises the intercept
                clf = LogisticRegression(l1_ratio=1.0, solver="liblinear", tol=1e-4)
                for C in Cs:
                    clf.set_params(C=C).fit(X, y)
                return clf

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_sk, _ = _timed(torch, "cpu", sk_path)
            print(f"  scikit-learn liblinear over the 50 Cs: {t_sk:.2f} s")
        return (f"logistic_path {kind} L1 {n}x{p}", t_dev, t_sk, t_cd, it, lim)

    for kind in [r for r in ("logistic", "multinomial") if r in rows]:
        table.append(logistic_row(kind))

    print()
    print(f"device: {devname}; CPU peers on this host's CPU (load {os.getloadavg()[0]:.2f})")
    print("| row | device s | scikit-learn CPU s | sklearn/device | reglab CPU s | iterations "
          "| bandwidth limit s | flop limit s | device/max(limits) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, t_dev, t_sk, t_cd, it, lim in table:
        lim_s = "n/a | n/a" if lim is None else f"{lim[0]:.4f} | {lim[1]:.4f}"
        over = "n/a" if lim is None else f"{t_dev / max(lim):.1f}x"
        print(
            f"| {name} | {t_dev:.3f} | {t_sk:.2f} | {t_sk / t_dev:.1f}x | {t_cd:.2f} | {it} "
            f"| {lim_s} | {over} |"
        )


if __name__ == "__main__":
    main()
