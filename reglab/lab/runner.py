"""The runner: expand grid x seeds, run in parallel, commit each finished run at once.

Local runs go through a process pool (spawned workers; ``jobs=1`` runs in-process); a Dask
scheduler address sends the same tasks to a cluster, the engine for runs that outgrow one
machine. Seeds derive from (claim id, params, repetition) alone, and every task runs with one
BLAS / torch thread, so the same command gives bit-identical metrics wherever it runs.

Workers never outlive the run: on Linux each asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``), and every worker also watches its parent's pid; a SIGTERM of the
parent ends the run cleanly (runs committed so far are kept, the workers are terminated).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import random
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from reglab.lab.claim import Claim, Params, get_claim, registry
from reglab.lab.results import ResultStore, RunRecord, canonical_params

SMOKE = "smoke"
DEFAULT = "default"
#: a claim's larger grid for a Dask cluster or a GPU (``Claim.scale``)
SCALE = "scale"
#: the most repetitions per grid point a run accepts (the largest claim grid uses 40)
MAX_SEEDS = 1000
#: the most local worker processes a run accepts
MAX_JOBS = max(32, 4 * (os.cpu_count() or 1))
#: seconds to wait for a Dask scheduler before giving up
SCHEDULER_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Task:
    """One run to do: a claim at one grid point and one repetition (under a protocol)."""

    claim_id: str
    params: Params
    repetition: int
    grid: str
    protocol: str = ""

    @property
    def seed(self) -> int:
        return derive_seed(self.claim_id, self.params, self.repetition)


def derive_seed(claim_id: str, params: Params, repetition: int) -> int:
    """A 32-bit seed that depends only on (claim id, canonical params, repetition)."""
    key = f"{claim_id}|{canonical_params(params)}|{repetition}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "little")


def protocol_of(claim: Claim) -> str:
    """The claim's frozen-protocol id (``claim.protocol_id()``), or ``''`` for a claim class
    without protocols. Runs are stored, resumed and judged per protocol."""
    method = getattr(claim, "protocol_id", None)
    if method is None:
        return ""
    value = method() if callable(method) else method
    if not isinstance(value, str):
        raise TypeError(f"claim {claim.id!r}: protocol_id() returned {value!r}, not a str")
    return value


def _check_count(name: str, value: Any, top: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
        raise ValueError(f"{name}={value!r} must be an integer between 1 and {top}")
    return value


def plan(
    claims: Iterable[Claim], *, smoke: bool = False, seeds: int | None = None, scale: bool = False
) -> list[Task]:
    """Every (claim, grid point, repetition) task, in a stable order.

    ``scale`` takes each claim's ``scale`` grid (its default grid when it has none) with the
    seeds of its protocol's power analysis (at least the claim's default seeds).
    """
    if isinstance(claims, str | Claim):
        raise TypeError(f"claims must be an iterable of Claim objects, got {claims!r}")
    claims = list(claims)
    for c in claims:
        if not isinstance(c, Claim):
            raise TypeError(f"claims must hold Claim objects, got {type(c).__name__}: {c!r}")
    if smoke and scale:
        raise ValueError("smoke=True and scale=True: choose one grid")
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ValueError(f"seeds={seeds!r} must be a positive integer")
        _check_count("seeds", seeds, MAX_SEEDS)
    tasks = []
    for claim in claims:
        reps = seeds if seeds is not None else (claim.smoke_seeds if smoke else claim.seeds)
        if scale and seeds is None and claim.protocol is not None:
            reps = max(reps, claim.protocol.seeds)
        protocol = protocol_of(claim)
        label = _grid_label(smoke=smoke, scale=scale)
        for params in claim.param_grid(smoke=smoke, scale=scale):
            for rep in range(reps):
                tasks.append(Task(claim.id, params, rep, label, protocol))
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
    torch_threads = None
    try:
        claim = get_claim(task.claim_id)
        # torch's global generator is seeded whenever torch is installed, not only once it
        # is imported: a claim importing torch inside run() would otherwise draw unseeded
        # numbers in the first torch run of each process (the import costs once per worker)
        torch_threads = _seed_torch(seed) if _TORCH_INSTALLED else None
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
        protocol=task.protocol,
    )


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


_TORCH_INSTALLED = importlib.util.find_spec("torch") is not None


def _seed_torch(seed: int) -> int:
    """Seed torch, run it on one thread; return the thread count to restore afterwards."""
    import torch

    torch.manual_seed(seed)
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    return previous


@dataclass
class RunReport:
    """What a call to :func:`run_claims` did.

    ``verdicts`` maps claim id to whether its verdict passed, ``outcomes`` to the verdict's
    outcome string ("PASS", "SUPPORTED", "INCONCLUSIVE", ...).
    """

    planned: int = 0
    skipped: int = 0
    done: int = 0
    failed: list[RunRecord] = field(default_factory=list)
    verdicts: dict[str, bool] = field(default_factory=dict)
    outcomes: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def _grid_label(*, smoke: bool, scale: bool) -> str:
    return SMOKE if smoke else SCALE if scale else DEFAULT


ProgressCallback = Callable[[RunRecord], None]


def run_claims(
    claim_ids: Sequence[str] | None = None,
    *,
    store: ResultStore,
    smoke: bool = False,
    seeds: int | None = None,
    jobs: int = 1,
    scale: bool = False,
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
    scale : bool
        Use each claim's ``scale`` grid (a cluster's or a GPU's worth) with its protocol's
        seeds, stored under the grid label ``"scale"``.
    seeds : int or None
        Repetitions per grid point, 1 to :data:`MAX_SEEDS` (default: the claim's own).
    jobs : int
        Local worker processes, 1 to :data:`MAX_JOBS`; 1 runs in this process.
    scheduler : str, distributed.Client or None
        A Dask scheduler address (``tcp://host:8786``) or client: run there instead. An
        address that does not answer within :data:`SCHEDULER_TIMEOUT_S` raises
        ConnectionError before anything is written.
    force : bool
        Re-run runs already stored. Each old run is replaced only in the transaction that
        commits its new run, so a killed or failed forced run keeps every old run.

    Only runs of each claim's current protocol (:func:`protocol_of`) count as stored; runs
    of other protocols stay in the store, untouched. Verdicts come from the stored rows of
    the current protocol, through the store's cache when the rows are unchanged.
    """
    _check_count("jobs", jobs, MAX_JOBS)
    if not isinstance(store, ResultStore):
        raise TypeError(f"store must be a reglab ResultStore, got {type(store).__name__}")
    if isinstance(claim_ids, str):  # iterating it would run claims named by its letters
        raise TypeError(f"claim_ids must be a list of claim ids, not the string {claim_ids!r}")
    for flag, value in (("smoke", smoke), ("scale", scale), ("force", force)):
        if not isinstance(value, bool):
            raise TypeError(f"{flag} must be True or False, got {value!r}")
    for name, callback in (("on_start", on_start), ("on_result", on_result)):
        if callback is not None and not callable(callback):
            raise TypeError(f"{name} must be callable or None, got {callback!r}")
    claims = list(registry().values()) if claim_ids is None else [get_claim(c) for c in claim_ids]
    tasks = plan(claims, smoke=smoke, seeds=seeds, scale=scale)
    report = RunReport(planned=len(tasks))
    grid = _grid_label(smoke=smoke, scale=scale)
    if force:
        pending = list(tasks)
    else:
        done = {c.id: store.done_keys(c.id, grid, protocol_of(c)) for c in claims}
        pending = [t for t in tasks if (canonical_params(t.params), t.seed) not in done[t.claim_id]]
    report.skipped = len(tasks) - len(pending)
    client = _connect_scheduler(scheduler) if scheduler is not None and pending else None
    try:
        if on_start is not None:
            on_start(len(pending))
        if pending:
            session = store.begin_session(command)
            try:
                with _sigterm_as_exit():
                    for rec in _dispatch(pending, jobs=jobs, client=client):
                        store.record(rec, session)
                        report.done += 1
                        if rec.error is not None:
                            report.failed.append(rec)
                        if on_result is not None:
                            on_result(rec)
            finally:
                store.end_session(session)
    finally:
        if client is not None and not _is_client(scheduler):
            client.close()
    for cid, entry in current_verdicts(claims, store).items():
        report.verdicts[cid] = entry["passed"]
        report.outcomes[cid] = entry["outcome"]
    return report


