"""One delivery attempt: the body signed the Standard Webhooks way (webhook-id, webhook-timestamp,
webhook-signature; PyPI `standardwebhooks`), POSTed without following redirects, timed and logged."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from catalog.domain.webhooks import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from indexer.webhooks.ssrf import UnsafeWebhookUrl, check_url, pinned

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Mediasight-Webhooks/1"


def signed_headers(endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a secret rotation's overlap the signature header carries one
    signature per secret (space-separated), so receivers on either secret verify."""
    stamp = now.astimezone(UTC).replace(tzinfo=None)  # the library reads a naive time as UTC
    signatures = [Webhook(s).sign(delivery.id, stamp, delivery.payload) for s in endpoint.secrets(now)]
    return {
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def attempt(
    client: httpx.AsyncClient, endpoint: WebhookEndpoint, delivery: WebhookDelivery, *, allow_private: bool
) -> DeliveryAttempt:
    """POST the delivery once; every outcome is an attempt (nothing raises)."""
    now = datetime.now(UTC)
    t0 = time.perf_counter()

    def done(status: int | None, error: str) -> DeliveryAttempt:
        return DeliveryAttempt(now, status, error, round((time.perf_counter() - t0) * 1000, 3))

    try:
        address = await check_url(endpoint.url, allow_private=allow_private)
        url, host, tls = pinned(endpoint.url, address)
        response = await client.post(
            url,
            content=delivery.payload.encode(),
            headers={**signed_headers(endpoint, delivery, now), **host},
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            extensions=tls,
        )
    except UnsafeWebhookUrl as exc:
        return done(None, f"refused: {exc}")
    except httpx.TimeoutException:
        return done(None, f"no answer within {TIMEOUT_SECONDS:g} s")
    except httpx.HTTPError as exc:
        return done(None, f"{type(exc).__name__}: {exc}")
    ok = 200 <= response.status_code < 300
    return done(response.status_code, "" if ok else f"HTTP {response.status_code}: {response.text[:200]}")


class HttpSender:
    """The Sender the webhook service uses: one pooled HTTP client, created on first use."""

    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> DeliveryAttempt:
        if self._client is None:
            self._client = httpx.AsyncClient(headers={"user-agent": USER_AGENT})
        return await attempt(self._client, endpoint, delivery, allow_private=self._allow_private)

    async def check_url(self, url: str) -> None:
        await check_url(url, allow_private=self._allow_private)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
