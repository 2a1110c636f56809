"""First call of reglab after installation: the dense wide lasso path with an empty numba cache.

Each measurement runs in a fresh Python process (``sys.executable``) with ``NUMBA_CACHE_DIR``
pointed at a directory of this script's choosing:

* **cold**: an empty cache directory, as after ``pip install`` (every kernel the call needs is
  compiled, then written to the cache);
* **warm**: the same directory again, now filled by the cold run (kernels are loaded from it);
* **in-process**: the second identical call in the warm process (nothing compiled or loaded).

Each line reports the import of ``reglab.linear`` and the path call separately, the call's CPU
time (less sensitive than wall time to other work on a loaded machine) and its compilation:
the wall time of the outermost ``Dispatcher.compile`` calls (numba's ``numba:compile`` events,
nested compilations counted once).  ``--compare DIR`` times a second checkout (for instance
``git archive <commit> reglab benchmarks | tar -x -C DIR``) in the same run, interleaved
with this one, so that both see the same load.  The problem is
``linear_paths.py``'s dense wide lasso (500 x 5000 AR(1) Toeplitz design, 100 alphas down to
1e-3 alpha_max, ``tol=1e-6``; ``--quick``: 200 x 2000).

    .venv/bin/python benchmarks/first_call.py [--quick] [--repeats 3] [--compare DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks.linear_paths import alpha_grid, toeplitz_problem
t1 = time.perf_counter()
import reglab.linear as rl
from numba.core import event
t2 = time.perf_counter()
depth = [0]
compile_s = [0.0]
class Top(event.Listener):
    def on_start(self, ev):
        depth[0] += 1
        if depth[0] == 1:
            self.t = time.perf_counter()
    def on_end(self, ev):
        depth[0] -= 1
        if depth[0] == 0:
            compile_s[0] += time.perf_counter() - self.t
event.register("numba:compile", Top())
X, y = toeplitz_problem({n}, {p})
alphas = alpha_grid("quad", X, y, 1.0)
t3 = time.perf_counter()
c3 = time.process_time()
rl.lasso_path(X, y, alphas=alphas, tol=1e-6)
t4 = time.perf_counter()
c4 = time.process_time()
rl.lasso_path(X, y, alphas=alphas, tol=1e-6)
t5 = time.perf_counter()
print(json.dumps({{"import": t2 - t1, "first": t4 - t3, "first_cpu": c4 - c3,
                  "compile": compile_s[0], "second": t5 - t4}}))
"""


def run_child(cache_dir, n, p, debug=False, root=ROOT):
    """Run the child in a fresh process with ``NUMBA_CACHE_DIR=cache_dir``; its timings."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=root)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(var, "1")
    if debug:
        env["NUMBA_DEBUG_CACHE"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=root, n=n, p=p)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    if debug:
        print(out.stdout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 x 2000 instead of 500 x 5000")
    ap.add_argument("--repeats", type=int, default=3, help="cold/warm pairs (fresh cache each)")
    ap.add_argument(
        "--debug-cache", action="store_true", help="NUMBA_DEBUG_CACHE=1 in the cold run"
    )
    ap.add_argument(
        "--compare",
        metavar="DIR",
        help="another checkout (holding reglab/ and benchmarks/) timed interleaved with this one",
    )
    args = ap.parse_args()
    n, p = (200, 2000) if args.quick else (500, 5000)
    roots = [("this", ROOT)]
    if args.compare:
        if not os.path.isdir(os.path.join(args.compare, "reglab")):
            raise ValueError(f"--compare={args.compare!r} holds no reglab/ directory")
        roots.insert(0, ("compare", os.path.abspath(args.compare)))
    rows = {(tag, kind): [] for tag, _ in roots for kind in ("cold", "warm")}
    for _ in range(args.repeats):
        for tag, root in roots:
            with tempfile.TemporaryDirectory(prefix="reglab-numba-") as cache:
                rows[tag, "cold"].append(run_child(cache, n, p, debug=args.debug_cache, root=root))
                rows[tag, "warm"].append(run_child(cache, n, p, root=root))
    print(f"dense wide lasso {n}x{p}, 100 alphas, tol=1e-6; seconds, median of {args.repeats}")
    print(
        "| checkout | numba cache | import reglab.linear | first path call "
        "| its CPU time | compilation | second call (same process) |"
    )
    print("|---|---|---|---|---|---|---|")
    keys = ("import", "first", "first_cpu", "compile", "second")
    for (tag, label), runs in rows.items():
        med = {k: float(np.median([r[k] for r in runs])) for k in keys}
        each = ", ".join(f"{r['first']:.2f}" for r in runs)
        print(
            f"| {tag} | {label} | {med['import']:.2f} | {med['first']:.2f} (runs: {each}) "
            f"| {med['first_cpu']:.2f} | {med['compile']:.2f} | {med['second']:.2f} |"
        )


if __name__ == "__main__":
    main()
