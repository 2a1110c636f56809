"""Workers of ``run -j 2`` never outlive their parent (issue 13), checked by PID.

The driver defines its claim at module level and runs under ``if __name__ == "__main__"``:
spawned workers import it as ``__mp_main__`` and so know the claim too.
"""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

psutil = pytest.importorskip("psutil")

from reglab.lab.results import ResultStore, StoreError  # noqa: E402

DRIVER = textwrap.dedent(
    """
    import sys, time
    from reglab.lab.claim import Claim, Verdict
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import run_claims
    from reglab.taxonomy import Kind

    class Sleepy(Claim):
        id = "test-sleepy"
        kind = Kind.DIAGNOSTICS
        statement = "sleepy"
        grid = {"i": list(range(8))}

        def run(self, params, seed):
            # four quick runs, then runs long enough to outlive any check below
            time.sleep(0.05 if params["i"] < 4 else 120)
            return {"i": params["i"]}

        def verdict(self, rows):
            return Verdict(True, "", None)

    if __name__ == "__main__":
        run_claims(["test-sleepy"], store=ResultStore(sys.argv[1]), jobs=2)
    """
)


def _start(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    path = tmp_path / "s.sqlite"
    proc = subprocess.Popen([sys.executable, str(script), str(path)])
    deadline = time.time() + 120
    stored = 0
    while time.time() < deadline and stored < 4:  # both workers are up and have delivered
        time.sleep(0.1)
        if path.exists():
            try:
                stored = ResultStore(path, readonly=True).count_runs()
            except StoreError:
                stored = 0
    assert stored >= 4, "the workers never delivered"
    descendants = psutil.Process(proc.pid).children(recursive=True)
    assert len(descendants) >= 2
    return proc, descendants, path


def _alive(processes):
    out = []
    for p in processes:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            continue
    return out


def _wait_gone(processes, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline and _alive(processes):
        time.sleep(0.1)
    return _alive(processes)


def test_sigterm_of_the_parent_ends_every_worker_within_seconds(tmp_path):
    proc, workers, path = _start(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 128 + signal.SIGTERM
    assert _wait_gone(workers, 3.0) == []
    stored = ResultStore(path).count_runs()
    assert stored == 4  # committed runs kept, the long ones cut short
    (session,) = ResultStore(path).sessions()
    assert session["finished_at"] is not None  # the session was closed on the way out


def test_sigkill_of_the_parent_ends_every_worker_within_ten_seconds(tmp_path):
    proc, workers, _ = _start(tmp_path)
    proc.kill()  # no handler runs: only the workers themselves can notice
    proc.wait(30)
    assert _wait_gone(workers, 10.0) == []


CRASHING = textwrap.dedent(
    """
    import os, signal, sys, time
    from reglab.lab.claim import Claim, Verdict
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import WorkerDied, run_claims
    from reglab.taxonomy import Kind

    class Crashing(Claim):
        id = "test-crashing"
        kind = Kind.DIAGNOSTICS
        statement = "crashing"
        grid = {"i": list(range(6))}

        def run(self, params, seed):
            if params["i"] == 3:
                time.sleep(0.5)
                os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
            return {"i": params["i"]}

        def verdict(self, rows):
            return Verdict(True, "", None)

    if __name__ == "__main__":
        try:
            run_claims(["test-crashing"], store=ResultStore(sys.argv[1]), jobs=2)
        except WorkerDied as exc:
            print("WorkerDied:", exc)
            sys.exit(3)
    """
)


def test_a_worker_killed_mid_run_ends_the_run_with_one_line_and_keeps_the_runs(tmp_path):
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING)
    path = tmp_path / "s.sqlite"
    out = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 3, out.stderr
    (line,) = out.stdout.strip().splitlines()
    assert "a worker process died" in line and "the same command resumes" in line
    store = ResultStore(path)
    kept = {r.params["i"] for r in store.rows("test-crashing")}
    assert 3 not in kept and store.errors() == []
