"""Claims: sentences of the deep dive made into experiments that can fail.

A :class:`Claim` is a registered object with an id, the sentence it tests (quoted or
paraphrased from ``seed/regularization_deep_dive.txt``), its kind (:class:`reglab.Kind`), a
parameter grid, a smoke grid that runs in seconds, ``run(params, seed) -> metrics`` and
``verdict(rows) -> Verdict``. Results are written first (tidy rows in the store); the verdict
and its figure are computed from stored rows alone, so the report can be rebuilt without
re-running anything.

Claims live one per module under :mod:`reglab.lab.claims` (sub-packages named after the
kinds); :func:`registry` imports them all and returns them by id.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import itertools
import json
import pkgutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from reglab.taxonomy import Kind

Params = dict[str, Any]
MetricValue = float | list[float]
Metrics = dict[str, MetricValue]

_REGISTRY: dict[str, type[Claim]] = {}


@dataclass(frozen=True)
class RunRow:
    """The stored result of one run: a claim at one parameter point and one seed."""

    claim_id: str
    params: Params
    seed: int
    repetition: int
    metrics: Metrics


class Rows(Sequence[RunRow]):
    """The successful runs of one claim, with small helpers for verdicts and figures."""

    def __init__(self, rows: Iterable[RunRow]):
        self._rows = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i):  # type: ignore[override]
        return self._rows[i]

    def __iter__(self) -> Iterator[RunRow]:
        return iter(self._rows)

    def where(self, **conditions: Any) -> Rows:
        """Rows whose parameters equal every ``name=value`` given."""
        return Rows(
            r for r in self._rows if all(r.params.get(k) == v for k, v in conditions.items())
        )

    def param_values(self, name: str) -> list[Any]:
        """Sorted distinct values of parameter ``name``."""
        values = {json.dumps(r.params[name]) for r in self._rows if name in r.params}
        return sorted((json.loads(v) for v in values), key=_sort_key)

    def by(self, name: str) -> dict[Any, Rows]:
        """Group rows by the value of parameter ``name`` (sorted by value)."""
        return {v: self.where(**{name: v}) for v in self.param_values(name)}

    def values(self, metric: str) -> np.ndarray:
        """Values of a scalar ``metric`` over the rows (a KeyError names missing metrics)."""
        out = []
        for r in self._rows:
            if metric not in r.metrics:
                known = ", ".join(sorted(r.metrics))
                raise KeyError(f"metric {metric!r} not in run {r.params}; it has: {known}")
            out.append(r.metrics[metric])
        return np.asarray(out, dtype=float)

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values(metric)))

    def all(self, metric: str) -> bool:
        """True when a boolean-like metric is true (non-zero) in every row."""
        v = self.values(metric)
        return bool(v.size) and bool(np.all(v != 0))


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, bool | int | float):
        return (0, float(v))
    return (1, json.dumps(v, sort_keys=True))


@dataclass
class Verdict:
    """A claim's verdict: whether it held, the evidence in words and numbers, a figure.

    Unpacks as ``passed, evidence, figure``.
    """

    passed: bool
    evidence: str
    figure: Any = None
    numbers: dict[str, float] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.passed, self.evidence, self.figure))


def checks_summary(checks: Mapping[str, bool]) -> str:
    """One evidence line for named checks: the failed ones, or how many all hold."""
    failed = [name for name, ok in checks.items() if not ok]
    return f"FAILED: {'; '.join(failed)}" if failed else f"all {len(checks)} checks hold"


class Claim:
    """Base class of the lab's claims; subclasses are registered by their ``id``.

    Subclasses set the class attributes and implement :meth:`run` and :meth:`verdict`.

    Attributes
    ----------
    id : str
        Short kebab-case identifier, e.g. ``"l2-conditioning"``.
    statement : str
        The sentence of the deep dive that is tested (quoted or paraphrased).
    kind : Kind
        One of the deep dive's five kinds, or ``Kind.DIAGNOSTICS``.
    grid, smoke : dict of lists or list of dicts
        The default parameter grid (about a minute on 2 cores) and a smoke grid (seconds).
        A dict is expanded as a Cartesian product; a list of dicts is taken as it is.
    seeds, smoke_seeds : int
        Default number of repetitions (seeds) per grid point.
    interview : str
        A strong interview answer, in our words, that the evidence supports.
    known_failure : str
        Empty, or why the honest verdict on this claim is FAIL (its smoke grid included):
        the claim as the deep dive states it does not hold in the experiment. The smoke test
        then requires FAIL, so the failure stays visible instead of being tuned away.
    section : str
        The deep dive's section the claim comes from.
    """

    id: ClassVar[str] = ""
    statement: ClassVar[str] = ""
    kind: ClassVar[Kind] = Kind.DIAGNOSTICS
    grid: ClassVar[Mapping[str, Sequence[Any]] | Sequence[Params]] = {}
    smoke: ClassVar[Mapping[str, Sequence[Any]] | Sequence[Params]] = {}
    seeds: ClassVar[int] = 1
    smoke_seeds: ClassVar[int] = 1
    interview: ClassVar[str] = ""
    section: ClassVar[str] = ""
    known_failure: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.id:
            return  # an abstract intermediate class
        if cls.id in _REGISTRY and _REGISTRY[cls.id].__qualname__ != cls.__qualname__:
            raise ValueError(
                f"claim id {cls.id!r} is registered twice: by "
                f"{_REGISTRY[cls.id].__module__} and {cls.__module__}"
            )
        if not isinstance(cls.kind, Kind):
            raise TypeError(f"claim {cls.id!r}: kind={cls.kind!r} must be a reglab.Kind")
        _REGISTRY[cls.id] = cls

    def run(self, params: Params, seed: int) -> Metrics:
        """Run the experiment at one parameter point; return named metrics."""
        raise NotImplementedError(f"claim {self.id!r} does not implement run()")

    def verdict(self, rows: Rows) -> Verdict:
        """Decide from stored rows whether the claim held; draw its figure."""
        raise NotImplementedError(f"claim {self.id!r} does not implement verdict()")

    def param_grid(self, smoke: bool = False) -> list[Params]:
        """The grid points to run (the smoke grid when ``smoke``)."""
        return expand_grid(self.smoke if smoke else self.grid)

    def __repr__(self) -> str:
        return f"<Claim {self.id} ({self.kind.value})>"


def expand_grid(grid: Mapping[str, Sequence[Any]] | Sequence[Params]) -> list[Params]:
    """Expand a dict of lists into its Cartesian product; a list of dicts is copied."""
    if isinstance(grid, Mapping):
        if not grid:
            return [{}]
        for name, values in grid.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence):
                raise TypeError(
                    f"grid[{name!r}]={values!r} must be a list of values, not a single value"
                )
        names = list(grid)
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(grid[n] for n in names))
        ]
    return [dict(p) for p in grid]


@functools.cache
def _import_all_claims() -> None:
    # once per process: modules register their claims on import, so walking the package
    # again (every get_claim / registry call) would only repeat the file-system scan
    from reglab.lab import claims

    for info in pkgutil.walk_packages(claims.__path__, prefix=claims.__name__ + "."):
        importlib.import_module(info.name)


def registry() -> dict[str, Claim]:
    """All registered claims by id (importing every module under ``reglab.lab.claims``)."""
    _import_all_claims()
    return {cid: cls() for cid, cls in sorted(_REGISTRY.items())}


def get_claim(claim_id: str) -> Claim:
    """The claim with id ``claim_id``; an unknown id raises a KeyError naming the closest ids."""
    claims = registry()
    if claim_id in claims:
        return claims[claim_id]
    close = difflib.get_close_matches(claim_id, list(claims), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownClaimError(
        f"unknown claim id {claim_id!r}.{hint} (`reglab list` shows all {len(claims)} claims)"
    )


class UnknownClaimError(KeyError):
    """Raised for a claim id that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
