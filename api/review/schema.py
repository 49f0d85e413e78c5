"""Human review over GraphQL: reviewers (keys of scope `review`) get their queue and answer it; the
tenant (read / write / admin keys) sets rules, asks for reviews and reads tasks, reviewers and stats."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.auth import CanRead, CanReview, CanWrite, IsAdmin
from api.context import Context
from api.report_types import ReprocessBatch
from api.review.types import (
    ReviewAnswer,
    ReviewAnswerInput,
    Reviewer,
    ReviewError,
    ReviewImage,
    ReviewItem,
    ReviewQuestion,
    ReviewQuestionKind,
    ReviewRules,
    ReviewRulesInput,
    ReviewStats,
    ReviewTask,
    ReviewTaskStatus,
    image_of,
)
from catalog.domain.ids import is_uuid
from catalog.domain.metadata import video_findings
from catalog.domain.model import Asset
from catalog.domain.ports import SearchQuery
from catalog.domain.review import tasks as domain
from catalog.domain.video.findings import shot_showing
from catalog.domain.video.segments import keyframe_of

MAX_TASK_PAGE = 100


async def _me(info: Info[Context, None]) -> domain.Reviewer:
    return await info.context.services.review.queue.reviewer(info.context.tenant_id, info.context.key_id)


async def _items(
    info: Info[Context, None], reviewer_id: str, tasks: list[domain.ReviewTask]
) -> list[ReviewItem]:
    assets = await info.context.assets.load_many([t.asset_id for t in tasks])
    out = []
    for task, asset in zip(tasks, assets, strict=True):
        earlier = task.answer_of(reviewer_id)
        out.append(
            ReviewItem(
                id=strawberry.ID(task.id),
                question=ReviewQuestion.from_domain(task.question),
                image=await _picture(info, task, asset),
                previous=ReviewAnswer.from_domain(earlier, {}) if earlier else None,
            )
        )
    return out


async def _picture(
    info: Info[Context, None], task: domain.ReviewTask, asset: Asset | None
) -> ReviewImage | None:
    """What the reviewer looks at: the asset's preview; for a video, the keyframe of the shot that shows
    what is asked about (its poster may show something else entirely), when one is registered."""
    if asset is None:
        return None
    if asset.media_type.startswith("video/"):
        video = video_findings(await info.context.results.load(asset.id))
        question = task.question
        names = [question.label] if question.kind is domain.QuestionKind.VERIFY else list(question.candidates)
        shot = shot_showing(video.segments, names) if video is not None else None
        frame = keyframe_of(shot, await info.context.children.load(asset.id)) if shot is not None else None
        if frame is not None:
            return image_of(info, frame.id, _sizes(frame), frame.frame_time)
    return image_of(info, asset.id, _sizes(asset))


def _sizes(asset: Asset) -> dict[str, tuple[int, int]]:
    return {r.kind: (r.width, r.height) for r in asset.renditions}


async def _names(info: Info[Context, None]) -> dict[str, str]:
    return {
        r.id: r.name for r in await info.context.services.review.store.list_reviewers(info.context.tenant_id)
    }


@strawberry.type
class SubmitReviewPayload:
    accepted: bool
    error: ReviewError | None = None


@strawberry.type
class UndoReviewPayload:
    item: ReviewItem | None = strawberry.field(description="The task again, to answer anew.")
    error: ReviewError | None = None


@strawberry.type
class ReviewRulesPayload:
    rules: ReviewRules | None
    error: ReviewError | None = None


@strawberry.type
class RequestReviewPayload:
    tasks: list[ReviewTask]
    error: ReviewError | None = None


@strawberry.type
class ApplyReviewRulesPayload:
    batch: ReprocessBatch | None = strawberry.field(
        description="The sweep: a tracked batch the workers run (follow it with reprocessBatch(id))."
    )
    error: ReviewError | None = None


@strawberry.type
class AddReviewerPayload:
    secret: str | None = strawberry.field(description="The reviewer's key: shown this once.")
    reviewer: Reviewer | None
    error: ReviewError | None = None


def reviewer_of(r: domain.Reviewer) -> Reviewer:
    return Reviewer(
        name=r.name,
        rating=r.rating,
        accuracy=r.accuracy,
        agreement=r.agreement,
        answered=r.answered,
        gold_answered=r.gold_answered,
        items_per_minute=r.items_per_minute,
        paused=r.paused,
    )


@strawberry.type
class ReviewQuery:
    @strawberry.field(
        permission_classes=[CanReview],
        description="Your next tasks (reviewer keys): the ones you hold, then new ones; gold is mixed in.",
    )
    async def next_review_tasks(self, info: Info[Context, None], count: int = 10) -> list[ReviewItem]:
        me = await _me(info)
        return await _items(info, me.id, await info.context.services.review.queue.next(me, count))

    @strawberry.field(
        permission_classes=[CanReview],
        description="Label names for a free-text answer's autocomplete: the tenant's most frequent labels "
        "in the index and its watched labels.",
    )
    async def review_vocabulary(self, info: Info[Context, None]) -> list[str]:
        ctx = info.context
        page = await ctx.services.index.search(ctx.tenant_id, SearchQuery(first=1))
        rules = await ctx.services.review.store.get_review_rules(ctx.tenant_id)
        names = [f.value for f in page.label_facets] + list(rules.watched_labels)
        return sorted(dict.fromkeys(names), key=str.lower)

    @strawberry.field(permission_classes=[CanRead], description="Review tasks in creation order.")
    async def review_tasks(
        self,
        info: Info[Context, None],
        status: ReviewTaskStatus | None = None,
        first: int = 20,
        after: Annotated[str | None, strawberry.argument(description="The last task ID seen.")] = None,
    ) -> list[ReviewTask]:
        if not 1 <= first <= MAX_TASK_PAGE:
            raise ValueError(f"first must be 1–{MAX_TASK_PAGE}")
        tasks = await info.context.services.review.store.list_tasks(
            info.context.tenant_id,
            domain.TaskStatus(status.value) if status else None,
            after=after if after and is_uuid(after) else None,
            limit=first,
        )
        names = await _names(info)
        return [ReviewTask.from_domain(t, names) for t in tasks]

    @strawberry.field(permission_classes=[CanRead])
    async def review_rules(self, info: Info[Context, None]) -> ReviewRules:
        return ReviewRules.from_domain(
            await info.context.services.review.store.get_review_rules(info.context.tenant_id)
        )

    @strawberry.field(permission_classes=[CanRead], description="Your tenant's reviewers and their ratings.")
    async def reviewers(self, info: Info[Context, None]) -> list[Reviewer]:
        return [
            reviewer_of(r)
            for r in await info.context.services.review.store.list_reviewers(info.context.tenant_id)
        ]

    @strawberry.field(permission_classes=[CanRead])
    async def review_stats(self, info: Info[Context, None]) -> ReviewStats:
        store, tenant = info.context.services.review.store, info.context.tenant_id
        counts = await store.count_tasks(tenant)
        done = await store.list_tasks(tenant, domain.TaskStatus.DONE, after=None, limit=10_000)
        agreements = [t.agreement for t in done if t.agreement is not None]
        return ReviewStats(
            open=counts[domain.TaskStatus.OPEN],
            done=counts[domain.TaskStatus.DONE],
            gold=counts[domain.TaskStatus.GOLD],
            agreement=sum(agreements) / len(agreements) if agreements else None,
        )


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(permission_classes=[CanReview], description="Answer a task (again: replaces yours).")
    async def submit_review(
        self, info: Info[Context, None], task_id: strawberry.ID, answer: ReviewAnswerInput
    ) -> SubmitReviewPayload:
        try:
            me = await _me(info)
            given = domain.Answer(
                me.id,
                datetime.now(UTC),
                verdict=domain.Verdict(answer.verdict.value) if answer.verdict else None,
                choice=answer.choice,
                text=answer.text or "",
            )
            if not is_uuid(str(task_id)):
                raise domain.ReviewInputError("NOT_FOUND", f"no review task {task_id}")
            await info.context.services.review.queue.submit(me, str(task_id), given)
        except domain.ReviewInputError as exc:
            return SubmitReviewPayload(accepted=False, error=ReviewError.of(exc))
        return SubmitReviewPayload(accepted=True)

    @strawberry.mutation(permission_classes=[CanReview], description="Take back your answer to a task.")
    async def undo_review(self, info: Info[Context, None], task_id: strawberry.ID) -> UndoReviewPayload:
        try:
            me = await _me(info)
            if not is_uuid(str(task_id)):
                raise domain.ReviewInputError("NOT_FOUND", f"no review task {task_id}")
            task = await info.context.services.review.queue.undo(me, str(task_id))
        except domain.ReviewInputError as exc:
            return UndoReviewPayload(item=None, error=ReviewError.of(exc))
        (item,) = await _items(info, me.id, [task])
        return UndoReviewPayload(item=item)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Change the tenant's review rules.")
    async def set_review_rules(
        self, info: Info[Context, None], rules: ReviewRulesInput
    ) -> ReviewRulesPayload:
        store, tenant = info.context.services.review.store, info.context.tenant_id
        current = await store.get_review_rules(tenant)
        try:
            new = merged_rules(current, rules).check()
        except domain.ReviewInputError as exc:
            return ReviewRulesPayload(rules=None, error=ReviewError.of(exc))
        await store.set_review_rules(tenant, new)
        return ReviewRulesPayload(rules=ReviewRules.from_domain(new))

    @strawberry.mutation(permission_classes=[CanWrite], description="Ask reviewers about these assets.")
    async def request_review(
        self,
        info: Info[Context, None],
        asset_ids: list[strawberry.ID],
        kind: ReviewQuestionKind = ReviewQuestionKind.VERIFY,
        label: Annotated[str | None, strawberry.argument(description="VERIFY: the label to verify.")] = None,
    ) -> RequestReviewPayload:
        ids = [str(i) for i in asset_ids]
        try:
            if bad := [i for i in ids if not is_uuid(i)]:
                raise domain.ReviewInputError("NOT_FOUND", f"no such asset: {', '.join(bad[:5])}")
            tasks = await info.context.services.review.tasks.request(
                info.context.tenant_id, ids, domain.QuestionKind(kind.value), label
            )
        except domain.ReviewInputError as exc:
            return RequestReviewPayload(tasks=[], error=ReviewError.of(exc))
        return RequestReviewPayload(tasks=[ReviewTask.from_domain(t, {}) for t in tasks])

    @strawberry.mutation(
        permission_classes=[CanWrite],
        description="Apply the review rules to every indexed asset (the archive) as a tracked batch the "
        "workers run; nothing is asked twice.",
    )
    async def apply_review_rules(self, info: Info[Context, None]) -> ApplyReviewRulesPayload:
        try:
            batch = await info.context.services.review.tasks.sweep(info.context.tenant_id)
        except domain.ReviewInputError as exc:
            return ApplyReviewRulesPayload(batch=None, error=ReviewError.of(exc))
        return ApplyReviewRulesPayload(batch=ReprocessBatch.from_domain(batch))

    @strawberry.mutation(permission_classes=[IsAdmin], description="A new reviewer and its key (shown once).")
    async def add_reviewer(self, info: Info[Context, None], name: str) -> AddReviewerPayload:
        try:
            secret, reviewer = await info.context.services.review.reviewers.add(info.context.tenant_id, name)
        except domain.ReviewInputError as exc:
            return AddReviewerPayload(secret=None, reviewer=None, error=ReviewError.of(exc))
        return AddReviewerPayload(secret=secret, reviewer=reviewer_of(reviewer))


def merged_rules(current: domain.ReviewRules, given: ReviewRulesInput) -> domain.ReviewRules:
    """The current rules with the given fields replaced (UNSET: kept; null: cleared where it can be)."""
    changes: dict[str, object] = {}
    for f in fields(domain.ReviewRules):
        if f.name == "band" or f.name == "min_gold_for_rating":
            continue
        value = getattr(given, f.name, strawberry.UNSET)
        if value is strawberry.UNSET:
            continue
        if f.name == "watched_labels":
            value = tuple(" ".join(v.split()) for v in value or ())
        elif value is None and f.name != "low_confidence_below":
            continue
        changes[f.name] = value
    lo, hi = given.band_low, given.band_high
    if lo is not strawberry.UNSET or hi is not strawberry.UNSET:
        old = current.band or (None, None)
        lo = old[0] if lo is strawberry.UNSET else lo
        hi = old[1] if hi is strawberry.UNSET else hi
        if (lo is None) != (hi is None):
            raise domain.ReviewInputError("BAD_RULES", "a band needs both bandLow and bandHigh (or neither)")
        changes["band"] = (lo, hi) if lo is not None and hi is not None else None
    return replace(current, **changes)  # type: ignore[arg-type]
