"""Effect sizes, 95% confidence intervals and the verdict rules of the lab.

Every empirical verdict is an :class:`Effect` (an estimate with its interval over independent
seeds) judged against the smallest effect of interest of the claim's frozen
:class:`~reglab.lab.protocol.Protocol`:

- :func:`paired_effect`, :func:`mean_effect`: Student-t intervals over seeds,
  ``mean +- t_{0.975, k-1} sd / sqrt(k)`` (paired differences when both arms share the seed);
- :func:`bootstrap_effect`: percentile bootstrap over seeds for statistics that are not means
  (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13);
- :func:`holm`: Holm's step-down correction for several checks joined into one verdict
  (Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Stat. 1979);
  :func:`intersection_union` when every check must hold (Berger, Technometrics 1982);
- :func:`tost`: two one-sided tests for equivalence within a margin (Schuirmann,
  J. Pharmacokinet. Biopharm. 1987);
- :func:`seeds_for_power`: seeds from a pilot's sd, ``k >= ((z_{1-a/2} + z_{power}) sd / delta)^2``;
- :func:`decide`, :func:`decide_conditional`, :func:`decide_equivalence`: the rules of
  ``SCIENCE.md`` that turn intervals into SUPPORTED / CONDITIONAL / NOT SUPPORTED /
  INCONCLUSIVE.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _scipy_stats():
    # scipy.stats costs ~0.8 s to import; `reglab list` and a fully stored `reglab run`
    # read cached verdicts and never need it, so it is imported on first use
    from scipy import stats

    return stats


SUPPORTED = "SUPPORTED"
CONDITIONAL = "CONDITIONAL"
NOT_SUPPORTED = "NOT SUPPORTED"
INCONCLUSIVE = "INCONCLUSIVE"
EMPIRICAL_OUTCOMES = (SUPPORTED, CONDITIONAL, NOT_SUPPORTED, INCONCLUSIVE)
DIRECTIONS = ("decrease", "increase")


@dataclass(frozen=True)
class Effect:
    """One effect with its confidence interval (95% unless the producer says otherwise).

    Parameters
    ----------
    name : str
        What the effect is, e.g. ``"test error: dropout - plain (width 256)"``.
    estimate, low, high : float
        Point estimate and interval ``[low, high]``; an infinite interval means "no interval"
        (fewer than two seeds).
    n : int
        Number of independent seeds (pairs) behind the estimate.
    smallest : float or None
        The smallest effect of interest (> 0) it is judged against, in the effect's units.
    regime : str or None
        The regime it was measured in (CONDITIONAL claims).
    p_value : float or None
        Two-sided p-value of "no effect" (for :func:`tost`: the equivalence p-value).
    """

    name: str
    estimate: float
    low: float
    high: float
    n: int
    smallest: float | None = None
    regime: str | None = None
    p_value: float | None = None

    def __post_init__(self) -> None:
        if not (self.low <= self.estimate <= self.high) and not any(
            math.isnan(v) for v in (self.low, self.estimate, self.high)
        ):
            raise ValueError(
                f"effect {self.name!r}: the interval [low={self.low!r}, high={self.high!r}] "
                f"must contain estimate={self.estimate!r}"
            )

    @property
    def has_interval(self) -> bool:
        """False when the interval is infinite or undefined (fewer than two seeds)."""
        return math.isfinite(self.low) and math.isfinite(self.high)

    def in_units_of_smallest(self, direction: str) -> tuple[float, float, float]:
        """``(estimate, low, high)`` divided by the smallest effect of interest, signed so
        that the claimed direction is positive: 1 is the smallest effect of interest, 0 no
        effect. Used by the report's forest plot to put every claim on one axis."""
        if self.smallest is None or self.smallest <= 0:
            raise ValueError(f"effect {self.name!r} has smallest={self.smallest!r}; need > 0")
        s = _sign(direction) / self.smallest
        lo, hi = sorted((s * self.low, s * self.high))
        return s * self.estimate, lo, hi

    def format(self, digits: int = 3) -> str:
        """``"-0.0123 [-0.0201, -0.0045], n=8"`` (``"no interval"`` below two seeds)."""
        est = _fmt(self.estimate, digits)
        if not self.has_interval:
            return f"{est} (no interval: n={self.n})"
        return f"{est} [{_fmt(self.low, digits)}, {_fmt(self.high, digits)}], n={self.n}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "estimate": self.estimate,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "smallest": self.smallest,
            "regime": self.regime,
            "p_value": self.p_value,
        }


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}g}" if math.isfinite(x) else str(x)


