"""BatchStore contract, on every catalog adapter (SQLite, DynamoDB Local): batches count each item once and
resolve from a filter; preparing one, one run at a time holds a batch (its claim), a run whose claim ran
out stops, the total counts every item, a resolved batch never fails, and a selection as large as a batch
may keep fits every store."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import (
    BatchStatus,
)
from catalog.domain.ports import CatalogStore, SearchHit, SearchPage, SearchQuery, SortOrder
from catalog.domain.run_ports import MAX_SELECTION_BYTES, BatchItemState, Claim
from catalog.dynamodb.catalog import DynamoCatalog
from services.reprocessing import preparation as batch_preparation
from services.reprocessing.preparation import BatchPreparation, batch_of, encode_selection
from tests.contract.catalogs import backend, catalog, new_batch, tenants
from tests.contract.dynamodb_server import fresh_table

__all__ = ["backend", "catalog"]

LEASE = timedelta(minutes=5)
SELECTION = '{"query": {}}'


def claim() -> Claim:
    return Claim(uuid7(), LEASE)


def run_out(held: Claim) -> Claim:
    """The same owner's claim, renewed so that it has run out (as if its run paused for too long)."""
    return dataclasses.replace(held, lease=timedelta(seconds=-1))


async def test_a_claim_keeps_every_other_run_away(catalog: CatalogStore) -> None:
    (a,) = await tenants(catalog, "a")
    ids = sorted(uuid7() for _ in range(3))
    batch = new_batch(a, selection=SELECTION)
    await catalog.create_batch(batch, [])
    first, second = claim(), claim()
    assert await catalog.claim_batch(a, batch.id, first)
    assert not await catalog.claim_batch(a, batch.id, second)  # a live run has it
    assert await catalog.claim_batch(a, batch.id, first)  # its own run renews it
    held = await catalog.get_batch(a, batch.id)
    assert held is not None and held.claimed_until is not None and held.claimed_until > utcnow()

    # nothing the other run asks for is done
    assert not await catalog.add_batch_items(a, batch.id, ids, second)
    assert await catalog.resolve_batch(a, batch.id, second) is None
    assert not await catalog.fail_batch(a, batch.id, "no match", second)
    assert not await catalog.checkpoint_batch(a, batch.id, ids[0], second)
    assert not await catalog.set_batch_enqueued(a, batch.id, second)
    untouched = await catalog.get_batch(a, batch.id)
    assert untouched is not None and (untouched.status, untouched.enqueued_through) == (
        BatchStatus.PREPARING,
        None,
    )
    assert await catalog.batch_items(a, batch.id, BatchItemState.PENDING, after=None, limit=9) == []

    # the first run pauses past its lease: the next one takes over, and the first can do nothing more
    assert await catalog.add_batch_items(a, batch.id, ids[:1], first)
    assert await catalog.claim_batch(a, batch.id, run_out(first))
    assert await catalog.claim_batch(a, batch.id, second)
    assert not await catalog.add_batch_items(a, batch.id, ids[1:], first)
    assert not await catalog.checkpoint_batch(a, batch.id, None, first)
    assert await catalog.resolve_batch(a, batch.id, first) is None
    await catalog.release_batch(a, batch.id, first)  # not its claim any more: nothing
    assert not await catalog.claim_batch(a, batch.id, claim())

    # a claim that ran out stops its own run too, even before another run takes it
    assert await catalog.claim_batch(a, batch.id, run_out(second))
    assert not await catalog.checkpoint_batch(a, batch.id, None, second)
    assert await catalog.claim_batch(a, batch.id, second)  # (while nobody else took it, it may renew)
    assert await catalog.resolve_batch(a, batch.id, second) == 1
    assert await catalog.checkpoint_batch(a, batch.id, ids[0], second)
    await catalog.release_batch(a, batch.id, second)  # given up: the next run claims at once
    third = claim()
    assert await catalog.claim_batch(a, batch.id, third)
    assert await catalog.set_batch_enqueued(a, batch.id, third)
    assert not await catalog.claim_batch(a, batch.id, claim())  # RUNNING: nothing to prepare
    failing = new_batch(a, selection=SELECTION)
    await catalog.create_batch(failing, [])
    assert await catalog.claim_batch(a, failing.id, third)
    assert await catalog.fail_batch(a, failing.id, "no match", third)
    assert not await catalog.claim_batch(a, failing.id, claim())  # FAILED: nothing to prepare


