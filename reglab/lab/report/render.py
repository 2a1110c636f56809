"""Render the lab's report from the results store: no run is repeated to build it.

Each claim gets a card with its statement, a PASS / FAIL / NOT RUN badge, the evidence,
the interview answer, its figure (matplotlib, inlined as SVG with text kept as text) and the
run metadata. The page loads nothing from outside: CSS is inline, figures are inline SVG.
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

from reglab.lab.claim import registry
from reglab.lab.results import ResultStore
from reglab.lab.runner import compute_verdict
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
    cards = []
    for n, (cid, claim) in enumerate(registry().items()):
        summary = store.run_summary(cid)
        verdict = compute_verdict(claim, store, keep_figure=True)
        svg = None
        if verdict is not None and verdict.figure is not None:
            svg = _uniquify_ids(figure_to_svg(verdict.figure), f"c{n}-")
            plt.close(verdict.figure)
        status = "NOT RUN" if verdict is None else ("PASS" if verdict.passed else "FAIL")
        session = sessions.get(summary["session_id"]) if summary["session_id"] else None
        cards.append(
            {
                "id": cid,
                "anchor": "claim-" + cid,
                "kind": claim.kind,
                "statement": claim.statement,
                "section": claim.section,
                "interview": claim.interview,
                "known_failure": getattr(claim, "known_failure", ""),
                "status": status,
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


def render_report(store: ResultStore, out_dir: str | Path = "report") -> Path:
    """Write ``index.html`` for the store into ``out_dir``; return its path."""
    cards = build_cards(store)
    groups = []
    for kind in Kind:
        members = [c for c in cards if c["kind"] is kind]
        if members:
            groups.append({"kind": kind, "title": kind.heading, "cards": members})
    counts = {s: sum(c["status"] == s for c in cards) for s in ("PASS", "FAIL", "NOT RUN")}
    sessions = store.sessions()
    env = Environment(
        loader=PackageLoader("reglab.lab.report", "templates"),
        autoescape=select_autoescape(["html"]),
    )
    env.filters["fmt"] = _fmt_number
    template = env.get_template("report.html")
    page = template.render(
        groups=groups,
        counts=counts,
        total=len(cards),
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


def _fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
