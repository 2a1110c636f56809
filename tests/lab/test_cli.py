import sqlite3

import pytest
from typer.testing import CliRunner

from reglab.lab import cli
from reglab.lab.cli import app

runner = CliRunner()


def test_run_show_list_report_end_to_end(tmp_path):
    store = str(tmp_path / "s.sqlite")
    res = runner.invoke(app, ["run", "l2-conditioning", "--smoke", "--store", store])
    assert res.exit_code == 0, res.output
    assert "l2-conditioning: PASS" in res.output
    res = runner.invoke(app, ["list", "--store", store])
    assert res.exit_code == 0 and "Penalty on parameters" in res.output
    assert "PASS" in res.output and "NOT RUN" in res.output  # l2-gaussian-map not run
    res = runner.invoke(app, ["show", "l2-conditioning", "--store", store])
    assert res.exit_code == 0 and "verdict: PASS" in res.output and "kappa" in res.output
    res = runner.invoke(app, ["report", "--store", store, "--out", str(tmp_path / "r")])
    assert res.exit_code == 0 and (tmp_path / "r" / "index.html").exists()
    res = runner.invoke(app, ["run", "l2-conditioning", "--smoke", "--store", store])
    assert "already stored (skipped)" in res.output and "0 run(s) done" in res.output


