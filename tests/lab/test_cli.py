import sqlite3

from typer.testing import CliRunner

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
