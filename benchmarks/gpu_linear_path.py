"""Time the batched torch FISTA lasso path against scikit-learn's lasso_path.

Problem (REFERENCE.md): dense 4000 x 20000 Gaussian design, 50-alpha lasso path from
alpha_max to 1e-2 alpha_max (scikit-learn took 28.9 s on one CPU core; a batched
proximal-gradient solve 1.3 s on an H200).  Uses CUDA when available, CPU torch otherwise.
Prints both times and the ratio, and the largest relative duality gap of each.

    python benchmarks/gpu_linear_path.py            # full size
    python benchmarks/gpu_linear_path.py --quick    # 1000 x 5000, a few seconds
"""

import argparse
import time
import warnings

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--device", default=None)
    ap.add_argument("--skip-sklearn", action="store_true")
    ap.add_argument("--skip-cd", action="store_true", help="skip reglab's CPU CD path")
    args = ap.parse_args()
    import torch
    from sklearn.linear_model import lasso_path as sk_lasso_path

    import reglab.linear as rl
    from reglab.linear._fit import prepare
    from reglab.linear._problem import duality_gap

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    n, p = (1000, 5000) if args.quick else (4000, 20000)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[:50] = rng.standard_normal(50)
    y = X @ w + 0.5 * rng.standard_normal(n)
    print(
        f"problem {n}x{p}, 50 alphas down to 1e-2 alpha_max; torch device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else "")
    )
    kw = dict(n_alphas=50, eps=1e-2, tol=1e-4)
    rl.lasso_path(X[:50, :100], y[:50], device=device, **kw)  # warm-up (CUDA context)
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    res = rl.lasso_path(X, y, device=device, **kw)
    if device == "cuda":
        torch.cuda.synchronize()
    t_torch = time.perf_counter() - t0
    problem, _ = prepare(X, y, rl.Quadratic(), fit_intercept=False)
    scale = problem.value_scale()

    def worst_gap(coefs, alphas):
        return (
            max(duality_gap(problem, rl.L1(a), coefs[:, k])[0] for k, a in enumerate(alphas))
            / scale
        )

    print(
        f"reglab torch FISTA path: {t_torch:8.2f} s   max rel gap {worst_gap(res.coefs, res.alphas):.1e}"
        f"   iterations (largest column) {int(np.max(res.n_iters))}"
    )
    t_cd = float("nan")
    if not args.skip_cd:
        t0 = time.perf_counter()
        res_cd = rl.lasso_path(X, y, **kw)
        t_cd = time.perf_counter() - t0
        print(
            f"reglab CD path (CPU):     {t_cd:8.2f} s   max rel gap {worst_gap(res_cd.coefs, res_cd.alphas):.1e}"
        )
    if args.skip_sklearn:
        return
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, sk_coefs, _ = sk_lasso_path(X, y, alphas=res.alphas, tol=1e-4)
    t_sk = time.perf_counter() - t0
    print(
        f"scikit-learn lasso_path:  {t_sk:8.2f} s   max rel gap {worst_gap(sk_coefs, res.alphas):.1e}"
    )
    print(
        f"ratio scikit-learn / torch path: {t_sk / t_torch:.1f}x ; scikit-learn / reglab CD: {t_sk / t_cd:.1f}x"
    )


if __name__ == "__main__":
    main()
