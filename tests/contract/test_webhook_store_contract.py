"""The webhook store on both catalogs (SQLite, DynamoDB Local): endpoints, deliveries idempotent by event ID,
the attempt log, newest first, every read and write scoped to its tenant."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from catalog.domain.ids import uuid7
from catalog.domain.ports import CatalogStore
from catalog.domain.webhook_store import WebhookStore
from catalog.domain.webhooks import (
    DeliveryAttempt,
    DeliveryState,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from catalog.dynamodb.catalog import DynamoCatalog
from catalog.sqlite.catalog import SqliteCatalog
from tests.contract.catalogs import T0, backend, catalog

__all__ = ["backend", "catalog"]


def _store(catalog: CatalogStore) -> WebhookStore:
    """Both catalog adapters keep webhooks too."""
    assert isinstance(catalog, SqliteCatalog | DynamoCatalog)
    return catalog


def endpoint(tenant: str, **changes: object) -> WebhookEndpoint:
    fields: dict[str, object] = {
        "id": uuid7(),
        "tenant_id": tenant,
        "url": "https://hooks.example.org/in",
        "events": (WebhookEvent.ASSET_INDEXED, WebhookEvent.ASSET_DELETED),
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "created_at": T0,
    }
    return WebhookEndpoint(**(fields | changes))  # type: ignore[arg-type]


def delivery(e: WebhookEndpoint, **changes: object) -> WebhookDelivery:
    fields: dict[str, object] = {
        "id": uuid7(),
        "tenant_id": e.tenant_id,
        "endpoint_id": e.id,
        "event": WebhookEvent.ASSET_INDEXED,
        "payload": '{"type": "asset.indexed", "data": {"assetId": "x"}}',
        "created_at": T0,
    }
    return WebhookDelivery(**(fields | changes))  # type: ignore[arg-type]


async def test_endpoints_are_kept_per_tenant(catalog: CatalogStore) -> None:
    store = _store(catalog)
    first, other = endpoint("t1"), endpoint("t2")
    await store.save_endpoint(first)
    await store.save_endpoint(other)
    assert await store.get_endpoint("t1", first.id) == first
    assert await store.get_endpoint("t2", first.id) is None
    assert await store.list_endpoints("t1") == [first]
    rotated = dataclasses.replace(
        first,
        secret="whsec_b2xkIHNlY3JldCBuZXcgc2VjcmV0IDEyMzQ1Ng==",
        previous_secret=first.secret,
        previous_until=T0 + timedelta(hours=24),
        enabled=False,
        disabled_reason="every delivery failed since ...",
        failing_since=T0,
    )
    await store.save_endpoint(rotated)
    assert await store.get_endpoint("t1", first.id) == rotated
    assert not await store.delete_endpoint("t2", first.id)
    assert await store.delete_endpoint("t1", first.id)
    assert await store.list_endpoints("t1") == []
    assert await store.list_endpoints("t2") == [other]


async def test_deliveries_are_idempotent_by_event_id_and_log_attempts(catalog: CatalogStore) -> None:
    store = _store(catalog)
    target = endpoint("t1")
    await store.save_endpoint(target)
    first = delivery(target)
    assert await store.add_delivery(first)
    assert not await store.add_delivery(dataclasses.replace(first, payload="{}"))  # the same event again
    assert await store.get_delivery("t1", target.id, first.id) == first
    assert await store.get_delivery("t2", target.id, first.id) is None
    tried = dataclasses.replace(
        first,
        attempts=(
            DeliveryAttempt(T0, None, "ConnectError: refused", 3.5),
            DeliveryAttempt(T0 + timedelta(seconds=5), 200, "", 12.25),
        ),
        state=DeliveryState.DELIVERED,
    )
    await store.save_delivery(tried)
    assert await store.get_delivery("t1", target.id, first.id) == tried
    later = delivery(
        target, id="00000000-0000-7000-8000-000000000001", created_at=T0 + timedelta(minutes=1)
    )  # sorts by time, not ID
    await store.add_delivery(later)
    assert [d.id for d in await store.list_deliveries("t1", target.id)] == [later.id, first.id]
    assert await store.list_deliveries("t2", target.id) == []
    assert [d.id for d in await store.list_deliveries("t1", target.id, limit=1)] == [later.id]


async def test_the_feed_position_is_kept_per_tenant(catalog: CatalogStore) -> None:
    store = _store(catalog)
    assert await store.feed_position("t1") is None
    await store.set_feed_position("t1", (T0, "a1"))
    await store.set_feed_position("t1", (T0 + timedelta(seconds=1), "a2"))  # moved on
    await store.set_feed_position("t2", (T0, "b1"))
    assert await store.feed_position("t1") == (T0 + timedelta(seconds=1), "a2")
    assert await store.feed_position("t2") == (T0, "b1")
    assert [e.id for e in await store.list_endpoints("t1")] == []  # not an endpoint
