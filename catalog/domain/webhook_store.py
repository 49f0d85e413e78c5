"""The webhook store port (endpoints and deliveries, every call scoped to a tenant) and the JSON both
catalog adapters keep each record as."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from catalog.domain.webhooks import (
    DeliveryAttempt,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

MAX_ENDPOINTS = 20  # per tenant
MAX_LISTED_DELIVERIES = 100


class WebhookStore(Protocol):
    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Create or replace (by tenant and ID)."""
        ...

    async def get_endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...
    async def list_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        """Oldest first."""
        ...

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool: ...
    async def add_delivery(self, delivery: WebhookDelivery) -> bool:
        """False (and nothing written) when the endpoint already has a delivery with this ID (the event's
        ID): an event announced twice is delivered once."""
        ...

    async def save_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def get_delivery(
        self, tenant_id: str, endpoint_id: str, delivery_id: str
    ) -> WebhookDelivery | None: ...
    async def list_deliveries(
        self, tenant_id: str, endpoint_id: str, *, limit: int = MAX_LISTED_DELIVERIES
    ) -> list[WebhookDelivery]:
        """The endpoint's deliveries, newest first."""
        ...

    async def feed_position(self, tenant_id: str) -> FeedPosition | None:
        """How far the tenant's metadata-changed events have followed its change feed (None: not yet)."""
        ...

    async def set_feed_position(self, tenant_id: str, position: FeedPosition) -> None: ...


# A place in the change feed: (changed_at, asset_id) of the last entry announced.
FeedPosition = tuple[datetime, str]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def endpoint_json(e: WebhookEndpoint) -> str:
    return json.dumps(
        {
            "id": e.id,
            "tenant_id": e.tenant_id,
            "url": e.url,
            "events": list(e.events),
            "secret": e.secret,
            "created_at": _time(e.created_at),
            "previous_secret": e.previous_secret,
            "previous_until": _time(e.previous_until),
            "enabled": e.enabled,
            "disabled_reason": e.disabled_reason,
            "failing_since": _time(e.failing_since),
            "profile": e.profile,
        }
    )


def endpoint_from_json(text: str) -> WebhookEndpoint:
    d: dict[str, Any] = json.loads(text)
    created = _parse(d["created_at"])
    assert created is not None
    return WebhookEndpoint(
        id=d["id"],
        tenant_id=d["tenant_id"],
        url=d["url"],
        events=tuple(WebhookEvent(v) for v in d["events"]),
        secret=d["secret"],
        created_at=created,
        previous_secret=d["previous_secret"],
        previous_until=_parse(d["previous_until"]),
        enabled=d["enabled"],
        disabled_reason=d["disabled_reason"],
        failing_since=_parse(d["failing_since"]),
        profile=d.get("profile", ""),
    )


def delivery_json(d: WebhookDelivery) -> str:
    return json.dumps(
        {
            "id": d.id,
            "tenant_id": d.tenant_id,
            "endpoint_id": d.endpoint_id,
            "event": d.event.value,
            "payload": d.payload,
            "created_at": _time(d.created_at),
            "state": d.state.value,
            "attempts": [[_time(a.at), a.status_code, a.error, a.duration_ms] for a in d.attempts],
            "next_attempt_at": _time(d.next_attempt_at),
        }
    )


def delivery_from_json(text: str) -> WebhookDelivery:
    d: dict[str, Any] = json.loads(text)
    created = _parse(d["created_at"])
    assert created is not None
    return WebhookDelivery(
        id=d["id"],
        tenant_id=d["tenant_id"],
        endpoint_id=d["endpoint_id"],
        event=WebhookEvent(d["event"]),
        payload=d["payload"],
        created_at=created,
        state=DeliveryState(d["state"]),
        attempts=tuple(
            DeliveryAttempt(datetime.fromisoformat(at), code, err, ms) for at, code, err, ms in d["attempts"]
        ),
        next_attempt_at=_parse(d["next_attempt_at"]),
    )