def _sign(direction: str) -> float:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction={direction!r} must be one of {DIRECTIONS}")
    return 1.0 if direction == "increase" else -1.0


def _check_smallest(smallest: float | None, *, required: bool = False) -> float | None:
    if smallest is None:
        if required:
            raise ValueError("smallest=None: a smallest effect of interest > 0 is required")
        return None
    if isinstance(smallest, bool) or not math.isfinite(smallest) or smallest <= 0:
        raise ValueError(f"smallest={smallest!r} must be a finite number > 0")
    return float(smallest)


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one value per seed (1-D), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty: an effect needs at least one seed")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values: {arr.tolist()}")
    return arr


def _t_effect(
    d: np.ndarray,
    *,
    name: str,
    smallest: float | None,
    regime: str | None,
    level: float = 0.95,
) -> Effect:
    """Student-t interval and two-sided p-value of the mean of ``d`` (one value per seed)."""
    n = int(d.size)
    m = float(d.mean())
    if n < 2:
        return Effect(name, m, -math.inf, math.inf, n, smallest, regime, 1.0)
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        # every seed gave the same difference: the interval collapses to the point
        return Effect(name, m, m, m, n, smallest, regime, 0.0 if m != 0 else 1.0)
    q = float(_scipy_stats().t.ppf(0.5 + level / 2, n - 1))
    p = float(2 * _scipy_stats().t.sf(abs(m) / se, n - 1))
    return Effect(name, m, m - q * se, m + q * se, n, smallest, regime, p)


def paired_effect(
    treated: Sequence[float] | np.ndarray,
    control: Sequence[float] | np.ndarray,
    *,
    name: str,
    smallest: float | None = None,
    regime: str | None = None,
    log_ratio: bool = False,
) -> Effect:
    """Mean paired difference ``treated - control`` over seeds with its 95% t-interval.

    With ``d_i = t_i - c_i`` (or ``log(t_i / c_i)`` when ``log_ratio``) over ``k`` seeds,
    the interval is ``mean(d) +- t_{0.975, k-1} sd(d) / sqrt(k)`` and the p-value the paired
    t-test's. Pairing removes the seed-to-seed variance both arms share (same init, data draw
    and order). Fewer than two seeds give an infinite interval (INCONCLUSIVE).

    Parameters
    ----------
    treated, control : array-like of float, shape (k,)
        The primary metric per seed, in the same seed order.
    name : str
        What the effect is.
    smallest : float, optional
        Smallest effect of interest (> 0), kept on the effect for the report.
    regime : str, optional
        The regime it was measured in.
    log_ratio : bool
        Use ``log(treated / control)`` (both must be > 0), e.g. for sharpness ratios.
    """
    t = _as_1d(treated, "treated")
    c = _as_1d(control, "control")
    if t.shape != c.shape:
        raise ValueError(f"treated and control must pair seed by seed: {t.size} != {c.size} values")
    if log_ratio:
        if np.any(t <= 0) or np.any(c <= 0):
            raise ValueError("log_ratio=True needs treated and control > 0")
        d = np.log(t) - np.log(c)
    else:
        d = t - c
    return _t_effect(d, name=name, smallest=_check_smallest(smallest), regime=regime)


