"""Every ``examples/plot_*.py`` runs headless, exits 0, prints no warning and writes a figure.

The list is a glob, so a new example is tested with no new test code.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("plot_*.py"))


def _params():
    for path in EXAMPLES:
        # examples of the deep-learning half need the torch extra
        needs_torch = "import torch" in path.read_text()
        marks = [pytest.mark.torch] if needs_torch else []
        yield pytest.param(path, id=path.stem, marks=marks)


def test_examples_found():
    assert len(EXAMPLES) >= 5, [p.name for p in EXAMPLES]


@pytest.mark.parametrize("script", list(_params()))
def test_example_runs_and_writes_figures(script, tmp_path):
    if "import torch" in script.read_text():
        pytest.importorskip("torch")
    env = {
        **os.environ,
        "REGLAB_EXAMPLES_OUT": str(tmp_path),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
    }
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Warning" not in proc.stderr, proc.stderr
    pngs = list(tmp_path.glob("*.png"))
    assert pngs, f"{script.name} wrote no .png to REGLAB_EXAMPLES_OUT"
    assert all(p.stat().st_size > 0 for p in pngs), [(p.name, p.stat().st_size) for p in pngs]
