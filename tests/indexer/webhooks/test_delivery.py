"""Webhook delivery against a real local receiver: Standard Webhooks signatures verify (also across a secret
rotation), a receiver that is down gets the message once it is back, the SSRF guard, the retry schedule."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from catalog.domain.webhooks import (
    DeliveryAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    disable_reason,
    next_delay,
)
from indexer.webhooks.sender import attempt
from indexer.webhooks.ssrf import UnsafeWebhookUrl, check_url, pinned
from tests.indexer.webhooks.receiver import Receiver

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
NEW_SECRET = "whsec_" + "b2xkIHNlY3JldCBuZXcgc2VjcmV0IDEyMzQ1Ng=="


def endpoint(url: str, **changes: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "id": "e1",
        "tenant_id": "t1",
        "url": url,
        "events": (WebhookEvent.ASSET_INDEXED,),
        "secret": SECRET,
        "created_at": NOW,
    }
    return WebhookEndpoint(**(fields | changes))  # type: ignore[arg-type]


def delivery(**changes: object) -> WebhookDelivery:
    fields: dict[str, object] = {
        "id": "msg_2f1b",
        "tenant_id": "t1",
        "endpoint_id": "e1",
        "event": WebhookEvent.ASSET_INDEXED,
        "payload": json.dumps({"type": "asset.indexed", "data": {"assetId": "a1"}}),
        "created_at": NOW,
    }
    return WebhookDelivery(**(fields | changes))  # type: ignore[arg-type]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def test_a_signed_delivery_verifies_at_the_receiver(client: httpx.AsyncClient) -> None:
    receiver = Receiver(SECRET)
    await receiver.start()
    try:
        done = await attempt(client, endpoint(receiver.url), delivery(), allow_private=True)
    finally:
        await receiver.stop()
    assert done.ok and done.status_code == 204 and done.error == ""
    assert receiver.received == [
        {"id": "msg_2f1b", "payload": {"type": "asset.indexed", "data": {"assetId": "a1"}}}
    ]


async def test_during_a_rotation_both_secrets_verify(client: httpx.AsyncClient) -> None:
    rotated = endpoint(
        "", secret=NEW_SECRET, previous_secret=SECRET, previous_until=datetime.now(UTC) + timedelta(hours=1)
    )
    for secret in (SECRET, NEW_SECRET):
        receiver = Receiver(secret)
        await receiver.start()
        try:
            rotated_here = WebhookEndpoint(**{**rotated.__dict__, "url": receiver.url})
            assert (await attempt(client, rotated_here, delivery(), allow_private=True)).ok
        finally:
            await receiver.stop()
    # After the overlap only the new secret signs: an old receiver refuses.
    old = Receiver(SECRET)
    await old.start()
    try:
        over = WebhookEndpoint(**{**rotated.__dict__, "url": old.url, "previous_until": datetime.now(UTC)})
        refused = await attempt(client, over, delivery(), allow_private=True)
    finally:
        await old.stop()
    assert refused.status_code == 401 and not refused.ok and old.rejected == 1


async def test_a_receiver_that_is_down_gets_the_message_when_it_is_back(client: httpx.AsyncClient) -> None:
    receiver = Receiver(SECRET)
    target = endpoint(receiver.url)
    down = await attempt(client, target, delivery(), allow_private=True)
    assert down.status_code is None and "ConnectError" in down.error
    receiver.status = 503
    await receiver.start()
    try:
        busy = await attempt(client, target, delivery(attempts=(down,)), allow_private=True)
        assert busy.status_code == 503 and busy.error.startswith("HTTP 503")
        receiver.status = 200
        ok = await attempt(client, target, delivery(attempts=(down, busy)), allow_private=True)
    finally:
        await receiver.stop()
    assert ok.ok
    # Each try carried the same webhook-id: the receiver dedupes by it.
    assert {r["id"] for r in receiver.received} == {"msg_2f1b"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://example.org/x", "http or https"),
        ("https://user:pw@example.org/x", "user or password"),
        ("http:///nohost", "no host"),
        ("http://127.0.0.1:9/x", "loopback, private or reserved"),
        ("http://10.1.2.3/x", "loopback, private or reserved"),
        ("http://169.254.169.254/latest/meta-data", "loopback, private or reserved"),
        ("http://[::1]/x", "loopback, private or reserved"),
        ("http://localhost/x", "loopback, private or reserved"),
    ],
)
async def test_the_ssrf_guard_refuses(url: str, why: str) -> None:
    with pytest.raises(UnsafeWebhookUrl, match=why):
        await check_url(url, allow_private=False)


async def test_the_ssrf_guard_allows_private_targets_when_the_server_does(client: httpx.AsyncClient) -> None:
    await check_url("http://127.0.0.1:9/x", allow_private=True)
    await check_url("http://93.184.215.14/x", allow_private=False)  # a public address: no lookup needed
    refused = await attempt(client, endpoint("http://127.0.0.1:9/x"), delivery(), allow_private=False)
    assert refused.status_code is None and refused.error.startswith("refused:")


async def test_a_delivery_goes_to_the_address_that_was_checked(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is resolved once, by the guard; the connection uses that address (no second lookup that a
    rebinding DNS server could answer with a private address), while Host still names the host."""
    receiver = Receiver(SECRET)
    loop = asyncio.get_running_loop()
    lookups: list[str] = []

    async def resolve(host: str, port: int, **_: object) -> list[tuple[Any, ...]]:
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    monkeypatch.setattr(loop, "getaddrinfo", resolve)
    await receiver.start()
    try:
        url = f"http://hooks.example:{receiver.port}/hooks"  # a name no real DNS here answers
        done = await attempt(client, endpoint(url), delivery(), allow_private=True)
    finally:
        await receiver.stop()
    assert done.ok, done.error
    assert lookups == ["hooks.example"] and receiver.hosts == [f"hooks.example:{receiver.port}"]


