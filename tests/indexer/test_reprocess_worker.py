"""Reprocess jobs in the worker: failures are counted once, and a batch whose creator died is resumed."""

from __future__ import annotations

from datetime import timedelta

from catalog.ids import uuid7
from catalog.model import BatchStatus, ReprocessBatch, Stage
from catalog.run_ports import BatchItemState
from catalog.sqlite_db import utcnow
from indexer.reprocess import ReprocessRequest
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


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
    batch = ReprocessBatch(
        id=uuid7(),
        tenant_id=tenant,
        analyzers=("labels",),
        provider=None,
        parameters={},
        total=2,
        done=0,
        failed=0,
        created_at=utcnow() - timedelta(minutes=20),
    )
    await services.catalog.create_batch(batch, ids)  # recorded, never enqueued: the creator crashed
    await services.worker().run_until_idle()  # its recovery sweep finds the batch
    done = await services.catalog.get_batch(tenant, batch.id)
    assert done is not None and (done.done, done.failed, done.enqueued) == (2, 0, True)
    assert await services.catalog.unenqueued_batches() == []
