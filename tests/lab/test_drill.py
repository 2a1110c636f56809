"""The drill: self-graded flash cards that quote the lab's live verdicts, driven as a person would."""

import json
import os
import sys

import pytest

from reglab.lab import drill as drill_module
from reglab.lab.claim import Claim, Verdict, empirical_verdict, registry
from reglab.lab.drill import Deck, lab_says, pick_questions, run_drill, strong_answer, summary
from reglab.lab.drill_questions import QUESTIONS
from reglab.lab.protocol import Protocol
from reglab.lab.results import ResultStore
from reglab.lab.stats import CONDITIONAL, NOT_SUPPORTED, SUPPORTED, Effect
from reglab.taxonomy import Kind

pexpect = pytest.importorskip("pexpect")


def _seed_for(question_id: str) -> int:
    for seed in range(1000):
        if pick_questions(1, seed)[0].id == question_id:
            return seed
    raise LookupError(question_id)


def _spawn(args, tmp_path):
    # the drill reads a store that `reglab run` created (it never creates one itself)
    ResultStore(tmp_path / "s.sqlite")
    cmd = [sys.executable, "-m", "reglab.lab.cli", "drill", "--store", str(tmp_path / "s.sqlite")]
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "120"}
    child = pexpect.spawn(
        cmd[0], cmd[1:] + args, encoding="utf-8", timeout=120, dimensions=(50, 120), env=env
    )
    return child


