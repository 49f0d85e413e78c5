"""Request limits at the HTTP edge: each cap refuses with a typed error before anything heavy runs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from api.request_limits import (
    MAX_JSON_BYTES,
    MAX_JSON_VALUES,
    MAX_LIST_ITEMS,
    MAX_QUERY_CHARS,
    MAX_VARIABLE_OBJECTS,
    MAX_VARIABLE_VALUES,
)
from mediasight.bootstrap import Services
from mediasight.settings import Settings
from tests.api.test_http import UPLOAD, upload
from tests.conftest import jpeg_bytes, make_tenant

SEARCH = "query ($f: SearchFilter) { search(filter: $f) { totalCount } }"


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def key(services: Services) -> str:
    return (await make_tenant(services, "acme"))[1]


def _refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    message: str = error["message"]
    return message


async def _post(client: httpx.AsyncClient, key: str, body: bytes | dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/graphql", content=content, headers=headers)


async def test_a_json_body_past_the_cap_is_refused_by_its_declared_length(
    client: httpx.AsyncClient, key: str
) -> None:
    body = json.dumps({"query": SEARCH, "variables": {"f": {"text": "x" * (2 * MAX_JSON_BYTES)}}})
    message = _refusal(await _post(client, key, body.encode()), 413, "REQUEST_TOO_LARGE")
    assert f"{len(body):,} bytes" in message and "1 MiB" in message


async def test_a_body_without_length_is_counted_while_read(client: httpx.AsyncClient, key: str) -> None:
    chunks_sent = 0

    async def stream() -> AsyncIterator[bytes]:  # chunked: no Content-Length to trust
        nonlocal chunks_sent
        for _ in range(50):
            chunks_sent += 1
            yield b" " * 64 * 1024

    response = await client.post(
        "/graphql",
        content=stream(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    _refusal(response, 413, "REQUEST_TOO_LARGE")


async def test_many_small_values_are_refused_before_parsing(client: httpx.AsyncClient, key: str) -> None:
    ids = ",".join(["1"] * (MAX_JSON_VALUES + 1))
    body = f'{{"query": "{{ __typename }}", "variables": {{"ids": [{ids}]}}}}'.encode()
    assert len(body) < MAX_JSON_BYTES
    started = time.perf_counter()
    message = _refusal(await _post(client, key, body), 413, "TOO_MANY_VALUES")
    assert "20,000" in message and time.perf_counter() - started < 1.0


async def test_a_long_variables_list_is_refused_before_coercion(client: httpx.AsyncClient, key: str) -> None:
    thresholds = [{"label": "Cat", "minConfidence": 1}] * (MAX_LIST_ITEMS + 1)
    body = {"query": SEARCH, "variables": {"f": {"labelConfidence": thresholds}}}
    message = _refusal(await _post(client, key, body), 413, "LIST_TOO_LONG")
    assert "f.labelConfidence" in message and "5,000" in message


async def test_too_many_variable_values_are_refused(client: httpx.AsyncClient, key: str) -> None:
    thresholds = [{"label": "Cat", "minConfidence": 1}] * MAX_VARIABLE_OBJECTS  # + the filter itself
    body = {"query": SEARCH, "variables": {"f": {"labelConfidence": thresholds}}}
    _refusal(await _post(client, key, body), 413, "VARIABLES_TOO_LARGE")
    values = {"query": SEARCH, "variables": {f"v{i}": [1] * 1000 for i in range(MAX_VARIABLE_VALUES // 1000)}}
    _refusal(await _post(client, key, values), 413, "VARIABLES_TOO_LARGE")


async def test_a_long_query_text_is_refused(client: httpx.AsyncClient, key: str) -> None:
    query = "{ __typename }" + "#" * MAX_QUERY_CHARS  # a comment: lexed, but never counted as a token
    message = _refusal(await _post(client, key, {"query": query}), 413, "QUERY_TOO_LONG")
    assert "20,000" in message


async def test_a_query_of_too_many_tokens_is_refused_while_parsing(
    client: httpx.AsyncClient, key: str
) -> None:
    response = await _post(client, key, {"query": "{ " + "__typename " * 1_500 + "}"})
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert "more than 1000 tokens" in error["message"]


async def test_bad_json_gets_a_typed_error(client: httpx.AsyncClient, key: str) -> None:
    _refusal(await _post(client, key, b'{"query": '), 400, "BAD_JSON")
    deep = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 5000 + b"]" * 5000 + b"}}"
    assert "nested" in _refusal(await _post(client, key, deep), 400, "BAD_JSON")


async def test_a_variables_list_within_the_limits_still_works(client: httpx.AsyncClient, key: str) -> None:
    body = {"query": SEARCH, "variables": {"f": {"labelConfidence": [{"label": "Cat", "minConfidence": 1}]}}}
    response = await _post(client, key, body)
    assert response.status_code == 200 and response.json()["data"]["search"]["totalCount"] == 0


async def test_multipart_operations_part_is_checked_like_json(client: httpx.AsyncClient, key: str) -> None:
    thresholds = [{"label": "Cat", "minConfidence": 1}] * (MAX_LIST_ITEMS + 1)
    operations = {"query": SEARCH, "variables": {"f": {"labelConfidence": thresholds}}}
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {key}"},
        data={"operations": json.dumps(operations), "map": "{}"},
        files={"0": ("a.jpg", jpeg_bytes((1, 2, 3)), "image/jpeg")},
    )
    _refusal(response, 413, "LIST_TOO_LONG")


async def test_multipart_part_past_the_cap_is_a_typed_error(client: httpx.AsyncClient, key: str) -> None:
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {key}"},
        data={"operations": " " * (MAX_JSON_BYTES + 10), "map": "{}"},
        files={"0": ("a.jpg", jpeg_bytes((1, 2, 3)), "image/jpeg")},
    )
    _refusal(response, 400, "BAD_MULTIPART")


async def test_an_upload_past_the_file_limit_says_its_real_size(
    client: httpx.AsyncClient, key: str, services: Services
) -> None:
    limit = max(services.settings.max_upload_bytes, services.settings.max_video_bytes)
    size = limit + 3 * MAX_JSON_BYTES
    response = await client.post(
        "/graphql",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(size),
        },
        content=b"--x--",  # the declared length alone is refused: nothing more is read
    )
    message = _refusal(response, 413, "REQUEST_TOO_LARGE")
    assert f"{size:,} bytes" in message and f"{limit:,} bytes" in message


async def test_a_file_over_the_upload_limit_is_reported_with_its_size(settings: Settings) -> None:
    from mediasight.bootstrap import build
    from tests.fakes import ColorLabeler

    small = Settings(**{**settings.model_dump(), "max_upload_bytes": 2_000})
    services = build(small, labeler=ColorLabeler())
    try:
        key = (await make_tenant(services, "acme"))[1]
        data = jpeg_bytes((9, 9, 9), (400, 400), quality=100)
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            payload = await upload(client, key, data, "big.jpg")
        assert payload["error"]["code"] == "TOO_LARGE_BYTES"
        assert f"file is {len(data):,} bytes, over the limit of 2,000 bytes" in payload["error"]["message"]
    finally:
        services.close()


async def test_long_filenames_get_a_typed_error(client: httpx.AsyncClient, key: str) -> None:
    data = jpeg_bytes((5, 6, 7))
    response = await client.post(
        "/graphql",
        headers={"Authorization": f"Bearer {key}"},
        data={
            "operations": json.dumps({"query": UPLOAD, "variables": {"file": None}}),
            "map": json.dumps({"0": ["variables.file"]}),
        },
        files={"0": ("b" * 5000 + ".jpg", data, "image/jpeg")},
    )
    assert "255" in _refusal(response, 400, "FILENAME_TOO_LONG")
    payload = await upload(client, key, data, "a" * 300 + ".jpg")
    assert payload["asset"] is None and payload["error"]["code"] == "FILENAME_TOO_LONG"
    stored = await upload(client, key, data, "\u202egpj.exe")
    assert stored["asset"]["filename"] == "gpj.exe"
