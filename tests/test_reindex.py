from __future__ import annotations

from rich.console import Console

from catalog.ports import SearchQuery
from mediasight.bootstrap import Services
from mediasight.reindex import rebuild
from tests.conftest import jpeg_bytes, make_tenant


async def test_reindex_rebuilds_the_index_from_the_catalog_idempotently(services: Services) -> None:
    acme, _ = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "other")
    for tenant, color in ((acme, (250, 0, 0)), (acme, (0, 0, 250)), (other, (0, 250, 0))):
        await services.ingestor.ingest(tenant, jpeg_bytes(color), "x.jpg")
    await services.worker().run_until_idle()
    before = await services.index.search(acme, SearchQuery(labels=("color",)))
    await services.index.clear()
    assert await services.index.count(acme) == 0
    quiet = Console(quiet=True)
    assert await rebuild(services, quiet) == 3
    assert await rebuild(services, quiet) == 3
    after = await services.index.search(acme, SearchQuery(labels=("color",)))
    assert after == before
    assert await services.index.count(other) == 1
