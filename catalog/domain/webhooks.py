"""Webhooks: per-tenant endpoints subscribed to events, deliveries with a log of every attempt, the retry
schedule and when an endpoint that keeps failing is disabled. Pure data and rules, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class UnsafeWebhookUrl(ValueError):
    """The URL may not receive webhooks; the message says why and what to do."""


class WebhookEvent(enum.StrEnum):
    ASSET_INDEXED = "asset.indexed"
    METADATA_CHANGED = "asset.metadata_changed"  # from the change feed
    ASSET_DELETED = "asset.deleted"
    BATCH_FINISHED = "batch.finished"
    REVIEW_CONSENSUS = "review.consensus"  # reviewers decided a task (its human run is written)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up: the schedule ran out, or the endpoint was disabled or deleted


# Standard Webhooks' schedule (after the first attempt): then every 10 hours until 3 days have passed since
# the first. Each wait fits an SQS visibility timeout (≤ 12 h).
RETRY_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
RETRY_FOR = timedelta(days=3)
DISABLE_AFTER = timedelta(days=3)  # an endpoint whose every attempt failed that long is disabled
SECRET_OVERLAP = timedelta(hours=24)  # after a rotation the old secret signs too, for receivers to switch


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    tenant_id: str
    url: str
    events: tuple[WebhookEvent, ...]
    secret: str  # "whsec_" + base64: what the receiver verifies with
    created_at: datetime
    previous_secret: str = ""  # still signs until previous_until (a rotation's overlap)
    previous_until: datetime | None = None
    enabled: bool = True
    disabled_reason: str = ""
    failing_since: datetime | None = None  # first failed attempt since the last success
    profile: str = ""  # an export profile: asset events then carry the asset's metadata through it

    def secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets that sign a message now: the current one, and the previous one during the overlap."""
        if self.previous_secret and self.previous_until is not None and now < self.previous_until:
            return (self.secret, self.previous_secret)
        return (self.secret,)


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None  # None: no HTTP answer (refused, timed out, unsafe address)
    error: str  # "" when it succeeded
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class WebhookDelivery:
    """One event for one endpoint. Its ID is the message ID (webhook-id): receivers dedupe by it."""

    id: str
    tenant_id: str
    endpoint_id: str
    event: WebhookEvent
    payload: str  # the JSON body, exactly as signed and sent
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: tuple[DeliveryAttempt, ...] = ()
    next_attempt_at: datetime | None = None


def next_delay(delivery: WebhookDelivery, now: datetime, *, scale: float = 1.0) -> float | None:
    """Seconds until the next attempt after the delivery's latest failed one; None when it is over (the
    three days since the first attempt are up). `scale` compresses the whole schedule (drills, tests)."""
    failed = len(delivery.attempts)
    first = delivery.attempts[0].at if delivery.attempts else now
    delay = (RETRY_DELAYS[min(failed, len(RETRY_DELAYS)) - 1] if failed else 0.0) * scale
    if now + timedelta(seconds=delay) - first > RETRY_FOR * scale:
        return None
    return delay


def disable_reason(endpoint: WebhookEndpoint, attempt: DeliveryAttempt) -> str:
    """Why the endpoint should be disabled after this failed attempt ("" while it may keep trying)."""
    since = endpoint.failing_since or attempt.at
    if attempt.ok or attempt.at - since < DISABLE_AFTER:
        return ""
    last = f"HTTP {attempt.status_code}" if attempt.status_code is not None else attempt.error
    return f"every delivery failed since {since.isoformat(timespec='seconds')} (last: {last})"
