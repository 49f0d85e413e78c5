"""assetCounts (every stage, tenant-scoped) and Asset.originalUrl (the original, byte for byte, signed)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def gql(client: httpx.AsyncClient, key: str, query: str) -> dict[str, object]:
    response = await client.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}
    )
    body = response.json()
    assert "errors" not in body, body
    data: dict[str, object] = body["data"]
    return data


async def test_asset_counts_list_every_stage_of_the_callers_tenant_only(
    client: httpx.AsyncClient, services: Services
) -> None:
    acme, key = await make_tenant(services, "acme")
    other, other_key = await make_tenant(services, "globex")
    for i in range(3):
        assert (await services.ingestor.ingest(acme, jpeg_bytes((10 * i, 200, 30)), f"{i}.jpg")).asset
    await services.worker().run_until_idle()
    assert (await services.ingestor.ingest(acme, jpeg_bytes((1, 2, 3)), "late.jpg")).asset  # not processed
    assert (await services.ingestor.ingest(other, jpeg_bytes((9, 9, 9)), "theirs.jpg")).asset
    counts = await gql(client, key, "{ assetCounts { status count } }")
    assert counts["assetCounts"] == [
        {"status": "STORED", "count": 1},
        {"status": "RENDITIONS", "count": 0},
        {"status": "ANALYZED", "count": 0},
        {"status": "INDEXED", "count": 3},
        {"status": "FAILED", "count": 0},
    ]
    theirs = await gql(client, other_key, "{ assetCounts { status count } }")
    assert sum(c["count"] for c in theirs["assetCounts"]) == 1  # type: ignore[union-attr,index]


async def test_original_url_downloads_the_original_bytes_and_refuses_a_tampered_url(
    client: httpx.AsyncClient, services: Services
) -> None:
    tenant, key = await make_tenant(services, "acme")
    other, _ = await make_tenant(services, "globex")
    original = jpeg_bytes((120, 40, 200), (80, 60), quality=95)
    asset = (await services.ingestor.ingest(tenant, original, "Ünïcode photo.jpg")).asset
    assert asset is not None
    data = await gql(client, key, f'{{ asset(id: "{asset.id}") {{ originalUrl }} }}')
    url = str(data["asset"]["originalUrl"])  # type: ignore[index]
    response = await client.get(url)
    assert response.status_code == 200 and response.content == original
    assert response.headers["content-type"] == "image/jpeg"
    assert (
        response.headers["content-disposition"]
        == "attachment; filename*=UTF-8''%C3%9Cn%C3%AFcode%20photo.jpg"
    )
    for tampered in (
        url.replace("/original?", "/thumbnail?"),
        url.replace(f"t={tenant}", f"t={other}"),
        url[:-2],
    ):
        assert (await client.get(tampered)).status_code in (403, 404)
