"""What the report, ``reglab show`` and the drill say about a verdict: one sentence, the numbers.

Shared by the HTML report (:mod:`reglab.lab.report.render`), the ``show`` command and the
drill, so the three never disagree: :func:`verdict_lines` is the plain-text form,
:func:`protocol_rows` the protocol as (field, value) pairs and :func:`forest_plot` the figure
that opens the report -- every empirical effect with its 95% CI in units of its claim's
smallest effect of interest (Lewis & Clarke, "Forest plots: trying to see the wood and the
trees", BMJ 322, 2001).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reglab.lab.claim import FAIL, PASS, Claim, Verdict
from reglab.lab.protocol import Protocol
from reglab.lab.stats import (
    CONDITIONAL,
    INCONCLUSIVE,
    NOT_SUPPORTED,
    SUPPORTED,
    Effect,
    minimum_detectable_effect,
)

#: colour per outcome, shared by the forest plot and the page's badges
COLOURS = {
    PASS: "#1a7f37",
    SUPPORTED: "#1a7f37",
    CONDITIONAL: "#9a6700",
    INCONCLUSIVE: "#6e7781",
    NOT_SUPPORTED: "#cf222e",
    FAIL: "#cf222e",
}


def fmt(x: float | None, digits: int = 3) -> str:
    """A number in ``digits`` significant digits (``-`` for None, ``inf`` kept)."""
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}"


def effect_text(effect: Effect) -> str:
    """``"name: -0.012 [-0.02, -0.004], 8 seeds, p = 0.003 (smallest effect 0.005)"``."""
    where = f" [{effect.regime}]" if effect.regime else ""
    if effect.has_interval:
        ci = f"{fmt(effect.estimate)}, 95% CI [{fmt(effect.low)}, {fmt(effect.high)}]"
    else:
        ci = f"{fmt(effect.estimate)} (no interval)"
    parts = [f"{effect.name}{where}: {ci}", f"{effect.n} seed{'' if effect.n == 1 else 's'}"]
    if effect.p_value is not None:
        parts.append(f"p = {fmt(effect.p_value, 2)}")
    if effect.smallest is not None:
        parts.append(f"smallest effect of interest {fmt(effect.smallest)}")
    return ", ".join(parts)


def exact_text(verdict: Verdict) -> str | None:
    """``"max error 1.2e-15 vs tolerance 1e-12"`` for an exact check, else None."""
    if verdict.max_error is None or verdict.tolerance is None:
        return None
    op = "<=" if verdict.outcome == PASS else ">"
    return f"max error {fmt(verdict.max_error)} {op} tolerance {fmt(verdict.tolerance)}"


def protocol_rows(protocol: Protocol) -> list[tuple[str, str]]:
    """The protocol's fields as (label, value) pairs for the card and ``show``."""
    rows = [
        ("protocol", protocol.id()),
        ("metric", protocol.metric),
        ("effect", protocol.effect),
        ("claimed direction", protocol.direction),
        ("smallest effect of interest", fmt(protocol.smallest_effect)),
        ("analysis", protocol.analysis),
    ]
    seeds = f"{protocol.seeds}"
    if protocol.pilot_sd is not None:
        mde = minimum_detectable_effect(protocol.pilot_sd, protocol.seeds)
        seeds += f" (pilot sd {fmt(protocol.pilot_sd)}; detects {fmt(mde)} with 80% power)"
    rows.append(("seeds", seeds))
    for name, prediction in protocol.regimes.items():
        rows.append((f"regime {name}", prediction))
    for line in protocol.history:
        rows.append(("earlier version", line))
    return rows


def verdict_lines(claim: Claim, verdict: Verdict | None) -> list[str]:
    """The verdict in plain text: outcome and sentence, then its numbers (one per line).

    What ``reglab show`` prints and the drill quotes; the report's cards show the same.
    """
    if verdict is None:
        return ["NOT RUN"]
    head = verdict.outcome + (" (legacy verdict)" if verdict.legacy else "")
    lines = [f"{head}: {verdict.sentence}"]
    exact = exact_text(verdict)
    if exact:
        lines.append(exact)
    lines.extend(effect_text(e) for e in verdict.effects)
    return lines


@dataclass(frozen=True)
class ForestRow:
    """One row of the forest plot: a claim's effect and how it was judged."""

    label: str
    effect: Effect
    direction: str
    outcome: str
    claim_id: str = ""


