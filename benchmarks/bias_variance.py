"""Bias-variance ridge sweep: wall time per back-end, and what the one-factorisation fast path saves.

Full problem: 200 rounds, 30 alphas, 5000 x 200 training sets (isotropic linear generator),
1000 test points. Timed: the sweep with 1 and 2 local joblib workers, the same through a
Dask LocalCluster with 2 single-threaded worker processes (its overhead is the difference to
2 joblib workers), and the generic path (one scikit-learn ``Ridge`` fit per alpha) on a few
rounds, extrapolated. Results must be identical across back-ends (checked and printed). Every
process uses one BLAS thread.

    python benchmarks/bias_variance.py [--quick]
"""

import argparse
import os
import platform
import time

import numpy as np
from sklearn.linear_model import Ridge
from threadpoolctl import threadpool_limits

from reglab.diagnostics import SyntheticRegression, bias_variance_sweep


def generic(X, y, alpha):
    """A training function: one scikit-learn Ridge fit per alpha (the generic path)."""
    return Ridge(alpha=alpha).fit(X, y).predict


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="20 rounds of a 1000 x 50 problem")
    args = parser.parse_args()

    rounds, n, p = (20, 1000, 50) if args.quick else (200, 5000, 200)
    alphas = np.geomspace(1e-1, 1e5, 30)
    gen = SyntheticRegression(p, noise=1.0, signal=3.0)
    kw = dict(param="alpha", values=alphas, n_train=n, n_test=1000, loss="squared", seed=0)

    def timed(**extra):
        start = time.perf_counter()
        out = bias_variance_sweep(Ridge(), gen, rounds=extra.pop("rounds", rounds), **kw, **extra)
        return time.perf_counter() - start, out

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; numpy {np.__version__}")
    print(f"problem: {rounds} rounds x {len(alphas)} alphas, train {n} x {p}, 1000 test points")
    rows = []
    t1, ref = timed(n_jobs=1)
    rows.append(("joblib, 1 worker", t1))
    t_cold, _ = timed(n_jobs=2, rounds=2)  # spawns and warms the loky workers
    rows.append(("  (joblib 2-worker start-up + 2 rounds)", t_cold))
    t2, par = timed(n_jobs=2)
    rows.append(("joblib, 2 workers", t2))
    same = np.array_equal(ref.expected_loss, par.expected_loss)

    try:
        from distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            timed(scheduler=client, rounds=2)  # warm the workers' imports
            td, dk = timed(scheduler=client)
        rows.append(("dask LocalCluster, 2 workers", td))
        same = same and np.array_equal(ref.expected_loss, dk.expected_loss)
    except ImportError:
        td = None

    few = 3 if args.quick else 5
    start = time.perf_counter()
    bias_variance_sweep(generic, gen, rounds=few, **{**kw, "n_jobs": 1})
    tg = (time.perf_counter() - start) / few * rounds
    rows.append((f"generic path, 1 worker (from {few} rounds)", tg))

    print(f"{'back-end':<44}{'wall s':>10}{'per round ms':>15}")
    for name, t in rows:
        print(f"{name:<44}{t:>10.2f}{1e3 * t / rounds:>15.1f}")
    if td is not None:
        print(
            f"dask overhead vs 2 joblib workers: {td - t2:+.2f} s ({(td - t2) / rounds * 1e3:+.1f} ms/round)"
        )
    print(f"speed-up of the one-factorisation ridge path over per-alpha fits: {tg / t1:.1f}x")
    print(f"identical results across back-ends: {same}")
    print(
        f"best alpha {ref.best_value:.4g}; loss there {ref.expected_loss.min():.4f}; "
        f"max |identity error| {np.abs(ref.identity_error).max():.2e}"
    )


if __name__ == "__main__":  # worker processes re-import this file
    # one BLAS thread everywhere (loky and the Dask workers above use one too): on a shared
    # 2-core machine OpenBLAS's own threads made the sequential run 10x slower
    with threadpool_limits(limits=1, user_api="blas"):
        main()
