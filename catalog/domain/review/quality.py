"""Quality rules for review answers (pure): which answers count, one task's consensus with known
reviewer skills, when to ask more reviewers, and reviewer ratings."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from catalog.domain.review.consensus import Consensus, Item
from catalog.domain.review.tasks import (
    NONE_OF_THESE,
    QuestionKind,
    Reviewer,
    ReviewRules,
    ReviewTask,
    TaskStatus,
)

DEFAULT_SKILL = 0.7  # a reviewer nobody has measured yet
PACE_WINDOW = timedelta(minutes=10)
MIN_DECIDED_FOR_RATING = 10  # answers on decided tasks that can pause a reviewer without gold


def classes(task: ReviewTask) -> tuple[str, ...]:
    q = task.question
    if q.kind is QuestionKind.VERIFY:
        return ("yes", "no")
    return (*(c.lower() for c in q.candidates), NONE_OF_THESE)


def counted(task: ReviewTask, paused: set[str]) -> list[tuple[str, str]]:
    """(reviewer, value) of the answers that count: not abstaining, not from a paused reviewer."""
    out = []
    for a in task.answers:
        value = a.value(task.question)
        if value is not None and a.reviewer_id not in paused:
            out.append((a.reviewer_id, value))
    return out


def item(task: ReviewTask, paused: set[str]) -> Item:
    return Item(task.id, classes(task), tuple(counted(task, paused)), task.gold)


@dataclass(frozen=True)
class Decision:
    value: str | None  # the consensus (None: nothing counted)
    agreement: float | None  # share of counted answers that gave it
    more: int  # further answers to ask for (0: the task is decided)


def decide(task: ReviewTask, skills: Mapping[str, float], paused: set[str], rules: ReviewRules) -> Decision:
    """One-coin Dawid–Skene's posterior for one task with the reviewers' skills held fixed; asks one
    more answer when agreement is low (two when it is at most even), up to the tenant's cap."""
    votes = counted(task, paused)
    values = list(dict.fromkeys([*classes(task), *(v for _, v in votes)]))
    k = max(len(values), 2)
    score = dict.fromkeys(values, 0.0)
    for reviewer, voted in votes:
        p = min(max(skills.get(reviewer, DEFAULT_SKILL), 1e-4), 1 - 1e-4)
        score[voted] += math.log(p * (k - 1) / (1 - p))
    value: str | None = None
    agreement: float | None = None
    if votes:
        value = max(values, key=lambda v: (score[v], sum(1 for _, x in votes if x == v)))
        agreement = sum(1 for _, x in votes if x == value) / len(votes)
    low = agreement is None or agreement < rules.min_agreement
    room = rules.max_answers - task.required
    more = 0 if not low or room <= 0 else min(room, 2 if agreement is None or agreement <= 0.5 else 1)
    return Decision(value, agreement, more)


def rate(
    reviewer: Reviewer,
    tasks: Iterable[ReviewTask],
    consensus: Consensus,
    rules: ReviewRules,
    now: datetime | None = None,
) -> Reviewer:
    """The reviewer's statistics from the tenant's tasks; paused when rated under the floor after
    enough gold answers (a paused reviewer stays paused until someone resumes it)."""
    answered = gold_n = gold_right = agree_n = agree_hits = 0
    recent: list[datetime] = []
    for task in tasks:
        answer = task.answer_of(reviewer.id)
        if answer is None:
            continue
        answered += 1
        if now is not None and now - answer.answered_at <= PACE_WINDOW:
            recent.append(answer.answered_at)
        value = answer.value(task.question)
        if task.status is TaskStatus.GOLD:
            gold_n += 1
            gold_right += int(value == task.gold)
        elif value is not None and (outcome := consensus.outcomes.get(task.id)) and outcome.value:
            agree_n += 1
            agree_hits += int(value == outcome.value)
    # Gold counts double: it is known truth, while agreement is measured against the crowd.
    rating = (2 * gold_right + agree_hits + 1) / (2 * gold_n + agree_n + 2)
    # Enough evidence: gold answers, or (a tenant without gold) answers on decided tasks.
    measured = gold_n >= rules.min_gold_for_rating or agree_n >= MIN_DECIDED_FOR_RATING
    under = measured and rating < rules.rating_floor
    return replace(
        reviewer,
        answered=answered,
        gold_answered=gold_n,
        accuracy=gold_right / gold_n if gold_n else None,
        agreement=agree_hits / agree_n if agree_n else None,
        rating=rating if answered else None,
        skill=consensus.skill.get(reviewer.id, reviewer.skill),
        paused=reviewer.paused or under,
        items_per_minute=pace(recent) if now is not None else reviewer.items_per_minute,
    )


def pace(times: list[datetime]) -> float | None:
    """Answers per minute over a burst of answer times (None: too few to tell)."""
    if len(times) < 2:
        return None
    span = (max(times) - min(times)).total_seconds()
    return round((len(times) - 1) * 60 / max(span, 1.0), 1)


def settle(task: ReviewTask, reviewers: Iterable[Reviewer], rules: ReviewRules) -> ReviewTask:
    """The task with its answers weighed: still OPEN (waiting, or asking more reviewers) or DONE with
    its consensus. A task never waits for more reviewers than the tenant has active."""
    everyone = list(reviewers)
    paused = {r.id for r in everyone if r.paused}
    active = max(len(everyone) - len(paused), 1)
    cap = min(rules.max_answers, active)
    answered = sum(a.reviewer_id not in paused for a in task.answers)
    if answered < min(task.required, cap):
        return replace(task, status=TaskStatus.OPEN)
    decision = decide(
        replace(task, required=min(task.required, cap)),
        {r.id: r.skill for r in everyone},
        paused,
        replace(rules, max_answers=cap),
    )
    if decision.more:
        return replace(task, status=TaskStatus.OPEN, required=task.required + decision.more)
    return replace(task, status=TaskStatus.DONE, consensus=decision.value, agreement=decision.agreement)
