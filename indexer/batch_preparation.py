"""Preparing a reprocessing batch: resolve its filter into items, then queue one job per item, resumably.

A batch started with a filter (or with many asset IDs) is recorded PREPARING, and one background job of kind
`reprocess-start:<batch>` prepares it in a worker, whose lease keeps the job while it runs. Preparation is
idempotent, so the queue may run it again (a crash let its lease run out; SQS delivered it twice):
- resolution adds pending items page by page (an item added twice is one item) and sets the total once, from
  the items stored; nothing is queued before that, so a rerun simply resolves again;
- queueing checkpoints the last asset queued after each page, and a rerun continues after it; the per-asset
  jobs count each item once anyway (finish_batch_item is conditional).
A filter that matches nothing or too much, or that the index refuses, ends the batch FAILED with the reason.
Heartbeats (checkpoint_batch) keep the recovery sweep from re-queueing a preparation that is alive.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from catalog.model import BatchStatus, ReprocessBatch
from catalog.ports import (
    CatalogStore,
    JobQueue,
    SearchIndex,
    SearchPage,
    SearchQuery,
    SortOrder,
    UnsupportedSearch,
)
from catalog.run_ports import BatchItemState
from catalog.sqlite_db import utcnow

log = logging.getLogger(__name__)

_KIND_PREFIX = "reprocess:"
_START_PREFIX = "reprocess-start:"
MAX_BATCH_ASSETS = 1_000_000
# A PREPARING batch without a heartbeat for this long lost its preparer: recovery queues its start job again.
# Generous, because on SQS (no dedupe) a second preparation of a live one would queue jobs twice.
_STALE_BATCH = timedelta(minutes=15)
_HEARTBEAT_SECONDS = 30.0
_CHUNK = 500  # items added, or jobs queued, per step (and per checkpoint)
_PAGE = 100  # search hits per page while resolving
_TIMES = ("created_after", "created_before", "captured_after", "captured_before")


def reprocess_kind(batch_id: str) -> str:
    return _KIND_PREFIX + batch_id


def batch_of(kind: str) -> str | None:
    """The batch ID of a reprocessing job's kind, else None."""
    return kind[len(_KIND_PREFIX) :] if kind.startswith(_KIND_PREFIX) else None


def preparation_kind(batch_id: str) -> str:
    return _START_PREFIX + batch_id


def prepared_batch_of(kind: str) -> str | None:
    """The batch ID of a preparation job's kind, else None."""
    return kind[len(_START_PREFIX) :] if kind.startswith(_START_PREFIX) else None


async def queue_preparation(queue: JobQueue, batch: ReprocessBatch) -> None:
    """The batch's start job (its asset ID is the batch ID: one per batch where the queue dedupes)."""
    await queue.enqueue(preparation_kind(batch.id), batch.tenant_id, batch.id, background=True)


def encode_selection(query: SearchQuery, asset_ids: Sequence[str] | None) -> str:
    """What a batch will resolve: a search (without paging) and, optionally, the only IDs it may keep."""
    fields: dict[str, Any] = {
        f.name: getattr(query, f.name)
        for f in dataclasses.fields(query)
        if f.name not in ("first", "after", "text_embedding")
    }
    fields.update((name, fields[name].isoformat()) for name in _TIMES if fields[name] is not None)
    fields["label_confidence"] = dict(query.label_confidence)
    ids = list(asset_ids) if asset_ids is not None else None
    return json.dumps({"query": fields, "asset_ids": ids}, sort_keys=True)


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def decode_selection(text: str) -> tuple[SearchQuery, frozenset[str] | None]:
    raw = json.loads(text)
    fields = {f.name for f in dataclasses.fields(SearchQuery)}
    args: dict[str, Any] = {k: _tupled(v) for k, v in raw["query"].items() if k in fields}
    args.update((name, datetime.fromisoformat(args[name])) for name in _TIMES if args.get(name))
    args["sort"] = SortOrder(args["sort"])
    ids = raw["asset_ids"]
    return SearchQuery(**args), frozenset(ids) if ids is not None else None


async def matching_pages(index: SearchIndex, tenant_id: str, query: SearchQuery) -> AsyncIterator[SearchPage]:
    """The search's pages, all of them (UnsupportedSearch when the index cannot answer it)."""
    query = dataclasses.replace(query, first=_PAGE, after=None)
    while True:
        page = await index.search(tenant_id, query)
        yield page
        if not page.has_next:
            return
        query = dataclasses.replace(query, after=page.end_cursor)


