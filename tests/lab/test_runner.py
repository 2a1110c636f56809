import pytest

from reglab.lab.runner import derive_seed, plan, run_claims


def test_seed_depends_only_on_claim_params_repetition():
    assert derive_seed("c", {"a": 1, "b": 2}, 0) == derive_seed("c", {"b": 2, "a": 1}, 0)
    seeds = {derive_seed("c", {"a": a}, r) for a in range(10) for r in range(10)}
    assert len(seeds) == 100
    assert derive_seed("c", {"a": 1}, 0) != derive_seed("d", {"a": 1}, 0)


def test_plan_expands_grid_times_seeds(toy_claims):
    claim = toy_claims["toy"]()
    assert len(plan([claim])) == 3 * 2
    assert len(plan([claim], smoke=True, seeds=4)) == 1 * 4
    with pytest.raises(ValueError, match=r"seeds=0 must be a positive integer"):
        plan([claim], seeds=0)


def test_same_command_gives_bit_identical_metrics(toy_claims, tmp_path):
    from reglab.lab.results import ResultStore

    a, b = ResultStore(tmp_path / "a.sqlite"), ResultStore(tmp_path / "b.sqlite")
    run_claims(["test-toy", "l2-gaussian-map"], store=a, smoke=True)
    run_claims(["test-toy", "l2-gaussian-map"], store=b, smoke=True)
    assert a.all_metric_rows() == b.all_metric_rows()


def test_resume_skips_stored_runs_and_force_reruns(toy_claims, store):
    first = run_claims(["test-toy"], store=store)
    assert (first.done, first.skipped) == (6, 0)
    again = run_claims(["test-toy"], store=store)
    assert (again.done, again.skipped) == (0, 6)
    forced = run_claims(["test-toy"], store=store, force=True)
    assert (forced.done, forced.skipped) == (6, 0)
    assert len(store.rows("test-toy")) == 6


def test_an_exception_in_one_run_is_recorded_and_the_others_go_on(toy_claims, store):
    report = run_claims(["test-boom"], store=store)
    assert report.done == 3 and len(report.failed) == 1 and not report.ok
    assert "RuntimeError: boom at a=2" in report.failed[0].error
    assert sorted(r.params["a"] for r in store.rows("test-boom")) == [1, 3]
    assert "boom at a=2" in store.errors("test-boom")[0]["error"]


def test_parallel_jobs_equal_a_serial_run(tmp_path):
    from reglab.lab.results import ResultStore

    serial, parallel = ResultStore(tmp_path / "s.sqlite"), ResultStore(tmp_path / "p.sqlite")
    ids = ["l2-conditioning", "l2-gaussian-map"]
    run_claims(ids, store=serial, smoke=True, jobs=1)
    run_claims(ids, store=parallel, smoke=True, jobs=2)
    assert serial.all_metric_rows() == parallel.all_metric_rows()


def test_bad_jobs_is_refused(store):
    with pytest.raises(ValueError, match=r"jobs=0 must be an integer between 1 and"):
        run_claims(["l2-conditioning"], store=store, jobs=0)
    with pytest.raises(ValueError, match=r"jobs=1000000 must be an integer between 1 and"):
        run_claims(["l2-conditioning"], store=store, jobs=10**6)
    with pytest.raises(ValueError, match=r"jobs=True must be an integer"):
        run_claims(["l2-conditioning"], store=store, jobs=True)


def test_absurd_seeds_are_refused_before_anything_runs(toy_claims, store):
    with pytest.raises(ValueError, match=r"seeds=100000000000000000000 must be an integer"):
        run_claims(["test-toy"], store=store, seeds=10**20)
    assert store.count_runs() == 0


def test_smoke_and_default_grids_sharing_a_point_each_keep_all_their_runs(toy_claims, store):
    # test-toy's smoke point a=1 (with the same seeds) is also in its default grid
    run_claims(["test-toy"], store=store, smoke=True)
    assert len(store.rows("test-toy")) == 1
    report = run_claims(["test-toy"], store=store)
    assert report.skipped == 0 and report.done == 6
    assert len(store.rows("test-toy")) == 6  # the shared point is not lost to the smoke grid
    assert len(store.rows("test-toy", grid="smoke")) == 1


def test_tasks_run_on_one_thread_even_when_torch_is_imported_inside_the_run(tmp_path):
    """A fresh process whose first task imports torch still runs it on one thread."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import os, sys
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.pop(v, None)
        from reglab.lab.claim import Claim, Verdict
        from reglab.lab.results import ResultStore
        from reglab.lab.runner import run_claims
        from reglab.taxonomy import Kind

        class Threads(Claim):
            id = "test-threads"
            kind = Kind.DIAGNOSTICS
            statement = "threads"
            grid = {"i": [0, 1]}

            def run(self, params, seed):
                import torch
                return {"threads": torch.get_num_threads()}

            def verdict(self, rows):
                return Verdict(True, "", None)

        assert "torch" not in sys.modules
        store = ResultStore(sys.argv[1])
        run_claims(["test-threads"], store=store)
        print([r.metrics["threads"] for r in store.rows("test-threads")])
        """
    )
    path = tmp_path / "threads.py"
    path.write_text(script)
    out = subprocess.run(
        [sys.executable, str(path), str(tmp_path / "t.sqlite")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[1.0, 1.0]"


def test_the_first_torch_run_of_a_fresh_process_is_seeded():
    """torch's global generator is seeded for every run, the first of a process included
    (the claim modules, which may import torch, are imported before the seeding)."""
    import subprocess
    import sys
    import textwrap

    pytest.importorskip("torch")
    script = textwrap.dedent(
        """
        from reglab.lab.claim import Claim
        from reglab.lab.runner import Task, execute
        from reglab.taxonomy import Kind

        class Draw(Claim):
            id = "test-first-torch-draw"
            kind = Kind.DIAGNOSTICS

            def run(self, params, seed):
                import torch  # careless code: the global generator

                return {"draw": float(torch.rand(()))}

        task = Task("test-first-torch-draw", {}, 0, "default")
        print(execute(task).metrics["draw"], task.seed)
        """
    )
    outs = [
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert outs[0] == outs[1]
    import torch

    torch.manual_seed(int(outs[0][1]))
    assert float(outs[0][0]) == float(torch.rand(()))
