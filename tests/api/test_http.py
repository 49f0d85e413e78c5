"""The HTTP edge: authentication, multipart upload, GraphiQL, signed rendition URLs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from mediasight.bootstrap import Services
from tests.conftest import jpeg_bytes, make_tenant

UPLOAD = """mutation ($file: Upload!) {
  ingestAsset(file: $file) { duplicate asset { id filename } error { code message } }
}"""


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def upload(client: httpx.AsyncClient, key: str, data: bytes, name: str) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        headers=bearer(key),
        data={
            "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": (name, data, "application/octet-stream")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["ingestAsset"]
    return payload


async def test_requests_without_a_valid_key_are_refused(client: httpx.AsyncClient) -> None:
    missing = await client.post("/graphql", json={"query": "{ search { totalCount } }"})
    assert missing.status_code == 401 and "Authorization: Bearer" in missing.json()["errors"][0]["message"]
    wrong = await client.post(
        "/graphql", json={"query": "{ search { totalCount } }"}, headers=bearer("msk_nope")
    )
    assert wrong.status_code == 401 and "invalid" in wrong.json()["errors"][0]["message"]


async def test_graphiql_page_loads_in_a_browser(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_upload_dedupe_reject_and_signed_renditions(
    client: httpx.AsyncClient, services: Services
) -> None:
    tenant, key = await make_tenant(services, "acme")
    _, other_key = await make_tenant(services, "other")
    data = jpeg_bytes((200, 30, 30), (320, 200))
    first = await upload(client, key, data, "red.jpg")
    assert first["duplicate"] is False and first["asset"]["filename"] == "red.jpg" and first["error"] is None
    again = await upload(client, key, data, "copy.jpg")
    assert again["duplicate"] is True and again["asset"]["id"] == first["asset"]["id"]
    rejected = await upload(client, key, b"%PDF-1.4 not an image", "doc.jpg")
    assert rejected["asset"] is None and rejected["error"]["code"] == "NOT_AN_IMAGE"

    await services.worker().run_until_idle()
    query = {
        "query": f'{{ asset(id: "{first["asset"]["id"]}") {{ renditions {{ kind url width height }} }} }}'
    }
    renditions = (await client.post("/graphql", json=query, headers=bearer(key))).json()["data"]["asset"][
        "renditions"
    ]
    thumb = next(r for r in renditions if r["kind"] == "thumbnail")
    assert thumb["url"].startswith("http://testserver/renditions/") and thumb["width"] == 256
    image = await client.get(thumb["url"])  # no header: works in an <img> tag
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content[:2] == b"\xff\xd8"
    tampered = await client.get(thumb["url"].replace("thumbnail", "preview"))
    assert tampered.status_code == 403
    foreign = (await client.post("/graphql", json=query, headers=bearer(other_key))).json()["data"]["asset"]
    assert foreign is None
    assert tenant


async def test_originals_and_renditions_are_served_in_ranges(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A player seeking in a video proxy, a resumed download: Range, If-Range, HEAD, 304 and 416."""
    _, key = await make_tenant(services, "acme")
    data = jpeg_bytes((30, 120, 200), (640, 480))
    asset_id = (await upload(client, key, data, "blue.jpg"))["asset"]["id"]
    query = {"query": f'{{ asset(id: "{asset_id}") {{ originalUrl }} }}'}
    url = (await client.post("/graphql", json=query, headers=bearer(key))).json()["data"]["asset"][
        "originalUrl"
    ]

    whole = await client.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-length"] == str(len(data))
    etag = whole.headers["etag"]

    part = await client.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.headers["content-length"] == "1000"
    assert "attachment" in part.headers["content-disposition"]
    tail = await client.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    rest = await client.get(url, headers={"Range": f"bytes={len(data) - 5}-"})
    assert rest.status_code == 206 and rest.content == data[-5:]
    past = await client.get(url, headers={"Range": "bytes=99999999-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    several = await client.get(url, headers={"Range": "bytes=0-1,5-6"})  # ignored: the whole file
    assert several.status_code == 200 and several.content == data
    changed = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert changed.status_code == 200 and changed.content == data
    same = await client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[:10]
    cached = await client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    head = await client.head(url, headers={"Range": "bytes=0-9"})
    assert head.status_code == 206 and head.headers["content-length"] == "10" and head.content == b""
