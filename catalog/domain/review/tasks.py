"""Human review: tasks that ask one fast question about one asset, reviewers' answers, tenant rules.

Pure model, no I/O. A task holds its own answers and live assignments, so every change to it is one
compare-and-set write (the stores check `version`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

NONE_OF_THESE = "none of these"


class QuestionKind(enum.StrEnum):
    VERIFY = "verify"  # "Does this picture show Giraffe?" yes / no / unsure
    CHOOSE = "choose"  # one of the candidates, "none of these", or free text


class Verdict(enum.StrEnum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


class TaskStatus(enum.StrEnum):
    OPEN = "open"  # collecting answers
    DONE = "done"  # consensus reached (or the answer cap): its result is a human run
    GOLD = "gold"  # a known-answer item mixed into queues to measure reviewers; never finishes


class TaskReason(enum.StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    CONFIDENCE_BAND = "confidence_band"
    NO_LABELS = "no_labels"
    WATCHED = "watched"
    AUDIT = "audit"
    MANUAL = "manual"
    GOLD = "gold"


class ReviewInputError(ValueError):
    """A question, answer or rule that cannot be used; the message says what to send instead."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    label: str = ""  # VERIFY: the label asked about
    candidates: tuple[str, ...] = ()  # CHOOSE: the model's top-k names, best first
    allow_text: bool = True  # CHOOSE: a free-text answer is accepted

    def key(self) -> str:
        """What makes two questions the same (rules never ask an asset the same question twice)."""
        if self.kind is QuestionKind.VERIFY:
            return f"verify:{self.label.lower()}"
        return "choose:" + "|".join(sorted(c.lower() for c in self.candidates))


@dataclass(frozen=True)
class Answer:
    reviewer_id: str
    answered_at: datetime
    verdict: Verdict | None = None  # VERIFY
    choice: str | None = None  # CHOOSE: a candidate or NONE_OF_THESE
    text: str = ""  # CHOOSE: free text (a label name)

    def value(self, question: Question) -> str | None:
        """The class this answer votes for; None abstains (unsure, or nothing chosen)."""
        if question.kind is QuestionKind.VERIFY:
            return None if self.verdict in (None, Verdict.UNSURE) else str(self.verdict)
        if self.text.strip():
            return normalise_label(self.text)
        return self.choice.lower() if self.choice else None


def normalise_label(text: str) -> str:
    return " ".join(text.split()).lower()


def check_answer(question: Question, answer: Answer) -> Answer:
    """The answer if it fits the question; ReviewInputError otherwise."""
    if question.kind is QuestionKind.VERIFY:
        if answer.verdict is None:
            raise ReviewInputError("BAD_ANSWER", "a verify question takes a verdict: YES, NO or UNSURE")
        return replace(answer, choice=None, text="")
    text = " ".join(answer.text.split())
    if len(text) > 100:
        raise ReviewInputError("BAD_ANSWER", "free text is a label name: at most 100 characters")
    if text and not question.allow_text:
        raise ReviewInputError("BAD_ANSWER", "this question takes one of its choices, not free text")
    choices = {c.lower(): c for c in (*question.candidates, NONE_OF_THESE)}
    if answer.choice is not None and answer.choice.lower() not in choices:
        raise ReviewInputError(
            "BAD_ANSWER", f"choice must be one of: {', '.join(choices.values())} (or send text)"
        )
    if answer.choice is None and not text and answer.verdict is not Verdict.UNSURE:
        raise ReviewInputError("BAD_ANSWER", "a choose question takes a choice, free text, or UNSURE")
    choice = choices[answer.choice.lower()] if answer.choice is not None else None
    return replace(answer, text=text, choice=None if text else choice)


@dataclass(frozen=True)
class Assignment:
    """A task handed to a reviewer's queue until `until` (then it goes back to the pool)."""

    reviewer_id: str
    until: datetime


