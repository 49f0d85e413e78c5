"""A short-lived per-tenant cache of review rules and reviewers: every answer needs both, and they change
rarely (a pause by the quality pass or by hand forgets the tenant's entry at once in this process; other
processes see it within TTL)."""

from __future__ import annotations

import time

from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.tasks import Reviewer, ReviewRules

TTL = 1.0  # seconds


class ReviewCache:
    def __init__(self, store: ReviewStore, ttl: float = TTL) -> None:
        self._store = store
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ReviewRules, list[Reviewer]]] = {}

    async def state(self, tenant_id: str) -> tuple[ReviewRules, list[Reviewer]]:
        now = time.monotonic()
        hit = self._entries.get(tenant_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1], hit[2]
        rules = await self._store.get_review_rules(tenant_id)
        reviewers = await self._store.list_reviewers(tenant_id)
        self._entries[tenant_id] = (now, rules, reviewers)
        return rules, reviewers

    def forget(self, tenant_id: str) -> None:
        self._entries.pop(tenant_id, None)
