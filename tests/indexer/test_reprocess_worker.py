"""Reprocess jobs in the worker: failures are counted once, a batch whose creator died is resumed, and a
batch's preparation (its start job) survives failures midway without queueing or counting anything twice.
Fakes only at the ports: the real queue and index, wrapped to fail at a chosen call."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from catalog.domain.clock import utcnow
from catalog.domain.model import BatchStatus, Stage
from catalog.domain.ports import Job, JobQueue, SearchIndex, SearchPage, SearchQuery, SortOrder
from catalog.domain.run_ports import BatchItemState, Claim
from catalog.sqlite import preparations as sqlite_preparations
from indexer.worker import Worker, WorkerSettings
from mediasight.bootstrap import Services
from services.reprocessing import preparation as batch_preparation
from services.reprocessing.preparation import (
    BatchPreparation,
    batch_of,
    decode_selection,
    encode_selection,
    recover_batches,
)
from services.reprocessing.requests import ReprocessRequest
from tests.conftest import jpeg_bytes, make_tenant
from tests.contract.catalogs import new_batch


async def ingest(services: Services, tenant: str, *colors: tuple[int, int, int]) -> list[str]:
    ids = []
    for color in colors:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), "x.jpg")
        assert outcome.asset is not None
        ids.append(outcome.asset.id)
    await services.worker().run_until_idle()
    return ids


async def test_an_asset_that_cannot_be_reprocessed_fails_its_item_once(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    good, bad = await ingest(services, tenant, (240, 20, 20), (20, 20, 240))
    await services.catalog.set_stage(tenant, bad, Stage.FAILED, "decoder exploded")
    batch = await services.reprocess.start(
        tenant, [good, bad], ReprocessRequest(parameters={"max_labels": 1})
    )
    await services.worker().run_until_idle()
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and (done.done, done.failed) == (1, 1)
    assert done.status == BatchStatus.COMPLETED_WITH_FAILURES
    assert await services.catalog.batch_items(
        tenant, batch.id, BatchItemState.FAILED, after=None, limit=5
    ) == [bad]
    runs = (await services.catalog.runs_of(tenant, [good], "labels")).get(good, [])
    assert [r.batch_id for r in runs] == [batch.id, None] and runs[0].parameters["max_labels"] == 1


async def test_recovery_enqueues_a_batch_its_creator_left_behind(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, (240, 20, 20), (20, 240, 20))
    batch = new_batch(tenant, analyzers=("labels",), total=2, created_at=utcnow() - timedelta(minutes=20))
    await services.catalog.create_batch(batch, ids)  # recorded, never enqueued: the creator crashed
    await services.worker().run_until_idle()  # its recovery sweep finds the batch
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and (done.done, done.failed, done.enqueued) == (2, 0, True)
    assert await services.catalog.unenqueued_batches() == []


class FlakyQueue:
    """The real queue, failing once at the `fail_at`-th per-asset enqueue; records the ones that succeed."""

    def __init__(self, queue: JobQueue, fail_at: int) -> None:
        self._queue, self._fail_at, self._calls = queue, fail_at, 0
        self.dedupes = queue.dedupes
        self.enqueued: list[str] = []

    async def enqueue(self, kind: str, tenant_id: str, asset_id: str, *, background: bool = False) -> None:
        if batch_of(kind) is not None:
            self._calls += 1
            if self._calls == self._fail_at:
                raise ConnectionError("queue unreachable")
            self.enqueued.append(asset_id)
        await self._queue.enqueue(kind, tenant_id, asset_id, background=background)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


class FlakyIndex:
    """The real index, failing at the `fail_at`-th search (every one from then on with `forever`)."""

    def __init__(self, index: SearchIndex, fail_at: int, *, forever: bool = False) -> None:
        self._index, self._fail_at, self._forever, self._calls = index, fail_at, forever, 0

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        self._calls += 1
        if self._calls == self._fail_at or (self._forever and self._calls > self._fail_at):
            raise ConnectionError("index unreachable")
        return await self._index.search(tenant_id, query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def worker_with(services: Services, *, queue: Any = None, index: Any = None, max_attempts: int = 5) -> Worker:
    queue = queue or services.queue
    preparation = BatchPreparation(services.catalog, index or services.index, queue)
    settings = WorkerSettings(max_attempts=max_attempts, retry_base_seconds=0.0, poll_seconds=0.01)
    return Worker(queue, services.catalog, services.pipeline, settings, preparation)


EVERYTHING = SearchQuery(sort=SortOrder.CREATED)


async def runs_in(services: Services, tenant: str, ids: list[str], batch_id: str) -> dict[str, int]:
    runs = await services.catalog.runs_of(tenant, ids, "labels")
    return {a: sum(r.batch_id == batch_id for r in runs.get(a, [])) for a in ids}


async def test_a_preparation_that_fails_while_resolving_resumes_without_duplicates(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_preparation, "_PAGE", 1)
    monkeypatch.setattr(batch_preparation, "_CHUNK", 1)
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, (240, 20, 20), (20, 240, 20), (20, 20, 240))
    batch = await services.reprocess.start(tenant, None, ReprocessRequest(), query=EVERYTHING)
    assert batch.status == BatchStatus.PREPARING

    crashing = BatchPreparation(services.catalog, FlakyIndex(services.index, 2), services.queue)
    with pytest.raises(ConnectionError):  # the first page's item is recorded, then the index fails
        await crashing.prepare(tenant, batch.id)
    midway = await services.catalog.get_batch(tenant, batch.id)
    assert midway is not None and (midway.status, midway.total) == (BatchStatus.PREPARING, 0)
    assert len(await services.catalog.batch_items(tenant, batch.id, "pending", after=None, limit=9)) == 1

    await services.worker().run_until_idle()  # its start job, still queued, runs the preparation again
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and (done.status, done.total, done.done, done.failed) == (
        BatchStatus.COMPLETED,
        3,
        3,
        0,
    )
    assert await runs_in(services, tenant, ids, batch.id) == dict.fromkeys(ids, 1)


async def test_a_preparation_that_fails_while_queueing_resumes_after_its_checkpoint(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_preparation, "_CHUNK", 1)
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, (240, 20, 20), (20, 240, 20), (20, 20, 240))
    batch = await services.reprocess.start(tenant, None, ReprocessRequest(), query=EVERYTHING)
    flaky = FlakyQueue(services.queue, fail_at=2)
    await worker_with(services, queue=flaky).run_until_idle()  # the start job fails once, then is retried
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and (done.status, done.total, done.done) == (BatchStatus.COMPLETED, 3, 3)
    assert sorted(flaky.enqueued) == sorted(ids)  # each asset's job queued once: no re-queue from the start
    assert await runs_in(services, tenant, ids, batch.id) == dict.fromkeys(ids, 1)


async def test_a_preparation_that_keeps_failing_ends_the_batch_failed(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, (240, 20, 20))
    batch = await services.reprocess.start(tenant, None, ReprocessRequest(), query=EVERYTHING)
    broken = FlakyIndex(services.index, 1, forever=True)
    await worker_with(services, index=broken, max_attempts=2).run_until_idle()
    failed = await services.catalog.get_batch(tenant, batch.id)
    assert failed is not None and failed.status == BatchStatus.FAILED
    assert "could not resolve the filter: gave up after 2 attempts" in failed.error
    assert await services.catalog.unenqueued_batches() == []


async def test_recovery_prepares_a_filter_batch_whose_start_job_was_lost(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, (240, 20, 20), (20, 240, 20))
    stale = utcnow() - timedelta(minutes=20)
    lost, alive = (
        new_batch(tenant, created_at=stale, selection=encode_selection(EVERYTHING, None)) for _ in range(2)
    )
    for batch in (lost, alive):
        await services.catalog.create_batch(batch, [])  # recorded; the request died before its start job
    await services.catalog.checkpoint_batch(tenant, alive.id, None)  # a live preparer's heartbeat
    assert await recover_batches(services.catalog, services.queue) == 1
    assert await recover_batches(services.catalog, services.queue) == 0  # waits for the job it queued
    await services.worker().run_until_idle()
    done = await services.catalog.get_batch(tenant, lost.id)
    assert done is not None and (done.status, done.total, done.done) == (BatchStatus.COMPLETED, 2, 2)
    assert await runs_in(services, tenant, ids, lost.id) == dict.fromkeys(ids, 1)
    waiting = await services.catalog.get_batch(tenant, alive.id)
    assert waiting is not None and waiting.status == BatchStatus.PREPARING


def test_a_selection_survives_its_encoding() -> None:
    query = SearchQuery(
        labels=("Dog", "Hound"),
        all_labels=("Animal",),
        not_labels=("Cat",),
        min_confidence=60.0,
        label_confidence={"dog": 80.0},
        persons=("Ada",),
        phrase="hello world",
        exclude_moderation=True,
        media_types=("image/jpeg",),
        created_after=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        captured_before=datetime(2026, 2, 1, tzinfo=UTC),
        sort=SortOrder.CREATED,
        roots_only=True,
        synonyms=(("Dog", "Hound"),),
    )
    assert decode_selection(encode_selection(query, None)) == (query, None)
    assert decode_selection(encode_selection(query, ["a", "b"])) == (query, frozenset({"a", "b"}))


class BlinkingQueue:
    """The real queue, whose lease extension fails once (a network blip), then works."""

    def __init__(self, queue: JobQueue) -> None:
        self._queue = queue
        self.extends = 0
        self.kept = asyncio.Event()  # extended after the failure

    async def extend(self, job: Job, lease_seconds: float) -> bool:
        self.extends += 1
        if self.extends == 1:
            raise ConnectionError("queue unreachable")
        self.kept.set()
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


async def test_a_worker_keeps_a_lease_through_a_failed_extension(services: Services) -> None:
    """A lease given up at the first blip lets the queue hand the job to a second worker meanwhile."""
    queue = BlinkingQueue(services.queue)
    preparation = BatchPreparation(services.catalog, services.index, queue)  # type: ignore[arg-type]
    settings = WorkerSettings(lease_seconds=0.03)
    worker = Worker(queue, services.catalog, services.pipeline, settings, preparation)  # type: ignore[arg-type]
    keeper = asyncio.create_task(worker._keep_lease(Job("j", "reprocess-start:b", "t", "b", 1, "token")))
    await asyncio.wait_for(queue.kept.wait(), 5)
    assert not keeper.done()
    keeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await keeper


async def test_recovery_leaves_a_batch_to_the_run_that_holds_it(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    long_ago = utcnow() - timedelta(minutes=20)
    batch = new_batch(tenant, created_at=long_ago, selection=encode_selection(EVERYTHING, None))
    await services.catalog.create_batch(batch, [])
    monkeypatch.setattr(sqlite_preparations, "utcnow", lambda: long_ago)  # its last heartbeat: long ago
    assert await services.catalog.claim_batch(tenant, batch.id, Claim("other", timedelta(hours=1)))
    monkeypatch.undo()
    held = await services.catalog.get_batch(tenant, batch.id)
    assert held is not None and held.heartbeat_at == long_ago
    assert await recover_batches(services.catalog, services.queue) == 0  # its claim runs 40 minutes yet


async def test_a_start_job_that_gives_up_leaves_a_claimed_batch_to_its_holder(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    batch = new_batch(tenant, selection=encode_selection(EVERYTHING, None))
    await services.catalog.create_batch(batch, [])
    assert await services.catalog.claim_batch(tenant, batch.id, Claim("live", timedelta(minutes=5)))
    preparation = BatchPreparation(services.catalog, services.index, services.queue)
    await preparation.abandon(tenant, batch.id, "gave up after 5 attempts: a duplicate delivery")
    kept = await services.catalog.get_batch(tenant, batch.id)
    assert kept is not None and (kept.status, kept.error) == (BatchStatus.PREPARING, "")
