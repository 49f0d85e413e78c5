"""Client mistakes are one INFO line with a code; only server faults are logged with a traceback, and
the client sees a reference to that log line instead of the fault's message."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from catalog.domain.model import Scope
from mediasight.bootstrap import Services
from services.keys import issue_key
from tests.conftest import make_tenant

REFUSED = [
    '{ search(after: "\'; DROP TABLE assets; --") { totalCount } }',  # a junk cursor
    "{ nope }",  # an unknown field
    "{ " + "__typename " * 60 + "}",  # repeats
    '{ search(filter: {labels: ["a", "b"], labelConfidence: []}, first: 1000) { totalCount } }',
    "{ a: search { totalCount } b: search { totalCount } c: search { totalCount } d: search { totalCount } "
    "e: search { totalCount } f: search { totalCount } g: search { totalCount } h: search { totalCount } "
    "i: search { totalCount } j: search { totalCount } }",  # cost
    "{ asset(id: 5) { id ",  # a syntax error
    'mutation { revokeApiKey(id: "x") { id } }',  # needs a scope this key lacks
]


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


async def test_a_hundred_refused_queries_log_no_traceback(
    client: httpx.AsyncClient, services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    key, _ = await issue_key(services.catalog, tenant, (Scope.READ,), "reader")
    caplog.set_level(logging.INFO)
    for i in range(100):
        response = await client.post(
            "/graphql", json={"query": REFUSED[i % len(REFUSED)]}, headers={"Authorization": f"Bearer {key}"}
        )
        assert "errors" in response.json(), response.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING], [
        (r.levelname, r.getMessage()[:200])
        for r in caplog.records
        if r.exc_info or r.levelno >= logging.WARNING
    ]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("client error")]
    assert len(lines) >= 100 and all("\n" not in line for line in lines)
    assert any("client error QUERY_TOO_COSTLY" in line for line in lines)
    assert any("client error TOO_MANY_REPEATS" in line for line in lines)


async def test_a_server_fault_is_logged_with_its_traceback(
    client: httpx.AsyncClient,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, key = await make_tenant(services, "acme")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services.index, "search", broken)
    response = await client.post(
        "/graphql", json={"query": "{ search { totalCount } }"}, headers={"Authorization": f"Bearer {key}"}
    )
    [error] = response.json()["errors"]
    assert "disk on fire" not in error["message"]  # a server's words stay in its log
    reference = error["extensions"]["reference"]
    assert error["extensions"]["code"] == "INTERNAL" and f"reference {reference}" in error["message"]
    faults = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(faults) == 1 and faults[0].exc_info is not None
    assert f"server error {reference}" in faults[0].getMessage() and "disk on fire" in faults[0].getMessage()
