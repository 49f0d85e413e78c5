"""`mediasight verify` over the OpenSearch index (osmem, or the node at MEDIASIGHT_TEST_OPENSEARCH_URL):
the same drift, found and repaired, as on the embedded stack; an index from before fingerprints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from catalog.domain.fingerprint import document_fingerprint
from catalog.domain.model import Label
from catalog.domain.ports import IndexDocument, SearchQuery
from catalog.opensearch.index import OpenSearchIndex, document, index_body
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


async def test_documents_from_before_fingerprint_v7_leave_their_guesses_out_of_the_facets(
    opensearch: OpenSearchServer,
) -> None:
    """Documents written before v7 list every label at its own confidence: the label facet leaves out their
    guesses at once (it counts labels at 50 or more). A name that only a label beneath it makes a finding (a
    reviewer's Missile 100 under a guessed Weapon 42) counts once `verify --repair` has written it again,
    which v7 marks stale."""
    client = AsyncOpenSearch(hosts=[opensearch.url])
    name = f"v6-{uuid.uuid4().hex[:10]}"
    index = OpenSearchIndex(client, name, dimension=3)
    weapon = ("Weapon",)
    docs = [
        doc_of("confirmed", Label("Missile", 100, weapon), Label("Weapon", 42)),
        doc_of("guess", Label("Missile", 42, weapon), Label("Weapon", 42), Label("Kite", 30)),
    ]
    try:
        await index.ensure_index()
        for d in docs:  # as v6 wrote them: every label, at its own confidence
            body = document(d, 3) | {
                "labels": [{"name": lb.name, "confidence": lb.confidence} for lb in d.labels]
            }
            body["fingerprint"] = "v6:" + document_fingerprint(d).split(":", 1)[1]
            await client.index(index=name, id=f"t:{d.asset_id}", body=body, refresh="true")
        page = await index.search("t", SearchQuery())
        assert {f.value: f.count for f in page.label_facets} == {"Missile": 1}
        stale = await index.fingerprints("t", after=None, limit=10)
        assert all(fp != document_fingerprint(d) for (_, _, fp), d in zip(stale, docs, strict=True))
        await index.upsert_many(docs)  # what `verify --repair` does with stale documents
        page = await index.search("t", SearchQuery())
        assert {f.value: f.count for f in page.label_facets} == {"Missile": 1, "Weapon": 1}
    finally:
        await client.indices.delete(index=name, ignore_unavailable=True)
        await client.close()


def doc_of(asset_id: str, *labels: Label) -> IndexDocument:
    return IndexDocument("t", asset_id, "a.jpg", "image/jpeg", datetime(2026, 1, 1, tzinfo=UTC), None, labels)