# -- verdicts -------------------------------------------------------------------------------
def outcome_of(verdict: Any) -> str:
    """The verdict's outcome string; "PASS"/"FAIL" for a verdict with only ``passed``."""
    outcome = getattr(verdict, "outcome", None)
    return str(outcome) if outcome else ("PASS" if verdict.passed else "FAIL")


@functools.cache
def _lab_code_key() -> str:
    # A verdict depends on code as well as rows: a changed threshold must not be served from
    # the cache. The lab's own sources (claims, their helpers, stats, protocols) and reglab's
    # version stand for that code; any edit there invalidates every cached verdict once.
    import reglab

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(reglab.__version__.encode())
    for path in sorted([*root.glob("*.py"), *(root / "claims").rglob("*.py")]):
        digest.update(path.relative_to(root).as_posix().encode())
        with contextlib.suppress(OSError):
            digest.update(path.read_bytes())
    return digest.hexdigest()


@functools.cache
def _code_key(module_name: str) -> str:
    """The lab's code key plus the source of the claim's own module (a claim defined outside
    ``reglab.lab``, e.g. in a test or a user's package)."""
    module = sys.modules.get(module_name)
    path = getattr(module, "__file__", None)
    digest = hashlib.sha256(_lab_code_key().encode())
    if path:
        with contextlib.suppress(OSError):
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


