"""Frozen protocols: validation, an id that moves with every field, and every claim declaring one."""

from __future__ import annotations

import dataclasses
import re

import pytest

from reglab.lab.claim import Claim, registry
from reglab.lab.protocol import Protocol, grid_protocol_id
from reglab.taxonomy import Kind

BASE = {
    "version": 2,
    "metric": "test_error",
    "effect": "paired difference: test error with dropout - without",
    "smallest_effect": 0.005,
    "direction": "decrease",
    "analysis": "paired t over seeds",
    "seeds": 8,
    "regimes": {"wide": "dropout helps", "narrow": "dropout hurts"},
    "pilot_sd": 0.004,
    "history": ("v1: one width, threshold 0.01",),
}


def test_id_is_version_and_hash_and_moves_with_every_field():
    p = Protocol(**BASE)
    assert re.fullmatch(r"v2:[0-9a-f]{8}", p.id())
    assert Protocol(**BASE).id() == p.id() and hash(Protocol(**BASE)) == hash(p)
    changes = {
        "version": 3,
        "metric": "ece",
        "effect": "log ratio",
        "smallest_effect": 0.01,
        "direction": "increase",
        "analysis": "bootstrap over seeds",
        "seeds": 9,
        "regimes": {"wide": "dropout helps"},
        "pilot_sd": 0.005,
        "history": (),
    }
    assert set(changes) == {f.name for f in dataclasses.fields(Protocol)}
    ids = {p.id()}
    for name, value in changes.items():
        ids.add(Protocol(**{**BASE, name: value}).id())
    assert len(ids) == len(changes) + 1


def test_protocol_is_frozen_all_the_way_down():
    regimes = dict(BASE["regimes"])
    p = Protocol(**{**BASE, "regimes": regimes})
    before = p.id()
    regimes["new"] = "x"  # the caller's dict is copied
    with pytest.raises(TypeError):
        p.regimes["new"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.seeds = 100  # type: ignore[misc]
    assert p.id() == before


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("version", 0, "version=0"),
        ("metric", "", "metric=''"),
        ("smallest_effect", -0.1, r"smallest_effect=-0.1 must be a finite number > 0"),
        ("smallest_effect", float("nan"), "smallest_effect=nan"),
        ("direction", "down", "direction='down'"),
        ("seeds", 1, "seeds=1"),
        ("pilot_sd", -1.0, "pilot_sd=-1.0"),
    ],
)
def test_bad_fields_are_refused(field, value, match):
    with pytest.raises(ValueError, match=match):
        Protocol(**{**BASE, field: value})


def test_claim_protocol_id_without_a_protocol_hashes_grid_and_seeds():
    class A(Claim):
        kind = Kind.PARAMETER
        grid = {"lam": [0.1, 1.0]}
        seeds = 3

    class B(A):
        seeds = 4

    class C(A):
        protocol = Protocol(**BASE)

    assert A().protocol_id() == grid_protocol_id([{"lam": 0.1}, {"lam": 1.0}], 3)
    assert A().protocol_id().startswith("v1:") and A().protocol_id() != B().protocol_id()
    assert C().protocol_id() == Protocol(**BASE).id()


def test_claim_refuses_a_bad_result_kind_or_protocol():
    with pytest.raises(ValueError, match="result_kind='fuzzy'"):

        class Bad(Claim):  # noqa: F841 - defining it is the test
            id = "test-bad-kind"
            result_kind = "fuzzy"

    with pytest.raises(TypeError, match="protocol=.* must be a reglab.lab.protocol.Protocol"):

        class Bad2(Claim):  # noqa: F841
            id = "test-bad-protocol"
            protocol = {"metric": "x"}  # type: ignore[assignment]


CLAIMS = registry()


@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_every_empirical_claim_declares_a_powered_protocol(claim_id):
    claim = CLAIMS[claim_id]
    if claim.result_kind == "exact":
        assert claim.protocol is None, "an exact check has no empirical protocol"
        return
    p = claim.protocol
    assert isinstance(p, Protocol), "an empirical claim declares its Protocol"
    assert p.seeds >= 5, "seeds from a power analysis, at least 5"
    assert p.smallest_effect > 0 and p.metric and p.analysis
    if p.version > 1:
        # a protocol changed after runs existed discloses every earlier version
        assert len(p.history) >= p.version - 1, "one history line per earlier version"
    # the default grid runs the protocol's seeds, or a scale grid does
    assert claim.seeds >= p.seeds or claim.scale, (claim.seeds, p.seeds)


def test_scale_grid_runs_with_the_protocols_seeds(tmp_path):
    from reglab.lab import claim as claim_module
    from reglab.lab.claim import Verdict
    from reglab.lab.results import ResultStore
    from reglab.lab.runner import SCALE, compute_verdict, plan, run_claims

    class Scaled(Claim):
        id = "test-scaled"
        kind = Kind.DIAGNOSTICS
        grid = {"n": [1]}
        scale = {"n": [1, 2, 3]}
        seeds = 2
        protocol = Protocol(**{**BASE, "seeds": 6})

        def run(self, params, seed):
            return {"test_error": float(params["n"])}

        def verdict(self, rows):
            return Verdict(True, f"{len(rows)} rows")

    try:
        tasks = plan([Scaled()], scale=True)
        assert len(tasks) == 3 * 6 and {t.grid for t in tasks} == {SCALE}
        assert len(plan([Scaled()])) == 1 * 2
        assert len(plan([Scaled()], scale=True, seeds=1)) == 3
        with pytest.raises(ValueError, match="choose one grid"):
            plan([Scaled()], smoke=True, scale=True)
        store = ResultStore(tmp_path / "s.sqlite")
        run_claims(["test-scaled"], store=store, scale=True, seeds=1)
        assert compute_verdict(Scaled(), store).evidence == "3 rows"
    finally:
        claim_module._REGISTRY.pop("test-scaled", None)
