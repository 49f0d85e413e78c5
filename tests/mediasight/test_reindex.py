from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch
from rich.console import Console

from catalog.domain.model import Asset
from catalog.domain.ports import IndexDocument, SearchQuery
from catalog.sqlite.search.index import SqliteSearchIndex
from mediasight import reindex
from mediasight.bootstrap import Services, open_services
from mediasight.reindex import rebuild
from mediasight.settings import Settings
from mediasight.verify import verify
from tests.catalog.sqlite.search.test_index import rows
from tests.conftest import jpeg_bytes, make_tenant
from tests.contract.opensearch_server import opensearch_server
from tests.fakes import ColorLabeler
from tests.mediasight.test_verify import ingest_archive, make_drift

QUIET = Console(quiet=True)
QUERIES = [SearchQuery(labels=("color",)), SearchQuery(labels=("red",), min_confidence=50), SearchQuery()]


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


async def drift_count(services: Services, tenant_id: str | None = None) -> int:
    return (await verify(services, tenant_id=tenant_id, repair=False, console=QUIET)).drift


async def test_reindex_writes_what_the_worker_wrote_counts_included(services: Services) -> None:
    """The bulk rebuild's rows and counts equal those the worker's upserts left; verify finds no drift."""
    acme, _, ids = await ingest_archive(services)
    assert isinstance(services.index, SqliteSearchIndex)
    written, answers = (
        services.index._db.read_sync(rows),
        [await services.index.search(acme, q) for q in QUERIES],
    )
    await make_drift(services, acme, ids)
    assert await drift_count(services) == 3
    assert await rebuild(services, QUIET) == 5
    assert services.index._db.read_sync(rows) == written
    assert [await services.index.search(acme, q) for q in QUERIES] == answers
    assert await drift_count(services) == 0


async def test_reindex_of_one_tenant_leaves_the_others(services: Services) -> None:
    acme, other, ids = await ingest_archive(services)
    await make_drift(services, acme, ids)
    [(_, own, _)] = await services.index.fingerprints(other, after=None, limit=10)
    await services.index.delete(other, own)
    assert await rebuild(services, QUIET, tenant_id=other) == 1
    assert (await drift_count(services, other), await drift_count(services, acme)) == (0, 3)


async def test_an_interrupted_reindex_leaves_the_index_as_it_was(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, _, ids = await ingest_archive(services)
    await make_drift(services, acme, ids)
    assert isinstance(services.index, SqliteSearchIndex)
    written, answers = (
        services.index._db.read_sync(rows),
        [await services.index.search(acme, q) for q in QUERIES],
    )
    monkeypatch.setattr(reindex, "PAGE", 2)
    pages = 0
    expected_documents = services.pipeline.expected_documents

    async def unreachable_on_the_third_page(assets: Sequence[Asset]) -> list[IndexDocument]:
        nonlocal pages
        pages += 1
        if pages == 3:
            raise ConnectionError("the catalog went away")
        return await expected_documents(assets)

    monkeypatch.setattr(services.pipeline, "expected_documents", unreachable_on_the_third_page)
    with pytest.raises(ConnectionError):
        await rebuild(services, QUIET)
    assert services.index._db.read_sync(rows) == written  # the old index, drift and all
    assert [await services.index.search(acme, q) for q in QUERIES] == answers
    monkeypatch.undo()
    assert await rebuild(services, QUIET) == 5
    assert await drift_count(services) == 0


@pytest.mark.opensearch
async def test_reindex_rebuilds_an_opensearch_index(tmp_path: Path) -> None:
    with opensearch_server() as server:
        name = f"reindex-{uuid.uuid4().hex[:10]}"
        settings = Settings(
            data_dir=tmp_path / "data", index_backend="opensearch", opensearch_url=server.url,
            opensearch_index=name, analyzers="labels", semantic_search=False, job_retry_base_seconds=0.0,
        )  # fmt: skip
        services = await open_services(settings, labeler=ColorLabeler())
        try:
            acme, other, ids = await ingest_archive(services)
            before = [await services.index.search(acme, q) for q in QUERIES]
            await make_drift(services, acme, ids)
            assert await rebuild(services, QUIET) == 5
            assert await drift_count(services) == 0
            after = [await services.index.search(acme, q) for q in QUERIES]
            assert [(p.total, [h.asset_id for h in p.hits]) for p in after] == [
                (p.total, [h.asset_id for h in p.hits]) for p in before
            ]
            assert await rebuild(services, QUIET, tenant_id=other) == 1
            assert (await services.index.count(acme), await services.index.count(other)) == (4, 1)
        finally:
            client = AsyncOpenSearch(hosts=[server.url])
            await client.indices.delete(index=name, ignore_unavailable=True)
            await client.close()
            await services.aclose()
