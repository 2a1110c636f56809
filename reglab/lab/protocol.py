"""Frozen protocols: what an empirical claim measures and how it decides, fixed before the runs.

A :class:`Protocol` is data on a claim (its class attribute ``protocol``): the primary metric,
the effect computed from it, the smallest effect of interest and its sign, the analysis, the
number of seeds from a power analysis and the regimes in which a CONDITIONAL sentence predicts
the effect. Its :meth:`Protocol.id` (version and a hash of every field) is stored with each run,
so runs made under another protocol are never pooled with the current ones, and changing
anything after runs existed is visible as a new version with a line in ``history``.

This follows the pre-registration practice of Nosek et al., "The preregistration revolution",
PNAS 115 (2018), scaled down to a lab whose "preregistration" is a committed dataclass.
"""

from __future__ import annotations

import hashlib
import json
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

DIRECTIONS = ("decrease", "increase")


@dataclass(frozen=True)
class Protocol:
    """The frozen protocol of an empirical claim.

    Parameters
    ----------
    version : int
        Protocol version, >= 1; bumped whenever any field below changes after runs existed.
    metric : str
        The primary metric: a key of the metrics the claim's ``run()`` returns, or the stem of
        its per-arm keys (``"test_error"`` for ``test_error_plain`` and
        ``test_error_dropout``); several joined checks list theirs separated by commas.
    effect : str
        How the effect is computed, in words, e.g. ``"paired difference: test error with
        dropout - without"``.
    smallest_effect : float
        Smallest effect of interest ``delta > 0``, in the effect's units; its sign is given by
        ``direction``.
    direction : {"decrease", "increase"}
        The sign the sentence claims for the effect.
    analysis : str
        The statistical analysis, e.g. ``"paired t over seeds"``, ``"Holm over 3 checks"``,
        ``"intersection-union"``.
    seeds : int
        Seeds per arm from a power analysis on a pilot,
        ``k >= ((z_{0.975} + z_{0.8}) sd / delta)^2`` (see :func:`reglab.lab.stats.seeds_for_power`).
    regimes : mapping of str to str, optional
        Regime name -> what the sentence predicts there (for CONDITIONAL claims), named before
        the runs.
    pilot_sd : float or None
        Seed-to-seed standard deviation of the effect measured on the pilot.
    history : tuple of str
        Disclosed changes: one line per earlier version (``"v1: ..."``).

    Examples
    --------
    >>> p = Protocol(version=2, metric="test_error", effect="paired difference",
    ...              smallest_effect=0.005, direction="decrease", analysis="paired t",
    ...              seeds=8)
    >>> p.id().startswith("v2:")
    True
    """

    version: int
    metric: str
    effect: str
    smallest_effect: float
    direction: str
    analysis: str
    seeds: int
    regimes: Mapping[str, str] = field(default_factory=dict)
    pilot_sd: float | None = None
    history: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValueError(f"version={self.version!r} must be an integer >= 1")
        for name in ("metric", "effect", "analysis"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name}={value!r} must be a non-empty string")
        if (
            isinstance(self.smallest_effect, bool)
            or not isinstance(self.smallest_effect, int | float)
            or not math.isfinite(self.smallest_effect)
            or self.smallest_effect <= 0
        ):
            raise ValueError(
                f"smallest_effect={self.smallest_effect!r} must be a finite number > 0 "
                "(its sign is given by direction)"
            )
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction={self.direction!r} must be one of {DIRECTIONS}")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 2:
            raise ValueError(f"seeds={self.seeds!r} must be an integer >= 2")
        if not isinstance(self.regimes, Mapping):
            raise TypeError(f"regimes={self.regimes!r} must be a mapping of name -> prediction")
        for k, v in self.regimes.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError(f"regimes[{k!r}]={v!r}: names and predictions must be strings")
        if self.pilot_sd is not None and (
            not isinstance(self.pilot_sd, int | float)
            or not math.isfinite(self.pilot_sd)
            or self.pilot_sd < 0
        ):
            raise ValueError(f"pilot_sd={self.pilot_sd!r} must be None or a finite number >= 0")
        if isinstance(self.history, str) or not all(isinstance(h, str) for h in self.history):
            raise TypeError(f"history={self.history!r} must be a tuple of strings")
        # frozen all the way down: a copy the caller cannot mutate behind the hash
        object.__setattr__(self, "regimes", types.MappingProxyType(dict(self.regimes)))
        object.__setattr__(self, "history", tuple(self.history))
        object.__setattr__(self, "smallest_effect", float(self.smallest_effect))
        if self.pilot_sd is not None:
            object.__setattr__(self, "pilot_sd", float(self.pilot_sd))

    def as_dict(self) -> dict[str, Any]:
        """Every field as plain JSON-serialisable data (regimes a dict, history a list)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "regimes":
                value = dict(value)
            elif f.name == "history":
                value = list(value)
            out[f.name] = value
        return out

    def canonical_json(self) -> str:
        """Canonical JSON of all fields (sorted keys, no spaces): what :meth:`id` hashes."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), allow_nan=False)

    def id(self) -> str:
        """``"v{version}:{8 hex}"``: the version and the first 8 hex digits of SHA-256 of
        :meth:`canonical_json`, so any change of any field changes the id."""
        digest = hashlib.sha256(self.canonical_json().encode()).hexdigest()[:8]
        return f"v{self.version}:{digest}"

    def __hash__(self) -> int:  # regimes is a mapping proxy, not hashable by value
        return hash(self.canonical_json())


def grid_protocol_id(grid: Any, seeds: int) -> str:
    """The protocol id of a claim without a declared protocol: ``"v1:" + hash(grid, seeds)``.

    Exact checks and not-yet-converted claims have no :class:`Protocol`; their runs are still
    tied to the design that produced them, the default grid and the number of seeds.
    """
    payload = json.dumps(
        {"grid": grid, "seeds": seeds}, sort_keys=True, separators=(",", ":"), default=repr
    )
    return "v1:" + hashlib.sha256(payload.encode()).hexdigest()[:8]
