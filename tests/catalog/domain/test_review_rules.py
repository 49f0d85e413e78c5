"""Pure review rules: which questions the tenant's rules ask, answers checked against questions, one
task's decision with known skills, escalation up to the cap, ratings and pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from catalog.domain.model import Label
from catalog.domain.review.consensus import Consensus, Outcome
from catalog.domain.review.quality import pace, rate, settle
from catalog.domain.review.rules import in_audit_sample, propose, specific_labels
from catalog.domain.review.tasks import (
    NONE_OF_THESE,
    Answer,
    Question,
    QuestionKind,
    Reviewer,
    ReviewInputError,
    ReviewRules,
    ReviewTask,
    TaskReason,
    TaskStatus,
    Verdict,
    check_answer,
)

T = datetime(2026, 1, 1, tzinfo=UTC)
GIRAFFE = Label("Giraffe", 55.0, ("Ruminant", "Animal"))
OKAPI = Label("Okapi", 30.0, ("Ruminant", "Animal"))
RUMINANT = Label("Ruminant", 80.0, ("Animal",))
ANIMAL = Label("Animal", 90.0)


def kinds(labels: list[Label], rules: ReviewRules, new: bool = True) -> list[tuple[str, str, str]]:
    return [(p.reason, p.question.kind, p.question.key()) for p in propose("a1", labels, rules, new=new)]


def test_specific_labels_leave_out_parents() -> None:
    assert [lb.name for lb in specific_labels([ANIMAL, RUMINANT, GIRAFFE, OKAPI])] == ["Giraffe", "Okapi"]


def test_each_rule_asks_its_question_once() -> None:
    labels = [ANIMAL, RUMINANT, GIRAFFE, OKAPI]
    assert kinds(labels, ReviewRules()) == []
    assert kinds(labels, ReviewRules(low_confidence_below=60)) == [
        ("low_confidence", "choose", "choose:giraffe|okapi")
    ]
    assert kinds(labels, ReviewRules(low_confidence_below=50)) == []  # best specific 55 is not below
    assert kinds(labels, ReviewRules(band=(40, 70))) == [("confidence_band", "verify", "verify:giraffe")]
    # Watched wins over the band for the same label: one question per label.
    assert kinds(labels, ReviewRules(band=(40, 70), watched_labels=("giraffe", "Animal"))) == [
        ("watched", "verify", "verify:animal"),
        ("watched", "verify", "verify:giraffe"),
    ]
    assert kinds([], ReviewRules(no_labels=True)) == [("no_labels", "choose", "choose:")]
    assert kinds([], ReviewRules(low_confidence_below=90)) == []
    assert kinds(labels, ReviewRules(audit_percent=100)) == [("audit", "verify", "verify:giraffe")]
    assert kinds(labels, ReviewRules(audit_percent=100), new=False) == []  # the sample is of new assets


def test_the_audit_sample_is_stable_and_near_its_rate() -> None:
    drawn = [in_audit_sample(f"asset-{i}", 10) for i in range(5000)]
    assert drawn == [in_audit_sample(f"asset-{i}", 10) for i in range(5000)]
    assert 400 < sum(drawn) < 600


def test_rules_are_checked() -> None:
    for bad in (
        ReviewRules(band=(70, 40)),
        ReviewRules(low_confidence_below=140),
        ReviewRules(answers_per_task=4, max_answers=3),
        ReviewRules(gold_rate=0.9),
        ReviewRules(top_k=12),
        ReviewRules(watched_labels=("",)),
    ):
        with pytest.raises(ReviewInputError) as refused:
            bad.check()
        assert refused.value.code == "BAD_RULES"


def test_answers_must_fit_their_question() -> None:
    verify = Question(QuestionKind.VERIFY, label="Giraffe")
    choose = Question(QuestionKind.CHOOSE, candidates=("Giraffe", "Okapi"))
    assert check_answer(verify, Answer("r", T, Verdict.NO, choice="x")).choice is None
    with pytest.raises(ReviewInputError):
        check_answer(verify, Answer("r", T, choice="Giraffe"))
    assert check_answer(choose, Answer("r", T, choice="okapi")).choice == "Okapi"
    assert check_answer(choose, Answer("r", T, choice=NONE_OF_THESE)).value(choose) == NONE_OF_THESE
    typed = check_answer(choose, Answer("r", T, text="  Feed   lot "))
    assert typed.text == "Feed lot" and typed.value(choose) == "feed lot"
    for bad in (Answer("r", T, choice="Zebra"), Answer("r", T), Answer("r", T, text="x" * 101)):
        with pytest.raises(ReviewInputError):
            check_answer(choose, bad)
    assert check_answer(choose, Answer("r", T, Verdict.UNSURE)).value(choose) is None


def task(*answers: tuple[str, Verdict], required: int = 3) -> ReviewTask:
    return ReviewTask(
        "t1", "ten", "a1", Question(QuestionKind.VERIFY, label="Giraffe"), TaskReason.WATCHED, T,
        required=required, answers=tuple(Answer(r, T, v) for r, v in answers),
    )  # fmt: skip


def people(
    *names: str, paused: tuple[str, ...] = (), skill: dict[str, float] | None = None
) -> list[Reviewer]:
    return [
        Reviewer(n, "ten", n, f"k-{n}", T, paused=n in paused, skill=(skill or {}).get(n, 0.7)) for n in names
    ]


def test_settle_waits_decides_escalates_and_caps() -> None:
    rules = ReviewRules(answers_per_task=3, max_answers=5, min_agreement=0.7)
    crowd = people("a", "b", "c", "d", "e")
    assert settle(task(("a", Verdict.YES)), crowd, rules).status is TaskStatus.OPEN
    done = settle(task(("a", Verdict.YES), ("b", Verdict.YES), ("c", Verdict.YES)), crowd, rules)
    assert (done.status, done.consensus, done.agreement) == (TaskStatus.DONE, "yes", 1.0)
    split = settle(task(("a", Verdict.YES), ("b", Verdict.NO), ("c", Verdict.YES)), crowd, rules)
    assert (split.status, split.required) == (TaskStatus.OPEN, 4)  # 2/3 < 0.7: one more reviewer
    unsure = settle(task(("a", Verdict.UNSURE), ("b", Verdict.UNSURE), ("c", Verdict.UNSURE)), crowd, rules)
    assert (unsure.status, unsure.required) == (TaskStatus.OPEN, 5)  # nothing counted: two more
    at_cap = settle(task(*((n, Verdict.YES if n in "ac" else Verdict.NO) for n in "abcd"), required=5)
                    , people("a", "b", "c", "d"), rules)  # fmt: skip
    assert at_cap.status is TaskStatus.DONE  # four active reviewers: nobody left to ask
    # A trusted reviewer outweighs two below chance.
    skilled = people("a", "b", "c", skill={"a": 0.95, "b": 0.2, "c": 0.2})
    flipped = settle(task(("a", Verdict.YES), ("b", Verdict.NO), ("c", Verdict.NO)), skilled, rules)
    assert flipped.consensus == "yes" or flipped.status is TaskStatus.OPEN
    # A paused reviewer's answer does not count.
    waiting = settle(
        task(("a", Verdict.YES), ("b", Verdict.YES), ("c", Verdict.NO)),
        people("a", "b", "c", "d", paused=("c",)),
        rules,
    )
    assert waiting.status is TaskStatus.OPEN


def test_ratings_pause_on_gold_or_on_enough_decided_answers() -> None:
    rules = ReviewRules(rating_floor=0.6, min_gold_for_rating=5)
    question = Question(QuestionKind.VERIFY, label="X")
    gold = [
        ReviewTask(f"g{i}", "ten", "a", question, TaskReason.GOLD, T, status=TaskStatus.GOLD, gold="yes",
                   answers=(Answer("bad", T + timedelta(seconds=i), Verdict.NO),))
        for i in range(5)
    ]  # fmt: skip
    consensus = Consensus({}, {"bad": 0.1})
    rated = rate(people("bad")[0], gold, consensus, rules, T + timedelta(seconds=10))
    assert rated.paused and rated.accuracy == 0.0 and rated.gold_answered == 5 and rated.skill == 0.1
    assert rated.items_per_minute == pytest.approx(60.0)  # 4 gaps in 4 s → 1 per second
    few = rate(people("bad")[0], gold[:4], consensus, rules, None)
    assert not few.paused  # four gold answers are not enough evidence
    decided = [
        ReviewTask(f"t{i}", "ten", "a", Question(QuestionKind.VERIFY, label="X"), TaskReason.WATCHED, T,
                   status=TaskStatus.DONE, consensus="yes", answers=(Answer("bad", T, Verdict.NO),))
        for i in range(10)
    ]  # fmt: skip
    outcomes = Consensus({t.id: Outcome("yes", 0.9, 0.67) for t in decided}, {})
    assert rate(people("bad")[0], decided, outcomes, rules).paused
    assert not rate(people("bad")[0], decided[:9], outcomes, rules).paused
    assert pace([T]) is None
