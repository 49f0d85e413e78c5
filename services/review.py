"""The review use cases together, as the bootstrap wires them and every entrypoint (API, CLI, worker)
calls them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from catalog.domain.ports import CatalogStore, JobQueue
from catalog.domain.review.ports import ReviewStore
from indexer.cpu import CpuPool
from services.review_cache import ReviewCache
from services.review_quality import ReviewQuality
from services.review_queue import ReviewQueue
from services.review_results import HumanRuns
from services.review_tasks import ReviewTasks
from services.reviewers import Reviewers
from services.webhooks import WebhookService


@dataclass(frozen=True)
class ReviewServices:
    store: ReviewStore
    tasks: ReviewTasks
    queue: ReviewQueue
    quality: ReviewQuality
    reviewers: Reviewers

    @staticmethod
    def build(
        catalog: CatalogStore, store: ReviewStore, queue: JobQueue, cpu: CpuPool | None,
        rng: random.Random | None = None, webhooks: WebhookService | None = None,
    ) -> ReviewServices:  # fmt: skip
        results = HumanRuns(catalog, queue, webhooks)
        cache = ReviewCache(store)
        quality = ReviewQuality(store, results, cpu, cache=cache)
        return ReviewServices(
            store=store,
            tasks=ReviewTasks(catalog, store, queue),
            queue=ReviewQueue(store, results, cache=cache, on_answer=quality.after_answer, rng=rng),
            quality=quality,
            reviewers=Reviewers(catalog, store, cache),
        )
