"""Every registered claim: its smoke grid runs, stores metrics, and its verdict renders.

Parametrised over the registry, so a new claim is covered with no new test code. The test
checks the pipeline only, never the verdict of a run: asserting PASS or FAIL of a real run
would lock in a result instead of measuring it (SCIENCE.md, "Tests").
"""

from __future__ import annotations

import re

import pytest

from reglab.lab.claim import OUTCOMES, Verdict, registry
from reglab.lab.runner import compute_verdict

CLAIMS = registry()


# one xdist worker takes every test of the shared smoke store (``--dist loadgroup``), the
# other goes on with the rest of the suite
@pytest.mark.xdist_group("smoke-store")
@pytest.mark.parametrize("claim_id", sorted(CLAIMS))
def test_claim_smoke_grid_runs_stores_and_renders(claim_id, smoke_store):
    claim = CLAIMS[claim_id]
    assert claim.statement and claim.interview and claim.section, "statement/interview/section"
    store = smoke_store  # every claim's smoke grid, run once for the session
    errors = store.errors(claim_id)
    assert not errors, "\n".join(e["error"] for e in errors)
    rows = store.rows(claim_id, protocol=claim.protocol_id())
    assert len(rows) == len(claim.param_grid(smoke=True)) * claim.smoke_seeds
    if claim.protocol is not None:
        # the protocol's primary metric(s) are what run() returns: a key, or the stem of
        # per-arm keys ("test_error" for test_error_plain / test_error_dropout)
        keys = set(rows[0].metrics)
        for name in re.split(r"[,;]\s*", claim.protocol.metric.strip()):
            assert name in keys or any(k.startswith(name + "_") for k in keys), (name, keys)
    verdict = compute_verdict(claim, store, keep_figure=True)
    assert isinstance(verdict, Verdict)
    assert "verdict raised" not in verdict.evidence, verdict.evidence
    assert verdict.outcome in OUTCOMES
    assert verdict.sentence.strip() and verdict.evidence.strip()
    assert verdict.figure is not None, "every claim draws a figure"
    # an exact check or an empirical verdict (no first-wave PASS/FAIL any more), of the kind
    # the claim declares
    assert not verdict.legacy, "a legacy Verdict(passed, evidence): use exact/empirical_verdict"
    assert verdict.kind == claim.result_kind, (verdict.kind, claim.result_kind)
    if verdict.kind == "empirical":
        assert verdict.effects and verdict.protocol is not None
    # the smoke grid must stay a smoke grid (seconds of compute); generous for a loaded CI
    # machine
    compute = store.run_summary(claim_id)["compute_s"]
    assert compute < 60, f"smoke grid took {compute:.1f} s of compute"