def forest_rows(claim: Claim, verdict: Verdict | None) -> list[ForestRow]:
    """The forest-plot rows of one claim: its primary effect (``effects[0]``) and the primary
    effect per regime (effects with a ``regime``), each with a smallest effect of interest.
    Secondary effects in other units are listed on the card, not plotted."""
    if verdict is None or verdict.kind != "empirical":
        return []
    protocol = verdict.protocol or claim.protocol
    if protocol is None:
        return []
    chosen = [
        e
        for i, e in enumerate(verdict.effects)
        if e.smallest is not None and e.smallest > 0 and (i == 0 or e.regime)
    ]
    labels = [claim.id + (f" [{e.regime}]" if e.regime else "") for e in chosen]
    if len(set(labels)) < len(labels):
        # several measures per regime (e.g. two sharpness measures): name each one
        labels = [
            f"{claim.id}: {e.name}"
            + (f" [{e.regime}]" if e.regime and e.regime not in e.name else "")
            for e in chosen
        ]
    return [
        ForestRow(label, e, protocol.direction, verdict.outcome, claim.id)
        for label, e in zip(labels, chosen, strict=True)
    ]


_LABEL_CHARS = 44


def _short_label(label: str) -> str:
    """A forest-plot row label of at most ``_LABEL_CHARS`` characters: the claim id and the
    end of the rest (the regime), with an ellipsis where text was cut."""
    if len(label) <= _LABEL_CHARS:
        return label
    head, sep, tail = label.partition(": ")
    if sep and len(head) < _LABEL_CHARS - 8:
        room = _LABEL_CHARS - len(head) - 3
        return f"{head}: …{tail[-room:]}"
    return label[: _LABEL_CHARS - 1] + "…"


# the axis is clipped here (in units of the smallest effect); longer whiskers end in arrows
_XMIN, _XMAX = -3.0, 6.0


def forest_plot(rows: Sequence[ForestRow]) -> Any:
    """One forest plot: every row's effect and 95% CI divided by its smallest effect of
    interest, signed so that the claimed direction is positive.

    On that shared axis 0 is "no effect" and 1 "the smallest effect of interest": a whisker
    entirely right of 0 supports the sentence, one entirely left of 1 rules out an effect that
    matters, one crossing both is inconclusive. Returns a matplotlib Figure (None for no rows).
    """
    if not rows:
        return None
    import matplotlib.pyplot as plt

    n = len(rows)
    # labels are cut to a fixed width so that the effects, not the names, get the space
    # (the full names are on the cards)
    labels = [_short_label(r.label) for r in reversed(rows)]
    fig, ax = plt.subplots(figsize=(8.0, 0.9 + 0.26 * n), layout="constrained")
    for i, row in enumerate(rows):
        y = n - 1 - i
        colour = COLOURS.get(row.outcome, "#6e7781")
        est, lo, hi = row.effect.in_units_of_smallest(row.direction)
        lo_c, hi_c = max(lo, _XMIN), min(hi, _XMAX)
        est_c = min(max(est, _XMIN), _XMAX)
        ax.plot([lo_c, hi_c], [y, y], color=colour, lw=1.6, solid_capstyle="butt")
        if lo < _XMIN:
            ax.plot([_XMIN], [y], marker="<", color=colour, ms=5)
        if hi > _XMAX:
            ax.plot([_XMAX], [y], marker=">", color=colour, ms=5)
        ax.plot([est_c], [y], marker="s", color=colour, ms=4.5)
    ax.axvline(0.0, color="#1f2328", lw=0.8)
    ax.axvline(1.0, color="#1f2328", lw=0.8, ls="--")
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(_XMIN - 0.2, _XMAX + 0.2)
    ax.set_xlabel(
        "effect / smallest effect of interest (claimed direction > 0; dashed: 1)", fontsize=8
    )
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="x", color="#d0d7de", lw=0.5)
    handles = [
        plt.Line2D([], [], color=COLOURS[o], marker="s", lw=1.6, label=o.lower())
        for o in (SUPPORTED, CONDITIONAL, INCONCLUSIVE, NOT_SUPPORTED)
    ]
    ax.legend(
        handles=handles,
        fontsize=7,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        ncol=4,
        frameon=False,
    )
    return fig
