"""RunHistory contract: immutable runs, current results, as-of reads, batches and the change feed, on
every catalog adapter (SQLite, DynamoDB Local)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from catalog.domain.clock import utcnow
from catalog.domain.ids import uuid7
from catalog.domain.model import (
    BatchStatus,
    Findings,
    Label,
    RecognitionResult,
    ReprocessBatch,
    RunChange,
    RunStatus,
)
from catalog.domain.ports import CatalogStore
from catalog.domain.run_ports import BatchItemState, Claim
from tests.contract.test_catalog_contract import T0, backend, catalog, new_asset, tenants

__all__ = ["backend", "catalog"]


def run(asset_id: str, minutes: int, *labels: str, version: str = "1", **changes: Any) -> RecognitionResult:
    fields: dict[str, Any] = {
        "id": uuid7(),
        "asset_id": asset_id,
        "analyzer": "labels",
        "model_name": "m",
        "model_version": version,
        "findings": Findings(labels=tuple(Label(n, 90.0 - i) for i, n in enumerate(labels))),
        "created_at": T0 + timedelta(minutes=minutes),
        "finished_at": T0 + timedelta(minutes=minutes, seconds=1),
    }
    return RecognitionResult(**(fields | changes))


def bare(r: RecognitionResult | None) -> RecognitionResult | None:
    """The run as saved, without the change summary the store computed for it."""
    return dataclasses.replace(r, change=None) if r else None


async def test_runs_are_appended_and_the_latest_success_is_current(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    first = run(asset.id, 0, "Dog")
    second = run(asset.id, 10, "Cat", version="2")
    failed = run(asset.id, 20, status=RunStatus.FAILED, error="TimeoutError: slow")
    for r in (first, second, failed):
        await catalog.save_result(a, r)
    assert bare(await catalog.get_result(a, asset.id, "labels")) == second
    assert [r.id for r in (await catalog.runs_of(a, [asset.id])).get(asset.id, [])] == [
        failed.id,
        second.id,
        first.id,
    ]
    assert [r.id for r in (await catalog.runs_of(a, [asset.id], "labels", limit=2)).get(asset.id, [])] == [
        failed.id,
        second.id,
    ]
    assert (await catalog.runs_of(a, [asset.id], "faces")).get(asset.id, []) == []
    found = await catalog.get_runs(a, asset.id, [first.id, failed.id])
    assert {k: bare(v) for k, v in found.items()} == {first.id: first, failed.id: failed}

    late = run(asset.id, 5, "Bird")  # finished before the current one: history only
    await catalog.save_result(a, late)
    assert bare(await catalog.get_result(a, asset.id, "labels")) == second
    assert len((await catalog.runs_of(a, [asset.id])).get(asset.id, [])) == 4

    # another tenant, or another asset, addresses nothing
    other, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    assert await catalog.get_runs(b, asset.id, [first.id]) == {}
    assert await catalog.get_runs(a, other.id, [first.id]) == {}
    assert (await catalog.runs_of(b, [asset.id])).get(asset.id, []) == []
    assert await catalog.get_results(b, [asset.id]) == {}


async def test_results_as_of_a_time(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    first, second = run(asset.id, 0, "Dog"), run(asset.id, 10, "Cat")
    await catalog.save_result(a, first)
    await catalog.save_result(a, second)
    await catalog.save_result(a, run(asset.id, 20, status=RunStatus.FAILED, error="x"))

    def labels_at(minutes: int) -> Any:
        return catalog.get_results(a, [asset.id], as_of=T0 + timedelta(minutes=minutes))

    assert await labels_at(-1) == {}
    assert (await labels_at(5))[asset.id]["labels"].id == first.id
    assert (await labels_at(15))[asset.id]["labels"].id == second.id
    assert (await labels_at(30))[asset.id]["labels"].id == second.id
    by_then = await catalog.runs_of(a, [asset.id], limit=1, finished_by=T0 + timedelta(minutes=5))
    assert [r.id for r in by_then[asset.id]] == [first.id]


async def test_change_feed(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    one, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    two, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    start = utcnow()
    first = await catalog.save_result(a, run(one.id, 0, "Dog"))
    assert first is not None and first.changed and first.previous_run_id is None
    between = utcnow()
    await catalog.save_result(a, run(two.id, 1, "Cat"))
    # a rerun that found the same changes nothing and does not move the asset
    same = await catalog.save_result(a, run(one.id, 2, "Dog"))
    assert same is not None and not same.changed

    feed = await catalog.changed_assets(a, start, after=None, limit=10)
    assert [c.asset_id for c in feed] == [one.id, two.id]
    assert start <= feed[0].changed_at <= between <= feed[1].changed_at  # stamped when written
    assert await catalog.changed_assets(b, start, after=None, limit=10) == []
    assert [c.asset_id for c in await catalog.changed_assets(a, between, after=None, limit=10)] == [two.id]
    page = await catalog.changed_assets(a, start, after=None, limit=1)
    rest = await catalog.changed_assets(a, start, after=(page[0].changed_at, page[0].asset_id), limit=10)
    assert [c.asset_id for c in page + rest] == [one.id, two.id]

    # a real change moves the asset to the end, once
    await catalog.save_result(a, run(one.id, 3, "Cat"))
    assert [c.asset_id for c in await catalog.changed_assets(a, start, after=None, limit=10)] == [
        two.id,
        one.id,
    ]
    await catalog.mark_changed(a, [two.id])
    assert [c.asset_id for c in await catalog.changed_assets(a, start, after=None, limit=10)] == [
        one.id,
        two.id,
    ]
    await catalog.mark_changed(b, [one.id])  # another tenant's asset: nothing happens
    assert await catalog.changed_assets(b, start, after=None, limit=10) == []


async def test_change_records_by_batch_and_by_model_change(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    one, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    old = run(one.id, 0, "Dog", version="1")
    await catalog.save_result(a, old)
    new = run(one.id, 5, "Cat", version="2", batch_id="B1")
    change = await catalog.save_result(a, new)
    assert change == RunChange(old.id, "1", True, ("Cat",), ("Dog",), "Dog", "Cat")
    [record] = await catalog.change_records(a, batch_id="B1")
    assert (record.asset_id, record.run_id, record.model_version) == (one.id, new.id, "2")
    assert record.change == change
    late = run(one.id, 4, "Wolf", version="2", batch_id="B1")  # finished before the current run
    assert await catalog.save_result(a, late) is None
    assert await catalog.change_records(a, batch_id="B1") == [record]  # history only: no change record
    [same] = await catalog.change_records(a, analyzer="labels", from_version="1", to_version="2")
    assert same == record
    assert await catalog.change_records(a, analyzer="labels", from_version="2", to_version="1") == []
    assert await catalog.change_records(a, batch_id="B2") == []


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


def new_batch(tenant_id: str, **changes: Any) -> ReprocessBatch:
    """A batch not started yet, of the tenant's analyzers (fields: as given)."""
    fields: dict[str, Any] = {
        "analyzers": (),
        "provider": None,
        "parameters": {},
        "created_at": T0,
        "total": 0,
    }
    return ReprocessBatch(id=uuid7(), tenant_id=tenant_id, done=0, failed=0, **(fields | changes))


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


async def test_deleting_an_asset_deletes_its_runs(catalog: CatalogStore) -> None:
    [a] = await tenants(catalog, "a")
    asset, _ = await catalog.register_asset(new_asset(a, "1" * 64))
    for minutes in range(3):
        await catalog.save_result(a, run(asset.id, minutes, "Dog"))
    await catalog.save_result(a, run(asset.id, 4, "Cat", version="2", batch_id="B9"))
    assert len(await catalog.change_records(a, batch_id="B9")) == 1
    other, _ = await catalog.register_asset(new_asset(a, "2" * 64))
    await catalog.save_result(a, run(other.id, 5, "Cat"))
    await catalog.delete_asset(a, asset.id)
    assert (await catalog.runs_of(a, [asset.id])).get(asset.id, []) == []
    assert await catalog.get_results(a, [asset.id]) == {}
    assert await catalog.change_records(a, batch_id="B9") == []
    assert await catalog.change_records(a, analyzer="labels", from_version="1", to_version="2") == []
    # the feed keeps a tombstone, after the other asset's change, so downstream apps learn of the deletion
    feed = await catalog.changed_assets(a, T0, after=None, limit=10)
    assert [(c.asset_id, c.deleted) for c in feed] == [(other.id, False), (asset.id, True)]