def mean_effect(
    values: Sequence[float] | np.ndarray,
    *,
    name: str,
    smallest: float | None = None,
    regime: str | None = None,
    null: float = 0.0,
) -> Effect:
    """Mean of ``values - null`` over seeds with its one-sample 95% t-interval.

    ``values`` are one number per independent seed (e.g. an already paired difference, or a
    rank correlation per seed); ``null`` is the value of "no effect" subtracted first.
    """
    v = _as_1d(values, "values")
    return _t_effect(v - null, name=name, smallest=_check_smallest(smallest), regime=regime)


def bootstrap_effect(
    values_or_pairs: Sequence[Any] | np.ndarray,
    statistic: Callable[[np.ndarray], float],
    *,
    name: str,
    n_boot: int = 2000,
    seed: int = 0,
    smallest: float | None = None,
    regime: str | None = None,
    level: float = 0.95,
) -> Effect:
    """Percentile-bootstrap interval of ``statistic`` over seeds.

    Seeds (rows of ``values_or_pairs``, axis 0) are resampled with replacement ``n_boot``
    times; the interval is the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the
    resampled statistic, the p-value ``min(1, 2 min(P*(s <= 0), P*(s >= 0)))``. Use it where
    the statistic is not a mean (a median, a ratio of means, a rank correlation pooled over
    seeds); pass paired arms as columns, ``np.column_stack([treated, control])``.

    Parameters
    ----------
    values_or_pairs : array-like, shape (k,) or (k, m)
        One row per seed.
    statistic : callable
        Maps an array shaped like ``values_or_pairs`` to a float.
    n_boot : int
        Bootstrap resamples (>= 100).
    seed : int
        Seed of the resampling generator (the interval is reproducible).
    """
    data = np.asarray(values_or_pairs, dtype=float)
    if data.ndim not in (1, 2) or data.shape[0] == 0:
        raise ValueError(
            f"values_or_pairs must have one row per seed (shape (k,) or (k, m)), "
            f"got shape {data.shape}"
        )
    if not isinstance(n_boot, int) or n_boot < 100:
        raise ValueError(f"n_boot={n_boot!r} must be an integer >= 100")
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be in (0, 1)")
    sm = _check_smallest(smallest)
    k = data.shape[0]
    est = float(statistic(data))
    if k < 2:
        return Effect(name, est, -math.inf, math.inf, k, sm, regime, 1.0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, k, size=(n_boot, k))
    boots = np.array([float(statistic(data[i])) for i in idx])
    boots = boots[np.isfinite(boots)]
    if boots.size == 0:
        return Effect(name, est, -math.inf, math.inf, k, sm, regime, 1.0)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    # the percentile interval need not contain the plug-in estimate for skewed statistics
    lo, hi = min(float(lo), est), max(float(hi), est)
    p = min(1.0, 2 * min(float(np.mean(boots <= 0)), float(np.mean(boots >= 0))))
    return Effect(name, est, lo, hi, k, sm, regime, p)


