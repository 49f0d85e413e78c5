"""Embedded metadata on every stack: its runs stored by both catalogs (SQLite, DynamoDB Local), its words and
persons found by both search indexes (SQLite, OpenSearch API); export profiles kept in both catalogs."""

from __future__ import annotations

from datetime import datetime, timedelta

from catalog.domain.embedded import EMBEDDED, EmbeddedMetadata, GpsPoint, ImageRegion
from catalog.domain.export_profile import ExportProfile
from catalog.domain.ids import uuid7
from catalog.domain.metadata import index_document
from catalog.domain.model import BoundingBox, Findings, RecognitionResult, TenantConfig
from catalog.domain.ports import CatalogStore, SearchIndex, SearchQuery
from tests.contract.catalogs import T0, backend, catalog, new_asset, tenants
from tests.contract.test_search_index_contract import index

__all__ = ["backend", "catalog", "index"]

META = EmbeddedMetadata(
    title="Harbour at dawn",
    caption="Fishing boats return to Whitby harbour",
    keywords=("boats", "harbour"),
    hierarchy=(("Places", "England", "Whitby"), ("Subjects", "Fishing")),
    creators=("Ann Example",),
    credit="Example Archive",
    copyright="© Example Archive",
    usage_terms="Editorial only",
    city="Whitby",
    country="United Kingdom",
    gps=GpsPoint(54.4858, -0.6206, 12.5),
    persons=("Tom Skipper",),
    regions=(ImageRegion(BoundingBox(0.1, 0.2, 0.3, 0.4), "Tom Skipper", "face", "mwg"),),
    captured_at=datetime(1987, 5, 1, 5, 30),
    sources=("iptc", "xmp", "sidecar"),
    truncated=True,
)


def embedded_run(asset_id: str, meta: EmbeddedMetadata = META) -> RecognitionResult:
    return RecognitionResult(
        id=uuid7(),
        asset_id=asset_id,
        analyzer=EMBEDDED,
        provider=EMBEDDED,
        model_name="exiv2",
        model_version="pyexiv2-2.16.0",
        findings=Findings(embedded=meta),
        created_at=T0,
        finished_at=T0 + timedelta(seconds=1),
    )


async def test_embedded_runs_are_stored_whole_and_per_tenant(catalog: CatalogStore) -> None:
    a, b = await tenants(catalog, "a", "b")
    asset, _ = await catalog.register_asset(new_asset(a, "e" * 64))
    run = embedded_run(asset.id)
    await catalog.save_result(a, run)
    got = await catalog.get_result(a, asset.id, EMBEDDED)
    assert got is not None and got.findings == run.findings and got.provider == EMBEDDED
    assert await catalog.get_result(b, asset.id, EMBEDDED) is None
    # Reading the same metadata again is no change; a problem is.
    same = await catalog.save_result(a, embedded_run(asset.id))
    assert same is not None and not same.changed
    changed = await catalog.save_result(a, embedded_run(asset.id, EmbeddedMetadata(problem="unreadable")))
    assert changed is not None and changed.changed


async def test_embedded_words_and_persons_are_found_on_every_index(index: SearchIndex) -> None:
    asset = new_asset("t1", "f" * 64)
    results = {EMBEDDED: embedded_run(asset.id)}
    await index.upsert(index_document(asset, results, [], asset.id))
    other = new_asset("t2", "f" * 64)
    await index.upsert(index_document(other, {EMBEDDED: embedded_run(other.id)}, [], other.id))
    for words in ("Whitby", "fishing boats", "harbour", "England", "Example Archive"):
        page = await index.search("t1", SearchQuery(text=words))
        assert [h.asset_id for h in page.hits] == [asset.id], words
    page = await index.search("t1", SearchQuery(persons=("Tom Skipper",)))
    assert [h.asset_id for h in page.hits] == [asset.id]
    assert not (await index.search("t1", SearchQuery(text="Lisbon"))).hits


async def test_export_profiles_are_kept_in_the_tenant_config(catalog: CatalogStore) -> None:
    (a,) = await tenants(catalog, "a")
    profile = ExportProfile("press", (("caption", "Caption"),), ("Dog",), 70.0, False)
    config = TenantConfig(analyzers=("labels",), synonyms=(("car", "auto"),), export_profiles=(profile,))
    await catalog.set_tenant_config(a, config)
    tenant = await catalog.get_tenant(a)
    assert tenant is not None and tenant.config == config
