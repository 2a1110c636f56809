"""The store under --force, concurrency, read-only files, damage, a full disk and protocols.

Issue 13 ("Data loss and races in the store") and issue 15 point 3 (frozen protocols): each
test pins one way the store used to lose data or answer wrongly.
"""

import hashlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from multiprocessing import get_context

import pytest

from reglab.lab.results import (
    SCHEMA_VERSION,
    ResultStore,
    RunRecord,
    StoreError,
    _translate,
)
from reglab.lab.runner import current_verdicts, protocol_of, run_claims


def _rec(claim="c", a=1, seed=7, metrics=None, error=None, grid="default", protocol=""):
    return RunRecord(claim, {"a": a}, seed, 0, grid, metrics, error, 0.0, 1.0, protocol)


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# -- --force never loses data -----------------------------------------------------------------
def test_force_replaces_each_run_only_when_its_new_run_is_committed(toy_claims, store):
    run_claims(["test-toy"], store=store)
    before = {(json.dumps(r.params), r.seed) for r in store.rows("test-toy")}
    with sqlite3.connect(store.path) as con:
        old_ids = {r[0] for r in con.execute("SELECT run_id FROM runs")}
    seen = []

    def on_result(rec):
        # while the forced run is in flight every stored point is still there
        seen.append(len(store.rows("test-toy")))

    forced = run_claims(["test-toy"], store=store, force=True, on_result=on_result)
    assert (forced.done, forced.skipped) == (6, 0)
    assert seen == [6] * 6
    after = {(json.dumps(r.params), r.seed) for r in store.rows("test-toy")}
    assert after == before
    with sqlite3.connect(store.path) as con:
        new_ids = {r[0] for r in con.execute("SELECT run_id FROM runs")}
    assert not new_ids & old_ids  # every run was replaced by its re-run


def test_a_failed_rerun_never_replaces_a_successful_run(store):
    store.record(_rec("test-toy", 5, metrics={"x": 1.0}))
    (ok,) = store.rows("test-toy", grid="default", protocol="").where(a=5)
    assert store.record(_rec("test-toy", 5, error="Traceback\nRuntimeError: late")) is False
    (kept,) = store.rows("test-toy", grid="default", protocol="").where(a=5)
    assert kept.metrics == ok.metrics and store.errors("test-toy") == []


def test_force_with_an_unreachable_scheduler_keeps_every_run_and_fails_fast(toy_claims, store):
    run_claims(["test-toy"], store=store)
    before = store.all_metric_rows()
    sessions = store.sessions(include_empty=True)
    t0 = time.perf_counter()
    with pytest.raises(ConnectionError, match=r"scheduler='tcp://127.0.0.1:\d+' is unreachable"):
        run_claims(
            ["test-toy"], store=store, force=True, scheduler=f"tcp://127.0.0.1:{_closed_port()}"
        )
    assert time.perf_counter() - t0 < 5.0
    assert store.all_metric_rows() == before
    assert store.sessions(include_empty=True) == sessions  # no session was begun


KILLED_FORCE = textwrap.dedent(
    """
    import sys, time
    from reglab.lab.claim import Claim, Verdict
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import run_claims
    from reglab.taxonomy import Kind

    class Slow(Claim):
        id = "test-slow-force"
        kind = Kind.DIAGNOSTICS
        statement = "slow"
        grid = {"i": list(range(20))}

        def run(self, params, seed):
            time.sleep(float(sys.argv[2]))
            return {"i": params["i"], "t": time.time()}

        def verdict(self, rows):
            return Verdict(True, "", None)

    run_claims(["test-slow-force"], store=ResultStore(sys.argv[1]), force=sys.argv[3] == "1")
    """
)


