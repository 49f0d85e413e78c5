"""search(after:) and the stage listing refuse junk cursors with BAD_CURSOR, as `changes` does."""

from __future__ import annotations

import base64

from api.context import Context
from api.schema import schema
from catalog.domain.ids import uuid7
from catalog.domain.model import Scope
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant

JUNK = [
    "'; DROP TABLE assets; --",
    base64.urlsafe_b64encode(f'[NaN, "{uuid7()}"]'.encode()).decode(),
    base64.urlsafe_b64encode(f'[1e308, "{uuid7()}"]'.encode()).decode(),
]


async def test_junk_cursors_are_refused_everywhere(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    for color in ((200, 30, 30), (30, 200, 30), (30, 30, 200)):
        await services.ingestor.ingest(tenant, jpeg_bytes(color, (96, 64)), f"{color}.jpg")
    await services.worker().run_until_idle()
    ctx = Context(services=services, tenant_id=tenant, scopes=(Scope.READ,))

    async def run(query: str, after: str | None) -> dict[str, object]:
        result = await schema.execute(query, variable_values={"after": after}, context_value=ctx)
        return {"data": result.data, "errors": result.errors}

    queries = [
        "query ($after: String) { search(first: 1, after: $after) "
        "{ edges { node { id } } pageInfo { endCursor } } }",
        "query ($after: String) { search(filter: {status: [INDEXED]}, first: 1, after: $after) "
        "{ edges { node { id } } pageInfo { endCursor } } }",
        'query ($after: String) { changes(since: "2000-01-01T00:00:00Z", first: 1, after: $after) '
        "{ edges { assetId } pageInfo { endCursor } } }",
    ]
    for query in queries:
        first = await run(query, None)
        assert first["errors"] is None, first
        for cursor in JUNK:
            refused = await run(query, cursor)
            errors = refused["errors"]
            assert isinstance(errors, list) and errors[0].extensions["code"] == "BAD_CURSOR", (query, cursor)
    # and a real cursor pages on
    page = await run(queries[0], None)
    data = page["data"]
    assert isinstance(data, dict)
    second = await run(queries[0], data["search"]["pageInfo"]["endCursor"])
    assert second["errors"] is None and second["data"]["search"]["edges"]  # type: ignore[index]
