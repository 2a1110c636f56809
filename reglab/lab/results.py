"""The results store: one SQLite file of tidy rows, resumable and safe to kill.

Tables
------
``meta``      schema tag and version (a file without it is not ours and is never written).
``sessions``  one row per ``reglab run``: reglab and package versions, git SHA, machine,
              start and end time, the command line.
``runs``      one row per (claim, params, seed, grid): status ``ok`` or ``error`` (with
              traceback). Smoke and default grids are kept apart, so a point that both share
              is stored once for each and neither grid's verdict misses it.
``metrics``   one row per (claim, params, seed, grid, metric): ``value`` or ``value_json``.
``verdicts``  the last verdict computed per claim (for ``reglab list``; the report recomputes).

Each finished run is written in one transaction, so a SIGKILL loses at most the runs in
flight and leaves a readable file. WAL mode and a busy timeout let several processes write
to the same store without corrupting it.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reglab.lab.claim import Metrics, Params, Rows, RunRow

SCHEMA_TAG = "reglab-results"
SCHEMA_VERSION = 2
DEFAULT_STORE = Path("lab-results") / "reglab.sqlite"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    reglab_version TEXT, packages TEXT, git_sha TEXT, machine TEXT,
    command TEXT, started_at REAL, finished_at REAL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL,
    repetition INTEGER NOT NULL, grid TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, session_id INTEGER, started_at REAL, finished_at REAL,
    UNIQUE (claim_id, params, seed, grid)
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    claim_id TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, grid TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, value_json TEXT,
    PRIMARY KEY (run_id, metric)
);
CREATE TABLE IF NOT EXISTS verdicts (
    claim_id TEXT PRIMARY KEY, grid TEXT, passed INTEGER, evidence TEXT, computed_at REAL
);
CREATE INDEX IF NOT EXISTS runs_by_claim ON runs (claim_id, grid);
"""


class StoreError(RuntimeError):
    """The results file cannot be used (unreadable, or not a reglab store)."""


def canonical_params(params: Params) -> str:
    """The params as canonical JSON: the identity of a grid point in the store."""
    try:
        return json.dumps(params, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"params={params!r} must be JSON-serialisable finite values") from exc


@dataclass(frozen=True)
class RunRecord:
    """A finished run as the runner hands it to the store."""

    claim_id: str
    params: Params
    seed: int
    repetition: int
    grid: str
    metrics: Metrics | None
    error: str | None
    started_at: float
    finished_at: float


