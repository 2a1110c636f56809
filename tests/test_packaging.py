"""The package as a user installs it: a wheel and an sdist from ``python -m build``, the wheel
installed into a clean virtual environment (no editable install, no repository on the path),
and the command line run from there.

The clean environment reaches reglab's dependencies (NumPy, torch, ...) through one ``.pth``
line naming the test environment's site-packages: a path added that way is not scanned for
``.pth`` files, so the editable install of the checkout stays invisible and ``import reglab``
can only find the installed wheel. This keeps the test offline and fast while proving that the
wheel alone carries reglab (code, templates, ``py.typed``, the console script).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import reglab

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: build with this environment's setuptools, without the network
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    return out


@pytest.fixture(scope="module")
def clean_env(dist, tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "env"
    _run([sys.executable, "-m", "venv", str(venv)])
    python = venv / "bin" / "python"
    site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    (site / "_reglab_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = dist.glob("reglab-*.whl")
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)])
    return venv


def _clean_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_build_gives_a_wheel_and_an_sdist_with_one_version(dist):
    (wheel,) = dist.glob("reglab-*.whl")
    (sdist,) = dist.glob("reglab-*.tar.gz")
    assert wheel.name.startswith(f"reglab-{reglab.__version__}-")
    assert sdist.name == f"reglab-{reglab.__version__}.tar.gz"
    names = zipfile.ZipFile(wheel).namelist()
    assert "reglab/py.typed" in names
    assert any(n.startswith("reglab/lab/report/templates/") for n in names), names
    assert any(n.startswith("reglab/lab/claims/") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "reglab = reglab.lab.cli:app" in zipfile.ZipFile(wheel).read(entry_points).decode()
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert f"reglab-{reglab.__version__}/pyproject.toml" in members
    assert f"reglab-{reglab.__version__}/reglab/py.typed" in members


def test_installed_wheel_runs_from_a_clean_environment(clean_env, tmp_path):
    python, cli = clean_env / "bin" / "python", clean_env / "bin" / "reglab"
    env = _clean_environ()
    where = _run(
        [str(python), "-c", "import reglab, reglab.linear; print(reglab.__file__)"],
        cwd=tmp_path,
        env=env,
    ).stdout.strip()
    assert Path(where).is_relative_to(clean_env), f"reglab imported from {where}, not the wheel"
    assert not Path(where).is_relative_to(ROOT)
    version = _run([str(cli), "--version"], cwd=tmp_path, env=env).stdout
    assert reglab.__version__ in version
    store = tmp_path / "store" / "reglab.sqlite"
    proc = _run(
        [str(cli), "run", "l2-conditioning", "--smoke", "--store", str(store)],
        cwd=tmp_path,
        env=env,
    )
    assert store.exists(), proc.stdout
    shown = _run(
        [str(cli), "show", "l2-conditioning", "--store", str(store)], cwd=tmp_path, env=env
    )
    assert "l2-conditioning" in shown.stdout
