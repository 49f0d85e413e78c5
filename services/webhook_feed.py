"""Metadata-changed webhooks from the change feed: whatever changed an asset's current metadata (a run, a
reprocess, a named face, a human review, a new concept), the feed has it, and a follower job turns each entry
into an event for the tenant's endpoints.

The worker nudges the follower after each job of a tenant with subscribers; the follower reads the feed from
its saved position and announces each entry (its event ID made from the asset and the change's time, so a
job run twice, or two followers at once on SQS, deliver it once). Entries younger than SETTLE are left for a
moment: a change committed late with an earlier time must not be stepped over.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from catalog.domain.model import ChangedAsset
from catalog.domain.ports import JobQueue
from catalog.domain.webhook_store import FeedPosition, WebhookStore
from catalog.domain.webhooks import WebhookEvent
from services.webhooks import WebhookService, event_id

FOLLOW_JOB = "webhook-feed"  # the job's "asset" is the tenant ID: one follower per tenant
PAGE = 200
PAGES_PER_JOB = 10  # a long backlog goes on in the next job
SETTLE = timedelta(seconds=2)

# (tenant, since, after, limit) -> the feed's entries, oldest first (catalog RunHistory.changed_assets)
ChangedAssets = Callable[..., Awaitable[list[ChangedAsset]]]
EVENT = WebhookEvent.METADATA_CHANGED


class FeedFollower:
    def __init__(
        self, store: WebhookStore, changes: ChangedAssets, webhooks: WebhookService, queue: JobQueue
    ) -> None:
        self._store = store
        self._changes = changes
        self._webhooks = webhooks
        self._queue = queue

    async def nudge(self, tenant_id: str) -> None:
        """After a job that may have changed the tenant's metadata: follow the feed if anyone listens."""
        if await self._webhooks.subscribers(tenant_id, EVENT):
            await self._queue.enqueue(FOLLOW_JOB, tenant_id, tenant_id)

    async def follow(self, tenant_id: str) -> float | None:
        """Announce the feed's new entries; returns seconds to wait before following again, None when done."""
        listening = await self._webhooks.subscribers(tenant_id, EVENT)
        if not listening:
            return None
        position: FeedPosition | None = await self._store.feed_position(tenant_id)
        if position is None:  # from when the first listener subscribed: no history replayed
            position = (min(e.created_at for e in listening), "")
        settled_before = datetime.now(UTC) - SETTLE
        for _ in range(PAGES_PER_JOB):
            after = position if position[1] else None
            page = await self._changes(tenant_id, position[0], after=after, limit=PAGE)
            for change in page:
                if change.changed_at >= settled_before:
                    await self._store.set_feed_position(tenant_id, position)
                    return SETTLE.total_seconds()
                if not change.deleted:  # deletions have their own event
                    at = change.changed_at.isoformat()
                    await self._webhooks.announce(
                        tenant_id,
                        EVENT,
                        {"assetId": change.asset_id, "changedAt": at},
                        event_id=event_id(EVENT, tenant_id, change.asset_id, at),
                    )
                position = (change.changed_at, change.asset_id)
            if page:
                await self._store.set_feed_position(tenant_id, position)
            if len(page) < PAGE:
                return None
        return 0.0  # more to read: at once, in the next job
