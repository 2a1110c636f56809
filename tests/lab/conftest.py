"""Fixtures for the lab: a temporary store and throw-away claims registered for one test."""

from __future__ import annotations

import pytest

from reglab.lab import claim as claim_module
from reglab.lab.claim import Claim, Verdict
from reglab.lab.results import ResultStore
from reglab.taxonomy import Kind


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "results.sqlite")


class _Toy(Claim):
    """A claim whose metric is a pure function of (params, seed): for runner tests."""

    kind = Kind.DIAGNOSTICS
    statement = "toy"
    grid = {"a": [1, 2, 3]}
    smoke = {"a": [1]}
    seeds = 2

    def run(self, params, seed):
        import numpy as np

        rng = np.random.default_rng(seed)
        if params.get("boom"):
            raise RuntimeError(f"boom at a={params['a']}")
        return {"x": float(rng.standard_normal() + params["a"]), "curve": [1.0, 2.0]}

    def verdict(self, rows):
        return Verdict(bool(len(rows)), f"{len(rows)} rows", None)


@pytest.fixture
def toy_claims():
    """Register 'test-toy' and 'test-boom' (one run raises) for the duration of a test."""

    class Toy(_Toy):
        id = "test-toy"

    class Boom(_Toy):
        id = "test-boom"
        grid = [{"a": 1}, {"a": 2, "boom": True}, {"a": 3}]
        seeds = 1

    yield {"toy": Toy, "boom": Boom}
    claim_module._REGISTRY.pop("test-toy", None)
    claim_module._REGISTRY.pop("test-boom", None)


@pytest.fixture(scope="session")
def smoke_store(tmp_path_factory):
    """Every registered claim's smoke grid, run once per test session into one store.

    The smoke test (each claim stores and renders) and the browser test of the full report
    read it instead of running all claims again each. Under pytest-xdist the workers share
    the file: the first one to get the lock runs the grids on both cores, the other waits
    and then reads the finished store.
    """
    from filelock import FileLock

    from reglab.lab.runner import run_claims

    shared = tmp_path_factory.getbasetemp().parent  # common to every xdist worker
    path = shared / "smoke-all.sqlite"
    done = shared / "smoke-all.done"
    with FileLock(str(path) + ".lock"):
        if not done.exists():
            run_claims(None, store=ResultStore(path), smoke=True, jobs=2)
            done.touch()  # failed runs are in the store: each claim's test reports its own
    return ResultStore(path, create=False)
