"""``reglab drill``: the deep dive's interview questions, answered against live evidence.

The drill asks a question, reads the user's answer (Enter skips), scores it by the key ideas
it mentions, then shows a strong answer and the verdict and evidence of the lab claim that
backs it: read from the store, or produced on the spot by running the claim's smoke grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from reglab.lab.claim import registry
from reglab.lab.drill_questions import QUESTIONS, Question
from reglab.lab.results import ResultStore


@dataclass
class Marked:
    """How one answer scored: the key ideas found and missed."""

    question: Question
    answer: str
    found: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    @property
    def points(self) -> int:
        return len(self.found)

    @property
    def possible(self) -> int:
        return len(self.question.concepts)


def mark(question: Question, answer: str) -> Marked:
    """Score ``answer`` by the key ideas of ``question`` it mentions (case-insensitive)."""
    text = answer.lower()
    out = Marked(question, answer)
    for concept in question.concepts:
        (out.found if any(w in text for w in concept.words) else out.missed).append(concept.label)
    return out


def pick_questions(n: int | None, seed: int | None) -> list[Question]:
    """``n`` distinct questions in an order fixed by ``seed`` (all of them when ``n`` is None)."""
    total = len(QUESTIONS)
    if n is None:
        n = total
    if not isinstance(n, int) or not 1 <= n <= total:
        raise ValueError(f"questions={n!r} must be between 1 and {total}")
    order = np.random.default_rng(seed).permutation(total)[:n]
    return [QUESTIONS[i] for i in order]


def claim_evidence(claim_id: str, store: ResultStore, *, run_missing: bool = True, claims=None):
    """(status, evidence) of a claim from the store, running its smoke grid if absent."""
    from reglab.lab.runner import compute_verdict, run_claims

    claims = registry() if claims is None else claims
    if claim_id not in claims:
        return "NOT AVAILABLE", f"claim {claim_id!r} is not in this version of reglab"
    claim = claims[claim_id]
    verdict = compute_verdict(claim, store)
    if verdict is None and run_missing:
        run_claims([claim_id], store=store, smoke=True)
        verdict = compute_verdict(claim, store)
    if verdict is None:
        return "NOT RUN", f"run `reglab run {claim_id} --smoke` to see the evidence"
    return ("PASS" if verdict.passed else "FAIL"), verdict.evidence


def run_drill(
    questions: Sequence[Question],
    store: ResultStore,
    *,
    console: Console,
    ask: Callable[[str], str],
    evidence: bool = True,
) -> list[Marked]:
    """Ask each question, mark the answer, show the strong answer and the evidence."""
    results: list[Marked] = []
    claims = registry()
    for k, q in enumerate(questions, 1):
        console.rule(f"Question {k}/{len(questions)}  ({q.source})")
        console.print(f"[bold]{q.prompt}[/bold]")
        try:
            answer = ask("Your answer (Enter to skip): ")
        except EOFError:
            answer = ""
        m = mark(q, answer)
        results.append(m)
        if answer.strip():
            console.print(f"Key ideas covered: {m.points}/{m.possible}")
            if m.missed:
                console.print("[yellow]Missed:[/yellow] " + "; ".join(m.missed))
        else:
            console.print(f"Skipped (0/{m.possible}).")
        console.print(Panel(Text(q.answer), title="Strong answer", border_style="green"))
        if evidence and q.claims:
            available = [c for c in q.claims if c in claims] or list(q.claims)
            for cid in available[:1]:
                status, text = claim_evidence(cid, store, claims=claims)
                colour = {"PASS": "green", "FAIL": "red"}.get(status, "dim")
                console.print(
                    Panel(
                        Text(text),
                        title=f"Evidence: {cid} [{colour}]{status}[/{colour}]",
                        border_style=colour,
                    )
                )
        score = sum(r.points for r in results)
        possible = sum(r.possible for r in results)
        console.print(f"[bold]Score so far: {score}/{possible}[/bold]\n")
    return results
