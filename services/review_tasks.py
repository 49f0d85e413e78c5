"""Where review tasks come from: the tenant's rules on newly indexed assets, a sweep of the existing
archive, manual requests, and gold tasks (known answers that measure reviewers)."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.metadata import current_labels
from catalog.domain.model import Stage
from catalog.domain.ports import CatalogStore
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.rules import propose, specific_labels
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

RULES_TTL = 5.0  # seconds a worker keeps a tenant's rules for the after-indexing hook
MAX_REQUEST = 1000  # asset IDs per requestReview
SWEEP_PAGE = 200


@dataclass(frozen=True)
class SweepProgress:
    assets: int  # looked at so far
    created: int  # tasks created so far


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
        self, catalog: CatalogStore, store: ReviewStore, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._catalog = catalog
        self._store = store
        self._clock = clock
        self._rules: dict[str, tuple[float, ReviewRules]] = {}

    async def on_indexed(self, tenant_id: str, asset_id: str) -> list[ReviewTask]:
        """The pipeline's hook after an asset is indexed: the tenant's rules on its current labels (read
        at most every RULES_TTL seconds per tenant: a backfill costs no extra read per asset)."""
        now_s = time.monotonic()
        cached = self._rules.get(tenant_id)
        if cached is not None and now_s - cached[0] < RULES_TTL:
            rules = cached[1]
        else:
            rules = await self._store.get_review_rules(tenant_id)
            self._rules[tenant_id] = (now_s, rules)
        if not _any_rule(rules):
            return []
        results = (await self._catalog.get_results(tenant_id, [asset_id])).get(asset_id, {})
        labels = current_labels(results)
        now = self._clock()
        tasks = [
            _task(tenant_id, asset_id, p.question, p.reason, rules, now)
            for p in propose(asset_id, labels, rules, new=True)
        ]
        return await self._store.add_tasks(tenant_id, tasks) if tasks else []

    async def sweep(
        self, tenant_id: str, *, progress: Callable[[SweepProgress], Awaitable[None] | None] | None = None
    ) -> tuple[str, SweepProgress]:
        """Apply the rules to every indexed asset of the tenant (not the audit sample: it draws from new
        assets). Re-running it creates nothing twice. Returns the sweep's batch ID and its totals."""
        rules = await self._store.get_review_rules(tenant_id)
        if not _any_rule(rules):
            raise ReviewInputError(
                "NO_RULES", "the tenant has no review rules: set them first (setReviewRules)"
            )
        batch_id, seen, created, after = uuid7(), 0, 0, None
        while True:
            assets = await self._catalog.list_assets(tenant_id, after=after, limit=SWEEP_PAGE)
            indexed = [a.id for a in assets if a.status is Stage.INDEXED]
            results = await self._catalog.get_results(tenant_id, indexed) if indexed else {}
            now = self._clock()
            tasks = [
                _task(tenant_id, a, p.question, p.reason, rules, now, batch_id=batch_id)
                for a in indexed
                for p in propose(a, current_labels(results.get(a, {})), rules, new=False)
            ]
            created += len(await self._store.add_tasks(tenant_id, tasks)) if tasks else 0
            seen += len(assets)
            if progress is not None:
                maybe = progress(SweepProgress(seen, created))
                if maybe is not None:
                    await maybe
            if len(assets) < SWEEP_PAGE:
                return batch_id, SweepProgress(seen, created)
            after = assets[-1].id

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