def verdict_key(claim: Claim, rows_key: str) -> str:
    """The verdict cache's key: the stored rows' identity plus the claim's code."""
    return f"{rows_key}|{_code_key(type(claim).__module__)}"


def _make_verdict(passed: bool, evidence: str, figure: Any = None) -> Any:
    """A Verdict from (passed, evidence, figure): the first-wave form, which the Verdict
    class keeps accepting (its outcome is then PASS or FAIL)."""
    from reglab.lab.claim import Verdict

    return Verdict(passed, evidence, figure)


def compute_verdict(claim: Claim, store: ResultStore, *, keep_figure: bool = False):
    """The claim's verdict from its stored rows of the current protocol (None when nothing
    ran under it); cached in the store with the rows' key unless the store is read-only.

    A verdict that raises is recorded as a failed verdict carrying the traceback.
    """
    import matplotlib.pyplot as plt

    from reglab.lab.claim import Verdict

    protocol = protocol_of(claim)
    grid = store.latest_grid(claim.id, protocol)
    if grid is None:
        return None
    rows, rows_key = store.rows_and_key(claim.id, grid, protocol)
    if not rows:
        return None
    try:
        verdict = claim.verdict(rows)
        if not isinstance(verdict, Verdict):
            passed, evidence, figure = verdict
            verdict = _make_verdict(bool(passed), str(evidence), figure)
    except Exception:  # noqa: BLE001 - a broken verdict must show in the report, not crash it
        from reglab.lab.claim import FAIL

        tb = traceback.format_exc()
        # a verdict that raises is a bug in the lab, whatever kind of claim it is
        verdict = Verdict(
            outcome=FAIL,
            sentence="Bug: the verdict code raised " + tb.strip().splitlines()[-1],
            evidence="verdict raised:\n" + tb,
        )
    if not store.readonly:
        store.save_verdict(
            claim.id,
            grid,
            bool(verdict.passed),
            str(verdict.evidence),
            outcome=outcome_of(verdict),
            sentence=str(getattr(verdict, "sentence", "") or ""),
            protocol=protocol,
            rows_key=verdict_key(claim, rows_key),
        )
    if not keep_figure and verdict.figure is not None:
        plt.close(verdict.figure)
        verdict.figure = None
    return verdict


def current_verdicts(claims: Iterable[Claim], store: ResultStore) -> dict[str, dict[str, Any]]:
    """Each claim's verdict on its stored rows of the current protocol, by id.

    Served from the store's cache when its key matches the rows and code now (cheap: no
    verdict code, matplotlib or torch is loaded), recomputed otherwise, so never stale.
    Claims with nothing stored under their current protocol are left out (NOT RUN). Each
    entry has ``outcome``, ``passed``, ``grid``, ``protocol``, ``sentence``, ``evidence``.
    """
    cached = store.verdicts()
    out: dict[str, dict[str, Any]] = {}
    for claim in claims:
        protocol = protocol_of(claim)
        grid = store.latest_grid(claim.id, protocol)
        if grid is None:
            continue
        key = verdict_key(claim, store.rows_key(claim.id, grid, protocol))
        entry = cached.get(claim.id)
        if entry is None or entry["rows_key"] != key:
            verdict = compute_verdict(claim, store)
            if verdict is None:
                continue
            entry = {
                "grid": grid,
                "passed": bool(verdict.passed),
                "evidence": str(verdict.evidence),
                "outcome": outcome_of(verdict),
                "sentence": str(getattr(verdict, "sentence", "") or ""),
                "protocol": protocol,
                "rows_key": key,
            }
        out[claim.id] = entry
    return out