@dataclass(frozen=True)
class ReviewTask:
    id: str
    tenant_id: str
    asset_id: str
    question: Question
    reason: TaskReason
    created_at: datetime
    required: int = 3  # answers wanted (grows when agreement is low, up to the tenant's cap)
    status: TaskStatus = TaskStatus.OPEN
    answers: tuple[Answer, ...] = ()
    assignments: tuple[Assignment, ...] = ()
    gold: str | None = None  # GOLD tasks: the known answer value (Answer.value)
    consensus: str | None = None  # DONE: the agreed value (NONE_OF_THESE, a label name, "yes" / "no")
    agreement: float | None = None  # weighted share of the counted answers that agree with it
    run_id: str | None = None  # the human run the result became
    batch_id: str | None = None  # the archive sweep that created it
    version: int = 0  # compare-and-set counter kept by the stores
    dedupe: str = ""  # one task per (asset, question) from rules; manual requests are always new

    def answer_of(self, reviewer_id: str) -> Answer | None:
        return next((a for a in self.answers if a.reviewer_id == reviewer_id), None)

    def live_assignments(self, now: datetime) -> tuple[Assignment, ...]:
        return tuple(a for a in self.assignments if a.until > now)


@dataclass(frozen=True)
class ReviewRules:
    """A tenant's review settings: what creates tasks, and how answers become results."""

    low_confidence_below: float | None = None  # best specific label below this → choose among top-k
    band: tuple[float, float] | None = None  # a label with confidence in [lo, hi] → verify it
    no_labels: bool = False  # an asset with no labels → choose (free text)
    watched_labels: tuple[str, ...] = ()  # an asset carrying one of these → verify it
    audit_percent: float = 0.0  # this share of new assets → verify their top label
    top_k: int = 4  # candidates of a choose question
    answers_per_task: int = 3
    max_answers: int = 5  # low agreement asks more reviewers, up to this
    min_agreement: float = 0.7
    gold_rate: float = 0.1  # share of a queue drawn from gold tasks
    rating_floor: float = 0.6  # reviewers rated below are paused
    min_gold_for_rating: int = 5  # gold answers before a reviewer can be paused (or 10 on decided tasks)

    def check(self) -> ReviewRules:
        def pct(name: str, value: float | None) -> None:
            if value is not None and not 0 <= value <= 100:
                raise ReviewInputError("BAD_RULES", f"{name} is a confidence 0–100, got {value}")

        pct("lowConfidenceBelow", self.low_confidence_below)
        pct("auditPercent", self.audit_percent)
        if self.band is not None:
            lo, hi = self.band
            pct("band", lo)
            pct("band", hi)
            if lo > hi:
                raise ReviewInputError("BAD_RULES", f"band {lo}–{hi}: the low end is above the high end")
        if not 1 <= self.answers_per_task <= self.max_answers <= 9:
            raise ReviewInputError("BAD_RULES", "need 1 ≤ answersPerTask ≤ maxAnswers ≤ 9")
        if not 2 <= self.top_k <= 8:
            raise ReviewInputError("BAD_RULES", "topK must be 2–8 (keys 1–9 pick a choice)")
        for name, value in (("minAgreement", self.min_agreement), ("ratingFloor", self.rating_floor)):
            if not 0 <= value <= 1:
                raise ReviewInputError("BAD_RULES", f"{name} is a share 0–1, got {value}")
        if not 0 <= self.gold_rate <= 0.5:
            raise ReviewInputError("BAD_RULES", "goldRate is a share 0–0.5 of each queue")
        if len(self.watched_labels) > 200 or any(not w.strip() for w in self.watched_labels):
            raise ReviewInputError("BAD_RULES", "watchedLabels: up to 200 non-empty names")
        return self


@dataclass(frozen=True)
class Reviewer:
    """A person answering tasks of one tenant, signed in with a key of scope `review`."""

    id: str
    tenant_id: str
    name: str
    key_id: str
    created_at: datetime
    paused: bool = False
    rating: float | None = None  # 0–1, from gold accuracy and agreement with consensus
    accuracy: float | None = None  # share of gold answers right
    agreement: float | None = None  # share of answers that match the consensus of finished tasks
    answered: int = 0
    gold_answered: int = 0
    skill: float = 0.7  # Dawid–Skene estimate of P(answer right): weighs the answers in consensus
    items_per_minute: float | None = None  # over its answers of the last 10 minutes (as of the last pass)
