"""A page of 100 assets with their metadata costs a constant number of storage calls (no N+1)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from api.context import Context
from api.schema import schema
from catalog.domain.model import VersionRelation
from mediasight.bootstrap import Services
from services.search_query import SearchQueries
from services.versions import VersionService
from tests.conftest import jpeg_bytes, make_tenant


class Counting:
    """Wraps a port and counts calls to each async method, delegating everything."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await attr(*args, **kwargs)

        return counted


async def test_a_page_of_100_assets_costs_a_constant_number_of_calls(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    for i in range(100):
        await services.ingestor.ingest(tenant, jpeg_bytes((2 * i, 255 - 2 * i, 7), (64 + i, 48)), f"{i}.jpg")
    await services.worker().run_until_idle()
    catalog, faces = Counting(services.catalog), Counting(services.faces)
    queries = SearchQueries(catalog, services.cpu, services.embedder)  # the tenant's synonyms, counted too
    counted = dataclasses.replace(services, catalog=catalog, faces=faces, queries=queries)
    query = """{ search(first: 100) { totalCount edges { node {
        id filename labels { name parents } faces { person { name } } runs { analyzer } renditions { url }
    } } } }"""
    result = await schema.execute(query, context_value=Context(counted, tenant))
    assert result.errors is None and result.data is not None
    assert len(result.data["search"]["edges"]) == 100
    # tenant: its synonyms; runs_of: every asset's run history in one call
    assert catalog.calls == Counter({"get_assets": 1, "get_results": 1, "get_tenant": 1, "runs_of": 1})
    assert sum(faces.calls.values()) <= 2  # face persons for the whole page: one lookup (+ persons)


async def test_a_page_of_100_versions_costs_a_constant_number_of_calls(services: Services) -> None:
    """Parents, children, roots and ancestors of a page: batched, not per asset."""
    tenant, _ = await make_tenant(services, "acme")
    ids = []
    for i in range(100):
        data = jpeg_bytes((2 * i, 255 - 2 * i, 7), (64 + i, 48))
        ids.append((await services.ingestor.ingest(tenant, data, f"{i}.jpg")).asset.id)
    await services.worker().run_until_idle()
    for i in range(1, 100):  # chains of three: root ← child ← grandchild
        if i % 3:
            await services.versions.link(tenant, ids[i], ids[i - 1], VersionRelation.CROP)
    catalog = Counting(services.catalog)
    versions = VersionService(catalog, services.index, services.faces, services.blobs, services.queue)
    queries = SearchQueries(catalog, services.cpu, services.embedder)
    counted = dataclasses.replace(services, catalog=catalog, versions=versions, queries=queries)
    query = """{ search(first: 100) { edges { node {
        id parent { id filename } children { id filename } root { id } ancestors { id }
    } } } }"""
    result = await schema.execute(query, context_value=Context(counted, tenant))
    assert result.errors is None and result.data is not None
    nodes = {e["node"]["id"]: e["node"] for e in result.data["search"]["edges"]}
    assert len(nodes) == 100
    grandchild = nodes[ids[2]]
    assert grandchild["root"]["id"] == ids[0] and [a["id"] for a in grandchild["ancestors"]] == ids[1::-1]
    assert [c["id"] for c in nodes[ids[0]]["children"]] == [ids[1]]
    # Walks up share the request's asset loader: the parents are on this page, so loaded once (it was
    # one get_asset per asset and level: 198 calls).
    assert catalog.calls == Counter({"get_assets": 1, "get_children": 1, "get_tenant": 1})
