"""Small helpers shared by the perturbation claims' verdicts.

The perturbation claims run both arms of a comparison inside one ``run()`` (same seed: same
initialisation, data split and minibatch order), so every row carries a paired observation
and an effect is a paired t-interval over the rows of one grid point. These helpers collect
those pairs, phrase effects in plain words and decide one-sided non-inferiority.
"""

from __future__ import annotations

from reglab.lab.claim import Rows
from reglab.lab.stats import (
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Effect,
    decide_conditional,
    paired_effect,
)

# the two calibration regimes of mixup-calibration and label-smoothing-bounded-logits, as
# their protocols name them: the plain net's mean confidence minus accuracy
OVERCONFIDENT_MIN = 0.05
CALIBRATED_MAX = 0.03


def paired(
    rows: Rows,
    treated: str,
    control: str,
    *,
    name: str,
    smallest: float | None = None,
    regime: str | None = None,
) -> Effect:
    """Paired effect ``treated - control`` over the rows (one row per seed)."""
    if len(rows) == 0:
        raise ValueError(f"no rows for effect {name!r} (regime {regime!r})")
    return paired_effect(
        rows.values(treated),
        rows.values(control),
        name=name,
        smallest=smallest,
        regime=regime,
    )


def non_inferior(effect: Effect, margin: float) -> str:
    """One-sided non-inferiority of ``effect = treated - control`` (higher is better).

    SUPPORTED when the 95% interval's lower end is above ``-margin`` (the treatment loses at
    most ``margin``), NOT SUPPORTED when its upper end is below ``-margin`` (it loses more),
    INCONCLUSIVE otherwise or without an interval (Piaggio et al., CONSORT extension for
    non-inferiority trials, JAMA 2006: the two-sided 95% CI against the margin).
    """
    if not margin > 0:
        raise ValueError(f"margin={margin!r} must be > 0")
    if not effect.has_interval:
        return INCONCLUSIVE
    if effect.low > -margin:
        return SUPPORTED
    if effect.high < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def points(x: float, digits: int = 1) -> str:
    """A fraction as percentage points, e.g. ``0.0123 -> '1.2'``."""
    return f"{100 * x:.{digits}f}"


def ci_points(e: Effect, digits: int = 1) -> str:
    """``'-1.2 points [-1.8, -0.6]'`` for an effect on a fraction scale."""
    return (
        f"{points(e.estimate, digits)} points [{points(e.low, digits)}, {points(e.high, digits)}]"
    )


def ci(e: Effect, digits: int = 3) -> str:
    """``'-0.012 [-0.018, -0.006]'`` in the effect's own units."""
    return f"{e.estimate:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]"


def in_calibration_regime(regime: str, excess: float) -> bool:
    """Whether the plain net is in the regime its protocol names: over-confident
    (confidence - accuracy > OVERCONFIDENT_MIN) or calibrated (|.| < CALIBRATED_MAX)."""
    if regime == "over-confident":
        return excess > OVERCONFIDENT_MIN
    return abs(excess) < CALIBRATED_MAX


def calibration_verdict(
    effects: dict[str, Effect], regimes_ok: bool, body: str, *, direction: str, smallest: float
) -> tuple[str, str]:
    """(outcome, sentence) of a claim that an ECE change holds only in the over-confident
    regime: CONDITIONAL when it holds there and not in the calibrated one; INCONCLUSIVE when
    a regime is missing from the grid or a plain net was not in its named regime."""
    expected = {"over-confident", "calibrated"}
    if set(effects) != expected:
        return INCONCLUSIVE, f"Inconclusive: the grid lacks a named regime (ran {sorted(effects)})."
    outcome = decide_conditional(
        effects,
        predicted={"over-confident": True, "calibrated": False},
        direction=direction,
        smallest=smallest,
    )
    if not regimes_ok:
        outcome = INCONCLUSIVE
    sentence = {
        "CONDITIONAL": f"Holds only when the baseline is over-confident: {body}.",
        "SUPPORTED": f"Supported in both regimes: {body}.",
        "NOT SUPPORTED": f"Not supported: {body}.",
        "INCONCLUSIVE": f"Inconclusive: {body}"
        + ("" if regimes_ok else " (a regime check failed)")
        + ".",
    }[outcome]
    return outcome, sentence
