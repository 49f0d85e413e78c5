"""Reviewer-weighted consensus: one-coin Dawid–Skene by EM, with gold answers clamped (pure numpy).

Each reviewer r is right with probability p_r and otherwise picks one of the task's other K_t − 1 classes
at random. EM alternates the posterior over each task's classes (E) and each reviewer's p_r (M, Beta-
smoothed). The one-coin form fits tasks with different class sets (yes/no, three candidates + "none",
free text) in one model, and a reviewer below chance gets a negative weight: an adversary's answers
count against what it says, where majority vote would count them for it.
crowd-kit's OneCoinDawidSkene is the same model; it pulls pandas, scikit-learn, pyarrow and transformers
into the product for ~100 lines, so it is used here only to cross-check (tests/catalog/test_consensus.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PRIOR_RIGHT = 2.0  # Beta prior on each reviewer's accuracy: 2 right, 1 wrong (a newcomer is trusted a bit)
PRIOR_WRONG = 1.0
MAX_ITERATIONS = 50
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Item:
    """One task as consensus sees it: its classes, the counted answers, and its truth if gold."""

    task_id: str
    classes: tuple[str, ...]  # every value an answer may take (answers outside are added)
    answers: tuple[tuple[str, str], ...]  # (reviewer ID, value)
    gold: str | None = None


@dataclass(frozen=True)
class Outcome:
    value: str | None  # the most probable class (None: no answers)
    probability: float  # its posterior
    agreement: float | None  # share of the answers equal to it (None: no answers)


@dataclass(frozen=True)
class Consensus:
    outcomes: Mapping[str, Outcome]  # by task ID (gold tasks too: their known answer)
    skill: Mapping[str, float]  # reviewer → estimated probability of being right

    def weight(self, reviewer_id: str, classes: int = 2) -> float:
        """Log-odds weight of one answer (negative below chance)."""
        p = min(max(self.skill.get(reviewer_id, 0.5), 1e-6), 1 - 1e-6)
        return float(np.log(p * (classes - 1) / (1 - p)))


def dawid_skene(items: Sequence[Item]) -> Consensus:
    classes: list[tuple[str, ...]] = []
    for item in items:
        seen = dict.fromkeys(item.classes)
        seen.update(dict.fromkeys(v for _, v in item.answers))
        if item.gold is not None:
            seen[item.gold] = None
        while len(seen) < 2:  # a lone class still has an "other" to be wrong about
            seen[f"\0other{len(seen)}"] = None
        classes.append(tuple(seen))
    sizes = np.array([len(c) for c in classes], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_flat = int(sizes.sum())
    task_of_flat = np.repeat(np.arange(len(items)), sizes)

    reviewers = sorted({r for item in items for r, _ in item.answers})
    rindex = {r: i for i, r in enumerate(reviewers)}
    a_task, a_rev, a_flat = [], [], []
    for t, item in enumerate(items):
        where = {c: i for i, c in enumerate(classes[t])}
        for r, v in item.answers:
            a_task.append(t)
            a_rev.append(rindex[r])
            a_flat.append(offsets[t] + where[v])
    task = np.array(a_task, dtype=np.int64)
    rev = np.array(a_rev, dtype=np.int64)
    flat = np.array(a_flat, dtype=np.int64)
    k_of_answer = sizes[task] if len(task) else np.zeros(0, dtype=np.int64)

    gold_mask = np.zeros(n_flat, dtype=bool)
    gold_tasks = np.zeros(len(items), dtype=bool)
    for t, item in enumerate(items):
        if item.gold is not None:
            gold_tasks[t] = True
            gold_mask[offsets[t] + classes[t].index(item.gold)] = True

    # Start from majority vote (gold: the truth).
    votes = np.bincount(flat, minlength=n_flat).astype(float) + 1e-3
    post = _normalise(np.log(votes), offsets, task_of_flat)
    post = _clamp(post, gold_tasks, gold_mask, task_of_flat)
    skill = np.full(len(reviewers), 0.7)
    for _ in range(MAX_ITERATIONS):
        right = np.bincount(rev, weights=post[flat], minlength=len(reviewers))
        count = np.bincount(rev, minlength=len(reviewers))
        new_skill = (right + PRIOR_RIGHT) / (count + PRIOR_RIGHT + PRIOR_WRONG)
        new_skill = np.clip(new_skill, 1e-4, 1 - 1e-4)
        p = new_skill[rev]
        wrong = np.log((1 - p) / (k_of_answer - 1))
        base = np.bincount(task, weights=wrong, minlength=len(items))
        logp = base[task_of_flat] + np.bincount(flat, weights=np.log(p) - wrong, minlength=n_flat)
        post = _clamp(_normalise(logp, offsets, task_of_flat), gold_tasks, gold_mask, task_of_flat)
        done = np.max(np.abs(new_skill - skill)) < TOLERANCE if len(skill) else True
        skill = new_skill
        if done:
            break

    outcomes: dict[str, Outcome] = {}
    for t, item in enumerate(items):
        segment = post[offsets[t] : offsets[t] + sizes[t]]
        if not item.answers and item.gold is None:
            outcomes[item.task_id] = Outcome(None, 0.0, None)
            continue
        best = int(np.argmax(segment))
        value = classes[t][best]
        agree = sum(1 for _, v in item.answers if v == value) / len(item.answers) if item.answers else None
        outcomes[item.task_id] = Outcome(value, float(segment[best]), agree)
    return Consensus(outcomes, {r: float(skill[i]) for i, r in enumerate(reviewers)})


def _normalise(logp: np.ndarray, offsets: np.ndarray, task_of_flat: np.ndarray) -> np.ndarray:
    """Softmax within each task's segment of the flat class array."""
    if not len(logp):
        return logp
    peak = np.maximum.reduceat(logp, offsets)
    e = np.exp(logp - peak[task_of_flat])
    total = np.add.reduceat(e, offsets)
    out: np.ndarray = e / total[task_of_flat]
    return out


def _clamp(
    post: np.ndarray, gold_tasks: np.ndarray, gold_mask: np.ndarray, task_of_flat: np.ndarray
) -> np.ndarray:
    """Gold tasks' posteriors are their known answers."""
    on_gold = gold_tasks[task_of_flat]
    post = post.copy()
    post[on_gold] = gold_mask[on_gold].astype(float)
    return post


def majority_vote(items: Sequence[Item]) -> dict[str, str | None]:
    """The plain baseline: the most frequent value per task (ties: first seen)."""
    out: dict[str, str | None] = {}
    for item in items:
        counts: dict[str, int] = {}
        for _, v in item.answers:
            counts[v] = counts.get(v, 0) + 1
        out[item.task_id] = max(counts, key=lambda v: counts[v]) if counts else None
    return out
