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
