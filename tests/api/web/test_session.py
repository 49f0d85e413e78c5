"""Sign-in, sessions and CSRF at the HTTP edge: cookie flags, forged/expired/revoked sessions, origins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from api.web.pages import safe_next
from api.web.session import CSRF_COOKIE, SESSION_COOKIE, Sessions
from catalog.domain.model import Scope
from mediasight.bootstrap import Services
from services.keys import hash_api_key, issue_key
from tests.conftest import jpeg_bytes, make_tenant

ORIGIN = "http://testserver"
RGB = [(200, 30, 30), (30, 200, 30)]
VIEWER = {"query": "{ viewer { tenant scopes } }"}


def delete(asset_id: str) -> dict[str, str]:
    return {"query": f'mutation {{ deleteAsset(id: "{asset_id}") {{ deletedIds }} }}'}


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as c:
        yield c


async def sign_in(
    client: httpx.AsyncClient, key: str, origin: str = ORIGIN, next: str = "/"
) -> httpx.Response:
    return await client.post("/session", data={"key": key, "next": next}, headers={"Origin": origin})


async def test_sign_in_sets_an_httponly_strict_session_and_a_csrf_cookie(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, key = await make_tenant(services, "acme")
    response = await sign_in(client, key, next="/assets/x?y=1")
    assert response.status_code == 303 and response.headers["location"] == "/assets/x?y=1"
    cookies = {c.split("=", 1)[0]: c.lower() for c in response.headers.get_list("set-cookie")}
    assert "httponly" in cookies[SESSION_COOKIE] and "samesite=strict" in cookies[SESSION_COOKIE]
    assert "httponly" not in cookies[CSRF_COOKIE] and "samesite=strict" in cookies[CSRF_COOKIE]
    assert key not in response.headers.get("set-cookie", "") and hash_api_key(key) not in response.text
    assert key not in response.headers["location"]

    viewer = await client.post("/graphql", json=VIEWER, headers={"X-CSRF-Token": client.cookies[CSRF_COOKIE]})
    assert viewer.json() == {"data": {"viewer": {"tenant": "acme", "scopes": ["READ", "WRITE", "ADMIN"]}}}
    page = await client.get("/assets/x")
    assert page.status_code == 200 and '<div id="app">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_wrong_missing_or_foreign_origin_sign_ins_set_no_session(
    client: httpx.AsyncClient, services: Services
) -> None:
    _, key = await make_tenant(services, "acme")
    for attempt, error in [
        (sign_in(client, "msk_wrong"), "invalid"),
        (sign_in(client, "  "), "missing"),
        (sign_in(client, key, origin="https://evil.example"), "origin"),
    ]:
        response = await attempt
        assert response.status_code == 303 and f"error={error}" in response.headers["location"]
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    no_origin = await client.post("/session", data={"key": key})
    assert "error=origin" in no_origin.headers["location"]


async def test_a_huge_sign_in_form_is_refused_unread(client: httpx.AsyncClient) -> None:
    huge = await client.post("/session", data={"key": "x" * 200_000}, headers={"Origin": ORIGIN})
    assert huge.status_code == 413 and huge.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(100):
            yield b"&" * 1000  # empty fields: within the form parser's per-field limits

    streamed = await client.post(
        "/session",
        content=chunks(),
        headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413, streamed.text


async def test_cookie_posts_need_the_csrf_token_and_mutations_never_run_from_get(
    client: httpx.AsyncClient, services: Services
) -> None:
    tenant, key = await make_tenant(services, "acme")
    first, second = [
        (await services.ingestor.ingest(tenant, jpeg_bytes(color), f"{color}.jpg")).asset for color in RGB
    ]
    assert first is not None and second is not None
    await sign_in(client, key)
    for headers in ({}, {"X-CSRF-Token": "0" * 64}):
        refused = await client.post("/graphql", json=delete(first.id), headers=headers)
        assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "CSRF"
    read = await client.get("/graphql", params=VIEWER)
    assert read.status_code == 200 and read.json()["data"]["viewer"]["tenant"] == "acme"
    by_get = await client.get("/graphql", params=delete(first.id))
    assert by_get.status_code != 200
    assert await services.catalog.get_asset(tenant, first.id) is not None  # nothing ran
    token = {"X-CSRF-Token": client.cookies[CSRF_COOKIE]}
    done = await client.post("/graphql", json=delete(first.id), headers=token)
    assert done.json() == {"data": {"deleteAsset": {"deletedIds": [first.id]}}}
    # A bearer key needs no token: browsers never attach it on their own.
    client.cookies.clear()
    bearer = await client.post("/graphql", json=delete(second.id), headers={"Authorization": f"Bearer {key}"})
    assert bearer.json() == {"data": {"deleteAsset": {"deletedIds": [second.id]}}}


async def test_forged_expired_and_revoked_sessions_are_refused(
    client: httpx.AsyncClient, services: Services
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    secret, record = await issue_key(services.catalog, tenant, [Scope.READ])
    sessions = Sessions(services.signer.mac)

    async def post_with(cookie: str) -> httpx.Response:
        client.cookies.set(SESSION_COOKIE, cookie)
        token = sessions._csrf(cookie)  # a correct token for the cookie
        return await client.post("/graphql", json=VIEWER, headers={"X-CSRF-Token": token})

    live = sessions.open(record)
    body, _, mac = live.cookie.partition(".")
    forged = f"{body[:-2]}AA.{mac}"
    expired = sessions.open(record, now=0).cookie
    for cookie in (forged, expired, "junk", f"{body}."):
        response = await post_with(cookie)
        assert response.status_code == 401, cookie
        page = await client.get("/overview", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=/overview")
    ok = await post_with(live.cookie)
    assert ok.json()["data"]["viewer"]["scopes"] == ["READ"]  # a read-only key says so: pages hide writes
    await services.catalog.revoke_api_key(tenant, record.id)
    assert (await post_with(live.cookie)).status_code == 401
    assert secret  # the key itself never went into the cookie
    assert secret not in live.cookie


async def test_signed_out_pages_redirect_to_sign_in_and_sign_out_clears_cookies(
    client: httpx.AsyncClient, services: Services
) -> None:
    page = await client.get("/?q=dog", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=/%3Fq%3Ddog"
    assert (await client.get("/signin")).status_code == 200
    _, key = await make_tenant(services, "acme")
    await sign_in(client, key)
    csrf = client.cookies[CSRF_COOKIE]
    assert (await client.post("/session/end", headers={"Origin": ORIGIN})).status_code == 403  # no token
    out = await client.post("/session/end", headers={"Origin": ORIGIN, "X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert SESSION_COOKIE not in client.cookies and CSRF_COOKIE not in client.cookies
    assert (await client.post("/graphql", json=VIEWER)).status_code == 401


def test_sign_in_redirects_only_within_the_site() -> None:
    assert safe_next("/assets/1?x=2") == "/assets/1?x=2"
    for hostile in ("//evil.example", "https://evil.example/", "/\\evil.example", "evil", "", None):
        assert safe_next(hostile) == "/"
