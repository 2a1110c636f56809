"""``reglab drill``: the deep dive's interview questions as self-graded flash cards.

The drill asks a question and reads the user's answer (Enter skips), then shows the strong
answer together with the lab's *live* verdicts on the claims behind it -- outcome and
sentence, the effects with their 95% CIs and, for CONDITIONAL claims, the regimes named in
the protocol -- read from the store (or produced on the spot by the claim's smoke grid). Where
the lab does not support a claim as written, the strong answer says so.

Scoring is honest: the user grades their own answer against the strong answer (0 missed,
1 partly, 2 got it), as flash-card users do, and the grade moves the question between
Leitner boxes (Leitner, *So lernt man lernen*, 1972): "got it" promotes a question one box,
"missed" sends it back to box 1, and box ``b`` comes back every ``2**(b-1)`` drill sessions.
The boxes live in a small JSON file next to the results store. No keyword scorer is used:
one that counts words would give a negated or shuffled answer the marks of the right one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from reglab.lab.claim import FAIL, Claim, Verdict, registry
from reglab.lab.drill_questions import QUESTIONS, Question
from reglab.lab.results import ResultStore
from reglab.lab.stats import CONDITIONAL, INCONCLUSIVE, NOT_SUPPORTED

GRADES = {0: "missed", 1: "partly", 2: "got it"}
BOXES = 5
#: outcomes under which the lab does not back the sentence as written
NOT_BACKED = (NOT_SUPPORTED, INCONCLUSIVE, FAIL)


# -- spaced repetition ----------------------------------------------------------------------
@dataclass
class CardState:
    """A question's Leitner state: its box, when it was last drilled and every grade given."""

    box: int = 1
    last_session: int = -1
    grades: list[int] = field(default_factory=list)


class Deck:
    """Leitner boxes of the drill's questions, kept in a JSON file.

    Parameters
    ----------
    path : path-like
        The JSON file (created on the first :meth:`save`); an unreadable or foreign file
        raises ValueError naming it and is left untouched.
    """

    VERSION = 1

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.session = 0
        self.cards: dict[str, CardState] = {}
        if self.path.exists():
            self._load()

    @classmethod
    def for_store(cls, store_path: str | os.PathLike[str]) -> Deck:
        """The deck next to a results store: ``reglab.sqlite`` -> ``reglab.drill.json``."""
        p = Path(store_path)
        return cls(p.with_name(p.stem + ".drill.json"))

    def _load(self) -> None:
        where = f"drill deck {str(self.path)!r}"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{where} is not readable JSON ({exc}); not touched") from exc
        if not isinstance(data, dict) or data.get("reglab_drill") != self.VERSION:
            raise ValueError(f"{where} is not a reglab drill deck (version {self.VERSION})")
        self.session = int(data.get("session", 0))
        for qid, c in data.get("cards", {}).items():
            self.cards[qid] = CardState(
                box=min(max(int(c["box"]), 1), BOXES),
                last_session=int(c["last_session"]),
                grades=[int(g) for g in c.get("grades", [])],
            )

    def start_session(self) -> int:
        """Count a new drill session (intervals are measured in sessions)."""
        self.session += 1
        return self.session

    def box(self, question_id: str) -> int:
        return self.cards.get(question_id, CardState()).box

    def is_due(self, question_id: str) -> bool:
        """New questions are due; box ``b`` is due ``2**(b-1)`` sessions after its last drill."""
        card = self.cards.get(question_id)
        if card is None or card.last_session < 0:
            return True
        return self.session - card.last_session >= 2 ** (card.box - 1)

    def grade(self, question_id: str, grade: int) -> CardState:
        """Record a self-grade: 2 promotes one box (at most 5), 1 keeps it, 0 demotes to 1."""
        if grade not in GRADES:
            raise ValueError(f"grade={grade!r} must be one of {sorted(GRADES)}")
        card = self.cards.setdefault(question_id, CardState())
        if grade == 2:
            card.box = min(card.box + 1, BOXES)
        elif grade == 0:
            card.box = 1
        card.last_session = self.session
        card.grades.append(grade)
        return card

    def save(self) -> None:
        """Write the deck atomically (a kill mid-write leaves the old file)."""
        data = {
            "reglab_drill": self.VERSION,
            "session": self.session,
            "cards": {
                qid: {"box": c.box, "last_session": c.last_session, "grades": c.grades}
                for qid, c in sorted(self.cards.items())
            },
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, self.path)


def pick_questions(n: int | None, seed: int | None, deck: Deck | None = None) -> list[Question]:
    """``n`` distinct questions (all when None): due questions first, lowest Leitner box
    first, ties in an order fixed by ``seed``."""
    total = len(QUESTIONS)
    if n is None:
        n = total
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= total:
        raise ValueError(f"questions={n!r} must be between 1 and {total}")
    order = [QUESTIONS[i] for i in np.random.default_rng(seed).permutation(total)]
    if deck is not None:
        order.sort(key=lambda q: (not deck.is_due(q.id), deck.box(q.id)))  # stable
    return order[:n]


