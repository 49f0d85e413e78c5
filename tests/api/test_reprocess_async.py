"""Starting a batch from a filter (or from many IDs) returns at once, PREPARING; a worker's background job
resolves it, records its items and queues their jobs. Real SQLite storage, queue and worker."""

from __future__ import annotations

import pytest

from catalog.domain.ids import uuid7
from catalog.domain.model import TenantConfig
from mediasight.bootstrap import Services
from services.reprocessing import batches as reprocess
from services.reprocessing import preparation as batch_preparation
from tests.api.test_reprocess import REPROCESS, gql, ingest
from tests.conftest import make_tenant

BATCH = "query ($id: ID!) { reprocessBatch(id: $id) { status total done failed progress error } }"


async def start(services: Services, tenant: str, **variables: object) -> dict[str, object]:
    payload = (await gql(services, tenant, REPROCESS, **variables))["reprocess"]
    assert payload["error"] is None, payload
    batch: dict[str, object] = payload["batch"]
    return batch


async def status(services: Services, tenant: str, batch_id: object) -> dict[str, object]:
    found: dict[str, object] = (await gql(services, tenant, BATCH, id=batch_id))["reprocessBatch"]
    return found


async def test_a_filter_batch_is_preparing_until_the_worker_prepares_it(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(
        services, tenant, {"red": (240, 20, 20), "mixed": (160, 90, 50), "blue": (20, 20, 200)}
    )
    batch = await start(services, tenant, filter={}, analyzers=["labels"])
    assert (batch["status"], batch["total"], batch["progress"]) == ("PREPARING", 0, 0.0)
    assert await services.queue.pending() == 1  # its start job, nothing per asset yet
    assert (await status(services, tenant, batch["id"]))["status"] == "PREPARING"

    await services.worker().run_until_idle()
    assert await status(services, tenant, batch["id"]) == {
        "status": "COMPLETED",
        "total": 3,
        "done": 3,
        "failed": 0,
        "progress": 1.0,
        "error": None,
    }
    # with assetIds too: the assets in both, and IDs that are not in the tenant simply match nothing
    both = await start(services, tenant, filter={"labels": ["red"]}, ids=[ids["red"], ids["blue"], "junk"])
    await services.worker().run_until_idle()
    assert (await status(services, tenant, both["id"]))["total"] == 1
    runs = await services.catalog.runs_of(tenant, list(ids.values()), "labels")
    assert sum(r.batch_id == both["id"] for rs in runs.values() for r in rs) == 1


async def test_a_filter_that_matches_nothing_or_too_much_fails_the_batch(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, {"red": (240, 20, 20), "mixed": (160, 90, 50)})
    nothing = await start(services, tenant, filter={"labels": ["nothing-like-this"]})
    monkeypatch.setattr(batch_preparation, "MAX_BATCH_ASSETS", 1)
    too_many = await start(services, tenant, filter={"labels": ["red"]})
    await services.worker().run_until_idle()

    failed = await status(services, tenant, nothing["id"])
    assert (failed["status"], failed["total"], failed["progress"]) == ("FAILED", 0, 1.0)
    assert "no indexed asset matches the filter" in str(failed["error"])
    failed = await status(services, tenant, too_many["id"])
    assert failed["status"] == "FAILED" and "more than 1 assets" in str(failed["error"])
    assert await services.queue.pending() == 0
    listing = await gql(services, tenant, "{ reprocessBatches { status } }")
    assert listing["reprocessBatches"] == [{"status": "FAILED"}, {"status": "FAILED"}]


async def test_many_asset_ids_are_recorded_at_once_and_queued_by_the_worker(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, {"red": (240, 20, 20), "mixed": (160, 90, 50)})
    monkeypatch.setattr(reprocess, "INLINE_ASSETS", 1)
    batch = await start(services, tenant, ids=list(ids.values()))
    assert (batch["status"], batch["total"]) == ("PREPARING", 2)  # checked and recorded: total known
    missing = (await gql(services, tenant, REPROCESS, ids=[*ids.values(), uuid7()]))["reprocess"]
    assert missing["batch"] is None and missing["error"]["code"] == "NOT_FOUND"  # still checked at once
    await services.worker().run_until_idle()
    assert (await status(services, tenant, batch["id"]))["status"] == "COMPLETED"


async def test_another_tenant_cannot_see_a_preparing_batch(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    await ingest(services, tenant, {"red": (240, 20, 20)})
    theirs = await ingest(services, other, {"blue": (20, 20, 200)})
    batch = await start(services, tenant, filter={})
    assert (await gql(services, other, BATCH, id=batch["id"]))["reprocessBatch"] is None
    await services.worker().run_until_idle()
    assert (await status(services, tenant, batch["id"]))["total"] == 1  # its own index only
    runs = await services.catalog.runs_of(other, list(theirs.values()))
    assert all(r.batch_id is None for rs in runs.values() for r in rs)


def synonyms(groups: int) -> TenantConfig:
    """Label synonym groups of about 90 bytes each (the batch keeps them with its filter)."""
    return TenantConfig(synonyms=tuple((f"label {i:036d}", f"alias {i:036d}") for i in range(groups)))


async def test_a_selection_too_large_for_a_batch_is_refused_with_what_to_do(services: Services) -> None:
    """A batch keeps its filter (with the tenant's synonyms) and assetIds until it is resolved, in one
    DynamoDB item on the scale-out catalog: beyond MAX_SELECTION_BYTES, a typed error, on every store."""
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, {"red": (240, 20, 20)})
    await services.catalog.set_tenant_config(tenant, synonyms(2_000))  # ~180 KB: a filter alone fits
    assert (await start(services, tenant, filter={}))["status"] == "PREPARING"
    ids = [uuid7() for _ in range(reprocess.MAX_FILTER_IDS)]  # ~200 KB more
    refused = (await gql(services, tenant, REPROCESS, filter={}, ids=ids))["reprocess"]
    assert refused["batch"] is None and refused["error"]["code"] == "TOO_MANY_ASSETS"
    assert "pass fewer assetIds" in refused["error"]["message"]

    await services.catalog.set_tenant_config(tenant, synonyms(4_000))  # ~360 KB
    refused = (await gql(services, tenant, REPROCESS, filter={}))["reprocess"]
    assert refused["batch"] is None and refused["error"]["code"] == "INVALID_FILTER"
    assert "trim the tenant's synonym groups" in refused["error"]["message"]
    assert len(await services.catalog.list_batches(tenant, limit=9)) == 1  # nothing recorded