def test_drill_quotes_the_live_verdict_and_records_the_self_grade(tmp_path):
    seed = _seed_for("gotcha-l2-prior")
    child = _spawn(["--questions", "1", "--seed", str(seed)], tmp_path)
    child.expect("L2 corresponds to what prior")
    child.expect("Your answer")
    child.sendline("It is the MAP estimate under a Gaussian prior")
    child.expect("Strong answer")
    # the store is empty: the drill runs the claim's smoke grid and quotes its verdict
    child.expect("What the lab measured")
    child.expect(r"l2-gaussian-map: (PASS|FAIL|SUPPORTED|CONDITIONAL|NOT SUPPORTED|INCONCLUSIVE)")
    child.expect("A complete answer covers")
    child.expect("Grade your answer")
    child.sendline("2")
    child.expect("now in Leitner box 2")
    child.expect(r"Self-graded: 1 got it, 0 partly, 0 missed \(1 of 1 questions answered\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    deck = json.loads((tmp_path / "s.drill.json").read_text())
    assert deck["cards"]["gotcha-l2-prior"] == {"box": 2, "last_session": 1, "grades": [2]}


def test_drill_enter_skips_and_a_bad_grade_is_asked_again(tmp_path):
    child = _spawn(["--questions", "2", "--seed", "7", "--no-evidence"], tmp_path)
    child.expect("Your answer")
    child.sendline("")
    child.expect(r"Skipped: graded 0 \(missed\)")
    child.expect("Your answer")
    child.sendline("something")
    child.expect("Grade your answer")
    child.sendline("9")
    child.expect("Please type 0, 1 or 2")
    child.sendline("1")
    child.expect(r"Self-graded: 0 got it, 1 partly, 1 missed \(1 of 2 questions answered\)")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_bad_question_count_is_a_clear_error(tmp_path):
    child = _spawn(["--questions", "0"], tmp_path)
    child.expect(r"questions=0 must be between 1 and \d+")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


# -- honest scoring ---------------------------------------------------------------------------
def _drill_once(answer, grade, tmp_path):
    from rich.console import Console

    from reglab.lab.results import ResultStore

    inputs = iter([answer, grade])
    q = QUESTIONS[0]
    out = run_drill(
        [q],
        ResultStore(tmp_path / "s.sqlite"),
        console=Console(file=open(os.devnull, "w")),  # noqa: SIM115 - closed with the process
        ask=lambda prompt: next(inputs),
        evidence=False,
    )
    return out[0]


def test_a_negated_or_shuffled_answer_cannot_score_as_a_good_one(tmp_path):
    q = QUESTIONS[0]
    good = q.answer
    negated = "It is not true that " + good.replace(" is ", " is not ")
    shuffled = " ".join(sorted(good.split()))
    # no automatic marking exists: the score is the user's own grade after the strong answer
    assert not hasattr(drill_module, "mark")
    for answer in (good, negated, shuffled):
        assert _drill_once(answer, "0", tmp_path).grade == 0
        assert _drill_once(answer, "1", tmp_path).grade == 1
    # and an empty answer is a miss whatever is typed next
    assert _drill_once("", "2", tmp_path).grade == 0


# -- spaced repetition --------------------------------------------------------------------------
def test_leitner_boxes_promote_demote_and_space_the_reviews(tmp_path):
    deck = Deck(tmp_path / "d.json")
    deck.start_session()  # session 1
    assert deck.is_due("q") and deck.box("q") == 1
    assert deck.grade("q", 2).box == 2
    deck.start_session()  # 2: box 2 comes back every 2 sessions
    assert not deck.is_due("q")
    deck.start_session()  # 3
    assert deck.is_due("q")
    assert deck.grade("q", 1).box == 2  # partly: stays
    assert deck.grade("q", 0).box == 1  # missed: back to box 1
    for _ in range(10):
        deck.grade("q", 2)
    assert deck.box("q") == 5  # at most 5 boxes
    deck.save()
    again = Deck(tmp_path / "d.json")
    assert again.session == 3 and again.box("q") == 5 and again.cards["q"].grades[:3] == [2, 1, 0]
    with pytest.raises(ValueError, match="grade=3"):
        deck.grade("q", 3)


def test_deck_next_to_the_store_and_a_foreign_file_is_refused(tmp_path):
    assert Deck.for_store(tmp_path / "lab" / "reglab.sqlite").path == (
        tmp_path / "lab" / "reglab.drill.json"
    )
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(ValueError, match="is not a reglab drill deck"):
        Deck(bad)
    assert bad.read_text() == '{"hello": 1}'


def test_due_and_low_box_questions_come_first():
    deck = Deck(os.devnull + ".none")
    deck.start_session()
    first = pick_questions(3, 0)
    for q in first:
        deck.grade(q.id, 2)  # box 2, drilled this session: not due next session
    deck.start_session()
    nxt = pick_questions(3, 0, deck)
    assert not {q.id for q in nxt} & {q.id for q in first}
    assert [q.id for q in pick_questions(5, 1)] == [q.id for q in pick_questions(5, 1)]
    assert len({q.id for q in pick_questions(None, 0)}) == len(QUESTIONS)


# -- the strong answer quotes the lab ------------------------------------------------------------
class _FakeClaim(Claim):
    kind = Kind.PERTURBATION
    statement = "x"


P = Protocol(
    version=2,
    metric="ece",
    effect="paired difference of ECE",
    smallest_effect=0.01,
    direction="decrease",
    analysis="paired t per regime",
    seeds=8,
    regimes={"over-confident": "lowers ECE", "calibrated": "raises ECE"},
)


def _verdict(outcome, sentence):
    effects = [
        Effect("ECE", -0.03, -0.04, -0.02, 8, regime="over-confident"),
        Effect("ECE", 0.02, 0.01, 0.03, 8, regime="calibrated"),
    ]
    return empirical_verdict(P, effects, outcome, sentence=sentence)


def test_strong_answer_quotes_the_verdict_with_its_regimes_and_caveats():
    q = next(q for q in QUESTIONS if q.id == "label-smoothing")
    claim = _FakeClaim()
    cond = _verdict(CONDITIONAL, "Holds only when the baseline is over-confident.")
    text = strong_answer(q, {"label-smoothing-bounded-logits": (claim, cond)})
    assert text.startswith(q.answer)
    assert "CONDITIONAL: Holds only when the baseline is over-confident." in text
    assert "ECE [over-confident]: -0.03, 95% CI [-0.04, -0.02]" in text
    assert "regime calibrated (named before the runs): raises ECE" in text
    assert "Caveat" not in text
    bad = _verdict(NOT_SUPPORTED, "Not supported: ECE rises on digits.")
    text = strong_answer(q, {"mixup-calibration": (claim, bad)})
    assert "Caveat: the lab does not back this answer as written for mixup-calibration" in text
    ok = _verdict(SUPPORTED, "Supported.")
    assert "regime" not in "\n".join(lab_says(claim, ok)[:1])
    legacy = Verdict(True, "all checks hold")
    assert "(legacy verdict)" in lab_says(claim, legacy)[0]
    assert "NOT RUN" in lab_says(claim, None)[0]


def test_summary_counts_grades():
    from reglab.lab.drill import Graded

    rs = [Graded(QUESTIONS[0], "a", 2, 2), Graded(QUESTIONS[1], "", 0, 1)]
    assert summary(rs) == "Self-graded: 1 got it, 0 partly, 1 missed (1 of 2 questions answered)"


def test_every_question_has_key_ideas_and_registered_claims():
    linked = {c for q in QUESTIONS for c in q.claims}
    assert sorted(linked - set(registry())) == []
    for q in QUESTIONS:
        assert q.concepts and q.claims and q.answer, q.id
