import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from multiprocessing import get_context

import pytest

from reglab.lab.results import ResultStore, RunRecord, StoreError


def _rec(claim="c", a=1, seed=7, metrics=None, error=None):
    return RunRecord(claim, {"a": a}, seed, 0, "default", metrics, error, 0.0, 1.0)


def test_round_trip_of_scalar_and_list_metrics(store):
    store.record(_rec(metrics={"x": 0.1 + 0.2, "curve": [1.0, 2.5], "flag": True}))
    (row,) = store.rows("c")
    assert row.params == {"a": 1} and row.seed == 7
    assert row.metrics["x"] == 0.1 + 0.2  # bit-identical float64
    assert row.metrics["curve"] == [1.0, 2.5] and row.metrics["flag"] == 1.0


def test_one_metric_row_per_claim_params_seed_metric(store):
    store.record(_rec(metrics={"x": 1.0, "y": 2.0}))
    store.record(_rec(metrics={"x": 3.0}))  # the same run again replaces, never duplicates
    assert [(r[4], r[5]) for r in store.all_metric_rows()] == [("x", 3.0)]


def test_error_rows_keep_the_traceback(store):
    store.record(_rec(error="Traceback ...\nRuntimeError: boom"))
    assert store.rows("c") == [] or len(store.rows("c")) == 0
    (err,) = store.errors("c")
    assert "RuntimeError: boom" in err["error"]
    assert store.done_keys("c", "default") == set()  # a failed run is retried on resume


def test_foreign_sqlite_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "other.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE people (name TEXT)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"reglab did not create.*people.*not touched"):
        ResultStore(path)
    assert path.read_bytes() == before


def test_unreadable_file_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("this is not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"not a readable SQLite file"):
        ResultStore(path)
    assert path.read_bytes() == before


def test_store_of_another_schema_version_is_refused_and_untouched(tmp_path):
    path = tmp_path / "old.sqlite"
    ResultStore(path)
    con = sqlite3.connect(path)
    con.execute("UPDATE meta SET value='1' WHERE key='version'")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"store schema 1, this reglab reads schema 3"):
        ResultStore(path)
    assert path.read_bytes() == before


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        ResultStore(tmp_path / "nope.sqlite", create=False)


def test_metadata_is_recorded_and_sessions_that_ran_nothing_are_not_listed(store):
    empty = store.begin_session("reglab run nothing")
    store.end_session(empty)
    sid = store.begin_session("reglab run x")
    store.record(_rec(metrics={"x": 1.0}), sid)
    store.end_session(sid)
    (s,) = store.sessions()
    assert s["session_id"] == sid and s["command"] == "reglab run x"
    assert s["reglab_version"] and s["machine"] and "numpy" in s["packages"]
    assert s["finished_at"] >= s["started_at"]
    assert [x["session_id"] for x in store.sessions(include_empty=True)] == [empty, sid]


def _writer(path, claim, n):
    st = ResultStore(path)
    for i in range(n):
        st.record(_rec(claim=claim, a=i, metrics={"x": float(i)}))


def test_concurrent_writers_do_not_corrupt(tmp_path):
    path = tmp_path / "shared.sqlite"
    ResultStore(path)
    ctx = get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, f"c{k}", 40)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    st = ResultStore(path)
    for k in range(3):
        assert len(st.rows(f"c{k}")) == 40
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()


SLOW_CLAIM = textwrap.dedent(
    """
    import sys, time
    from reglab.lab.claim import Claim, Verdict
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import run_claims
    from reglab.taxonomy import Kind

    class Slow(Claim):
        id = "test-slow"
        kind = Kind.DIAGNOSTICS
        statement = "slow"
        grid = {"i": list(range(40))}

        def run(self, params, seed):
            time.sleep(0.05)
            return {"i": params["i"]}

        def verdict(self, rows):
            return Verdict(True, "", None)

    report = run_claims(["test-slow"], store=ResultStore(sys.argv[1]))
    print("DONE", report.done, report.skipped, flush=True)
    """
)


def test_sigkill_loses_at_most_the_run_in_flight_and_resume_skips_the_rest(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(SLOW_CLAIM)
    path = tmp_path / "killed.sqlite"
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE)
    deadline = time.time() + 60
    stored = 0
    while time.time() < deadline and stored < 8:
        time.sleep(0.1)
        if path.exists():
            try:
                stored = len(ResultStore(path).rows("test-slow"))
            except (StoreError, sqlite3.OperationalError):
                stored = 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    st = ResultStore(path)
    kept = len(st.rows("test-slow"))
    assert 8 <= kept < 40
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    out = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, check=True
    )
    done, skipped = map(int, out.stdout.split()[1:3])
    assert skipped == kept and done == 40 - kept
    assert sorted(r.params["i"] for r in ResultStore(path).rows("test-slow")) == list(range(40))
