"""Claims: sentences of the deep dive made into experiments that can fail.

A :class:`Claim` is a registered object with an id, the sentence it tests (quoted or
paraphrased from ``seed/regularization_deep_dive.txt``), its kind (:class:`reglab.Kind`), a
parameter grid, a smoke grid that runs in seconds, ``run(params, seed) -> metrics`` and
``verdict(rows) -> Verdict``. A claim is either an *exact* check (an identity verified to
numerical precision: :func:`exact_verdict`, PASS or FAIL, a FAIL is a bug) or an *empirical*
claim with a frozen :class:`~reglab.lab.protocol.Protocol` whose verdict
(:func:`empirical_verdict`) is SUPPORTED, CONDITIONAL, NOT SUPPORTED or INCONCLUSIVE from
effects with 95% confidence intervals (:mod:`reglab.lab.stats`). Results are written first (tidy rows in the store); the verdict
and its figure are computed from stored rows alone, so the report can be rebuilt without
re-running anything.

Claims live one per module under :mod:`reglab.lab.claims` (sub-packages named after the
kinds); :func:`registry` imports them all and returns them by id.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import itertools
import json
import math
import pkgutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from reglab.lab.protocol import Protocol, grid_protocol_id
from reglab.lab.stats import (
    CONDITIONAL,
    EMPIRICAL_OUTCOMES,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Effect,
)
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
        if isinstance(rows, str | bytes):
            raise TypeError(f"rows must be an iterable of RunRow, not the string {rows!r}")
        self._rows = list(rows)
        for r in self._rows:
            if not isinstance(r, RunRow):
                raise TypeError(f"rows must hold RunRow objects, got {type(r).__name__}")

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
        """Mean of a scalar ``metric`` over the rows (a ValueError when there are none)."""
        values = self.values(metric)
        if not values.size:
            raise ValueError(f"mean of metric {metric!r} over no rows: nothing was run")
        return float(np.mean(values))

    def all(self, metric: str) -> bool:
        """True when a boolean-like metric is true (non-zero) in every row."""
        v = self.values(metric)
        return bool(v.size) and bool(np.all(v != 0))


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, bool | int | float):
        return (0, float(v))
    return (1, json.dumps(v, sort_keys=True))


PASS = "PASS"
FAIL = "FAIL"
#: every verdict outcome: exact checks PASS or FAIL (a FAIL is a bug); empirical claims one of
#: the four outcomes of SCIENCE.md
OUTCOMES = (PASS, FAIL, SUPPORTED, CONDITIONAL, NOT_SUPPORTED, INCONCLUSIVE)
#: the outcomes for which the (legacy) boolean ``Verdict.passed`` is True
PASSING = frozenset({PASS, SUPPORTED, CONDITIONAL})
RESULT_KINDS = ("empirical", "exact")


class Verdict:
    """A claim's verdict: its outcome, one plain sentence, effects, evidence and a figure.

    Built with :func:`exact_verdict` (identities: PASS/FAIL from the largest error reached
    against a tolerance) or :func:`empirical_verdict` (SUPPORTED / CONDITIONAL /
    NOT SUPPORTED / INCONCLUSIVE from effects with confidence intervals under a frozen
    :class:`~reglab.lab.protocol.Protocol`).

    The first-wave form ``Verdict(passed, evidence, figure, numbers)`` still works: its
    outcome is PASS or FAIL derived from ``passed`` and :attr:`legacy` is True, so the report
    marks it "legacy verdict" until the claim is converted. Unpacks as
    ``passed, evidence, figure``.

    Attributes
    ----------
    outcome : str
        One of :data:`OUTCOMES`.
    sentence : str
        The verdict in one plain sentence ("Supported: ...", "Holds only when ...").
    effects : list of Effect
        The effects (estimate and 95% CI) the verdict rests on; empty for exact checks.
    max_error, tolerance : float or None
        For exact checks: the largest error reached and the tolerance it is held to.
    protocol : Protocol or None
        The protocol the verdict was decided under (empirical claims).
    evidence : str
        Details in words (shown folded in the report).
    figure : matplotlib Figure or None
    numbers : dict of str to float
        Named numbers for tables and the drill.
    legacy : bool
        True for a verdict built from ``passed`` alone (not yet converted).
    """

    def __init__(
        self,
        passed: bool | None = None,
        evidence: str = "",
        figure: Any = None,
        numbers: Mapping[str, float] | None = None,
        *,
        outcome: str | None = None,
        sentence: str = "",
        effects: Iterable[Effect] = (),
        max_error: float | None = None,
        tolerance: float | None = None,
        protocol: Protocol | None = None,
    ):
        if outcome is None:
            if passed is None:
                raise TypeError("Verdict needs outcome= (or, in the legacy form, passed)")
            outcome = PASS if passed else FAIL
            self.legacy = True
        else:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome={outcome!r} must be one of {OUTCOMES}")
            if passed is not None and bool(passed) != (outcome in PASSING):
                raise ValueError(f"passed={passed!r} contradicts outcome={outcome!r}")
            self.legacy = False
        self.outcome: str = outcome
        self.evidence = str(evidence)
        self.figure = figure
        self.numbers: dict[str, float] = dict(numbers or {})
        self.effects: list[Effect] = list(effects)
        for e in self.effects:
            if not isinstance(e, Effect):
                raise TypeError(f"effects must be reglab.lab.stats.Effect, got {e!r}")
        self.max_error = max_error
        self.tolerance = tolerance
        self.protocol = protocol
        self.sentence = str(sentence) or self._default_sentence()

    def _default_sentence(self) -> str:
        if self.legacy:
            held = "held" if self.outcome == PASS else "did not hold"
            return f"The first-wave check {held}; not yet judged with effect sizes."
        return self.outcome.capitalize() + "."

    @property
    def passed(self) -> bool:
        """True for PASS, SUPPORTED and CONDITIONAL (the first wave's boolean)."""
        return self.outcome in PASSING

    @passed.setter
    def passed(self, value: bool) -> None:
        if bool(value) == self.passed:
            return
        if not self.legacy:
            raise ValueError(
                f"passed={value!r} contradicts outcome={self.outcome!r}; set outcome instead"
            )
        self.outcome = PASS if value else FAIL
        self.sentence = self._default_sentence()

    @property
    def kind(self) -> str:
        """``"exact"``, ``"empirical"`` or ``"legacy"``: which section of the report."""
        if self.legacy:
            return "legacy"
        return "exact" if self.outcome in (PASS, FAIL) else "empirical"

    @property
    def protocol_id(self) -> str | None:
        return None if self.protocol is None else self.protocol.id()

    def __iter__(self) -> Iterator[Any]:
        return iter((self.passed, self.evidence, self.figure))

    def __repr__(self) -> str:
        tag = " legacy" if self.legacy else ""
        return f"<Verdict {self.outcome}{tag}: {self.sentence}>"


def exact_verdict(
    max_error: float,
    tolerance: float,
    *,
    what: str,
    figure: Any = None,
    evidence: str = "",
    numbers: Mapping[str, float] | None = None,
) -> Verdict:
    """The verdict of an exact check: PASS when ``max_error <= tolerance``, else FAIL (a bug).

    Parameters
    ----------
    max_error : float
        The largest error reached over the grid (a NaN error is a FAIL).
    tolerance : float
        The tolerance derived from floating point (e.g. ``n * eps * cond``), > 0.
    what : str
        The identity checked, e.g. ``"the ridge closed form matches the solver"``.
    """
    if not isinstance(what, str) or not what.strip():
        raise ValueError(f"what={what!r} must name the identity checked")
    max_error = float(max_error)
    tolerance = float(tolerance)
    if not math.isfinite(tolerance) or tolerance <= 0:
        raise ValueError(f"tolerance={tolerance!r} must be a finite number > 0")
    ok = math.isfinite(max_error) and max_error <= tolerance
    what = what.strip().rstrip(".")
    if ok:
        sentence = f"Exact: {what} (max error {max_error:.3g} <= tolerance {tolerance:.3g})."
    else:
        sentence = f"Bug: {what} fails (max error {max_error:.3g} > tolerance {tolerance:.3g})."
    nums = {"max_error": max_error, "tolerance": tolerance, **dict(numbers or {})}
    return Verdict(
        outcome=PASS if ok else FAIL,
        sentence=sentence,
        evidence=evidence or sentence,
        figure=figure,
        numbers=nums,
        max_error=max_error,
        tolerance=tolerance,
    )


def empirical_verdict(
    protocol: Protocol,
    effects: Sequence[Effect] | Effect,
    outcome: str,
    *,
    sentence: str,
    figure: Any = None,
    evidence: str = "",
    numbers: Mapping[str, float] | None = None,
) -> Verdict:
    """The verdict of an empirical claim under its frozen ``protocol``.

    ``outcome`` comes from :func:`reglab.lab.stats.decide` (or ``decide_conditional``,
    ``intersection_union``, ``decide_equivalence``); ``sentence`` says it in plain words with
    the effect and its CI ("Supported: dropout lowers test error by 1.2 points [0.6, 1.8]").

    ``effects[0]`` is the primary effect (the protocol's metric); effects with a ``regime``
    are the primary effect measured per regime (CONDITIONAL claims). Those two get the
    protocol's smallest effect of interest when they carry none, and they are what the
    report's forest plot shows. Any other effect is secondary (a price paid, a side metric in
    other units): it keeps ``smallest=None`` unless given one and is listed, not plotted.
    """
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol={protocol!r} must be a reglab.lab.protocol.Protocol")
    if outcome not in EMPIRICAL_OUTCOMES:
        raise ValueError(f"outcome={outcome!r} must be one of {EMPIRICAL_OUTCOMES}")
    if not isinstance(sentence, str) or not sentence.strip():
        raise ValueError(f"sentence={sentence!r} must state the verdict in one sentence")
    effs = [effects] if isinstance(effects, Effect) else list(effects)
    if not effs:
        raise ValueError("effects is empty: an empirical verdict rests on at least one effect")
    for e in effs:
        if not isinstance(e, Effect):
            raise TypeError(f"effects must be reglab.lab.stats.Effect, got {e!r}")
    effs = [
        dataclasses.replace(e, smallest=protocol.smallest_effect)
        if e.smallest is None and (i == 0 or e.regime is not None)
        else e
        for i, e in enumerate(effs)
    ]
    return Verdict(
        outcome=outcome,
        sentence=sentence.strip(),
        evidence=evidence or sentence.strip(),
        figure=figure,
        numbers=numbers,
        effects=effs,
        protocol=protocol,
    )


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
    section : str
        The deep dive's section the claim comes from.
    result_kind : {"empirical", "exact"}
        ``"exact"`` for identities checked to numerical precision (their FAIL is a bug),
        ``"empirical"`` for statements about training, judged with effect sizes.
    protocol : Protocol or None
        The frozen protocol of an empirical claim (required for them; a test asserts it).
    scale : dict of lists or list of dicts
        An optional larger grid for a Dask cluster or a GPU, where the default grid cannot
        afford the seeds the power analysis asks for.
    """

    id: ClassVar[str] = ""
    statement: ClassVar[str] = ""
    kind: ClassVar[Kind] = Kind.DIAGNOSTICS
    grid: ClassVar[Mapping[str, Sequence[Any]] | Sequence[Params]] = {}
    smoke: ClassVar[Mapping[str, Sequence[Any]] | Sequence[Params]] = {}
    scale: ClassVar[Mapping[str, Sequence[Any]] | Sequence[Params]] = {}
    seeds: ClassVar[int] = 1
    smoke_seeds: ClassVar[int] = 1
    interview: ClassVar[str] = ""
    section: ClassVar[str] = ""
    result_kind: ClassVar[str] = "empirical"
    protocol: ClassVar[Protocol | None] = None

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
        if cls.result_kind not in RESULT_KINDS:
            raise ValueError(
                f"claim {cls.id!r}: result_kind={cls.result_kind!r} must be one of {RESULT_KINDS}"
            )
        if cls.protocol is not None and not isinstance(cls.protocol, Protocol):
            raise TypeError(
                f"claim {cls.id!r}: protocol={cls.protocol!r} must be a "
                "reglab.lab.protocol.Protocol"
            )
        _REGISTRY[cls.id] = cls

    def protocol_id(self) -> str:
        """The id stored with every run: ``protocol.id()`` (``"v2:3fa9c1d2"``), or for a
        claim without a protocol (exact checks, unconverted claims) ``"v1:"`` + a hash of
        the default grid and seeds, so a change of design still separates the runs."""
        if self.protocol is not None:
            return self.protocol.id()
        return grid_protocol_id(expand_grid(self.grid), self.seeds)

    def run(self, params: Params, seed: int) -> Metrics:
        """Run the experiment at one parameter point; return named metrics."""
        raise NotImplementedError(f"claim {self.id!r} does not implement run()")

    def verdict(self, rows: Rows) -> Verdict:
        """Decide from stored rows whether the claim held; draw its figure."""
        raise NotImplementedError(f"claim {self.id!r} does not implement verdict()")

    def param_grid(self, smoke: bool = False, *, scale: bool = False) -> list[Params]:
        """The grid points to run: the smoke grid when ``smoke``, the ``scale`` grid (or the
        default grid when the claim has none) when ``scale``, else the default grid."""
        if smoke and scale:
            raise ValueError("smoke=True and scale=True: choose one grid")
        if scale:
            return expand_grid(self.scale or self.grid)
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
    if not isinstance(claim_id, str):
        raise TypeError(f"claim_id must be a string, got {type(claim_id).__name__}: {claim_id!r}")
    claims = registry()
    if claim_id in claims:
        return claims[claim_id]
    close = difflib.get_close_matches(claim_id, list(claims), n=3, cutoff=0.4)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise UnknownClaimError(
        f"unknown claim id {claim_id!r}.{hint} (`reglab list` shows all {len(claims)} claims)"
    )


class UnknownClaimError(KeyError, ValueError):
    """Raised for a claim id that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])
