"""The drill, driven through a pseudo-terminal as a person would use it."""

import os
import sys

import pytest

from reglab.lab.drill import mark, pick_questions
from reglab.lab.drill_questions import QUESTIONS

pexpect = pytest.importorskip("pexpect")


def _seed_for(question_id: str) -> int:
    for seed in range(1000):
        if pick_questions(1, seed)[0].id == question_id:
            return seed
    raise LookupError(question_id)


def _spawn(args, tmp_path):
    cmd = [sys.executable, "-m", "reglab.lab.cli", "drill", "--store", str(tmp_path / "s.sqlite")]
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}
    child = pexpect.spawn(
        cmd[0], cmd[1:] + args, encoding="utf-8", timeout=120, dimensions=(50, 120), env=env
    )
    return child


def test_drill_marks_the_answer_and_shows_live_evidence(tmp_path):
    seed = _seed_for("gotcha-l2-prior")
    child = _spawn(["--questions", "1", "--seed", str(seed)], tmp_path)
    child.expect("L2 corresponds to what prior")
    child.expect("Your answer")
    child.sendline("It is the MAP estimate under a Gaussian prior")
    child.expect(r"Key ideas covered: 2/2")
    child.expect("Strong answer")
    # the store is empty: the drill runs the claim's smoke grid and shows its verdict
    child.expect(r"Evidence: l2-gaussian-map PASS")
    child.expect(r"Final score: 2/2 \(1 of 1 questions answered\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_drill_enter_skips_and_the_score_adds_up(tmp_path):
    child = _spawn(["--questions", "2", "--seed", "7", "--no-evidence"], tmp_path)
    first, second = pick_questions(2, 7)
    child.expect("Your answer")
    child.sendline("")
    child.expect(rf"Skipped \(0/{len(first.concepts)}\)")
    child.expect("Your answer")
    child.sendline(" ".join(c.words[0] for c in second.concepts))
    child.expect(rf"Key ideas covered: {len(second.concepts)}/{len(second.concepts)}")
    total = len(first.concepts) + len(second.concepts)
    child.expect(rf"Final score: {len(second.concepts)}/{total} \(1 of 2 questions answered\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_bad_question_count_is_a_clear_error(tmp_path):
    child = _spawn(["--questions", "0"], tmp_path)
    child.expect(r"questions=0 must be between 1 and \d+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


def test_every_question_is_markable_and_the_order_is_seeded():
    assert len(QUESTIONS) >= 20
    for q in QUESTIONS:
        full = " ".join(c.words[0] for c in q.concepts)
        assert mark(q, full).points == len(q.concepts), q.id
        assert mark(q, "").points == 0
        assert q.claims, q.id
    assert [q.id for q in pick_questions(5, 1)] == [q.id for q in pick_questions(5, 1)]
    assert len({q.id for q in pick_questions(None, 0)}) == len(QUESTIONS)


def test_every_linked_claim_is_registered():
    from reglab.lab.claim import registry

    linked = {c for q in QUESTIONS for c in q.claims}
    assert sorted(linked - set(registry())) == []
