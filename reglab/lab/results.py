"""The results store: one SQLite file of tidy rows, resumable and safe to kill.

Tables
------
``meta``      schema tag and version (a file without it is not ours and is never written).
``sessions``  one row per ``reglab run`` that ran something: reglab and package versions,
              git SHA, machine, start and end time, the command line.
``runs``      one row per (claim, params, seed, grid, protocol): status ``ok`` or ``error``
              (with traceback). Smoke and default grids are kept apart, so a point that both
              share is stored once for each and neither grid's verdict misses it. ``protocol``
              is the claim's frozen-protocol id when the run was made (``''`` for runs stored
              before protocols existed); rows of different protocols are never pooled and
              never deleted.
``metrics``   one row per (run, metric): ``value`` or ``value_json``.
``verdicts``  a cache of the last verdict per claim, keyed on the identity of the rows it
              was computed from (grid, protocol, count, largest and summed run ids, claim
              code), so a reader can tell a current entry from a stale one.

Each finished run is written in one transaction, so a SIGKILL loses at most the runs in
flight and leaves a readable file. Replacing a stored run (``--force``) deletes the old row
in the transaction that inserts the new one: a killed or failed re-run keeps the old run.
WAL mode and a busy timeout let several processes write to the same store. A new store is
built in a temporary file and linked into place, so processes that create the same store at
once all end up with the one complete file. A store opened with ``readonly=True`` is read
through ``mode=ro`` connections and is never written.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import socket
import sqlite3
import stat
import subprocess
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reglab.lab.claim import Metrics, Params, Rows, RunRow

SCHEMA_TAG = "reglab-results"
SCHEMA_VERSION = 3
#: schema versions this reglab migrates in place (on a write) or reads through views
_MIGRATABLE = ("2",)
DEFAULT_STORE = Path("lab-results") / "reglab.sqlite"

_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS {name} (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    claim_id TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL,
    repetition INTEGER NOT NULL, grid TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, session_id INTEGER, started_at REAL, finished_at REAL,
    protocol TEXT NOT NULL DEFAULT '',
    UNIQUE (claim_id, params, seed, grid, protocol)
);
"""
_VERDICTS_DDL = """
CREATE TABLE IF NOT EXISTS verdicts (
    claim_id TEXT PRIMARY KEY, grid TEXT, passed INTEGER, evidence TEXT, computed_at REAL,
    outcome TEXT, sentence TEXT, protocol TEXT NOT NULL DEFAULT '',
    rows_key TEXT NOT NULL DEFAULT ''
);
"""
_INDEX_DDL = "CREATE INDEX IF NOT EXISTS runs_by_claim ON runs (claim_id, grid, protocol);"
_DDL = (
    """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    session_id INTEGER PRIMARY KEY AUTOINCREMENT,
    reglab_version TEXT, packages TEXT, git_sha TEXT, machine TEXT,
    command TEXT, started_at REAL, finished_at REAL
);
"""
    + _RUNS_DDL.format(name="runs")
    + """
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    claim_id TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, grid TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, value_json TEXT,
    PRIMARY KEY (run_id, metric)
);
"""
    + _VERDICTS_DDL
    + _INDEX_DDL
)
_TABLES = ("meta", "sessions", "runs", "metrics", "verdicts")
_RUN_COLUMNS = (
    "run_id, claim_id, params, seed, repetition, grid, status, error, session_id,"
    " started_at, finished_at"
)
# A schema-2 store read without writing: the columns schema 3 added, as temporary views that
# shadow the stored tables (SQLite resolves an unqualified name in ``temp`` first).
_V2_VIEWS = (
    f"CREATE TEMP VIEW runs AS SELECT {_RUN_COLUMNS}, '' AS protocol FROM main.runs",
    "CREATE TEMP VIEW verdicts AS SELECT claim_id, grid, passed, evidence, computed_at,"
    " NULL AS outcome, NULL AS sentence, '' AS protocol, '' AS rows_key FROM main.verdicts",
)