def test_force_killed_mid_run_loses_nothing(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(KILLED_FORCE)
    path = tmp_path / "s.sqlite"
    subprocess.run([sys.executable, str(script), str(path), "0", "0"], check=True)
    first = {r.params["i"]: r.metrics["t"] for r in ResultStore(path).rows("test-slow-force")}
    assert sorted(first) == list(range(20))
    proc = subprocess.Popen([sys.executable, str(script), str(path), "0.1", "1"])
    deadline = time.time() + 60
    replaced = 0
    while time.time() < deadline and replaced < 3:
        time.sleep(0.05)
        rows = ResultStore(path, readonly=True).rows("test-slow-force")
        replaced = sum(r.metrics["t"] != first[r.params["i"]] for r in rows)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rows = ResultStore(path).rows("test-slow-force")
    assert sorted(r.params["i"] for r in rows) == list(range(20))  # all 20 points kept
    assert 3 <= sum(r.metrics["t"] != first[r.params["i"]] for r in rows) < 20


# -- atomic creation ----------------------------------------------------------------------------
def _create_and_write(path, k, barrier):
    barrier.wait(30)
    st = ResultStore(path)
    st.record(_rec(claim=f"c{k}", metrics={"x": float(k)}))


def test_eight_processes_creating_the_same_store_at_once_all_succeed(tmp_path):
    ctx = get_context("fork" if sys.platform.startswith("linux") else "spawn")
    for trial in range(3):
        path = tmp_path / f"new{trial}" / "store.sqlite"
        barrier = ctx.Barrier(8)
        procs = [ctx.Process(target=_create_and_write, args=(path, k, barrier)) for k in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(120)
        assert [p.exitcode for p in procs] == [0] * 8
        st = ResultStore(path)
        assert st.count_runs() == 8
        assert sorted(os.listdir(path.parent)) in (
            ["store.sqlite"],
            ["store.sqlite", "store.sqlite-shm", "store.sqlite-wal"],
        )  # no temporary file left behind


# -- read-only, missing, damaged, full ----------------------------------------------------------
def test_readonly_store_reads_without_writing(toy_claims, store):
    run_claims(["test-toy"], store=store)
    protocol = protocol_of(toy_claims["toy"]())
    store.record(_rec("test-toy", 9, metrics={"x": 0.0}, protocol=protocol))  # cache now stale
    before = _digest(store.path)
    ro = ResultStore(store.path, readonly=True)
    assert len(ro.rows("test-toy")) == 7
    assert current_verdicts([toy_claims["toy"]()], ro)["test-toy"]["evidence"] == "7 rows"
    assert ro.verdicts()["test-toy"]["evidence"] == "6 rows"  # recomputed, not written
    with pytest.raises(StoreError, match="opened read-only"):
        ro.record(_rec("test-toy", 10, metrics={"x": 0.0}))
    assert _digest(store.path) == before


def test_a_store_without_write_permission_is_refused_for_writing_in_one_line(store):
    os.chmod(store.path, 0o444)
    try:
        with pytest.raises(StoreError, match=r"is read-only; `reglab run` needs write access"):
            ResultStore(store.path)
        assert ResultStore(store.path, readonly=True).count_runs() == 0
    finally:
        os.chmod(store.path, 0o644)


def test_missing_store_is_never_created_when_reading(tmp_path):
    path = tmp_path / "absent" / "s.sqlite"
    for kwargs in ({"readonly": True}, {"create": False}):
        with pytest.raises(StoreError, match=r"absent/s.sqlite' does not exist"):
            ResultStore(path, **kwargs)
    assert not path.parent.exists()


@pytest.mark.parametrize("table", ["runs", "metrics", "verdicts", "sessions"])
def test_a_store_with_a_dropped_table_is_refused_untouched(store, table):
    with sqlite3.connect(store.path) as con:
        con.execute(f"DROP TABLE {table}")
    before = _digest(store.path)
    for readonly in (False, True):
        with pytest.raises(StoreError, match=rf"damaged reglab store \(missing: {table}\)"):
            ResultStore(store.path, readonly=readonly)
    assert _digest(store.path) == before


def test_a_full_disk_is_one_line_and_rolls_back(store, monkeypatch):
    store.record(_rec(metrics={"x": 1.0}))
    real_connect = sqlite3.connect

    def full_disk(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")  # no page may be added: SQLITE_FULL
        return con

    monkeypatch.setattr(sqlite3, "connect", full_disk)
    big = {f"m{i}": [float(j) for j in range(200)] for i in range(50)}
    with pytest.raises(StoreError, match=r"disk refused a write \(database or disk is full"):
        store.record(_rec(a=2, metrics=big))
    monkeypatch.undo()
    assert store.count_runs() == 1


def test_sqlite_errors_become_one_line_messages():
    where = "store='/x.sqlite'"
    cases = {
        "disk I/O error": "disk refused a write",
        "attempt to write a readonly database": "is read-only",
        "no such table: runs": "damaged reglab store",
        "database is locked": "stayed locked",
    }
    for text, expected in cases.items():
        msg = str(_translate(sqlite3.OperationalError(text), where))
        assert expected in msg and where in msg and "\n" not in msg


# -- verdict cache ------------------------------------------------------------------------------
def test_verdicts_are_never_stale_and_served_from_the_cache_when_rows_are_unchanged(
    toy_claims, store, monkeypatch
):
    report = run_claims(["test-toy"], store=store)
    assert report.outcomes == {"test-toy": "PASS"}
    assert store.verdicts()["test-toy"]["evidence"] == "6 rows"
    claim = toy_claims["toy"]()
    calls = []
    original = type(claim).verdict

    def counting(self, rows):
        calls.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(type(claim), "verdict", counting)
    sessions = len(store.sessions(include_empty=True))
    again = run_claims(["test-toy"], store=store)  # nothing to run
    assert again.done == 0 and calls == []  # the cached verdict was used
    assert len(store.sessions(include_empty=True)) == sessions  # and no empty session made
    store.record(_rec("test-toy", 4, metrics={"x": 0.0}, protocol=protocol_of(claim)))
    assert current_verdicts([claim], store)["test-toy"]["evidence"] == "7 rows"
    assert calls == [7] and store.verdicts()["test-toy"]["evidence"] == "7 rows"
    # the key also names the code: a verdict computed by other code is recomputed
    from reglab.lab import runner

    monkeypatch.setattr(runner, "verdict_key", lambda claim, rows_key: rows_key + "|edited")
    current_verdicts([claim], store)
    assert calls == [7, 7]
    current_verdicts([claim], store)
    assert calls == [7, 7]


# -- protocols ----------------------------------------------------------------------------------
def test_runs_are_stored_resumed_and_judged_per_protocol(toy_claims, store):
    toy = toy_claims["toy"]
    toy.protocol_id = lambda self: "v2:aaaa"
    run_claims(["test-toy"], store=store)
    toy.protocol_id = lambda self: "v3:bbbb"
    toy.grid = {"a": [1, 2]}
    report = run_claims(["test-toy"], store=store)
    assert (report.done, report.skipped) == (4, 0)  # runs of v2 do not count as done
    assert len(store.rows("test-toy", "default", protocol="v2:aaaa")) == 6
    assert len(store.rows("test-toy", "default", protocol="v3:bbbb")) == 4
    assert len(store.rows("test-toy")) == 4  # the latest protocol, never pooled
    assert store.verdicts()["test-toy"]["evidence"] == "4 rows"
    history = store.protocol_history("test-toy")
    assert [(h["protocol"], h["grid"], h["ok"]) for h in history] == [
        ("v2:aaaa", "default", 6),
        ("v3:bbbb", "default", 4),
    ]
    assert all(h["first"] <= h["last"] for h in history)
    assert store.count_runs() == 10  # nothing deleted


V2_DDL = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (session_id INTEGER PRIMARY KEY AUTOINCREMENT, reglab_version TEXT,
    packages TEXT, git_sha TEXT, machine TEXT, command TEXT, started_at REAL, finished_at REAL);
CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, claim_id TEXT NOT NULL,
    params TEXT NOT NULL, seed INTEGER NOT NULL, repetition INTEGER NOT NULL, grid TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, session_id INTEGER, started_at REAL, finished_at REAL,
    UNIQUE (claim_id, params, seed, grid));
CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    claim_id TEXT NOT NULL, params TEXT NOT NULL, seed INTEGER NOT NULL, grid TEXT NOT NULL,
    metric TEXT NOT NULL, value REAL, value_json TEXT, PRIMARY KEY (run_id, metric));
CREATE TABLE verdicts (claim_id TEXT PRIMARY KEY, grid TEXT, passed INTEGER, evidence TEXT,
    computed_at REAL);
CREATE INDEX runs_by_claim ON runs (claim_id, grid);
INSERT INTO meta VALUES ('schema', 'reglab-results'), ('version', '2');
INSERT INTO sessions (command, started_at, finished_at) VALUES ('reglab run c', 0, 1);
INSERT INTO runs VALUES (1, 'c', '{"a":1}', 7, 0, 'default', 'ok', NULL, 1, 0, 1);
INSERT INTO runs VALUES (2, 'c', '{"a":2}', 8, 0, 'default', 'error', 'boom', 1, 0, 1);
INSERT INTO metrics VALUES (1, 'c', '{"a":1}', 7, 'default', 'x', 0.5, NULL);
INSERT INTO metrics VALUES (1, 'c', '{"a":1}', 7, 'default', 'curve', NULL, '[1.0, 2.0]');
INSERT INTO verdicts VALUES ('c', 'default', 1, 'old evidence', 1);
"""


def test_a_schema_2_store_is_read_as_it_is_and_migrated_in_place_on_write(tmp_path):
    path = tmp_path / "v2.sqlite"
    with sqlite3.connect(path) as con:
        con.executescript(V2_DDL)
    before = _digest(path)
    ro = ResultStore(path, readonly=True)
    (row,) = ro.rows("c")
    assert row.metrics == {"x": 0.5, "curve": [1.0, 2.0]}
    assert ro.protocol_history("c")[0]["protocol"] == ""
    assert _digest(path) == before  # read-only: no migration
    rw = ResultStore(path)
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT value FROM meta WHERE key='version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        assert con.execute("SELECT run_id, protocol FROM runs ORDER BY run_id").fetchall() == [
            (1, ""),
            (2, ""),
        ]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    (row,) = rw.rows("c", "default", protocol="")  # '' = before protocols
    assert row.metrics == {"x": 0.5, "curve": [1.0, 2.0]}
    assert rw.done_keys("c", "default", "v2:x") == set()
    rw.record(_rec("c", 1, metrics={"x": 0.75}, protocol="v2:x"))  # same point, new protocol
    assert rw.rows("c", "default", protocol="")[0].metrics["x"] == 0.5  # kept, not pooled
    assert rw.rows("c")[0].metrics == {"x": 0.75}
    assert len(rw.sessions()) == 1