# -- the lab's live verdicts ----------------------------------------------------------------
def claim_verdict(
    claim_id: str,
    store: ResultStore,
    *,
    run_missing: bool = True,
    claims: Mapping[str, Claim] | None = None,
) -> Verdict | None:
    """The claim's live verdict from the store, running its smoke grid first if absent."""
    from reglab.lab.runner import compute_verdict, run_claims

    claims = registry() if claims is None else claims
    if claim_id not in claims:
        return None
    claim = claims[claim_id]
    verdict = compute_verdict(claim, store)
    if verdict is None and run_missing:
        run_claims([claim_id], store=store, smoke=True)
        verdict = compute_verdict(claim, store)
    return verdict


def lab_says(claim: Claim, verdict: Verdict | None) -> list[str]:
    """What the drill quotes of one claim: outcome and sentence, its effects with CIs, and
    for a CONDITIONAL verdict the regimes its protocol named before the runs."""
    from reglab.lab.report.science import verdict_lines

    if verdict is None:
        return [f"{claim.id}: NOT RUN (`reglab run {claim.id} --smoke`)"]
    first, *rest = verdict_lines(claim, verdict)
    lines = [f"{claim.id}: {first}"] + ["  " + r for r in rest]
    protocol = verdict.protocol or claim.protocol
    if verdict.outcome == CONDITIONAL and protocol is not None:
        for name, prediction in protocol.regimes.items():
            lines.append(f"  regime {name} (named before the runs): {prediction}")
    return lines


def strong_answer(question: Question, verdicts: Mapping[str, tuple[Claim, Verdict | None]]) -> str:
    """The strong answer: the question's answer, then the lab's live verdicts quoted, with a
    caveat naming every claim the lab does not back as written."""
    parts = [question.answer]
    if verdicts:
        parts.append("\nWhat the lab measured (live, from the store):")
        for claim, verdict in verdicts.values():
            parts.extend(lab_says(claim, verdict))
        weak = [
            cid for cid, (_, v) in verdicts.items() if v is not None and v.outcome in NOT_BACKED
        ]
        if weak:
            parts.append(
                "\nCaveat: the lab does not back this answer as written for "
                + ", ".join(f"{cid} ({verdicts[cid][1].outcome})" for cid in weak)  # type: ignore[union-attr]
                + "; say what was measured, not the textbook line."
            )
    return "\n".join(parts)


# -- the session ----------------------------------------------------------------------------
@dataclass
class Graded:
    """One drilled question: the answer typed and the user's own grade (0, 1, 2)."""

    question: Question
    answer: str
    grade: int
    box: int


def read_grade(ask: Callable[[str], str], console: Console, tries: int = 3) -> int:
    """Ask for a self-grade 0/1/2 (Enter = 0); a bad entry is asked again, then counts as 0."""
    for _ in range(tries):
        try:
            raw = ask("Grade your answer against it: 0 missed, 1 partly, 2 got it [0]: ").strip()
        except EOFError:
            return 0
        if raw == "":
            return 0
        if raw in {"0", "1", "2"}:
            return int(raw)
        console.print(f"Please type 0, 1 or 2 (not {raw!r}).", markup=False)
    return 0


def run_drill(
    questions: Sequence[Question],
    store: ResultStore,
    *,
    console: Console,
    ask: Callable[[str], str],
    evidence: bool = True,
    deck: Deck | None = None,
    run_missing: bool = True,
) -> list[Graded]:
    """Ask each question, show the strong answer with the lab's live verdicts, then record
    the user's self-grade in the Leitner ``deck`` (saved after every question).

    With ``run_missing`` (a store it may write) the first linked claim without runs is run
    on its smoke grid on the spot; without, missing claims are quoted as not run."""
    results: list[Graded] = []
    claims = registry()
    if deck is not None:
        deck.start_session()
    for k, q in enumerate(questions, 1):
        console.rule(f"Question {k}/{len(questions)}  ({q.source})")
        console.print(Text(q.prompt, style="bold"))
        try:
            answer = ask("Your answer (Enter to skip): ")
        except EOFError:
            answer = ""
        verdicts: dict[str, tuple[Claim, Verdict | None]] = {}
        if evidence:
            linked = [cid for cid in q.claims if cid in claims]
            for i, cid in enumerate(linked):
                # quote every stored verdict, but run at most the first missing claim's smoke
                # grid on the spot, so a question on an empty store waits seconds, not minutes
                v = claim_verdict(cid, store, claims=claims, run_missing=run_missing and i == 0)
                verdicts[cid] = (claims[cid], v)
        console.print(
            Panel(Text(strong_answer(q, verdicts)), title="Strong answer", border_style="green")
        )
        console.print(
            Text("A complete answer covers: " + "; ".join(c.label for c in q.concepts) + ".")
        )
        if answer.strip():
            grade = read_grade(ask, console)
        else:
            grade = 0
            console.print("Skipped: graded 0 (missed).")
        box = 1
        if deck is not None:
            box = deck.grade(q.id, grade).box
            deck.save()
        results.append(Graded(q, answer, grade, box))
        console.print(
            Text(f"Graded {grade} ({GRADES[grade]}); this question is now in Leitner box {box}.\n")
        )
    return results


def summary(results: Sequence[Graded]) -> str:
    """``"Self-graded: 1 got it, 1 partly, 0 missed (2 of 2 questions answered)"``."""
    counts = {g: sum(r.grade == g for r in results) for g in GRADES}
    answered = sum(bool(r.answer.strip()) for r in results)
    return (
        f"Self-graded: {counts[2]} got it, {counts[1]} partly, {counts[0]} missed "
        f"({answered} of {len(results)} questions answered)"
    )
