"""The runner: expand grid x seeds, run in parallel, commit each finished run at once.

Local runs go through joblib (processes; ``jobs=1`` runs in-process); a Dask scheduler
address sends the same tasks to a cluster, the engine for runs that outgrow one machine.
Seeds derive from (claim id, params, repetition) alone, and every task runs with one BLAS /
torch thread, so the same command gives bit-identical metrics wherever it runs.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reglab.lab.claim import Claim, Params, get_claim, registry
from reglab.lab.results import ResultStore, RunRecord, canonical_params

SMOKE = "smoke"
DEFAULT = "default"


@dataclass(frozen=True)
class Task:
    """One run to do: a claim at one grid point and one repetition."""

    claim_id: str
    params: Params
    repetition: int
    grid: str

    @property
    def seed(self) -> int:
        return derive_seed(self.claim_id, self.params, self.repetition)


def derive_seed(claim_id: str, params: Params, repetition: int) -> int:
    """A 32-bit seed that depends only on (claim id, canonical params, repetition)."""
    key = f"{claim_id}|{canonical_params(params)}|{repetition}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def plan(claims: Iterable[Claim], *, smoke: bool = False, seeds: int | None = None) -> list[Task]:
    """Every (claim, grid point, repetition) task, in a stable order."""
    if seeds is not None and (not isinstance(seeds, int) or seeds < 1):
        raise ValueError(f"seeds={seeds!r} must be a positive integer")
    tasks = []
    for claim in claims:
        reps = seeds if seeds is not None else (claim.smoke_seeds if smoke else claim.seeds)
        for params in claim.param_grid(smoke=smoke):
            for rep in range(reps):
                tasks.append(Task(claim.id, params, rep, SMOKE if smoke else DEFAULT))
    return tasks


def execute(task: Task) -> RunRecord:
    """Run one task; an exception becomes an error record carrying its traceback."""
    from threadpoolctl import threadpool_limits

    seed = task.seed
    started = time.time()
    # One thread per task: tasks run side by side (jobs, cluster workers), and a fixed
    # thread count keeps float reductions, hence metrics, identical wherever they run.
    # torch reads OMP_NUM_THREADS when it is first imported, which may happen inside run().
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    # global generators are seeded too, so a claim that forgets to pass its seed on is
    # still reproducible; claims are expected to use `seed` explicitly
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - the legacy global generator, for careless code
    torch_threads = _seed_torch(seed) if "torch" in sys.modules else None
    try:
        claim = get_claim(task.claim_id)
        with threadpool_limits(limits=1):
            metrics = claim.run(dict(task.params), seed)
        error = None
    except Exception:  # noqa: BLE001 - recorded as an error row; the other runs go on
        metrics, error = None, traceback.format_exc()
    finally:
        if torch_threads is not None:
            sys.modules["torch"].set_num_threads(torch_threads)
    return RunRecord(
        claim_id=task.claim_id,
        params=task.params,
        seed=seed,
        repetition=task.repetition,
        grid=task.grid,
        metrics=metrics,
        error=error,
        started_at=started,
        finished_at=time.time(),
    )


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _seed_torch(seed: int) -> int:
    """Seed torch, run it on one thread; return the thread count to restore afterwards."""
    import torch

    torch.manual_seed(seed)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    return previous


@dataclass
class RunReport:
    """What a call to :func:`run_claims` did."""

    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[RunRecord] = field(default_factory=list)
    verdicts: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


ProgressCallback = Callable[[RunRecord], None]


def run_claims(
    claim_ids: Sequence[str] | None = None,
    *,
    store: ResultStore,
    smoke: bool = False,
    seeds: int | None = None,
    jobs: int = 1,
    scheduler: Any = None,
    force: bool = False,
    on_start: Callable[[int], None] | None = None,
    on_result: ProgressCallback | None = None,
    command: str = "",
) -> RunReport:
    """Run claims (all when ``claim_ids`` is None) and store every finished run.

    Parameters
    ----------
    claim_ids : sequence of str or None
        Ids to run; unknown ids raise before anything runs.
    store : ResultStore
        Where runs are committed, one transaction per finished run.
    smoke : bool
        Use each claim's smoke grid (seconds) instead of its default grid.
    seeds : int or None
        Repetitions per grid point (default: the claim's own).
    jobs : int
        Local worker processes (joblib); 1 runs in this process.
    scheduler : str, distributed.Client or None
        A Dask scheduler address (``tcp://host:8786``) or client: run there instead.
    force : bool
        Re-run runs already stored (otherwise they are skipped: resume).
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs={jobs!r} must be a positive integer")
    claims = list(registry().values()) if claim_ids is None else [get_claim(c) for c in claim_ids]
    tasks = plan(claims, smoke=smoke, seeds=seeds)
    report = RunReport(planned=len(tasks))
    grid = SMOKE if smoke else DEFAULT
    if force:
        for claim in claims:
            store.delete_claim_runs(claim.id, grid)
    done = {c.id: store.done_keys(c.id, grid) for c in claims}
    pending = [t for t in tasks if (canonical_params(t.params), t.seed) not in done[t.claim_id]]
    report.skipped = len(tasks) - len(pending)
    if on_start is not None:
        on_start(len(pending))
    session = store.begin_session(command)
    try:
        for rec in _dispatch(pending, jobs=jobs, scheduler=scheduler):
            store.record(rec, session)
            report.done += 1
            if rec.error is not None:
                report.failed.append(rec)
            if on_result is not None:
                on_result(rec)
    finally:
        store.end_session(session)
    for claim in claims:
        verdict = compute_verdict(claim, store)
        if verdict is not None:
            report.verdicts[claim.id] = verdict.passed
    return report


def compute_verdict(claim: Claim, store: ResultStore, *, keep_figure: bool = False):
    """The claim's verdict from stored rows (None when nothing ran); saved to the store.

    A verdict that raises is recorded as a failed verdict carrying the traceback.
    """
    import matplotlib.pyplot as plt

    from reglab.lab.claim import Verdict

    rows = store.rows(claim.id)
    if not rows:
        return None
    try:
        verdict = claim.verdict(rows)
        if not isinstance(verdict, Verdict):
            passed, evidence, figure = verdict
            verdict = Verdict(bool(passed), str(evidence), figure)
        verdict.passed = bool(verdict.passed)
    except Exception:  # noqa: BLE001 - a broken verdict must show in the report, not crash it
        verdict = Verdict(False, "verdict raised:\n" + traceback.format_exc(), None)
    store.save_verdict(claim.id, store.latest_grid(claim.id), verdict.passed, verdict.evidence)
    if not keep_figure and verdict.figure is not None:
        plt.close(verdict.figure)
        verdict.figure = None
    return verdict


def _dispatch(tasks: list[Task], *, jobs: int, scheduler: Any) -> Iterator[RunRecord]:
    if not tasks:
        return
    if scheduler is not None:
        yield from _dispatch_dask(tasks, scheduler)
    elif jobs == 1:
        for t in tasks:
            yield execute(t)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered", backend="loky")
        yield from parallel(delayed(execute)(t) for t in tasks)


def _dispatch_dask(tasks: list[Task], scheduler: Any) -> Iterator[RunRecord]:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "scheduler= needs Dask's distributed scheduler: pip install 'reglab[dask]'"
        ) from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = [client.submit(execute, t, pure=False) for t in tasks]
        for fut in as_completed(futures):
            yield fut.result()
    finally:
        if own:
            client.close()