class StoreError(RuntimeError):
    """The results file cannot be used: missing, not a reglab store, damaged, read-only
    where a write is needed, or the disk refused a write. The message is one line."""


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
    protocol: str = ""


class ResultStore:
    """An SQLite results store at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The SQLite file.
    create : bool
        Create the store (and its folder) when ``path`` does not exist; otherwise a missing
        path raises :class:`StoreError` and nothing is created.
    readonly : bool
        Open for reading only: every connection is a ``mode=ro`` URI, nothing is written
        (no verdict cache, no migration, no journal-mode change). Implies ``create=False``.

    Opening a file that is not SQLite, an SQLite database that reglab did not create, a
    damaged reglab store or one of an unknown schema raises :class:`StoreError` and leaves
    the file untouched. A schema-2 store is migrated in place when opened for writing, and
    read as it is when opened read-only.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_STORE,
        *,
        create: bool = True,
        readonly: bool = False,
    ):
        if not isinstance(path, str | os.PathLike):
            raise TypeError(f"path must be a file path, got {type(path).__name__}: {path!r}")
        if not str(path).strip():
            raise ValueError("path='' is empty: name the SQLite file of the store")
        for flag, value in (("create", create), ("readonly", readonly)):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be True or False, got {value!r}")
        self.path = Path(path)
        self.readonly = readonly
        self._legacy = False
        self._immutable = False
        if not self.path.exists():
            if self.readonly or not create:
                raise StoreError(
                    f"store={str(self.path.absolute())!r} does not exist (nothing was "
                    "created); `reglab run` creates a store, or pass --store PATH"
                )
            self._create()
        elif self.path.is_dir():
            raise StoreError(f"store={str(self.path)!r} is a folder, not an SQLite file")
        version = self._check_ours()
        if not self.readonly:
            self._check_writable()
            if version != str(SCHEMA_VERSION):
                self._migrate(version)
        elif version != str(SCHEMA_VERSION):
            self._legacy = True

    @property
    def where(self) -> str:
        """``store='<absolute path>'`` for messages."""
        return f"store={str(self.path.absolute())!r}"

    # -- creation and checks --------------------------------------------------------------
    def _create(self) -> None:
        """Build the store in a temporary file and hard-link it into place (atomic).

        ``os.link`` fails when the path exists, so of several processes creating the same
        store at once exactly one links its file; the others open that one. Nobody ever sees
        a half-built store (the race this replaces: an empty file without the schema tag).
        """
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.where}: cannot create its folder ({exc})") from exc
        tmp = parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            con = sqlite3.connect(tmp, isolation_level=None)
            try:
                con.execute("PRAGMA journal_mode = WAL")  # persistent in the file header
                con.execute("BEGIN")
                for statement in _DDL.split(";"):
                    if statement.strip():
                        con.execute(statement)
                con.execute(
                    "INSERT INTO meta VALUES ('schema', ?), ('version', ?)",
                    (SCHEMA_TAG, str(SCHEMA_VERSION)),
                )
                con.execute("COMMIT")
            finally:
                con.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process created it first: use theirs
            except OSError:
                # a file system without hard links: rename, still never over an existing store
                if not self.path.exists():
                    os.replace(tmp, self.path)
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc
        except OSError as exc:
            raise StoreError(f"{self.where} cannot be created ({exc})") from exc
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)

    def _ro_uri(self, immutable: bool = False) -> str:
        quoted = urllib.parse.quote(str(self.path.absolute()))
        return f"file:{quoted}?mode=ro" + ("&immutable=1" if immutable else "")

    def _ro_connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self._ro_uri(self._immutable), uri=True, timeout=60.0, isolation_level=None
        )
        if not self._immutable:
            try:
                con.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            except sqlite3.OperationalError:
                # a WAL file in a folder we cannot write (read-only media): no -shm can be
                # made, so read the file as immutable (nobody can be writing it there)
                con.close()
                self._immutable = True
                con = sqlite3.connect(self._ro_uri(True), uri=True, isolation_level=None)
        return con

    def _check_ours(self) -> str:
        """Check the file is a complete reglab store; return its schema version."""
        where = self.where
        try:
            # read-only URI: a foreign file is never modified, not even its journal mode
            con = self._ro_connect()
            try:
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
                tag = version = None
                if "meta" in tables:
                    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
                    tag, version = meta.get("schema"), meta.get("version")
                runs_columns = (
                    {r[1] for r in con.execute("PRAGMA table_info(runs)")}
                    if "runs" in tables
                    else set()
                )
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{where} is not a readable SQLite file ({exc}); not touched") from exc
        if tag != SCHEMA_TAG:
            raise StoreError(
                f"{where} is an SQLite database that reglab did not create "
                f"(tables: {sorted(tables) or 'none'}); not touched. Pass another --store path."
            )
        if version != str(SCHEMA_VERSION) and version not in _MIGRATABLE:
            raise StoreError(
                f"{where} was written by another reglab version (store schema {version}, this "
                f"reglab reads schema {SCHEMA_VERSION}); not touched. Pass another --store path."
            )
        missing = [t for t in _TABLES if t not in tables]
        if version == str(SCHEMA_VERSION) and "runs" in tables and "protocol" not in runs_columns:
            missing.append("runs.protocol")
        if missing:
            raise StoreError(
                f"{where} is a damaged reglab store (missing: {', '.join(missing)}); not "
                "touched. Restore it from a copy or pass another --store path."
            )
        return str(version)

    def _check_writable(self) -> None:
        # The permission bits decide, not only os.access: root may write a 0444 file, but a
        # user who made the store read-only means it. WAL also needs the folder writable.
        mode = self.path.stat().st_mode
        folder = self.path.absolute().parent
        if (
            not os.access(self.path, os.W_OK)
            or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            or not os.access(folder, os.W_OK)
        ):
            raise StoreError(
                f"{self.where} is read-only; `reglab run` needs write access to the file and "
                "its folder (list, show and report read it as it is)"
            )

    def _migrate(self, version: str) -> None:
        """Schema 2 -> 3 in place, in one exclusive transaction.

        Runs gain ``protocol`` ('' = stored before protocols) and the unique key includes it
        (SQLite cannot alter a constraint, so the table is rebuilt with its run ids, which the
        metrics reference); the verdict cache is rebuilt empty (verdicts are recomputed from
        rows). Foreign keys are off meanwhile so dropping the old table cascades nothing.
        """
        try:
            con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            try:
                con.execute("PRAGMA busy_timeout = 60000")
                con.execute("PRAGMA foreign_keys = OFF")
                con.execute("BEGIN EXCLUSIVE")
                now = con.execute("SELECT value FROM meta WHERE key='version'").fetchone()[0]
                if now == str(SCHEMA_VERSION):  # another process migrated it meanwhile
                    con.execute("ROLLBACK")
                    return
                try:
                    con.execute(_RUNS_DDL.format(name="runs_v3"))
                    con.execute(
                        f"INSERT INTO runs_v3 ({_RUN_COLUMNS}, protocol)"
                        f" SELECT {_RUN_COLUMNS}, '' FROM runs"
                    )
                    con.execute("DROP TABLE runs")
                    con.execute("ALTER TABLE runs_v3 RENAME TO runs")
                    con.execute(_INDEX_DDL)
                    con.execute("DROP TABLE verdicts")
                    con.execute(_VERDICTS_DDL)
                    con.execute(
                        "UPDATE meta SET value=? WHERE key='version'", (str(SCHEMA_VERSION),)
                    )
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise _translate(exc, f"{self.where} (migrating schema {version} -> 3)") from exc

    # -- connection ---------------------------------------------------------------------
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection; every SQLite error leaves as a one-line :class:`StoreError`."""
        try:
            if self.readonly:
                con = self._ro_connect()
                if self._legacy:
                    for view in _V2_VIEWS:
                        con.execute(view)
            else:
                con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            try:
                if not self.readonly:
                    con.execute("PRAGMA busy_timeout = 60000")
                    con.execute("PRAGMA foreign_keys = ON")
                    mode = con.execute("PRAGMA journal_mode").fetchone()[0]
                    if mode != "wal":
                        con.execute("PRAGMA journal_mode = WAL")
                yield con
            finally:
                con.close()
        except sqlite3.Error as exc:
            raise _translate(exc, self.where) from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StoreError(f"{self.where} was opened read-only; this needs a write")
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                # SQLite rolls back by itself on some errors (a full disk): then the original
                # error must surface, not "cannot rollback - no transaction is active"
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        with self._connect() as con:
            con.execute("BEGIN")
            try:
                yield con
            finally:
                if con.in_transaction:
                    con.execute("ROLLBACK")

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

    def sessions(self, *, include_empty: bool = False) -> list[dict[str, Any]]:
        """The sessions, oldest first; only those that stored a run unless ``include_empty``."""
        q = "SELECT * FROM sessions s"
        if not include_empty:
            q += " WHERE EXISTS (SELECT 1 FROM runs r WHERE r.session_id = s.session_id)"
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            rows = con.execute(q + " ORDER BY session_id").fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["packages"] = json.loads(d["packages"] or "{}")
            out.append(d)
        return out

    # -- runs ---------------------------------------------------------------------------
    def count_runs(self) -> int:
        """The number of stored runs (every claim, grid, protocol and status)."""
        with self._connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def done_keys(self, claim_id: str, grid: str, protocol: str = "") -> set[tuple[str, int]]:
        """(params JSON, seed) of the runs of ``claim_id`` on ``grid`` stored successfully
        under ``protocol`` (runs of other protocols do not count as done)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT params, seed FROM runs WHERE claim_id=? AND grid=? AND protocol=?"
                " AND status='ok'",
                (claim_id, grid, protocol),
            ).fetchall()
        return {(p, int(s)) for p, s in rows}

    def record(self, rec: RunRecord, session_id: int | None = None) -> bool:
        """Write one finished run (and its metrics) in one transaction.

        A stored run with the same key (claim, params, seed, grid, protocol) is replaced in
        that same transaction, so the old run goes only when the new one is committed. A
        failed run never replaces a successful one (the old result stays; the failure is
        reported by the runner). Returns whether the record was stored.
        """
        params = canonical_params(rec.params)
        metric_rows = [] if rec.metrics is None else list(_metric_rows(rec.metrics))
        status = "ok" if rec.error is None else "error"
        key = (rec.claim_id, params, rec.seed, rec.grid, rec.protocol)
        with self._transaction() as con:
            if status == "error":
                old = con.execute(
                    "SELECT status FROM runs WHERE claim_id=? AND params=? AND seed=?"
                    " AND grid=? AND protocol=?",
                    key,
                ).fetchone()
                if old is not None and old[0] == "ok":
                    return False
            con.execute(
                "DELETE FROM runs WHERE claim_id=? AND params=? AND seed=? AND grid=?"
                " AND protocol=?",
                key,
            )
            cur = con.execute(
                "INSERT INTO runs (claim_id, params, seed, repetition, grid, status, error,"
                " session_id, started_at, finished_at, protocol)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
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
                    rec.protocol,
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
        return True

    def delete_claim_runs(
        self, claim_id: str, grid: str | None = None, protocol: str | None = None
    ) -> None:
        """Delete a claim's runs (of one grid / protocol when given). The runner never calls
        this: ``--force`` replaces runs one by one as their new runs are committed."""
        q, args = "DELETE FROM runs WHERE claim_id=?", [claim_id]
        if grid is not None:
            q, args = q + " AND grid=?", [*args, grid]
        if protocol is not None:
            q, args = q + " AND protocol=?", [*args, protocol]
        with self._transaction() as con:
            con.execute(q, args)

    @staticmethod
    def _latest(
        con: sqlite3.Connection, claim_id: str, protocol: str | None, grid: str | None = None
    ) -> tuple[str, str] | None:
        q, args = "SELECT grid, protocol FROM runs WHERE claim_id=?", [claim_id]
        if protocol is not None:
            q, args = q + " AND protocol=?", [*args, protocol]
        if grid is not None:
            q, args = q + " AND grid=?", [*args, grid]
        row = con.execute(q + " ORDER BY finished_at DESC, run_id DESC LIMIT 1", args).fetchone()
        return (row[0], row[1]) if row else None

    def latest_grid(self, claim_id: str, protocol: str | None = None) -> str | None:
        """The grid label ('smoke', 'default', ...) of the claim's most recent run (of
        ``protocol`` when given)."""
        with self._connect() as con:
            latest = self._latest(con, claim_id, protocol)
        return latest[0] if latest else None

    def rows(self, claim_id: str, grid: str | None = None, protocol: str | None = None) -> Rows:
        """Successful runs of a claim on one grid under one protocol, never pooled.

        ``protocol=None`` takes the protocol of the claim's most recent run (on ``grid`` when
        given); ``grid=None`` the most recent grid of that protocol. The runner and verdicts
        pass the claim's current protocol.
        """
        with self._snapshot() as con:
            return self._rows(con, claim_id, grid, protocol)[0]

    def rows_and_key(self, claim_id: str, grid: str, protocol: str) -> tuple[Rows, str]:
        """:meth:`rows` and :meth:`rows_key` read in one snapshot (a cache key that matches
        exactly the rows a verdict was computed from)."""
        with self._snapshot() as con:
            rows = self._rows(con, claim_id, grid, protocol)[0]
            return rows, self._rows_key(con, claim_id, grid, protocol)

    def _rows(
        self, con: sqlite3.Connection, claim_id: str, grid: str | None, protocol: str | None
    ) -> tuple[Rows, str | None, str | None]:
        if grid is None or protocol is None:
            latest = self._latest(con, claim_id, protocol, grid)
            if latest is None:
                return Rows([]), grid, protocol
            grid, protocol = latest
        runs = con.execute(
            "SELECT run_id, params, seed, repetition FROM runs WHERE claim_id=? AND grid=?"
            " AND protocol=? AND status='ok' ORDER BY params, repetition",
            (claim_id, grid, protocol),
        ).fetchall()
        mets = con.execute(
            "SELECT m.run_id, m.metric, m.value, m.value_json FROM metrics m"
            " JOIN runs r ON r.run_id = m.run_id"
            " WHERE r.claim_id=? AND r.grid=? AND r.protocol=?",
            (claim_id, grid, protocol),
        ).fetchall()
        by_run: dict[int, Metrics] = {}
        for run_id, name, value, value_json in mets:
            by_run.setdefault(run_id, {})[name] = (
                json.loads(value_json) if value_json is not None else float(value)
            )
        rows = Rows(
            RunRow(claim_id, json.loads(p), int(s), int(rep), by_run.get(run_id, {}))
            for run_id, p, s, rep in runs
        )
        return rows, grid, protocol

    def rows_key(self, claim_id: str, grid: str, protocol: str) -> str:
        """The identity of the rows :meth:`rows` returns: grid, protocol, count, largest and
        summed run ids. Run ids are never reused (AUTOINCREMENT), so any added, replaced or
        deleted run changes the key."""
        with self._connect() as con:
            return self._rows_key(con, claim_id, grid, protocol)

    @staticmethod
    def _rows_key(con: sqlite3.Connection, claim_id: str, grid: str, protocol: str) -> str:
        n, top, total = con.execute(
            "SELECT COUNT(*), MAX(run_id), TOTAL(run_id) FROM runs"
            " WHERE claim_id=? AND grid=? AND protocol=? AND status='ok'",
            (claim_id, grid, protocol),
        ).fetchone()
        return json.dumps([grid, protocol, int(n), top, int(total)])

    def protocol_history(self, claim_id: str) -> list[dict[str, Any]]:
        """Every (protocol, grid) a claim has runs under, oldest first: the protocol id
        ('' = before protocols), the grid, ok and failed run counts, first and last time."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT protocol, grid, SUM(status='ok'), SUM(status='error'), MIN(started_at),"
                " MAX(finished_at) FROM runs WHERE claim_id=? GROUP BY protocol, grid"
                " ORDER BY MIN(started_at), protocol, grid",
                (claim_id,),
            ).fetchall()
        return [
            {
                "protocol": p,
                "grid": g,
                "ok": int(ok or 0),
                "errors": int(err or 0),
                "first": t0,
                "last": t1,
            }
            for p, g, ok, err, t0, t1 in rows
        ]

    def errors(self, claim_id: str | None = None) -> list[dict[str, Any]]:
        """Runs that raised, with their traceback."""
        q = "SELECT claim_id, params, seed, grid, error, protocol FROM runs WHERE status='error'"
        args: tuple[Any, ...] = ()
        if claim_id is not None:
            q += " AND claim_id=?"
            args = (claim_id,)
        with self._connect() as con:
            rows = con.execute(q + " ORDER BY run_id", args).fetchall()
        return [
            {
                "claim_id": c,
                "params": json.loads(p),
                "seed": s,
                "grid": g,
                "error": e,
                "protocol": pr,
            }
            for c, p, s, g, e, pr in rows
        ]

    def run_summary(self, claim_id: str, protocol: str | None = None) -> dict[str, Any]:
        """Counts, seeds and timing of the claim's latest grid (under ``protocol``, default
        the latest run's protocol), for the report's cards."""
        with self._snapshot() as con:
            latest = self._latest(con, claim_id, protocol)
            grid, proto = latest if latest else (None, protocol or "")
            row = con.execute(
                "SELECT COUNT(*), SUM(status='ok'), SUM(status='error'), MIN(started_at),"
                " MAX(finished_at), SUM(finished_at - started_at), MAX(session_id)"
                " FROM runs WHERE claim_id=? AND grid=? AND protocol=?",
                (claim_id, grid, proto),
            ).fetchone()
        n, ok, err, t0, t1, busy, session = row
        return {
            "grid": grid,
            "protocol": proto,
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
    def save_verdict(
        self,
        claim_id: str,
        grid: str | None,
        passed: bool,
        evidence: str,
        *,
        outcome: str | None = None,
        sentence: str = "",
        protocol: str = "",
        rows_key: str = "",
    ) -> None:
        """Cache a verdict with the key of the rows it was computed from (see
        :meth:`rows_key`); a reader compares keys and recomputes on a mismatch."""
        outcome = outcome or ("PASS" if passed else "FAIL")
        with self._transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO verdicts (claim_id, grid, passed, evidence,"
                " computed_at, outcome, sentence, protocol, rows_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    claim_id,
                    grid,
                    int(passed),
                    evidence,
                    time.time(),
                    outcome,
                    sentence,
                    protocol,
                    rows_key,
                ),
            )

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """The cached verdicts by claim id (check ``rows_key`` before trusting one)."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT claim_id, grid, passed, evidence, outcome, sentence, protocol, rows_key"
                " FROM verdicts"
            ).fetchall()
        return {
            c: {
                "grid": g,
                "passed": bool(p),
                "evidence": e,
                "outcome": o or ("PASS" if p else "FAIL"),
                "sentence": s or "",
                "protocol": pr or "",
                "rows_key": k or "",
            }
            for c, g, p, e, o, s, pr, k in rows
        }


def _translate(exc: sqlite3.Error, where: str) -> StoreError:
    """A one-line StoreError for an SQLite error, naming the store and what to do."""
    text = str(exc)
    low = text.lower()
    if "database or disk is full" in low or "disk i/o error" in low:
        return StoreError(
            f"{where}: the disk refused a write ({text}; is the disk full?); the write was "
            "rolled back and the runs committed before it are kept"
        )
    if "readonly" in low or "read-only" in low:
        return StoreError(f"{where} is read-only ({text}); `reglab run` needs write access")
    if "no such table" in low or "no such column" in low or "malformed" in low:
        return StoreError(
            f"{where} is a damaged reglab store ({text}); restore it from a copy or pass "
            "another --store path"
        )
    if "locked" in low or "busy" in low:
        return StoreError(f"{where} stayed locked by another process for 60 s ({text})")
    if "unable to open" in low:
        return StoreError(f"{where} cannot be opened ({text})")
    return StoreError(f"{where}: SQLite error ({type(exc).__name__}: {text})")


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
