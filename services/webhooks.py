"""Webhook use cases: endpoints (create, list, delete, rotate the secret, enable), events announced to the
endpoints subscribed to them, and the delivery job: one attempt, its log, the next try or the end."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from catalog.domain.ids import uuid7
from catalog.domain.ports import JobQueue
from catalog.domain.webhook_store import MAX_ENDPOINTS, WebhookStore
from catalog.domain.webhooks import (
    SECRET_OVERLAP,
    DeliveryAttempt,
    DeliveryState,
    UnsafeWebhookUrl,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    disable_reason,
    next_delay,
)
from services.exports import ExportError

log = logging.getLogger(__name__)

ENDPOINTS_TTL = 5.0  # seconds a process keeps a tenant's endpoint list for announcing events
WEBHOOK_JOB = "webhook"  # the job's "asset" is job_ref(...)
MISSING_DELIVERY_WAIT = 1.0  # seconds a first delivery job waits for its delivery to be saved ...
MISSING_DELIVERY_TRIES = 5  # ... at most this many times (then the announcer never saved it: nothing to send)


class WebhookError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Sender(Protocol):
    async def __call__(self, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> DeliveryAttempt: ...


UrlCheck = Callable[[str], Awaitable[None]]  # raises UnsafeWebhookUrl
# (tenant, asset, profile) → the asset's metadata through the profile, None if the asset is gone (or the
# asset ID is ""); ExportError NO_SUCH_PROFILE for a profile the tenant does not have.
Describe = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]
ASSET_EVENTS = (WebhookEvent.ASSET_INDEXED, WebhookEvent.METADATA_CHANGED)


EVENT_IDS = uuid.UUID("6f1c3b7e-2f7a-5c1d-9a43-1d0f3e6b9c21")  # namespace of webhook event IDs


def event_id(event: WebhookEvent, tenant_id: str, *about: str) -> str:
    """The ID of an event, from what happened: a job run twice announces it once."""
    return str(uuid.uuid5(EVENT_IDS, ":".join((event.value, tenant_id, *about))))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def job_ref(endpoint_id: str, delivery_id: str, attempts: int) -> str:
    """A delivery job's subject: one job per attempt, so no queue message lives through the whole 3-day
    schedule (SQS dead-letters a message received too often)."""
    return f"{endpoint_id}/{delivery_id}/{attempts}"


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        queue: JobQueue,
        send: Sender,
        check_url: UrlCheck,
        *,
        describe: Describe | None = None,
        retry_scale: float = 1.0,
    ) -> None:
        self._describe = describe
        # Every indexed asset announces an event: the tenant's endpoints are read once per few seconds,
        # not once per asset (a change made in another process shows within ENDPOINTS_TTL).
        self._cached: dict[str, tuple[float, list[WebhookEndpoint]]] = {}
        self._retry_scale = retry_scale  # < 1 only in drills and tests: the schedule, compressed
        self._store = store
        self._queue = queue
        self._send = send
        self._check_url = check_url

    async def create(
        self, tenant_id: str, url: str, events: Sequence[str], profile: str = ""
    ) -> WebhookEndpoint:
        """`profile`: an export profile; asset events then carry the asset's metadata through it."""
        chosen = self._events(events)
        if profile and self._describe is not None:
            try:
                await self._describe(tenant_id, "", profile)
            except ExportError as exc:
                raise WebhookError("NO_SUCH_PROFILE", str(exc)) from exc
        if len(await self._store.list_endpoints(tenant_id)) >= MAX_ENDPOINTS:
            raise WebhookError("TOO_MANY", f"a tenant has at most {MAX_ENDPOINTS} webhook endpoints")
        try:
            await self._check_url(url)
        except UnsafeWebhookUrl as exc:
            raise WebhookError("UNSAFE_URL", str(exc)) from exc
        endpoint = WebhookEndpoint(
            uuid7(), tenant_id, url, chosen, new_secret(), datetime.now(UTC), profile=profile
        )
        await self._save_endpoint(endpoint)
        return endpoint

    @staticmethod
    def _events(events: Sequence[str]) -> tuple[WebhookEvent, ...]:
        known = {e.value: e for e in WebhookEvent}
        unknown = [e for e in events if e not in known]
        if unknown or not events:
            raise WebhookError(
                "UNKNOWN_EVENT", f"subscribe to one or more of {', '.join(known)} (not {unknown or 'none'})"
            )
        return tuple(dict.fromkeys(known[e] for e in events))

    async def endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        return await self._store.list_endpoints(tenant_id)

    async def subscribers(self, tenant_id: str, event: WebhookEvent) -> list[WebhookEndpoint]:
        """The tenant's enabled endpoints subscribed to the event (a list a few seconds old at most)."""
        return [e for e in await self._subscribed(tenant_id) if e.enabled and event in e.events]

    async def _subscribed(self, tenant_id: str) -> list[WebhookEndpoint]:
        now = time.monotonic()
        cached = self._cached.get(tenant_id)
        if cached is None or now - cached[0] > ENDPOINTS_TTL:
            cached = (now, await self._store.list_endpoints(tenant_id))
            self._cached[tenant_id] = cached
        return cached[1]

    async def _save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        await self._store.save_endpoint(endpoint)
        self._cached.pop(endpoint.tenant_id, None)

    async def endpoint(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        found = await self._store.get_endpoint(tenant_id, endpoint_id)
        if found is None:
            raise WebhookError("NOT_FOUND", f"no webhook endpoint {endpoint_id} in your tenant")
        return found

    async def delete(self, tenant_id: str, endpoint_id: str) -> None:
        if not await self._store.delete_endpoint(tenant_id, endpoint_id):
            raise WebhookError("NOT_FOUND", f"no webhook endpoint {endpoint_id} in your tenant")
        self._cached.pop(tenant_id, None)

    async def rotate_secret(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        """A new secret; the old one also signs for SECRET_OVERLAP, so receivers can switch."""
        old = await self.endpoint(tenant_id, endpoint_id)
        rotated = dataclasses.replace(
            old,
            secret=new_secret(),
            previous_secret=old.secret,
            previous_until=datetime.now(UTC) + SECRET_OVERLAP,
        )
        await self._save_endpoint(rotated)
        return rotated

    async def enable(self, tenant_id: str, endpoint_id: str) -> WebhookEndpoint:
        old = await self.endpoint(tenant_id, endpoint_id)
        enabled = dataclasses.replace(old, enabled=True, disabled_reason="", failing_since=None)
        await self._save_endpoint(enabled)
        return enabled

    async def deliveries(self, tenant_id: str, endpoint_id: str, limit: int) -> list[WebhookDelivery]:
        await self.endpoint(tenant_id, endpoint_id)
        return await self._store.list_deliveries(tenant_id, endpoint_id, limit=limit)

    async def redeliver(self, tenant_id: str, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Try a delivery again now, whatever became of it (the receiver sees the same webhook-id)."""
        await self.endpoint(tenant_id, endpoint_id)
        found = await self._store.get_delivery(tenant_id, endpoint_id, delivery_id)
        if found is None:
            raise WebhookError("NOT_FOUND", f"no delivery {delivery_id} of that endpoint")
        again = dataclasses.replace(found, state=DeliveryState.PENDING, next_attempt_at=datetime.now(UTC))
        await self._store.save_delivery(again)
        await self._queue.enqueue(
            WEBHOOK_JOB, tenant_id, job_ref(endpoint_id, delivery_id, len(found.attempts))
        )
        return again

    async def announce(
        self, tenant_id: str, event: WebhookEvent, data: Mapping[str, Any], *, event_id: str | None = None
    ) -> int:
        """Queue the event for every enabled endpoint subscribed to it; the same event ID twice is one
        delivery per endpoint. Returns how many deliveries were queued."""
        event_id = event_id or uuid7()
        now = datetime.now(UTC)
        queued = 0
        for endpoint in await self._subscribed(tenant_id):
            if not endpoint.enabled or event not in endpoint.events:
                continue
            body = dict(data)
            if endpoint.profile and event in ASSET_EVENTS and self._describe is not None:
                try:
                    described = await self._describe(
                        tenant_id, str(data.get("assetId", "")), endpoint.profile
                    )
                except ExportError as exc:  # the profile was deleted since: say so, send the event anyway
                    body["metadataError"] = str(exc)
                else:
                    if described is not None:
                        body["metadata"] = described
            payload = json.dumps(
                {"type": event.value, "timestamp": now.isoformat(), "data": body}, ensure_ascii=False
            )
            delivery = WebhookDelivery(
                event_id, tenant_id, endpoint.id, event, payload, now, next_attempt_at=now
            )
            # The job first: a crash between the two leaves a job that finds no delivery and ends, and the
            # announcer (a job itself) runs again; the other way round left a delivery no job would send.
            await self._queue.enqueue(WEBHOOK_JOB, tenant_id, job_ref(endpoint.id, event_id, 0))
            if await self._store.add_delivery(delivery):
                queued += 1
        return queued

    async def asset_deleted(self, tenant_id: str, asset_ids: Sequence[str]) -> None:
        for asset_id in asset_ids:
            await self.announce(
                tenant_id,
                WebhookEvent.ASSET_DELETED,
                {"assetId": asset_id},
                event_id=event_id(WebhookEvent.ASSET_DELETED, tenant_id, asset_id),
            )

    async def deliver(self, tenant_id: str, ref: str, job_attempts: int = 1) -> float | None:
        """The delivery job: one attempt, logged, and after a failed one a new job for the next. Returns
        the seconds this job must wait first (it came early), or None when the job is done."""
        endpoint_id, delivery_id, attempts = [*ref.split("/"), "", ""][:3]
        delivery = await self._store.get_delivery(tenant_id, endpoint_id, delivery_id)
        if delivery is None:
            # Queued before its delivery is saved (announce): a first job may come a moment early.
            return (
                MISSING_DELIVERY_WAIT if attempts == "0" and job_attempts < MISSING_DELIVERY_TRIES else None
            )
        if delivery.state != DeliveryState.PENDING:
            return None
        if attempts != str(len(delivery.attempts)):
            return None  # a stale job: the delivery's own next job carries on
        if delivery.next_attempt_at is not None:
            wait = (delivery.next_attempt_at - datetime.now(UTC)).total_seconds()
            if wait > 0:
                return wait
        endpoint = await self._store.get_endpoint(tenant_id, endpoint_id)
        if endpoint is None or not endpoint.enabled:
            why = "the endpoint was deleted" if endpoint is None else f"disabled: {endpoint.disabled_reason}"
            await self._store.save_delivery(dataclasses.replace(delivery, state=DeliveryState.FAILED))
            log.info("webhook %s not sent: %s", delivery.id, why)
            return None
        attempt = await self._send(endpoint, delivery)
        tried = dataclasses.replace(delivery, attempts=(*delivery.attempts, attempt))
        await self._after(endpoint, attempt)
        if attempt.ok:
            await self._store.save_delivery(
                dataclasses.replace(tried, state=DeliveryState.DELIVERED, next_attempt_at=None)
            )
            return None
        delay = next_delay(tried, attempt.at, scale=self._retry_scale)
        if delay is None:
            await self._store.save_delivery(
                dataclasses.replace(tried, state=DeliveryState.FAILED, next_attempt_at=None)
            )
            return None
        await self._store.save_delivery(
            dataclasses.replace(tried, next_attempt_at=attempt.at + timedelta(seconds=delay))
        )
        await self._queue.enqueue(
            WEBHOOK_JOB, tenant_id, job_ref(endpoint_id, delivery_id, len(tried.attempts))
        )
        return None

    async def _after(self, endpoint: WebhookEndpoint, attempt: DeliveryAttempt) -> None:
        """Keep the endpoint's failure streak; disable it when it has failed for too long."""
        if attempt.ok:
            if endpoint.failing_since is not None:
                await self._save_endpoint(dataclasses.replace(endpoint, failing_since=None))
            return
        reason = disable_reason(endpoint, attempt)
        if reason:
            log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
            changed = dataclasses.replace(endpoint, enabled=False, disabled_reason=reason)
        elif endpoint.failing_since is None:
            changed = dataclasses.replace(endpoint, failing_since=attempt.at)
        else:
            return
        await self._save_endpoint(changed)