def test_pinning_keeps_the_name_for_http_and_tls() -> None:
    url, host, tls = pinned("https://hooks.example.org:8443/in?x=1", "2001:db8::1")
    assert url == "https://[2001:db8::1]:8443/in?x=1"
    assert host == {"host": "hooks.example.org:8443"} and tls == {"sni_hostname": "hooks.example.org"}
    assert pinned("http://h.example/x", "93.184.215.14") == (
        "http://93.184.215.14/x",
        {"host": "h.example"},
        {},
    )


def _failed(at: datetime) -> DeliveryAttempt:
    return DeliveryAttempt(at, 500, "HTTP 500", 1.0)


def test_the_retry_schedule_backs_off_for_three_days() -> None:
    d = delivery()
    assert next_delay(d, NOW) == 0.0
    waits = []
    at = NOW
    while (wait := next_delay(d, at)) is not None and len(waits) < 100:
        at += timedelta(seconds=wait)
        d = delivery(attempts=(*d.attempts, _failed(at)))
        waits.append(wait)
    assert waits[:7] == [0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0]
    assert set(waits[7:]) == {36000.0}
    assert at - NOW <= timedelta(days=3) < at - NOW + timedelta(seconds=36000)


def test_an_endpoint_failing_for_three_days_is_disabled_with_a_reason() -> None:
    target = endpoint("https://example.org/hooks", failing_since=NOW)
    assert disable_reason(target, _failed(NOW + timedelta(days=2))) == ""
    reason = disable_reason(target, _failed(NOW + timedelta(days=3)))
    assert reason.startswith("every delivery failed since 2026-12-06T12:00:00") and "HTTP 500" in reason
    assert disable_reason(target, DeliveryAttempt(NOW + timedelta(days=4), 200, "", 1.0)) == ""
    assert Webhook(SECRET)  # the test secret is a valid Standard Webhooks secret
