"""Where review tasks come from: the tenant's rules on newly indexed assets, a sweep of the existing
archive, manual requests, and gold tasks (known answers that measure reviewers)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.metadata import current_labels
from catalog.domain.model import ReprocessBatch, Stage
from catalog.domain.ports import CatalogStore, JobQueue, SearchQuery
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.rules import RULES_BATCH, propose, specific_labels
from catalog.domain.review.tasks import (
    Question,
    QuestionKind,
    ReviewInputError,
    ReviewRules,
    ReviewTask,
    TaskReason,
    TaskStatus,
    normalise_label,
)
from services.reprocessing.preparation import encode_selection, queue_preparation

RULES_TTL = 5.0  # seconds a process keeps a tenant's rules for the after-indexing hook and archive sweeps
MAX_REQUEST = 1000  # asset IDs per requestReview


def _task(
    tenant_id: str, asset_id: str, question: Question, reason: TaskReason, rules: ReviewRules, now: datetime,
    *, dedupe: bool = True, batch_id: str | None = None,
) -> ReviewTask:  # fmt: skip
    key = f"{asset_id}|{question.key()}"
    return ReviewTask(
        id=uuid7(),
        tenant_id=tenant_id,
        asset_id=asset_id,
        question=question,
        reason=reason,
        created_at=now,
        required=rules.answers_per_task,
        dedupe=hashlib.sha256(key.encode()).hexdigest()[:32] if dedupe else "",
        batch_id=batch_id,
    )


class ReviewTasks:
    def __init__(
        self,
        catalog: CatalogStore,
        store: ReviewStore,
        queue: JobQueue,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._queue = queue
        self._clock = clock
        self._rules: dict[str, tuple[float, ReviewRules]] = {}

    async def _cached_rules(self, tenant_id: str) -> ReviewRules:
        """The tenant's rules, read at most every RULES_TTL seconds (a backfill or a sweep costs no extra
        read per asset)."""
        now_s = time.monotonic()
        cached = self._rules.get(tenant_id)
        if cached is not None and now_s - cached[0] < RULES_TTL:
            return cached[1]
        rules = await self._store.get_review_rules(tenant_id)
        self._rules[tenant_id] = (now_s, rules)
        return rules

    async def on_indexed(self, tenant_id: str, asset_id: str) -> list[ReviewTask]:
        """The pipeline's hook after an asset is indexed: the tenant's rules on its current labels."""
        return await self._apply(tenant_id, asset_id, new=True, batch_id=None)

    async def apply_to(self, tenant_id: str, asset_id: str, batch_id: str) -> list[ReviewTask]:
        """One item of an archive sweep (the worker runs it): the rules on the asset, but not the audit
        sample (it draws from new assets). Tasks it would repeat are not created again."""
        asset = await self._catalog.get_asset(tenant_id, asset_id)
        if asset is None or asset.status is not Stage.INDEXED:
            return []  # deleted since the sweep started: nothing to ask about
        return await self._apply(tenant_id, asset_id, new=False, batch_id=batch_id)

    async def _apply(
        self, tenant_id: str, asset_id: str, *, new: bool, batch_id: str | None
    ) -> list[ReviewTask]:
        rules = await self._cached_rules(tenant_id)
        if not _any_rule(rules):
            return []
        results = (await self._catalog.get_results(tenant_id, [asset_id])).get(asset_id, {})
        labels = current_labels(results)
        now = self._clock()
        tasks = [
            _task(tenant_id, asset_id, p.question, p.reason, rules, now, batch_id=batch_id)
            for p in propose(asset_id, labels, rules, new=new)
        ]
        return await self._store.add_tasks(tenant_id, tasks) if tasks else []

    async def sweep(self, tenant_id: str) -> ReprocessBatch:
        """Apply the rules to every indexed asset of the tenant, as a tracked batch the workers run (one job
        per asset; progress, resume and recovery as for reprocessing). Returned PREPARING: a background job
        resolves the archive into items and queues them."""
        rules = await self._store.get_review_rules(tenant_id)
        if not _any_rule(rules):
            raise ReviewInputError(
                "NO_RULES", "the tenant has no review rules: set them first (setReviewRules)"
            )
        self._rules[tenant_id] = (time.monotonic(), rules)  # this process sweeps with the rules just read
        batch = ReprocessBatch(
            id=uuid7(),
            tenant_id=tenant_id,
            analyzers=(RULES_BATCH,),
            provider=None,
            parameters={},
            total=0,
            done=0,
            failed=0,
            created_at=self._clock(),
            selection=encode_selection(SearchQuery(), None),  # every indexed asset
        )
        await self._catalog.create_batch(batch, [])
        await queue_preparation(self._queue, batch)
        return batch

    async def request(
        self, tenant_id: str, asset_ids: Sequence[str], kind: QuestionKind, label: str | None = None
    ) -> list[ReviewTask]:
        """Manual review: VERIFY asks about `label`; CHOOSE offers each asset's top-k specific labels."""
        ids = list(dict.fromkeys(asset_ids))
        if not 1 <= len(ids) <= MAX_REQUEST:
            raise ReviewInputError("BAD_REQUEST", f"name 1–{MAX_REQUEST} asset IDs")
        clean = " ".join((label or "").split())
        if kind is QuestionKind.VERIFY and not 1 <= len(clean) <= 100:
            raise ReviewInputError("BAD_REQUEST", "a verify question needs a label (1–100 characters)")
        found = await self._catalog.get_assets(tenant_id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise ReviewInputError("NOT_FOUND", f"no such asset: {', '.join(missing[:5])}")
        rules = await self._store.get_review_rules(tenant_id)
        results = await self._catalog.get_results(tenant_id, ids)
        now, tasks = self._clock(), []
        for asset_id in ids:
            if kind is QuestionKind.VERIFY:
                question = Question(QuestionKind.VERIFY, label=clean)
            else:
                top = specific_labels(current_labels(results.get(asset_id, {})))[: rules.top_k]
                question = Question(QuestionKind.CHOOSE, candidates=tuple(lb.name for lb in top))
            tasks.append(_task(tenant_id, asset_id, question, TaskReason.MANUAL, rules, now, dedupe=False))
        return await self._store.add_tasks(tenant_id, tasks)

    async def add_gold(self, tenant_id: str, asset_id: str, question: Question, answer: str) -> ReviewTask:
        """A known-answer task mixed into queues at the tenant's gold rate (answer: yes / no, a
        candidate, "none of these", or a label name)."""
        if await self._catalog.get_asset(tenant_id, asset_id) is None:
            raise ReviewInputError("NOT_FOUND", f"no such asset: {asset_id}")
        value = normalise_label(answer)
        if question.kind is QuestionKind.VERIFY and value not in ("yes", "no"):
            raise ReviewInputError("BAD_REQUEST", "a verify gold answer is yes or no")
        rules = await self._store.get_review_rules(tenant_id)
        task = _task(tenant_id, asset_id, question, TaskReason.GOLD, rules, self._clock(), dedupe=False)
        task = ReviewTask(**{**task.__dict__, "status": TaskStatus.GOLD, "gold": value})
        (added,) = await self._store.add_tasks(tenant_id, [task])
        return added


def _any_rule(rules: ReviewRules) -> bool:
    return bool(
        rules.low_confidence_below is not None
        or rules.band is not None
        or rules.no_labels
        or rules.watched_labels
        or rules.audit_percent > 0
    )
