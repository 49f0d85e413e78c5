"""Preparing a reprocessing batch: resolve its filter into items, then queue one job per item, resumably.

A batch started with a filter (or with many asset IDs) is recorded PREPARING, and one background job of kind
`reprocess-start:<batch>` prepares it in a worker, whose lease keeps the job while it runs. Two preparations
of one batch may start (SQS delivers a job again once its lease is lost, recovery queues a start job while an
earlier one still waits, `mediasight reprocess --resume` prepares next to a worker), so a run first claims
the batch in the catalog (catalog.domain.run_ports.Claim); a run that cannot returns at once: a live one
has it.
Every step after that is conditional on the claim, and the heartbeats renew it, so a run that paused past
its lease stops instead of queueing what its successor queues. Preparation is idempotent, so the queue may
run it again after a crash:
- resolution adds pending items page by page (an item added twice is one item) and sets the total once, from
  the items stored; nothing is queued before that, so a rerun simply resolves again;
- queueing checkpoints the last asset queued before each page, and a rerun continues after it; the
  per-asset jobs count each item once anyway (finish_batch_item is conditional).
A filter that matches nothing or too much, or that the index refuses, ends the batch FAILED with the reason.
Heartbeats keep the recovery sweep from re-queueing a preparation that is alive.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import BatchStatus, ReprocessBatch
from catalog.domain.model_census import ModelRef, outdated_analyzers
from catalog.domain.ports import (
    CatalogStore,
    JobQueue,
    SearchIndex,
    SearchPage,
    SearchQuery,
    SortOrder,
    TrainingExamples,
    UnsupportedSearch,
)
from catalog.domain.run_ports import BatchItemState, Claim

log = logging.getLogger(__name__)

_KIND_PREFIX = "reprocess:"
_START_PREFIX = "reprocess-start:"
MAX_BATCH_ASSETS = 1_000_000
# A PREPARING batch without a heartbeat (and a claim) for this long lost its preparer: recovery queues its
# start job again.
_STALE_BATCH = timedelta(minutes=15)
_HEARTBEAT_SECONDS = 30.0
# A preparer's claim lasts this long after each heartbeat: far longer than one step (a page of search hits,
# a chunk of jobs) takes, and shorter than _STALE_BATCH.
LEASE = timedelta(minutes=5)
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


def encode_selection(
    query: SearchQuery, asset_ids: Sequence[str] | None, outdated: Mapping[str, ModelRef] | None = None
) -> str:
    """What a batch will resolve: a search (without paging) and, optionally, the only IDs it may keep and
    the models (per analyzer) whose runs are current: with those, only assets an older model made a
    current run of keep (catalog.domain.model_census)."""
    fields: dict[str, Any] = {
        f.name: getattr(query, f.name)
        for f in dataclasses.fields(query)
        if f.name not in ("first", "after", "text_embedding")
    }
    fields.update((name, fields[name].isoformat()) for name in _TIMES if fields[name] is not None)
    fields["label_confidence"] = dict(query.label_confidence)
    ids = list(asset_ids) if asset_ids is not None else None
    selection: dict[str, Any] = {"query": fields, "asset_ids": ids}
    if outdated is not None:
        selection["outdated"] = {a: [m.provider, m.model_name, m.model_version] for a, m in outdated.items()}
    return json.dumps(selection, sort_keys=True)


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def decode_selection(text: str) -> tuple[SearchQuery, frozenset[str] | None]:
    raw = json.loads(text)
    fields = {f.name for f in dataclasses.fields(SearchQuery)}
    args: dict[str, Any] = {k: _tupled(v) for k, v in raw["query"].items() if k in fields}
    args.update((name, datetime.fromisoformat(args[name])) for name in _TIMES if args.get(name))
    args["sort"] = SortOrder(args["sort"])
    if "training_examples" in args:  # selections written before it: the default
        args["training_examples"] = TrainingExamples(args["training_examples"])
    ids = raw["asset_ids"]
    return SearchQuery(**args), frozenset(ids) if ids is not None else None


def decode_outdated(text: str) -> dict[str, ModelRef] | None:
    """The current models of a selection that keeps only outdated assets, else None."""
    raw = json.loads(text).get("outdated")
    return None if raw is None else {a: ModelRef(*m) for a, m in raw.items()}


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
    catalog: CatalogStore,
    queue: JobQueue,
    batch: ReprocessBatch,
    *,
    after: str | None = None,
    claim: Claim | None = None,
) -> int | None:
    """Enqueue a job for every pending item after `after`, then mark the batch enqueued; the number queued.

    Before each page a checkpoint records the pages queued so far; with a claim it is also the check that
    the claim still holds (None, queueing nothing more, once it does not)."""
    count = 0
    while page := await catalog.batch_items(
        batch.tenant_id, batch.id, BatchItemState.PENDING, after=after, limit=_CHUNK
    ):
        if not await catalog.checkpoint_batch(batch.tenant_id, batch.id, after, claim):
            return None
        for asset_id in page:
            await queue.enqueue(reprocess_kind(batch.id), batch.tenant_id, asset_id, background=True)
        count += len(page)
        after = page[-1]
    return count if await catalog.set_batch_enqueued(batch.tenant_id, batch.id, claim) else None


async def recover_batches(catalog: CatalogStore, queue: JobQueue) -> int:
    """Queue the start job again for PREPARING batches whose preparer stopped (no claim and no heartbeat
    for a while)."""
    count, now = 0, utcnow()
    for batch in await catalog.unenqueued_batches():
        if batch.claimed_until is not None and batch.claimed_until > now:
            continue  # a live preparer holds it
        if now - (batch.heartbeat_at or batch.created_at) >= _STALE_BATCH:
            log.warning("resuming the preparation of reprocess batch %s", batch.id)
            await queue_preparation(queue, batch)
            # a heartbeat on its behalf: the next sweeps wait for this job instead of queueing more copies
            await catalog.checkpoint_batch(batch.tenant_id, batch.id, None)
            count += 1
    return count


def _lost(batch: ReprocessBatch) -> bool:
    """Log that this run stops: its claim ran out (another run took over), or the batch failed meanwhile."""
    log.warning(
        "reprocess batch %s: this preparation lost its claim (or the batch failed); it stops", batch.id
    )
    return False


class BatchPreparation:
    """Runs a batch's start job: claim it, resolve it (if it has a filter), then queue its items' jobs."""

    def __init__(
        self, catalog: CatalogStore, index: SearchIndex, queue: JobQueue, *, lease: timedelta = LEASE
    ) -> None:
        self._catalog = catalog
        self._index = index
        self._queue = queue
        self._lease = lease

    async def prepare(self, tenant_id: str, batch_id: str) -> None:
        async with self._claimed(tenant_id, batch_id) as claim:
            if claim is None:
                return  # gone, failed, prepared already (a repeated job), or a live run prepares it
            batch = await self._catalog.get_batch(tenant_id, batch_id)
            if batch is None or batch.status is not BatchStatus.PREPARING:
                return
            if batch.selection is not None and not await self._resolve(batch, claim):
                return  # failed, or the claim was lost
            if await self._catalog.resolve_batch(tenant_id, batch_id, claim) is None:
                _lost(batch)
                return
            batch = await self._catalog.get_batch(tenant_id, batch_id) or batch
            count = await enqueue_pending(
                self._catalog, self._queue, batch, after=batch.enqueued_through, claim=claim
            )
            if count is None:
                _lost(batch)
                return
            log.info(
                "reprocess batch %s prepared: %d assets, %d jobs queued now", batch_id, batch.total, count
            )

    async def abandon(self, tenant_id: str, batch_id: str, reason: str) -> None:
        """The start job gave up. Unresolved, the batch FAILED; resolved, recovery finishes queueing it;
        claimed by a live run, it is left to that run."""
        async with self._claimed(tenant_id, batch_id) as claim:
            if claim is not None:
                error = f"could not resolve the filter: {reason}"
                await self._catalog.fail_batch(tenant_id, batch_id, error, claim)

    @contextlib.asynccontextmanager
    async def _claimed(self, tenant_id: str, batch_id: str) -> AsyncIterator[Claim | None]:
        """This run's claim on the batch (None if it cannot have one), given up at the end."""
        claim = Claim(owner=uuid7(), lease=self._lease)
        if not await self._catalog.claim_batch(tenant_id, batch_id, claim):
            log.info("reprocess batch %s: not preparing it here (prepared, failed or claimed)", batch_id)
            yield None
            return
        try:
            yield claim
        finally:
            try:
                await self._catalog.release_batch(tenant_id, batch_id, claim)
            except Exception:  # its lease runs out instead
                log.warning("could not release the claim on reprocess batch %s", batch_id, exc_info=True)

    async def _resolve(self, batch: ReprocessBatch, claim: Claim) -> bool:
        """Add every match as an item: True when done, False if it failed the batch or lost the claim."""
        assert batch.selection is not None
        query, wanted = decode_selection(batch.selection)
        outdated = decode_outdated(batch.selection)
        tenant_id, found, chunk = batch.tenant_id, 0, []
        beat = time.monotonic() + _HEARTBEAT_SECONDS
        try:
            async for page in matching_pages(self._index, tenant_id, query):
                ids = [h.asset_id for h in page.hits if wanted is None or h.asset_id in wanted]
                if outdated is not None and ids:
                    ids = await self._outdated(tenant_id, ids, outdated)
                found += len(ids)
                too_many = wanted is None and outdated is None and page.total > MAX_BATCH_ASSETS
                if found > MAX_BATCH_ASSETS or too_many:
                    return await self._fail(
                        batch, claim, f"the filter matches more than {MAX_BATCH_ASSETS} assets"
                    )
                chunk += ids
                if len(chunk) >= _CHUNK:
                    if not await self._catalog.add_batch_items(tenant_id, batch.id, chunk, claim):
                        return _lost(batch)
                    chunk = []
                if time.monotonic() >= beat:
                    if not await self._catalog.checkpoint_batch(tenant_id, batch.id, None, claim):
                        return _lost(batch)
                    beat = time.monotonic() + _HEARTBEAT_SECONDS
        except UnsupportedSearch as exc:
            return await self._fail(batch, claim, f"the index cannot answer the filter: {exc}")
        if found == 0:
            older = " and has a current run an older model made" if outdated is not None else ""
            return await self._fail(
                batch, claim, f"no indexed asset matches the filter (and the assetIds, if given){older}"
            )
        if chunk and not await self._catalog.add_batch_items(tenant_id, batch.id, chunk, claim):
            return _lost(batch)
        return True

    async def _outdated(self, tenant_id: str, ids: list[str], current: Mapping[str, ModelRef]) -> list[str]:
        """Those of the assets whose current run of an analyzer in `current` another model made."""
        models = await self._catalog.current_models(tenant_id, ids, list(current))
        return [i for i in ids if outdated_analyzers(models.get(i, {}), current)]

    async def _fail(self, batch: ReprocessBatch, claim: Claim, reason: str) -> bool:
        if not await self._catalog.fail_batch(batch.tenant_id, batch.id, reason, claim):
            return _lost(batch)
        log.warning("reprocess batch %s failed: %s", batch.id, reason)
        return False