def holm(p_values: Mapping[str, float], alpha: float = 0.05) -> dict[str, bool]:
    """Holm's step-down correction: which null hypotheses are rejected at family level alpha.

    Sort the ``m`` p-values ascending, ``p_(1) <= ... <= p_(m)``; reject ``H_(i)`` while
    ``p_(i) <= alpha / (m - i + 1)`` and stop at the first that is not (Holm 1979). Controls
    the family-wise error rate at ``alpha`` under any dependence.

    Returns
    -------
    dict of str to bool
        ``True`` where the check's null ("no effect") is rejected, in the input's order.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    for k, p in p_values.items():
        if p is None or not (0 <= p <= 1):
            raise ValueError(f"p_values[{k!r}]={p!r} must be a probability in [0, 1]")
    m = len(p_values)
    order = sorted(p_values, key=lambda k: p_values[k])
    rejected = dict.fromkeys(p_values, False)
    for i, k in enumerate(order):
        if p_values[k] <= alpha / (m - i):
            rejected[k] = True
        else:
            break
    return rejected


def intersection_union(outcomes: Mapping[str, str]) -> str:
    """Join checks that must ALL hold (each at 5%, no correction needed: Berger 1982).

    SUPPORTED when every check is SUPPORTED, NOT SUPPORTED when any is NOT SUPPORTED,
    INCONCLUSIVE otherwise.
    """
    if not outcomes:
        raise ValueError("outcomes is empty: nothing to join")
    for k, o in outcomes.items():
        if o not in (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE):
            raise ValueError(f"outcomes[{k!r}]={o!r} must be SUPPORTED/NOT SUPPORTED/INCONCLUSIVE")
    values = set(outcomes.values())
    if values == {SUPPORTED}:
        return SUPPORTED
    if NOT_SUPPORTED in values:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def tost(
    diff_values: Sequence[float] | np.ndarray,
    margin: float,
    *,
    alpha: float = 0.05,
    name: str = "equivalence",
    regime: str | None = None,
) -> Effect:
    """Two one-sided tests: is the mean difference within ``(-margin, margin)``?

    With ``t_1 = (mean + margin) / se`` and ``t_2 = (mean - margin) / se`` on ``k - 1``
    degrees of freedom, ``p = max(P(T >= t_1), P(T <= t_2))`` (Schuirmann 1987). Equivalence
    is shown when ``p < alpha``, i.e. when the ``1 - 2 alpha`` (90%) t-interval lies inside
    the margin. The returned Effect carries that 90% interval, ``smallest=margin`` and the
    TOST p-value; judge it with :func:`decide_equivalence`.
    """
    d = _as_1d(diff_values, "diff_values")
    margin = _check_smallest(margin, required=True)  # type: ignore[assignment]
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha={alpha!r} must be in (0, 0.5)")
    n = int(d.size)
    m = float(d.mean())
    if n < 2:
        return Effect(name, m, -math.inf, math.inf, n, margin, regime, 1.0)
    se = float(d.std(ddof=1)) / math.sqrt(n)
    if se == 0.0:
        p = 0.0 if abs(m) < margin else 1.0
        return Effect(name, m, m, m, n, margin, regime, p)
    p1 = float(_scipy_stats().t.sf((m + margin) / se, n - 1))
    p2 = float(_scipy_stats().t.cdf((m - margin) / se, n - 1))
    q = float(_scipy_stats().t.ppf(1 - alpha, n - 1))
    return Effect(name, m, m - q * se, m + q * se, n, margin, regime, max(p1, p2))


def decide_equivalence(effect: Effect, alpha: float = 0.05) -> str:
    """Verdict of an equivalence sentence from a :func:`tost` effect.

    SUPPORTED when the TOST p-value is below ``alpha`` (the 90% interval inside the margin);
    NOT SUPPORTED when the 90% interval lies entirely outside the margin (the difference
    exceeds it, one-sided at 5%); INCONCLUSIVE otherwise.
    """
    margin = _check_smallest(effect.smallest, required=True)
    assert margin is not None
    if effect.p_value is not None and effect.p_value < alpha:
        return SUPPORTED
    if effect.low > margin or effect.high < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def seeds_for_power(sd: float, delta: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds needed to detect a paired effect ``delta`` with the given power (at least 5).

    ``k = ceil(((z_{1 - alpha/2} + z_{power}) sd / delta)^2)``, the normal approximation of
    the paired t-test's sample size (Cohen, *Statistical Power Analysis*, 1988, ch. 2); with
    alpha = 0.05 and power = 0.8 the factor is ``1.960 + 0.842 = 2.802``.
    """
    _check_power_args(sd, alpha, power)
    if isinstance(delta, bool) or not math.isfinite(delta) or delta <= 0:
        raise ValueError(f"delta={delta!r} must be a finite number > 0")
    z = float(_scipy_stats().norm.ppf(1 - alpha / 2) + _scipy_stats().norm.ppf(power))
    return max(5, math.ceil((z * sd / delta) ** 2 - 1e-9))