async def test_a_late_item_cannot_slip_past_the_count(
    catalog: CatalogStore, backend: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = await tenants(catalog, "a")
    batch = new_batch(a, selection=SELECTION)
    await catalog.create_batch(batch, [])
    ids = sorted(uuid7() for _ in range(3))
    mine = claim()
    assert await catalog.claim_batch(a, batch.id, mine)
    assert await catalog.add_batch_items(a, batch.id, ids[:2], mine)
    late: list[bool] = []
    if backend[0] == "dynamodb":  # counting and setting the total are two requests: add one in between
        count = catalog._count_items  # type: ignore[attr-defined]

        async def count_then_add(pk: str) -> int:
            n: int = await count(pk)
            late.append(await catalog.add_batch_items(a, batch.id, ids[2:], mine))
            return n

        monkeypatch.setattr(catalog, "_count_items", count_then_add)
    total = await catalog.resolve_batch(a, batch.id, mine)
    late.append(await catalog.add_batch_items(a, batch.id, ids[2:], mine))
    assert total == 2 and not any(late)
    assert await catalog.set_batch_enqueued(a, batch.id, mine)
    for asset_id in ids[:2]:
        assert await catalog.finish_batch_item(a, batch.id, asset_id, failed=False)
    done = await catalog.get_batch(a, batch.id)
    pending = await catalog.batch_items(a, batch.id, BatchItemState.PENDING, after=None, limit=9)
    assert done is not None and done.status == BatchStatus.COMPLETED and pending == []


async def test_a_resolved_batch_cannot_fail(catalog: CatalogStore) -> None:
    (a,) = await tenants(catalog, "a")
    batch = new_batch(a, selection=SELECTION)
    await catalog.create_batch(batch, [])
    mine = claim()
    assert await catalog.claim_batch(a, batch.id, mine)
    assert await catalog.add_batch_items(a, batch.id, [uuid7()], mine)
    assert await catalog.resolve_batch(a, batch.id, mine) == 1
    assert not await catalog.fail_batch(a, batch.id, "no indexed asset matches the filter", mine)
    kept = await catalog.get_batch(a, batch.id)
    assert kept is not None and (kept.status, kept.error) == (BatchStatus.PREPARING, "")
    assert [b.id for b in await catalog.unenqueued_batches()] == [batch.id]  # recovery finishes it


async def test_an_outdated_only_batch_stays_one_past_its_resolution(catalog: CatalogStore) -> None:
    """reprocess(outdated): its jobs narrow each asset's analyzers by it long after the selection is gone."""
    (a,) = await tenants(catalog, "a")
    batch = new_batch(a, selection=SELECTION, outdated_only=True)
    plain = new_batch(a, selection=SELECTION)
    await catalog.create_batch(batch, [])
    await catalog.create_batch(plain, [])
    mine = claim()
    assert await catalog.claim_batch(a, batch.id, mine)
    assert await catalog.add_batch_items(a, batch.id, [uuid7()], mine)
    assert await catalog.resolve_batch(a, batch.id, mine) == 1
    kept = await catalog.get_batch(a, batch.id)
    assert kept is not None and kept.selection is None and kept.outdated_only
    other = await catalog.get_batch(a, plain.id)
    assert other is not None and not other.outdated_only
    assert {b.id: b.outdated_only for b in await catalog.list_batches(a, limit=10)} == {
        batch.id: True,
        plain.id: False,
    }


async def test_an_interrupted_count_is_finished_by_the_next_run(
    catalog: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a,) = await tenants(catalog, "a")
    batch = new_batch(a, selection=SELECTION)
    await catalog.create_batch(batch, [])
    first = claim()
    assert await catalog.claim_batch(a, batch.id, first)
    assert await catalog.add_batch_items(a, batch.id, [uuid7(), uuid7()], first)
    if isinstance(catalog, DynamoCatalog):  # the selection is closed, then the process dies
        with monkeypatch.context() as patch:
            patch.setattr(catalog, "_count_items", _crash)
            with pytest.raises(ConnectionError):
                await catalog.resolve_batch(a, batch.id, first)
        midway = await catalog.get_batch(a, batch.id)
        assert midway is not None and midway.status == BatchStatus.PREPARING
        assert not await catalog.fail_batch(a, batch.id, "late", first)  # closed: no longer fails
    second = claim()
    assert await catalog.claim_batch(a, batch.id, run_out(first))
    assert await catalog.claim_batch(a, batch.id, second)
    assert await catalog.resolve_batch(a, batch.id, second) == 2
    resolved = await catalog.get_batch(a, batch.id)
    assert resolved is not None and (resolved.total, resolved.selection) == (2, None)


async def _crash(pk: str) -> int:
    raise ConnectionError("the process died")


async def test_a_selection_as_large_as_a_batch_keeps_fits_every_store(catalog: CatalogStore) -> None:
    (a,) = await tenants(catalog, "a")
    largest = new_batch(a, selection='"' + "x" * (MAX_SELECTION_BYTES - 2) + '"')
    await catalog.create_batch(largest, [])
    assert await catalog.get_batch(a, largest.id) == largest
    larger = new_batch(a, selection='"' + "x" * (MAX_SELECTION_BYTES - 1) + '"')
    with pytest.raises(ValueError, match="at most"):
        await catalog.create_batch(larger, [])
    assert await catalog.get_batch(a, larger.id) is None
    assert [b.id for b in await catalog.unenqueued_batches()] == [largest.id]


class ListIndex:
    """The search index port over a fixed list of matches, paged by position (yields at every page)."""

    def __init__(self, ids: list[str]) -> None:
        self._ids = ids

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        await asyncio.sleep(0)
        start = int(query.after or 0)
        end = start + (query.first or 20)
        hits = tuple(SearchHit(asset_id=a, score=1.0) for a in self._ids[start:end])
        return SearchPage(len(self._ids), hits, str(end), end < len(self._ids))


class RecordingQueue:
    """The queue port as SQS is to a preparation: it keeps every message (no dedupe)."""

    dedupes = False

    def __init__(self) -> None:
        self.queued: list[str] = []

    async def enqueue(self, kind: str, tenant_id: str, asset_id: str, *, background: bool = False) -> None:
        if batch_of(kind) is not None:
            self.queued.append(asset_id)
        await asyncio.sleep(0)


async def filter_batch(catalog: CatalogStore) -> tuple[str, str, list[str]]:
    (a,) = await tenants(catalog, "a")
    batch = new_batch(a, selection=encode_selection(SearchQuery(sort=SortOrder.CREATED), None))
    await catalog.create_batch(batch, [])
    return a, batch.id, sorted(uuid7() for _ in range(6))


async def test_two_preparations_at_once_queue_each_asset_once(
    catalog: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_preparation, "_PAGE", 2)
    monkeypatch.setattr(batch_preparation, "_CHUNK", 2)
    tenant, batch_id, ids = await filter_batch(catalog)
    queue = RecordingQueue()
    runs = [BatchPreparation(catalog, ListIndex(ids), queue) for _ in range(3)]  # type: ignore[arg-type]
    await asyncio.gather(*(run.prepare(tenant, batch_id) for run in runs))
    assert sorted(queue.queued) == ids
    done = await catalog.get_batch(tenant, batch_id)
    assert done is not None and (done.status, done.total) == (BatchStatus.RUNNING, len(ids))


class PausingCatalog:
    """The catalog, pausing a run at its first read of pending items (it is queueing) until let go."""

    def __init__(self, catalog: CatalogStore) -> None:
        self._catalog = catalog
        self.paused, self.go = asyncio.Event(), asyncio.Event()

    async def batch_items(self, *args: Any, **kwargs: Any) -> list[str]:
        if not self.paused.is_set():
            self.paused.set()
            await self.go.wait()
        return await self._catalog.batch_items(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


async def test_a_preparation_paused_past_its_lease_queues_nothing(
    catalog: CatalogStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_preparation, "_CHUNK", 2)
    tenant, batch_id, ids = await filter_batch(catalog)
    queue, pausing = RecordingQueue(), PausingCatalog(catalog)
    lease = timedelta(seconds=1)
    slow = BatchPreparation(pausing, ListIndex(ids), queue, lease=lease)  # type: ignore[arg-type]
    paused = asyncio.create_task(slow.prepare(tenant, batch_id))
    await pausing.paused.wait()  # resolved, about to queue: then it stalls past its lease
    await asyncio.sleep(lease.total_seconds() + 0.2)
    await BatchPreparation(catalog, ListIndex(ids), queue).prepare(tenant, batch_id)  # type: ignore[arg-type]
    assert sorted(queue.queued) == ids
    pausing.go.set()
    await paused
    assert sorted(queue.queued) == ids  # the paused run found its claim gone and stopped
    done = await catalog.get_batch(tenant, batch_id)
    assert done is not None and (done.status, done.total) == (BatchStatus.RUNNING, len(ids))


class InFlight:
    """A DynamoDB client that counts the transactions it has in flight at once."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.now = self.most = 0

    async def transact_write_items(self, **request: Any) -> Any:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            return await self._client.transact_write_items(**request)
        finally:
            self.now -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.dynamodb
async def test_items_are_added_by_one_transaction_at_a_time(dynamodb_client: Any) -> None:
    """Each transaction checks the batch's meta item: two at once on one item conflict on real DynamoDB."""
    counting = InFlight(dynamodb_client)
    async with fresh_table(dynamodb_client) as table:
        catalog = DynamoCatalog(counting, table)
        (a,) = await tenants(catalog, "a")
        batch = new_batch(a, selection=SELECTION)
        await catalog.create_batch(batch, [])
        mine = claim()
        assert await catalog.claim_batch(a, batch.id, mine)
        ids = [uuid7() for _ in range(500)]
        assert await catalog.add_batch_items(a, batch.id, ids, mine)
        assert await catalog.resolve_batch(a, batch.id, mine) == 500
    assert counting.most == 1


async def test_batches_count_each_item_once(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    ids = sorted(uuid7() for _ in range(5))
    batch = new_batch(
        a, analyzers=("labels",), provider="local", parameters={"labels": {"min_confidence": 50.0}}, total=5
    )
    await catalog.create_batch(batch, ids)
    stored = await catalog.get_batch(a, batch.id)
    assert stored == batch and stored.status == BatchStatus.PREPARING  # its jobs are not all queued yet
    assert await catalog.get_batch(b, batch.id) is None
    assert [x.id for x in await catalog.unenqueued_batches()] == [batch.id]
    first = await catalog.batch_items(a, batch.id, BatchItemState.PENDING, after=None, limit=2)
    rest = await catalog.batch_items(a, batch.id, BatchItemState.PENDING, after=first[-1], limit=10)
    assert first + rest == ids
    assert await catalog.batch_items(b, batch.id, BatchItemState.PENDING, after=None, limit=10) == []

    await catalog.set_batch_enqueued(a, batch.id)
    assert await catalog.unenqueued_batches() == []
    running = await catalog.get_batch(a, batch.id)
    assert running is not None and running.status == BatchStatus.RUNNING
    assert await catalog.finish_batch_item(a, batch.id, ids[0], failed=False)
    assert not await catalog.finish_batch_item(a, batch.id, ids[0], failed=False)  # a retried job
    assert not await catalog.finish_batch_item(b, batch.id, ids[1], failed=False)  # another tenant
    for asset_id in ids[1:4]:
        assert await catalog.finish_batch_item(a, batch.id, asset_id, failed=False)
    assert await catalog.finish_batch_item(a, batch.id, ids[4], failed=True, error="gave up")
    done = await catalog.get_batch(a, batch.id)
    assert done is not None and (done.done, done.failed, done.enqueued) == (4, 1, True)
    assert done.status == BatchStatus.COMPLETED_WITH_FAILURES
    assert await catalog.batch_items(a, batch.id, BatchItemState.FAILED, after=None, limit=10) == [ids[4]]
    assert await catalog.batch_failures(a, batch.id, limit=10) == [(ids[4], "gave up")]
    assert await catalog.batch_item_state(a, batch.id, ids[4]) == BatchItemState.FAILED
    assert await catalog.batch_item_state(a, batch.id, ids[0]) == BatchItemState.DONE
    assert await catalog.batch_item_state(b, batch.id, ids[0]) is None
    assert await catalog.batch_failures(b, batch.id, limit=10) == []
    later = dataclasses.replace(batch, id=uuid7(), total=1)
    await catalog.create_batch(later, ids[:1])
    assert [x.id for x in await catalog.list_batches(a, limit=5)] == [later.id, batch.id]
    assert [x.id for x in await catalog.list_batches(a, limit=1)] == [later.id]
    assert await catalog.list_batches(b, limit=5) == []


async def test_a_batch_resolved_from_a_filter(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    ids = sorted(uuid7() for _ in range(250))
    batch = new_batch(a, selection='{"query": {"labels": ["dog"]}}')
    await catalog.create_batch(batch, [])
    assert await catalog.get_batch(a, batch.id) == batch and batch.status == BatchStatus.PREPARING
    mine = Claim(uuid7(), timedelta(minutes=5))
    assert not await catalog.claim_batch(b, batch.id, mine)  # another tenant's batch
    assert await catalog.claim_batch(a, batch.id, mine)
    # added in chunks, some twice (a retried preparation): each item once
    assert await catalog.add_batch_items(a, batch.id, ids[:200], mine)
    assert await catalog.add_batch_items(a, batch.id, ids[150:] + ids[150:], mine)
    assert not await catalog.add_batch_items(b, batch.id, [uuid7()], mine)  # another tenant's batch
    assert await catalog.checkpoint_batch(a, batch.id, None, mine)
    beating = await catalog.get_batch(a, batch.id)
    assert beating is not None and beating.heartbeat_at is not None and beating.total == 0
    assert await catalog.resolve_batch(b, batch.id, mine) is None
    assert await catalog.resolve_batch(a, batch.id, mine) == 250
    assert await catalog.resolve_batch(a, batch.id, mine) == 250  # once
    assert not await catalog.add_batch_items(a, batch.id, [uuid7()], mine)  # resolved: its items are fixed
    resolved = await catalog.get_batch(a, batch.id)
    assert resolved is not None and (resolved.selection, resolved.total) == (None, 250)
    assert resolved.status == BatchStatus.PREPARING and [
        x.id for x in await catalog.unenqueued_batches()
    ] == [batch.id]
    pending = await catalog.batch_items(a, batch.id, BatchItemState.PENDING, after=None, limit=300)
    assert pending == ids

    assert await catalog.checkpoint_batch(a, batch.id, ids[99], mine)
    assert await catalog.checkpoint_batch(a, batch.id, None)  # a heartbeat keeps the checkpoint
    assert not await catalog.checkpoint_batch(b, batch.id, ids[200])  # another tenant: nothing
    resumed = await catalog.get_batch(a, batch.id)
    assert resumed is not None and resumed.enqueued_through == ids[99]

    failing = dataclasses.replace(batch, id=uuid7())
    await catalog.create_batch(failing, [])
    assert await catalog.claim_batch(a, failing.id, mine)
    assert await catalog.fail_batch(a, failing.id, "no indexed asset matches the filter", mine)
    failed = await catalog.get_batch(a, failing.id)
    assert failed is not None and failed.status == BatchStatus.FAILED
    assert failed.error == "no indexed asset matches the filter" and failed.total == 0
    assert not await catalog.add_batch_items(a, failing.id, ids[:1], mine)
    assert [x.id for x in await catalog.unenqueued_batches()] == [batch.id]  # a failed batch is left alone
    assert [x.status for x in await catalog.list_batches(a, limit=5)] == [
        BatchStatus.FAILED,
        BatchStatus.PREPARING,
    ]
