"""GraphQL types of human review: questions, reviewer items (no hint of gold), tasks, rules, reviewers."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from api.context import Context
from catalog.domain.review import tasks as domain
from catalog.domain.review.tasks import NONE_OF_THESE


@strawberry.enum
class ReviewQuestionKind(enum.Enum):
    VERIFY = "verify"
    CHOOSE = "choose"


@strawberry.enum
class ReviewVerdict(enum.Enum):
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"


@strawberry.enum
class ReviewTaskStatus(enum.Enum):
    OPEN = "open"
    DONE = "done"
    GOLD = "gold"


@strawberry.enum
class ReviewReason(enum.Enum):
    LOW_CONFIDENCE = "low_confidence"
    CONFIDENCE_BAND = "confidence_band"
    NO_LABELS = "no_labels"
    WATCHED = "watched"
    AUDIT = "audit"
    MANUAL = "manual"
    GOLD = "gold"


@strawberry.type(description="One decision: verify a label (yes / no / unsure) or choose among labels.")
class ReviewQuestion:
    kind: ReviewQuestionKind
    label: str | None
    choices: list[str] = strawberry.field(description="CHOOSE: the candidates, then 'none of these'.")
    allow_text: bool
    prompt: str

    @staticmethod
    def from_domain(q: domain.Question) -> ReviewQuestion:
        if q.kind is domain.QuestionKind.VERIFY:
            prompt = f"Does this picture show {q.label}?"  # no article: "a Espresso", "a Clothing"
            choices: list[str] = []
        else:
            prompt = "What is this?" if q.candidates else "What is this? Type a label."
            choices = [*q.candidates, NONE_OF_THESE] if q.candidates else []
        return ReviewQuestion(
            kind=ReviewQuestionKind(q.kind.value),
            label=q.label or None,
            choices=choices,
            allow_text=q.allow_text,
            prompt=prompt,
        )


@strawberry.type
class ReviewImage:
    url: str
    width: int
    height: int
    frame_time: float | None = strawberry.field(
        default=None,
        description="For a video: the second of the keyframe shown, from the shot that shows what is asked "
        "about (null for an image, or a video's poster when no shot shows it).",
    )


@strawberry.type
class ReviewAnswer:
    reviewer: str
    verdict: ReviewVerdict | None
    choice: str | None
    text: str | None
    answered_at: datetime

    @staticmethod
    def from_domain(a: domain.Answer, names: dict[str, str]) -> ReviewAnswer:
        return ReviewAnswer(
            reviewer=names.get(a.reviewer_id, a.reviewer_id),
            verdict=ReviewVerdict(a.verdict.value) if a.verdict else None,
            choice=a.choice,
            text=a.text or None,
            answered_at=a.answered_at,
        )


@strawberry.type(description="A task as a reviewer sees it: the question and the image, nothing else.")
class ReviewItem:
    id: strawberry.ID
    question: ReviewQuestion
    image: ReviewImage | None
    previous: ReviewAnswer | None = strawberry.field(description="Your earlier answer (after an undo).")


@strawberry.input
class ReviewAnswerInput:
    verdict: ReviewVerdict | None = None
    choice: str | None = strawberry.field(default=None, description="One of the question's choices.")
    text: str | None = strawberry.field(default=None, description="A label name, for a CHOOSE question.")


@strawberry.type(description="A review task with its answers and result (read scope).")
class ReviewTask:
    id: strawberry.ID
    asset_id: strawberry.ID
    status: ReviewTaskStatus
    reason: ReviewReason
    question: ReviewQuestion
    required: int = strawberry.field(description="Answers wanted (grows when agreement is low).")
    answers: list[ReviewAnswer]
    consensus: str | None
    agreement: float | None
    run_id: strawberry.ID | None
    batch_id: strawberry.ID | None
    created_at: datetime

    @staticmethod
    def from_domain(t: domain.ReviewTask, names: dict[str, str]) -> ReviewTask:
        return ReviewTask(
            id=strawberry.ID(t.id),
            asset_id=strawberry.ID(t.asset_id),
            status=ReviewTaskStatus(t.status.value),
            reason=ReviewReason(t.reason.value),
            question=ReviewQuestion.from_domain(t.question),
            required=t.required,
            answers=[ReviewAnswer.from_domain(a, names) for a in t.answers],
            consensus=t.consensus,
            agreement=t.agreement,
            run_id=strawberry.ID(t.run_id) if t.run_id else None,
            batch_id=strawberry.ID(t.batch_id) if t.batch_id else None,
            created_at=t.created_at,
        )


@strawberry.type
class ReviewError:
    code: str
    message: str

    @staticmethod
    def of(exc: domain.ReviewInputError) -> ReviewError:
        return ReviewError(code=exc.code, message=str(exc))


@strawberry.type
class ReviewRules:
    low_confidence_below: float | None
    band_low: float | None
    band_high: float | None
    no_labels: bool
    watched_labels: list[str]
    audit_percent: float
    top_k: int
    answers_per_task: int
    max_answers: int
    min_agreement: float
    gold_rate: float
    rating_floor: float

    @staticmethod
    def from_domain(r: domain.ReviewRules) -> ReviewRules:
        return ReviewRules(
            low_confidence_below=r.low_confidence_below,
            band_low=r.band[0] if r.band else None,
            band_high=r.band[1] if r.band else None,
            no_labels=r.no_labels,
            watched_labels=list(r.watched_labels),
            audit_percent=r.audit_percent,
            top_k=r.top_k,
            answers_per_task=r.answers_per_task,
            max_answers=r.max_answers,
            min_agreement=r.min_agreement,
            gold_rate=r.gold_rate,
            rating_floor=r.rating_floor,
        )


@strawberry.input(description="Every field optional: what is left out keeps its current value.")
class ReviewRulesInput:
    low_confidence_below: float | None = strawberry.UNSET
    band_low: float | None = strawberry.UNSET
    band_high: float | None = strawberry.UNSET
    no_labels: bool | None = strawberry.UNSET
    watched_labels: list[str] | None = strawberry.UNSET
    audit_percent: float | None = strawberry.UNSET
    top_k: int | None = strawberry.UNSET
    answers_per_task: int | None = strawberry.UNSET
    max_answers: int | None = strawberry.UNSET
    min_agreement: float | None = strawberry.UNSET
    gold_rate: float | None = strawberry.UNSET
    rating_floor: float | None = strawberry.UNSET


@strawberry.type
class Reviewer:
    name: str
    rating: float | None
    accuracy: float | None = strawberry.field(description="Share of gold answers right.")
    agreement: float | None = strawberry.field(description="Share of answers equal to the consensus.")
    answered: int
    gold_answered: int
    items_per_minute: float | None = strawberry.field(description="Over the last 10 minutes of answers.")
    paused: bool


@strawberry.type
class ReviewStats:
    open: int
    done: int
    gold: int
    agreement: float | None = strawberry.field(description="Mean agreement of decided tasks.")


def image_of(
    info: Info[Context, None],
    asset_id: str,
    renditions: dict[str, tuple[int, int]],
    frame_time: float | None = None,
) -> ReviewImage | None:
    """The preview's signed URL (the capability a reviewer key gets for its own tasks only)."""
    ctx = info.context
    kind = "preview" if "preview" in renditions else next(iter(renditions), None)
    if kind is None:
        return None
    expires, sig = ctx.services.signer.sign(ctx.tenant_id, asset_id, kind)
    url = f"{ctx.base_url}/renditions/{asset_id}/{kind}?t={ctx.tenant_id}&e={expires}&s={sig}"
    width, height = renditions[kind]
    return ReviewImage(url=url, width=width, height=height, frame_time=frame_time)