def minimum_detectable_effect(
    sd: float, seeds: int, alpha: float = 0.05, power: float = 0.8
) -> float:
    """The smallest paired effect ``k`` seeds detect with the given power:
    ``(z_{1 - alpha/2} + z_{power}) sd / sqrt(k)`` (the inverse of :func:`seeds_for_power`)."""
    _check_power_args(sd, alpha, power)
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds={seeds!r} must be a positive integer")
    z = float(_scipy_stats().norm.ppf(1 - alpha / 2) + _scipy_stats().norm.ppf(power))
    return z * sd / math.sqrt(seeds)


def _check_power_args(sd: float, alpha: float, power: float) -> None:
    if isinstance(sd, bool) or not math.isfinite(sd) or sd < 0:
        raise ValueError(f"sd={sd!r} must be a finite number >= 0")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    if not 0 < power < 1:
        raise ValueError(f"power={power!r} must be in (0, 1)")


def decide(effect: Effect, direction: str, smallest: float, require_smallest: bool = False) -> str:
    """The verdict of one effect against the smallest effect of interest ``delta > 0``.

    With the interval signed so that the claimed ``direction`` is positive, ``[lo, hi]``:

    - SUPPORTED: ``lo > 0`` (the CI excludes zero with the stated sign) and, when
      ``require_smallest`` (the sentence says "large"/"much"), ``lo >= delta`` too;
    - NOT SUPPORTED: ``hi < delta`` (the CI excludes the claimed effect, including the
      opposite sign) -- unless SUPPORTED above;
    - INCONCLUSIVE: otherwise (the CI holds both zero and ``delta``; or, with
      ``require_smallest``, a real effect whose CI still straddles ``delta``), and whenever
      there is no interval (fewer than two seeds).
    """
    s = _sign(direction)
    delta = _check_smallest(smallest, required=True)
    assert delta is not None
    if not isinstance(effect, Effect):
        raise TypeError(f"effect={effect!r} must be a reglab.lab.stats.Effect")
    if math.isnan(effect.low) or math.isnan(effect.high) or not effect.has_interval:
        return INCONCLUSIVE
    lo, hi = sorted((s * effect.low, s * effect.high))
    if lo > 0 and (not require_smallest or lo >= delta):
        return SUPPORTED
    if hi < delta:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide_conditional(
    effects: Mapping[str, Effect],
    predicted: Mapping[str, bool],
    direction: str,
    smallest: float,
    require_smallest: bool = False,
) -> str:
    """The verdict of a sentence that holds in some regimes and not in others.

    ``predicted[r]`` says whether the sentence (its protocol, named before the runs) predicts
    the effect in regime ``r``; each regime is judged with :func:`decide`. Then:

    - SUPPORTED: the effect holds (SUPPORTED) in every regime, whatever was predicted;
    - CONDITIONAL: it holds in exactly the regimes predicted and is NOT SUPPORTED in the
      others;
    - NOT SUPPORTED: it fails (NOT SUPPORTED) in a regime where it was predicted to hold, or
      holds where it was predicted not to while failing elsewhere (a pattern not named in
      advance);
    - INCONCLUSIVE: otherwise (some regime's interval cannot tell).
    """
    if set(effects) != set(predicted):
        raise ValueError(
            f"effects regimes {sorted(effects)} and predicted regimes {sorted(predicted)} "
            "must be the same"
        )
    if not effects:
        raise ValueError("effects is empty: a conditional verdict needs regimes")
    if not any(predicted.values()):
        raise ValueError(f"predicted={dict(predicted)!r} predicts the effect in no regime")
    outcome = {
        r: decide(e, direction, smallest, require_smallest=require_smallest)
        for r, e in effects.items()
    }
    holds = {r for r, o in outcome.items() if o == SUPPORTED}
    fails = {r for r, o in outcome.items() if o == NOT_SUPPORTED}
    yes = {r for r, p in predicted.items() if p}
    no = set(predicted) - yes
    if holds == set(effects):
        return SUPPORTED
    if holds == yes and fails == no:
        return CONDITIONAL
    if yes & fails or (no & holds and fails):
        return NOT_SUPPORTED
    return INCONCLUSIVE