class ResultStore:
    """An SQLite results store at ``path`` (created on first write).

    Opening a file that is not SQLite, or an SQLite database that reglab did not create,
    raises :class:`StoreError` and leaves the file untouched.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_STORE, *, create: bool = True):
        self.path = Path(path)
        if self.path.exists():
            self._check_ours()
        elif not create:
            raise StoreError(f"store={str(self.path)!r} does not exist; run `reglab run` first")
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as con:
                con.executescript(_DDL)
                con.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?), ('version', ?)",
                    (SCHEMA_TAG, str(SCHEMA_VERSION)),
                )

    # -- connection ---------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            con.execute("PRAGMA busy_timeout = 60000")
            con.execute("PRAGMA foreign_keys = ON")
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            yield con
        finally:
            con.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _check_ours(self) -> None:
        where = f"store={str(self.path)!r}"
        try:
            # read-only URI: a foreign file is never modified, not even its journal mode
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=60.0)
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
                tag = version = None
                if "meta" in tables:
                    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                    tag, version = meta.get("schema"), meta.get("version")
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where} is not a readable SQLite file ({exc}); not touched") from exc
        if tag != SCHEMA_TAG:
            raise StoreError(
                f"{where} is an SQLite database that reglab did not create "
                f"(tables: {sorted(tables) or 'none'}); not touched. Pass another --store path."
            )
        if version != str(SCHEMA_VERSION):
            raise StoreError(
                f"{where} was written by another reglab version (store schema {version}, this "
                f"reglab reads schema {SCHEMA_VERSION}); not touched. Pass another --store path."
            )

    # -- sessions -----------------------------------------------------------------------
    def begin_session(self, command: str = "") -> int:
        meta = run_metadata()
        with self._transaction() as con:
            cur = con.execute(
                "INSERT INTO sessions (reglab_version, packages, git_sha, machine, command,"
                " started_at) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    meta["reglab_version"],
                    json.dumps(meta["packages"], sort_keys=True),
                    meta["git_sha"],
                    meta["machine"],
                    command,
                    time.time(),
                ),
            )
            return int(cur.lastrowid or 0)

    def end_session(self, session_id: int) -> None:
        with self._transaction() as con:
            con.execute(
                "UPDATE sessions SET finished_at=? WHERE session_id=?", (time.time(), session_id)
            )

    def sessions(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute("SELECT * FROM sessions ORDER BY session_id").fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["packages"] = json.loads(d["packages"] or "{}")
            out.append(d)
        return out

    # -- runs ---------------------------------------------------------------------------
    def done_keys(self, claim_id: str, grid: str) -> set[tuple[str, int]]:
        """(params JSON, seed) of the runs of ``claim_id`` on ``grid`` stored successfully."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT params, seed FROM runs WHERE claim_id=? AND grid=? AND status='ok'",
                (claim_id, grid),
            ).fetchall()
        return {(p, int(s)) for p, s in rows}

    def record(self, rec: RunRecord, session_id: int | None = None) -> None:
        """Write one finished run (and its metrics) in one transaction, replacing any older."""
        params = canonical_params(rec.params)
        metric_rows = [] if rec.metrics is None else list(_metric_rows(rec.metrics))
        status = "ok" if rec.error is None else "error"
        with self._transaction() as con:
            con.execute(
                "DELETE FROM runs WHERE claim_id=? AND params=? AND seed=? AND grid=?",
                (rec.claim_id, params, rec.seed, rec.grid),
            )
            cur = con.execute(
                "INSERT INTO runs (claim_id, params, seed, repetition, grid, status, error,"
                " session_id, started_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    rec.claim_id,
                    params,
                    rec.seed,
                    rec.repetition,
                    rec.grid,
                    status,
                    rec.error,
                    session_id,
                    rec.started_at,
                    rec.finished_at,
                ),
            )
            run_id = cur.lastrowid
            con.executemany(
                "INSERT INTO metrics (run_id, claim_id, params, seed, grid, metric, value,"
                " value_json) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (run_id, rec.claim_id, params, rec.seed, rec.grid, m, v, j)
                    for m, v, j in metric_rows
                ],
            )

    def delete_claim_runs(self, claim_id: str, grid: str | None = None) -> None:
        with self._transaction() as con:
            if grid is None:
                con.execute("DELETE FROM runs WHERE claim_id=?", (claim_id,))
            else:
                con.execute("DELETE FROM runs WHERE claim_id=? AND grid=?", (claim_id, grid))

    def latest_grid(self, claim_id: str) -> str | None:
        """The grid label ('smoke', 'default', ...) of the claim's most recent run."""
        with self._connect() as con:
            row = con.execute(
                "SELECT grid FROM runs WHERE claim_id=? ORDER BY finished_at DESC, run_id DESC"
                " LIMIT 1",
                (claim_id,),
            ).fetchone()
        return row[0] if row else None

    def rows(self, claim_id: str, grid: str | None = None) -> Rows:
        """Successful runs of a claim (of its latest grid unless ``grid`` is given)."""
        grid = grid or self.latest_grid(claim_id)
        if grid is None:
            return Rows([])
        with self._connect() as con:
            runs = con.execute(
                "SELECT run_id, params, seed, repetition FROM runs"
                " WHERE claim_id=? AND grid=? AND status='ok' ORDER BY params, repetition",
                (claim_id, grid),
            ).fetchall()
            mets = con.execute(
                "SELECT m.run_id, m.metric, m.value, m.value_json FROM metrics m"
                " JOIN runs r ON r.run_id = m.run_id WHERE r.claim_id=? AND r.grid=?",
                (claim_id, grid),
            ).fetchall()
        by_run: dict[int, Metrics] = {}
        for run_id, name, value, value_json in mets:
            by_run.setdefault(run_id, {})[name] = (
                json.loads(value_json) if value_json is not None else float(value)
            )
        return Rows(
            RunRow(claim_id, json.loads(p), int(s), int(rep), by_run.get(run_id, {}))
            for run_id, p, s, rep in runs
        )

    def errors(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        """Runs that raised, with their traceback."""
        q = "SELECT claim_id, params, seed, grid, error FROM runs WHERE status='error'"
        args: tuple[Any, ...] = ()
        if claim_id is not None:
            q += " AND claim_id=?"
            args = (claim_id,)
        with self._connect() as con:
            rows = con.execute(q + " ORDER BY run_id", args).fetchall()
        return [
            {"claim_id": c, "params": json.loads(p), "seed": s, "grid": g, "error": e}
            for c, p, s, g, e in rows
        ]

    def run_summary(self, claim_id: str) -> dict[str, Any]:
        """Counts, seeds and timing of the claim's latest grid, for the report's cards."""
        grid = self.latest_grid(claim_id)
        with self._connect() as con:
            row = con.execute(
                "SELECT COUNT(*), SUM(status='ok'), SUM(status='error'), MIN(started_at),"
                " MAX(finished_at), SUM(finished_at - started_at), MAX(session_id)"
                " FROM runs WHERE claim_id=? AND grid=?",
                (claim_id, grid),
            ).fetchone()
        n, ok, err, t0, t1, busy, session = row
        return {
            "grid": grid,
            "runs": n or 0,
            "ok": ok or 0,
            "errors": err or 0,
            "started_at": t0,
            "finished_at": t1,
            "compute_s": busy or 0.0,
            "session_id": session,
        }

    def all_metric_rows(self) -> list[tuple[str, str, int, str, str, float | None, str | None]]:
        """Every (claim, params, seed, grid, metric, value, value_json) row, stably ordered."""
        with self._connect() as con:
            return con.execute(
                "SELECT claim_id, params, seed, grid, metric, value, value_json FROM metrics"
                " ORDER BY claim_id, params, seed, grid, metric"
            ).fetchall()

    # -- verdicts -----------------------------------------------------------------------
    def save_verdict(self, claim_id: str, grid: str | None, passed: bool, evidence: str) -> None:
        with self._transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?)",
                (claim_id, grid, int(passed), evidence, time.time()),
            )

    def verdicts(self) -> dict[str, dict[str, Any]]:
        with self._connect() as con:
            rows = con.execute("SELECT claim_id, grid, passed, evidence FROM verdicts").fetchall()
        return {c: {"grid": g, "passed": bool(p), "evidence": e} for c, g, p, e in rows}


