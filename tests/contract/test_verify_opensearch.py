"""`mediasight verify` over the OpenSearch index (osmem, or the node at MEDIASIGHT_TEST_OPENSEARCH_URL):
the same drift, found and repaired, as on the embedded stack; an index from before fingerprints."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from catalog.domain.fingerprint import document_fingerprint
from catalog.opensearch.index import OpenSearchIndex, index_body
from mediasight.bootstrap import open_services
from mediasight.settings import Settings
from tests.contract.opensearch_server import OpenSearchServer
from tests.fakes import ColorLabeler
from tests.mediasight.test_verify import doc, drift_scenario

pytestmark = pytest.mark.opensearch


async def test_verify_finds_and_repairs_drift_in_opensearch(
    tmp_path: Path, opensearch: OpenSearchServer
) -> None:
    name = f"verify-{uuid.uuid4().hex[:10]}"
    settings = Settings(
        data_dir=tmp_path / "data",
        index_backend="opensearch",
        opensearch_url=opensearch.url,
        opensearch_index=name,
        analyzers="labels",
        semantic_search=False,
        job_retry_base_seconds=0.0,
    )
    services = await open_services(settings, labeler=ColorLabeler())
    try:
        assert isinstance(services.index, OpenSearchIndex)
        await drift_scenario(services)
    finally:
        client = AsyncOpenSearch(hosts=[opensearch.url])
        await client.indices.delete(index=name, ignore_unavailable=True)
        await client.close()
        await services.aclose()


async def test_an_index_from_before_fingerprints_gets_the_field(opensearch: OpenSearchServer) -> None:
    client = AsyncOpenSearch(hosts=[opensearch.url])
    name = f"old-{uuid.uuid4().hex[:10]}"
    body = index_body(3)
    del body["mappings"]["properties"]["fingerprint"]
    await client.indices.create(index=name, body=body)
    try:
        await client.index(index=name, id="t:old", body={"tenant_id": "t", "asset_id": "old"}, refresh="true")
        index = OpenSearchIndex(client, name, dimension=3)
        await index.ensure_index()  # adds the field; the strict mapping would refuse documents with it
        await index.ensure_index()  # idempotent
        await index.upsert(doc())
        assert await index.fingerprints("t", after=None, limit=10) == [
            ("t", "a", document_fingerprint(doc())),
            ("t", "old", ""),  # indexed before fingerprints: verify calls it stale
        ]
    finally:
        await client.indices.delete(index=name, ignore_unavailable=True)
        await client.close()
