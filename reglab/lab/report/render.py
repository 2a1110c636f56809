"""Render the lab's report from the results store: no run is repeated to build it.

The page opens with a forest plot of every empirical claim's effect and 95% CI in units of
its smallest effect of interest, then the cards: empirical claims and exact checks in their
own sections, grouped by kind. Each card states the verdict in one sentence, the effect and
CI in plain numbers (or the max error against the tolerance), the frozen protocol and the
protocol versions stored, its figure (matplotlib, inlined as SVG with text kept as text),
the interview answer and the run metadata; the evidence text is folded. The page loads
nothing from outside (inline CSS and SVG) and reads on a 390 px phone screen: no horizontal
scroll, figures scale to the width and enlarge on a tap (a CSS-only toggle, no script).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import time
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from reglab.lab.claim import FAIL, PASS, registry
from reglab.lab.report.science import (
    effect_text,
    exact_text,
    forest_plot,
    forest_rows,
    protocol_rows,
)
from reglab.lab.results import ResultStore
from reglab.lab.runner import compute_verdict
from reglab.lab.stats import CONDITIONAL, INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED
from reglab.taxonomy import Kind


def figure_to_svg(figure: Any) -> str:
    """A matplotlib figure as an inline ``<svg>`` element (labels stay text)."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "reglab"}):
        figure.savefig(buf, format="svg", bbox_inches="tight")
    svg = buf.getvalue()
    start = svg.find("<svg")
    svg = svg[start:] if start >= 0 else svg
    # the RDF metadata block only names vocabularies; it is dead weight in a page
    return re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)


def _uniquify_ids(svg: str, prefix: str) -> str:
    ids = set(re.findall(r'id="([^"]+)"', svg))
    for old in sorted(ids, key=len, reverse=True):
        svg = svg.replace(f'id="{old}"', f'id="{prefix}{old}"')
        svg = svg.replace(f"#{old})", f"#{prefix}{old})")
        svg = svg.replace(f'"#{old}"', f'"#{prefix}{old}"')
    return svg


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def build_cards(store: ResultStore) -> list[dict[str, Any]]:
    """One dict per registered claim with everything its card shows."""
    import matplotlib.pyplot as plt

    sessions = {s["session_id"]: s for s in store.sessions()}
    history_of = getattr(store, "protocol_history", None)
    cards = []
    for n, (cid, claim) in enumerate(registry().items()):
        summary = store.run_summary(cid)
        verdict = compute_verdict(claim, store, keep_figure=True)
        svg = None
        if verdict is not None and verdict.figure is not None:
            svg = _uniquify_ids(figure_to_svg(verdict.figure), f"c{n}-")
            plt.close(verdict.figure)
        status = "NOT RUN" if verdict is None else verdict.outcome
        session = sessions.get(summary["session_id"]) if summary["session_id"] else None
        protocol = (verdict.protocol if verdict is not None else None) or claim.protocol
        current = claim.protocol_id()
        history = []
        for h in history_of(cid) if history_of is not None else []:
            history.append(
                {
                    **h,
                    "label": h["protocol"] or "(before protocols)",
                    "current": h["protocol"] == current,
                    "first_s": _fmt_time(h["first"]),
                    "last_s": _fmt_time(h["last"]),
                }
            )
        cards.append(
            {
                "id": cid,
                "anchor": "claim-" + cid,
                "kind": claim.kind,
                "result_kind": claim.result_kind,
                "statement": claim.statement,
                "section": claim.section,
                "interview": claim.interview,
                "status": status,
                "css": status.replace(" ", "-"),
                "legacy": verdict is not None and verdict.legacy,
                "sentence": None if verdict is None else verdict.sentence,
                "effects": [] if verdict is None else [effect_text(e) for e in verdict.effects],
                "exact": None if verdict is None else exact_text(verdict),
                "protocol": protocol_rows(protocol) if protocol is not None else [],
                "protocol_id": current,
                "history": history,
                "forest": forest_rows(claim, verdict),
                "evidence": None if verdict is None else verdict.evidence,
                "numbers": {} if verdict is None else verdict.numbers,
                "svg": svg,
                "summary": summary,
                "errors": store.errors(cid) if summary["errors"] else [],
                "session": session,
                "started": _fmt_time(summary["started_at"]),
                "finished": _fmt_time(summary["finished_at"]),
            }
        )
    return cards


SECTIONS = (
    (
        "empirical",
        "Empirical claims",
        "Statements about what training does, each judged on a primary metric with a 95% "
        "confidence interval over seeds against a smallest effect of interest fixed before "
        "the runs: SUPPORTED, CONDITIONAL, NOT SUPPORTED or INCONCLUSIVE.",
    ),
    (
        "exact",
        "Exact checks",
        "Identities verified to numerical precision: the largest error reached against a "
        "tolerance from floating point. They can only fail through a bug.",
    ),
)


def render_report(store: ResultStore, out_dir: str | Path = "report") -> Path:
    """Write ``index.html`` for the store into ``out_dir``; return its path.

    The page opens with one forest plot of every empirical effect, then the empirical
    claims and the exact checks in their own sections, each grouped by kind.
    """
    import matplotlib.pyplot as plt

    cards = build_cards(store)
    sections: list[dict[str, Any]] = []
    for key, title, blurb in SECTIONS:
        groups = []
        for kind in Kind:
            members = [c for c in cards if c["kind"] is kind and c["result_kind"] == key]
            if members:
                groups.append({"kind": kind, "title": kind.heading, "cards": members})
        if groups:
            sections.append({"key": key, "title": title, "blurb": blurb, "groups": groups})
    order = [s for s in OUTCOME_ORDER if any(c["status"] == s for c in cards)]
    counts = {s: sum(c["status"] == s for c in cards) for s in order}
    legacy = sum(c["legacy"] for c in cards)
    rows = [
        r
        for s in sections
        if s["key"] == "empirical"
        for g in s["groups"]
        for c in g["cards"]
        for r in c["forest"]
    ]
    forest_svg = None
    fig = forest_plot(rows)
    if fig is not None:
        forest_svg = _uniquify_ids(figure_to_svg(fig), "forest-")
        plt.close(fig)
    sessions = store.sessions()
    env = Environment(
        loader=PackageLoader("reglab.lab.report", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["fmt"] = _fmt_number
    template = env.get_template("report.html")
    page = template.render(
        sections=sections,
        counts=counts,
        legacy=legacy,
        total=len(cards),
        forest_svg=forest_svg,
        forest_n=len(rows),
        sessions=sessions,
        last_session=sessions[-1] if sessions else None,
        store_path=str(store.path),
        generated=_fmt_time(time.time()),
        fmt_time=_fmt_time,
        css=(Path(__file__).parent / "templates" / "report.css").read_text(),
        escape=html.escape,
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path.resolve()


OUTCOME_ORDER = (
    SUPPORTED,
    CONDITIONAL,
    NOT_SUPPORTED,
    INCONCLUSIVE,
    PASS,
    FAIL,
    "NOT RUN",
)


def _fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