async def enqueue_pending(
    catalog: CatalogStore, queue: JobQueue, batch: ReprocessBatch, *, after: str | None = None
) -> int:
    """Enqueue a job for every pending item after `after` (a checkpoint per page), then mark it enqueued."""
    count = 0
    while page := await catalog.batch_items(
        batch.tenant_id, batch.id, BatchItemState.PENDING, after=after, limit=_CHUNK
    ):
        for asset_id in page:
            await queue.enqueue(reprocess_kind(batch.id), batch.tenant_id, asset_id, background=True)
        count += len(page)
        after = page[-1]
        await catalog.checkpoint_batch(batch.tenant_id, batch.id, after)
    await catalog.set_batch_enqueued(batch.tenant_id, batch.id)
    return count


async def recover_batches(catalog: CatalogStore, queue: JobQueue) -> int:
    """Queue the start job again for PREPARING batches whose preparer stopped (no heartbeat for a while)."""
    count = 0
    for batch in await catalog.unenqueued_batches():
        if utcnow() - (batch.heartbeat_at or batch.created_at) >= _STALE_BATCH:
            log.warning("resuming the preparation of reprocess batch %s", batch.id)
            await queue_preparation(queue, batch)
            # a heartbeat on its behalf: the next sweeps wait for this job instead of queueing more copies
            await catalog.checkpoint_batch(batch.tenant_id, batch.id, None)
            count += 1
    return count


class BatchPreparation:
    """Runs a batch's start job: resolve (if it has a filter), then queue its items' jobs."""

    def __init__(self, catalog: CatalogStore, index: SearchIndex, queue: JobQueue) -> None:
        self._catalog = catalog
        self._index = index
        self._queue = queue

    async def prepare(self, tenant_id: str, batch_id: str) -> None:
        batch = await self._catalog.get_batch(tenant_id, batch_id)
        if batch is not None and batch.selection is not None and batch.status is BatchStatus.PREPARING:
            await self._resolve(batch)
            batch = await self._catalog.get_batch(tenant_id, batch_id)
        if batch is None or batch.status is not BatchStatus.PREPARING:
            return  # gone, failed, or prepared already (a repeated job)
        count = await enqueue_pending(self._catalog, self._queue, batch, after=batch.enqueued_through)
        log.info("reprocess batch %s prepared: %d assets, %d jobs queued now", batch.id, batch.total, count)

    async def abandon(self, tenant_id: str, batch_id: str, reason: str) -> None:
        """The start job gave up. Unresolved, the batch FAILED; resolved, recovery finishes queueing it."""
        batch = await self._catalog.get_batch(tenant_id, batch_id)
        if batch is not None and batch.selection is not None and not batch.error:
            await self._catalog.fail_batch(tenant_id, batch_id, f"could not resolve the filter: {reason}")

    async def _resolve(self, batch: ReprocessBatch) -> None:
        assert batch.selection is not None
        query, wanted = decode_selection(batch.selection)
        tenant_id, found, chunk = batch.tenant_id, 0, []
        beat = time.monotonic() + _HEARTBEAT_SECONDS
        try:
            async for page in matching_pages(self._index, tenant_id, query):
                ids = [h.asset_id for h in page.hits if wanted is None or h.asset_id in wanted]
                found += len(ids)
                if found > MAX_BATCH_ASSETS or (wanted is None and page.total > MAX_BATCH_ASSETS):
                    return await self._fail(batch, f"the filter matches more than {MAX_BATCH_ASSETS} assets")
                chunk += ids
                if len(chunk) >= _CHUNK:
                    if not await self._catalog.add_batch_items(tenant_id, batch.id, chunk):
                        return  # another run resolved or failed it meanwhile
                    chunk = []
                if time.monotonic() >= beat:
                    await self._catalog.checkpoint_batch(tenant_id, batch.id, None)
                    beat = time.monotonic() + _HEARTBEAT_SECONDS
        except UnsupportedSearch as exc:
            return await self._fail(batch, f"the index cannot answer the filter: {exc}")
        if found == 0:
            return await self._fail(batch, "no indexed asset matches the filter (and the assetIds, if given)")
        if chunk and not await self._catalog.add_batch_items(tenant_id, batch.id, chunk):
            return
        await self._catalog.resolve_batch(tenant_id, batch.id)

    async def _fail(self, batch: ReprocessBatch, reason: str) -> None:
        log.warning("reprocess batch %s failed: %s", batch.id, reason)
        await self._catalog.fail_batch(batch.tenant_id, batch.id, reason)
