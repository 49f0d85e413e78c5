"""Webhooks end to end on the embedded stack: endpoints made over GraphQL, events from the worker (asset
indexed, asset deleted) delivered durably through the job queue to a real local receiver that is down for a
while, Standard Webhooks signatures verified by it, the delivery log, redelivery, rotation, tenant scoping."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from api.context import Context
from api.schema import schema
from catalog.domain.export_profile import ExportProfile
from catalog.domain.webhooks import DeliveryState, WebhookEvent
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings
from services.webhooks import MISSING_DELIVERY_TRIES, MISSING_DELIVERY_WAIT, WebhookError, job_ref
from tests.conftest import jpeg_bytes, make_tenant
from tests.fakes import ColorLabeler
from tests.indexer.webhooks.receiver import Receiver

CREATE = """mutation ($url: String!, $events: [WebhookEvent!]!) {
  createWebhook(url: $url, events: $events) {
    endpoint { id secret enabled events } error { code message } } }"""
LIST = """{ webhooks { id url previousSecretUntil
  deliveries(first: 10) { id event state payload attempts { statusCode error } } } }"""


@pytest.fixture
async def hooked(settings: Settings) -> AsyncIterator[Services]:
    svc = build(
        settings.model_copy(update={"webhooks_allow_private": True, "webhook_retry_scale": 0.0001}),
        labeler=ColorLabeler(),
    )
    yield svc
    await svc.aclose()


async def gql(services: Services, tenant: str, document: str, **variables: Any) -> dict[str, Any]:
    result = await schema.execute(
        document, variable_values=variables, context_value=Context(services, tenant)
    )
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def until(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    async with asyncio.timeout(seconds):
        while not await check():  # noqa: ASYNC110 - the worker runs in this loop; polling its results
            await asyncio.sleep(0.05)


async def test_signed_deliveries_reach_a_receiver_that_was_down_for_a_while(hooked: Services) -> None:
    services = hooked
    tenant, _ = await make_tenant(services, "app")
    other, _ = await make_tenant(services, "other")
    receiver = Receiver("")
    made = await gql(services, tenant, CREATE, url=receiver.url, events=["ASSET_INDEXED", "ASSET_DELETED"])
    endpoint = made["createWebhook"]["endpoint"]
    assert made["createWebhook"]["error"] is None and endpoint["enabled"]
    receiver.secret = endpoint["secret"]
    assert endpoint["secret"].startswith("whsec_")

    stop = asyncio.Event()
    worker = asyncio.create_task(services.worker().run(stop))
    try:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 30, 30)), "red.jpg")
        assert outcome.asset is not None
        asset_id = outcome.asset.id

        async def deliveries() -> list[dict[str, Any]]:
            (hook,) = (await gql(services, tenant, LIST))["webhooks"]
            found: list[dict[str, Any]] = hook["deliveries"]
            return found

        # The receiver is down: attempts fail and are logged, the delivery waits for its next try.
        async def failed_thrice() -> bool:
            found = await deliveries()
            return bool(found) and len(found[0]["attempts"]) >= 3

        await until(failed_thrice)
        (pending,) = await deliveries()
        assert pending["state"] == "PENDING" and pending["event"] == "ASSET_INDEXED"
        assert all(a["statusCode"] is None and "ConnectError" in a["error"] for a in pending["attempts"])

        await receiver.start()  # back up

        async def delivered() -> bool:
            return (await deliveries())[0]["state"] == "DELIVERED"

        await until(delivered)
        (done,) = await deliveries()
        assert done["attempts"][-1] == {"statusCode": 204, "error": ""}
        assert [r["id"] for r in receiver.received] == [done["id"]]
        body = receiver.received[0]["payload"]
        assert body["type"] == "asset.indexed" and body["data"] == {"assetId": asset_id}

        # Deleting the asset announces it; a manual redelivery sends the same message (same webhook-id).
        await services.versions.delete(tenant, asset_id, cascade=False)

        async def two() -> bool:
            return len(receiver.received) == 2

        await until(two)
        assert receiver.received[1]["payload"]["type"] == "asset.deleted"
        again = await gql(
            services,
            tenant,
            "mutation ($e: ID!, $d: ID!) { redeliverWebhook(endpointId: $e, deliveryId: $d) "
            "{ delivery { state } error { code } } }",
            e=endpoint["id"],
            d=done["id"],
        )
        assert again["redeliverWebhook"] == {"delivery": {"state": "PENDING"}, "error": None}

        async def three() -> bool:
            return len(receiver.received) == 3

        await until(three)
        assert receiver.received[2]["id"] == done["id"]

        # Rotation: the old secret still verifies during the overlap, the new one too.
        rotated = await gql(
            services,
            tenant,
            "mutation ($id: ID!) { rotateWebhookSecret(id: $id) "
            "{ endpoint { secret previousSecretUntil } } }",
            id=endpoint["id"],
        )
        new = rotated["rotateWebhookSecret"]["endpoint"]
        assert new["secret"] != endpoint["secret"] and new["previousSecretUntil"]
        await services.ingestor.ingest(tenant, jpeg_bytes((30, 30, 200)), "blue.jpg")

        async def four() -> bool:
            return len(receiver.received) == 4

        await until(four)  # verified with the old secret by the receiver
        assert receiver.rejected == 0
        # Nothing of it is the other tenant's.
        assert (await gql(services, other, LIST))["webhooks"] == []
        assert await services.webhooks.announce(other, WebhookEvent.ASSET_INDEXED, {"assetId": asset_id}) == 0
    finally:
        stop.set()
        await worker
        await receiver.stop()


async def test_endpoints_refuse_unsafe_urls_and_unknown_events(settings: Settings) -> None:
    services = build(settings, labeler=ColorLabeler())  # private targets not allowed (the default)
    try:
        tenant, _ = await make_tenant(services, "app")
        refused = await gql(
            services, tenant, CREATE, url="http://127.0.0.1:9/hooks", events=["ASSET_INDEXED"]
        )
        assert refused["createWebhook"]["error"]["code"] == "UNSAFE_URL"
        refused = await gql(services, tenant, CREATE, url="file:///etc/passwd", events=["ASSET_INDEXED"])
        assert refused["createWebhook"]["error"]["code"] == "UNSAFE_URL"
        none = await gql(services, tenant, CREATE, url="https://93.184.215.14/hooks", events=[])
        assert none["createWebhook"]["error"]["code"] == "UNKNOWN_EVENT"
        assert (await gql(services, tenant, LIST))["webhooks"] == []
    finally:
        await services.aclose()


async def test_a_delivery_to_a_deleted_endpoint_ends_failed(hooked: Services) -> None:
    services = hooked
    tenant, _ = await make_tenant(services, "app")
    receiver = Receiver("")
    made = await services.webhooks.create(tenant, receiver.url, ["asset.indexed"])
    assert (
        await services.webhooks.announce(tenant, WebhookEvent.ASSET_INDEXED, {"assetId": "x"}, event_id="e1")
        == 1
    )
    assert (
        await services.webhooks.announce(tenant, WebhookEvent.ASSET_INDEXED, {"assetId": "x"}, event_id="e1")
        == 0
    )
    await services.webhooks.delete(tenant, made.id)
    await services.worker().run_until_idle()
    store = services.webhooks._store
    found = await store.get_delivery(tenant, made.id, "e1")
    assert found is not None and found.state == DeliveryState.FAILED and found.attempts == ()


async def test_an_endpoint_with_a_profile_gets_the_metadata_through_it(hooked: Services) -> None:
    services = hooked
    tenant, _ = await make_tenant(services, "app")
    await services.exports.save_profile(tenant, ExportProfile("only-cats", labels=("cat",)))
    with_profile, plain = Receiver(""), Receiver("")
    first = await services.webhooks.create(tenant, with_profile.url, ["asset.indexed"], "only-cats")
    second = await services.webhooks.create(tenant, plain.url, ["asset.indexed"])
    with_profile.secret, plain.secret = first.secret, second.secret
    with pytest.raises(WebhookError, match="no export profile 'nope'"):
        await services.webhooks.create(tenant, plain.url, ["asset.indexed"], "nope")
    await with_profile.start()
    await plain.start()
    try:
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 30, 30)), "red.jpg")
        assert outcome.asset is not None
        await services.worker().run_until_idle()
    finally:
        await with_profile.stop()
        await plain.stop()
    (filtered,) = [r["payload"]["data"] for r in with_profile.received]
    (bare,) = [r["payload"]["data"] for r in plain.received]
    assert bare == {"assetId": outcome.asset.id}
    assert filtered["assetId"] == outcome.asset.id
    assert filtered["metadata"]["filename"] == "red.jpg" and filtered["metadata"]["labels"] == []
    labels = (await services.exports.records(tenant, [outcome.asset.id]))[0].keywords
    assert labels  # without the profile the asset has labels: the profile left them out


async def test_metadata_changed_events_follow_the_change_feed(hooked: Services) -> None:
    """Every change the feed records (the first indexing, a reprocess, a named face...) is one event, at
    most once, for endpoints subscribed to it; deletions are not metadata changes."""
    services = hooked
    tenant, _ = await make_tenant(services, "app")
    receiver = Receiver("")
    made = await gql(services, tenant, CREATE, url=receiver.url, events=["METADATA_CHANGED"])
    receiver.secret = made["createWebhook"]["endpoint"]["secret"]
    await receiver.start()
    stop = asyncio.Event()
    worker = asyncio.create_task(services.worker().run(stop))
    try:
        ids = []
        for color in ((200, 30, 30), (30, 200, 30)):
            outcome = await services.ingestor.ingest(tenant, jpeg_bytes(color), "x.jpg")
            assert outcome.asset is not None
            ids.append(outcome.asset.id)

        def changed() -> list[str]:
            return [m["payload"]["data"]["assetId"] for m in receiver.received]

        async def both() -> bool:
            return sorted(changed()) == sorted(ids)

        await until(both)
        # a change that does not come from the pipeline's own run: the asset put at the head of the feed
        await services.catalog.mark_changed(tenant, [ids[0]])
        await services.webhook_feed.nudge(tenant)

        async def three() -> bool:
            return len(changed()) == 3

        await until(three)
        assert changed()[-1] == ids[0]
        await services.webhook_feed.follow(tenant)  # once more: nothing new, nothing sent twice
        await asyncio.sleep(0.3)
        assert len(changed()) == 3 and len({m["id"] for m in receiver.received}) == 3
        assert all(m["payload"]["type"] == "asset.metadata_changed" for m in receiver.received)
        assert all("changedAt" in m["payload"]["data"] for m in receiver.received)
    finally:
        stop.set()
        await worker
        await receiver.stop()


async def test_a_delivery_job_that_comes_before_its_delivery_waits_for_it(hooked: Services) -> None:
    """announce queues the job before it saves the delivery (a crash in between must not leave a delivery
    no job sends): a first job that finds nothing waits a moment, a few times, then ends."""
    services = hooked
    tenant, _ = await make_tenant(services, "app")
    ref = job_ref("endpoint", "event", 0)
    assert await services.webhooks.deliver(tenant, ref, job_attempts=1) == MISSING_DELIVERY_WAIT
    assert await services.webhooks.deliver(tenant, ref, job_attempts=MISSING_DELIVERY_TRIES) is None
    assert await services.webhooks.deliver(tenant, job_ref("endpoint", "event", 2), job_attempts=1) is None