def outcome_counts(outcomes: Iterable[str]) -> str:
    """``"30 claims: 24 SUPPORTED, 4 PASS, 2 FAIL"``: counts per outcome, largest first."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    total = sum(counts.values())
    parts = ", ".join(f"{n} {o}" for o, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    noun = "claim" if total == 1 else "claims"
    return f"{total} {noun}: {parts}" if parts else f"0 {noun}"


# -- dispatch -------------------------------------------------------------------------------
def _is_client(scheduler: Any) -> bool:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the extra
        return False
    return isinstance(scheduler, Client)


def _connect_scheduler(scheduler: Any) -> Any:
    """A Dask client for ``scheduler`` (an address or a client), or ConnectionError in at
    most :data:`SCHEDULER_TIMEOUT_S` seconds."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise ImportError(
            "scheduler= needs Dask's distributed scheduler: pip install 'reglab[dask]'"
        ) from exc
    if isinstance(scheduler, Client):
        return scheduler
    if not isinstance(scheduler, str) or not scheduler.strip():
        raise TypeError(f"scheduler={scheduler!r} must be an address like tcp://host:8786")
    address = scheduler if "://" in scheduler else "tcp://" + scheduler
    parsed = urllib.parse.urlsplit(address)
    if parsed.scheme == "tcp":
        # Probe the port first: a closed port is refused in milliseconds, whereas Client()
        # retries until its timeout and leaves a half-made client that logs on deletion.
        try:
            port = parsed.port
        except ValueError as exc:
            raise ValueError(f"scheduler={scheduler!r} has no valid port") from exc
        if not parsed.hostname or port is None:
            raise ValueError(f"scheduler={scheduler!r} must be an address like tcp://host:8786")
        try:
            socket.create_connection((parsed.hostname, port), timeout=SCHEDULER_TIMEOUT_S).close()
        except OSError as exc:
            raise ConnectionError(
                f"scheduler={scheduler!r} is unreachable ({exc.strerror or exc}); nothing ran"
            ) from exc
    try:
        return Client(address, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(
            f"scheduler={scheduler!r} is unreachable ({exc}); nothing ran"
        ) from exc


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """While runs are in flight, SIGTERM ends the run like Ctrl-C: workers are terminated,
    the session is closed, the runs committed so far stay (exit status 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dispatch(tasks: list[Task], *, jobs: int, client: Any) -> Iterator[RunRecord]:
    if not tasks:
        return
    if client is not None:
        yield from _dispatch_dask(tasks, client)
    elif jobs == 1:
        for t in tasks:
            yield execute(t)
    else:
        yield from _dispatch_local(tasks, min(jobs, len(tasks)))


def _dispatch_local(tasks: list[Task], jobs: int) -> Iterator[RunRecord]:
    """Spawned worker processes that die with this one (see :func:`_worker_init`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(os.getpid(),),
    )
    finished = False
    try:
        futures = [pool.submit(execute, t) for t in tasks]
        for fut in as_completed(futures):
            try:
                rec = fut.result()
            except BrokenProcessPool as exc:
                raise WorkerDied(
                    f"a worker process died ({exc.__class__.__name__}: out of memory or "
                    "killed?); the runs committed so far are kept, the same command resumes"
                ) from exc
            yield rec
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted, killed by SIGTERM, or a worker crashed: stop every worker now
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in workers:
                proc.terminate()
            for proc in workers:
                proc.join(5)
                if proc.is_alive():
                    proc.kill()


class WorkerDied(RuntimeError):
    """A local worker process died mid-run (killed, out of memory); one-line message."""


def _worker_init(parent_pid: int) -> None:
    """Make a worker die with its parent, whatever kills the parent.

    Linux: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` has the kernel kill the worker when the
    parent exits. Everywhere: a daemon thread exits the worker once its parent pid changes
    (the worker was re-parented), checked twice a second.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.5)


def _dispatch_dask(tasks: list[Task], client: Any) -> Iterator[RunRecord]:
    from distributed import as_completed

    futures = [client.submit(execute, t, pure=False) for t in tasks]
    finished = False
    try:
        # the client is not made the process default (set_as_default=False): name its loop
        for fut in as_completed(futures, loop=client.loop):
            yield fut.result()
        finished = True
    finally:
        if not finished:
            with contextlib.suppress(Exception):  # the cluster may be gone already
                client.cancel(futures)
