"""Reviewers: a name in a tenant and an API key of scope `review` (shown once)."""

from __future__ import annotations

from dataclasses import replace

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import Scope
from catalog.domain.ports import CatalogStore
from catalog.domain.review.ports import ReviewStore
from catalog.domain.review.tasks import Reviewer, ReviewInputError
from services.keys import issue_key
from services.review_cache import ReviewCache

MAX_NAME = 80


class Reviewers:
    def __init__(self, catalog: CatalogStore, store: ReviewStore, cache: ReviewCache | None = None) -> None:
        self._catalog = catalog
        self._store = store
        self._cache = cache

    async def add(self, tenant_id: str, name: str) -> tuple[str, Reviewer]:
        """A new reviewer and its key's secret (printed once, stored hashed)."""
        clean = " ".join(name.split())
        if not 1 <= len(clean) <= MAX_NAME:
            raise ReviewInputError("BAD_NAME", f"a reviewer's name has 1–{MAX_NAME} characters")
        if any(r.name.lower() == clean.lower() for r in await self._store.list_reviewers(tenant_id)):
            raise ReviewInputError("NAME_TAKEN", f"the tenant has a reviewer {clean!r}")
        secret, key = await issue_key(self._catalog, tenant_id, [Scope.REVIEW], f"reviewer: {clean}")
        try:
            reviewer = await self._store.add_reviewer(Reviewer(uuid7(), tenant_id, clean, key.id, utcnow()))
            if self._cache is not None:
                self._cache.forget(tenant_id)
        except ReviewInputError:
            await self._catalog.revoke_api_key(tenant_id, key.id)  # lost a race for the name
            raise
        return secret, reviewer

    async def set_paused(self, tenant_id: str, name: str, paused: bool) -> Reviewer:
        """Pause or resume by hand (a resumed reviewer is rated afresh from its next answers)."""
        found = next(
            (r for r in await self._store.list_reviewers(tenant_id) if r.name.lower() == name.lower()), None
        )
        if found is None:
            raise ReviewInputError("NOT_FOUND", f"no reviewer {name!r} in this tenant")
        changed = replace(found, paused=paused)
        await self._store.save_reviewer(changed)
        if self._cache is not None:
            self._cache.forget(tenant_id)
        return changed