def _metric_rows(metrics: Metrics) -> Iterable[tuple[str, float | None, str | None]]:
    if not isinstance(metrics, dict):
        raise TypeError(f"run() must return a dict of metrics, got {type(metrics).__name__}")
    for name, value in metrics.items():
        if not isinstance(name, str):
            raise TypeError(f"metric names must be strings, got {name!r}")
        if isinstance(value, bool | int | float) or _is_numpy_scalar(value):
            yield name, float(value), None  # type: ignore[arg-type]
        else:
            try:
                for v in _flatten(value):
                    float(v)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"metric {name!r}={value!r} must be a number or a list of numbers"
                ) from exc
            yield name, None, json.dumps(_tolist(value), allow_nan=True)


def _is_numpy_scalar(value: Any) -> bool:
    return hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0


def _flatten(value: Any) -> Iterable[Any]:
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        for v in value:
            yield from _flatten(v)
    else:
        yield value


def _tolist(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [_tolist(v) for v in value]
    return float(value)


# -- run metadata -------------------------------------------------------------------------
_PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "numba",
    "joblib",
    "matplotlib",
    "torch",
    "kornia",
    "dask",
    "distributed",
)


def run_metadata() -> dict[str, Any]:
    """reglab version, versions of the packages that shape results, git SHA, machine."""
    from importlib import metadata

    import reglab

    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "reglab_version": reglab.__version__,
        "packages": packages,
        "git_sha": _git_sha(),
        "machine": f"{socket.gethostname()} {platform.machine()} {os.cpu_count()} cpus "
        f"{platform.system()} {platform.release()} python {platform.python_version()}",
    }


def _git_sha() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None