def test_unknown_claim_is_an_error_with_suggestions(tmp_path):
    res = runner.invoke(app, ["run", "l2-gausian-map", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2
    assert "unknown claim id 'l2-gausian-map'" in res.output and "l2-gaussian-map" in res.output
    res = runner.invoke(app, ["show", "nope-nope"])
    assert res.exit_code == 2 and "unknown claim id" in res.output


def test_run_needs_ids_or_all(tmp_path):
    res = runner.invoke(app, ["run", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "--all" in res.output


def test_foreign_store_is_refused_by_the_cli(tmp_path):
    path = tmp_path / "foreign.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    res = runner.invoke(app, ["run", "l2-conditioning", "--smoke", "--store", str(path)])
    assert res.exit_code == 2 and "reglab did not create" in res.output


def test_failed_runs_make_the_cli_exit_non_zero_and_name_them(toy_claims, tmp_path):
    res = runner.invoke(app, ["run", "test-boom", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 1
    assert "1 failed" in res.output and "boom at a=2" in res.output


# -- issue 13 / 17: the store as the command line sees it -----------------------------------
def _one_clean_line(res):
    assert (
        "Traceback" not in res.output
        and res.exception is None
        or isinstance(res.exception, SystemExit)
    ), res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, res.output
    return errors[0]


def test_version_prints_reglab_version():
    import reglab

    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.output.strip() == f"reglab {reglab.__version__}"


def test_help_shows_boolean_options_as_flags():
    res = runner.invoke(app, ["run", "--help"], terminal_width=120)
    assert res.exit_code == 0
    for flag in ("--all", "--smoke", "--force", "--help"):
        (line,) = [x for x in res.output.splitlines() if f" {flag} " in x]
        assert "<bool>" not in line and "BOOLEAN" not in line, line
    top = runner.invoke(app, ["--help"], terminal_width=120)
    for flag in ("--version", "--help"):
        (line,) = [x for x in top.output.splitlines() if f" {flag} " in x]
        assert "<bool>" not in line, line


def test_run_ends_with_a_summary_of_outcomes_and_names_the_absolute_store(
    toy_claims, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["run", "test-toy", "--store", "rel/s.sqlite"])
    assert res.exit_code == 0, res.output
    assert f"store: {tmp_path / 'rel' / 's.sqlite'}" in res.output
    assert res.output.strip().splitlines()[-1] == "1 claim: 1 PASS"
    res = runner.invoke(app, ["list", "--store", "rel/s.sqlite"])
    assert res.exit_code == 0
    assert res.output.splitlines()[0] == f"store: {tmp_path / 'rel' / 's.sqlite'} (6 runs)"
    assert "test-toy" in res.output and "1 PASS" in res.output.splitlines()[-1]
    res = runner.invoke(app, ["show", "test-toy", "--store", "rel/s.sqlite"])
    assert f"store: {tmp_path / 'rel' / 's.sqlite'} (6 runs)" in res.output


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["show", "l2-conditioning"],
        ["report", "--out", "r"],
        ["drill", "--questions", "1"],
    ],
)
def test_reading_commands_never_create_a_missing_store(tmp_path, args, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "absent" / "s.sqlite"
    res = runner.invoke(app, [*args, "--store", str(path)])
    assert res.exit_code == 2
    line = _one_clean_line(res)
    assert str(path) in line and "does not exist" in line
    assert res.output.strip() == line  # nothing else printed
    assert not path.parent.exists() and not (tmp_path / "r").exists()


def test_a_read_only_store_is_listed_shown_and_reported_and_run_refuses_in_one_line(
    toy_claims, tmp_path
):
    import hashlib
    import os

    path = tmp_path / "s.sqlite"
    assert runner.invoke(app, ["run", "test-toy", "--store", str(path)]).exit_code == 0
    with sqlite3.connect(path) as con:  # a stale cache: reading must recompute, not write
        con.execute("UPDATE verdicts SET rows_key='stale'")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    os.chmod(path, 0o444)
    try:
        for args in (["list"], ["show", "test-toy"], ["report", "--out", str(tmp_path / "r")]):
            res = runner.invoke(app, [*args, "--store", str(path)])
            assert res.exit_code == 0, (args, res.output)
        assert (tmp_path / "r" / "index.html").exists()
        res = runner.invoke(app, ["run", "test-toy", "--force", "--store", str(path)])
        assert res.exit_code == 2
        assert "is read-only" in _one_clean_line(res)
    finally:
        os.chmod(path, 0o644)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_damaged_store_is_one_line_and_untouched(toy_claims, tmp_path):
    import hashlib

    path = tmp_path / "s.sqlite"
    runner.invoke(app, ["run", "test-toy", "--store", str(path)])
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE metrics")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for args in (["list"], ["run", "test-toy"], ["show", "test-toy"]):
        res = runner.invoke(app, [*args, "--store", str(path)])
        assert res.exit_code == 2
        assert "damaged reglab store (missing: metrics)" in _one_clean_line(res)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_full_disk_during_run_is_one_line(toy_claims, tmp_path, monkeypatch):
    path = tmp_path / "s.sqlite"
    runner.invoke(app, ["run", "test-toy", "--smoke", "--store", str(path)])
    real_connect = sqlite3.connect

    def full_disk(*args, **kwargs):
        con = real_connect(*args, **kwargs)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {pages}")
        return con

    # runs whose metrics need new pages
    monkeypatch.setattr(toy_claims["toy"], "run", lambda self, p, s: {"curve": [0.5] * 4000})
    monkeypatch.setattr(sqlite3, "connect", full_disk)
    res = runner.invoke(app, ["run", "test-toy", "--store", str(path)])
    monkeypatch.undo()
    assert res.exit_code == 2
    assert "disk refused a write (database or disk is full" in _one_clean_line(res)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--seeds", "1e20"), ("--seeds", "0"), ("--seeds", "abc"), ("--jobs", "100000")],
)
def test_absurd_seeds_and_jobs_are_refused_in_one_line(toy_claims, tmp_path, option, value):
    path = tmp_path / "s.sqlite"
    res = runner.invoke(app, ["run", "test-toy", option, value, "--store", str(path)])
    assert res.exit_code == 2
    assert f"{option} {value!r}: must be an integer between 1 and" in _one_clean_line(res)
    assert not path.exists()


def test_a_closed_scheduler_port_fails_fast_in_one_line(toy_claims, tmp_path):
    import socket
    import time

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    t0 = time.perf_counter()
    res = runner.invoke(
        app,
        [
            "run",
            "test-toy",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
            "--store",
            str(tmp_path / "s"),
        ],
    )
    assert time.perf_counter() - t0 < 5.0
    assert res.exit_code == 2
    assert "is unreachable" in _one_clean_line(res)


def test_store_and_command_line_text_is_never_rich_markup(toy_claims, tmp_path, monkeypatch):
    from reglab.lab.results import ResultStore, RunRecord
    from reglab.lab.runner import protocol_of

    res = runner.invoke(app, ["run", "[/red]", "--store", str(tmp_path / "s.sqlite")])
    assert res.exit_code == 2 and "unknown claim id '[/red]'" in _one_clean_line(res)
    odd = tmp_path / "[/red][bold]x" / "s.sqlite"
    res = runner.invoke(app, ["run", "test-toy", "--smoke", "--store", str(odd)])
    assert res.exit_code == 0, res.output
    assert f"store: {odd}" in res.output
    res = runner.invoke(app, ["list", "--store", str(odd)])
    assert res.exit_code == 0 and f"store: {odd} (1 run)" in res.output
    # a crafted grid label in the store prints as text, not as a terminal hyperlink
    grid = "[link=https://evil.example]click[/link]"
    proto = protocol_of(toy_claims["toy"]())
    ResultStore(odd).record(
        RunRecord("test-toy", {"a": 1}, 1, 0, grid, {"x": 1.0}, None, 0.0, 9e9, proto)
    )
    monkeypatch.setattr(cli.console, "width", 300)  # the cell on one line
    res = runner.invoke(app, ["list", "--store", str(odd)])
    assert res.exit_code == 0, res.output
    assert f"PASS ({grid})" in res.output
