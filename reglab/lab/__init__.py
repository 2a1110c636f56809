"""The lab: claims of the deep dive as experiments, a resumable store, a report and a drill."""

from reglab.lab.claim import Claim, Rows, RunRow, Verdict, expand_grid, get_claim, registry
from reglab.lab.results import ResultStore, StoreError
from reglab.lab.runner import derive_seed, plan, run_claims

__all__ = [
    "Claim",
    "ResultStore",
    "Rows",
    "RunRow",
    "StoreError",
    "Verdict",
    "derive_seed",
    "expand_grid",
    "get_claim",
    "plan",
    "registry",
    "run_claims",
]
