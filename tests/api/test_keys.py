"""Scoped keys over HTTP: read-only keys cannot write, admins manage keys, revocation is immediate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from mediasight.bootstrap import Services
from tests.conftest import make_tenant


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def post(client: httpx.AsyncClient, key: str, query: str, **variables: Any) -> httpx.Response:
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Authorization": f"Bearer {key}"}
    )


CREATE = """mutation ($scopes: [KeyScope!]!) { createApiKey(scopes: $scopes, name: "viewer") {
  secret apiKey { id scopes name revokedAt } error } }"""


async def test_scopes_rotation_and_revocation(client: httpx.AsyncClient, services: Services) -> None:
    _, admin = await make_tenant(services, "acme")
    created = (await post(client, admin, CREATE, scopes=["READ"])).json()["data"]["createApiKey"]
    viewer, viewer_id = created["secret"], created["apiKey"]["id"]
    assert created["apiKey"] == {"id": viewer_id, "scopes": ["READ"], "name": "viewer", "revokedAt": None}

    assert (await post(client, viewer, "{ search { totalCount } }")).json()["data"]["search"][
        "totalCount"
    ] == 0
    denied = (await post(client, viewer, 'mutation { deleteAsset(id: "x") { deletedIds } }')).json()
    assert denied["data"] is None and "'write' scope" in denied["errors"][0]["message"]
    no_admin = (await post(client, viewer, "{ apiKeys { id } }")).json()
    assert "'admin' scope" in no_admin["errors"][0]["message"]

    listed = (await post(client, admin, "{ apiKeys { id scopes } }")).json()["data"]["apiKeys"]
    assert {k["id"] for k in listed} >= {viewer_id} and len(listed) == 2

    rotate = "mutation ($id: ID!) { rotateApiKey(id: $id) { secret apiKey { id scopes } } }"
    rotated = (await post(client, admin, rotate, id=viewer_id)).json()["data"]["rotateApiKey"]
    new_secret, new_id = rotated["secret"], rotated["apiKey"]["id"]
    assert rotated["apiKey"]["scopes"] == ["READ"] and new_id != viewer_id
    assert (await post(client, viewer, "{ search { totalCount } }")).status_code == 401  # at once
    assert (await post(client, new_secret, "{ search { totalCount } }")).status_code == 200

    revoked = await post(client, admin, "mutation ($id: ID!) { revokeApiKey(id: $id) }", id=new_id)
    assert revoked.json()["data"]["revokeApiKey"] is True
    assert (await post(client, new_secret, "{ search { totalCount } }")).status_code == 401


async def test_keys_of_another_tenant_cannot_be_touched(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, admin_a = await make_tenant(services, "a")
    tenant_b, _ = await make_tenant(services, "b")
    [b_key] = await services.catalog.list_api_keys(tenant_b)
    revoked = await post(client, admin_a, "mutation ($id: ID!) { revokeApiKey(id: $id) }", id=b_key.id)
    assert revoked.json()["data"]["revokeApiKey"] is False
    rotated = await post(
        client, admin_a, "mutation ($id: ID!) { rotateApiKey(id: $id) { secret error } }", id=b_key.id
    )
    assert rotated.json()["data"]["rotateApiKey"]["secret"] is None
    assert (await services.catalog.list_api_keys(tenant_b))[0].revoked_at is None
