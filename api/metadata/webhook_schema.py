"""Webhooks in GraphQL (admin scope): endpoints, their delivery log, rotation, redelivery."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from api.auth import IsAdmin
from api.context import Context
from catalog.domain import webhooks as domain
from catalog.domain.webhook_store import MAX_LISTED_DELIVERIES
from services.webhooks import WebhookError

WebhookEventType = strawberry.enum(domain.WebhookEvent, name="WebhookEvent", description="What happened.")
DeliveryState = strawberry.enum(domain.DeliveryState, name="DeliveryState")


@strawberry.enum
class WebhookErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    NO_SUCH_PROFILE = "NO_SUCH_PROFILE"
    UNSAFE_URL = "UNSAFE_URL"
    UNKNOWN_EVENT = "UNKNOWN_EVENT"
    TOO_MANY = "TOO_MANY"


@strawberry.type
class WebhookProblem:
    code: WebhookErrorCode
    message: str


@strawberry.type(description="One try of a delivery.")
class DeliveryAttempt:
    at: datetime
    status_code: int | None = strawberry.field(description="The receiver's HTTP status; null: no answer.")
    error: str
    duration_ms: float


@strawberry.type(description="One event for one endpoint; its id is the webhook-id header.")
class WebhookDelivery:
    id: strawberry.ID
    event: WebhookEventType  # type: ignore[valid-type]
    state: DeliveryState  # type: ignore[valid-type]
    created_at: datetime
    next_attempt_at: datetime | None
    payload: str
    attempts: list[DeliveryAttempt]

    @staticmethod
    def from_domain(d: domain.WebhookDelivery) -> WebhookDelivery:
        return WebhookDelivery(
            id=strawberry.ID(d.id),
            event=d.event,
            state=d.state,
            created_at=d.created_at,
            next_attempt_at=d.next_attempt_at,
            payload=d.payload,
            attempts=[
                DeliveryAttempt(at=a.at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
                for a in d.attempts
            ],
        )


@strawberry.type(
    description="Where the tenant's events go, signed the Standard Webhooks way with its secret."
)
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    events: list[WebhookEventType]  # type: ignore[valid-type]
    secret: str = strawberry.field(description="whsec_…: verify webhook-signature with it.")
    previous_secret_until: datetime | None = strawberry.field(
        description="After a rotation the old secret signs too until then."
    )
    enabled: bool
    disabled_reason: str
    created_at: datetime
    profile: str = strawberry.field(description="Export profile whose metadata asset events carry ('' none).")

    @strawberry.field(description="Its deliveries, newest first, each with every attempt.")
    async def deliveries(self, info: Info[Context, None], first: int = 20) -> list[WebhookDelivery]:
        ctx = info.context
        found = await ctx.services.webhooks.deliveries(
            ctx.tenant_id, str(self.id), max(1, min(first, MAX_LISTED_DELIVERIES))
        )
        return [WebhookDelivery.from_domain(d) for d in found]

    @staticmethod
    def from_domain(e: domain.WebhookEndpoint) -> WebhookEndpoint:
        return WebhookEndpoint(
            id=strawberry.ID(e.id),
            url=e.url,
            events=list(e.events),
            secret=e.secret,
            previous_secret_until=e.previous_until if e.previous_secret else None,
            enabled=e.enabled,
            disabled_reason=e.disabled_reason,
            created_at=e.created_at,
            profile=e.profile,
        )


@strawberry.type
class WebhookPayload:
    endpoint: WebhookEndpoint | None
    error: WebhookProblem | None


@strawberry.type
class RedeliverPayload:
    delivery: WebhookDelivery | None
    error: WebhookProblem | None


def _problem(exc: WebhookError) -> WebhookProblem:
    return WebhookProblem(code=WebhookErrorCode(exc.code), message=str(exc))


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        permission_classes=[IsAdmin], description="Your tenant's webhook endpoints (admin scope)."
    )
    async def webhooks(self, info: Info[Context, None]) -> list[WebhookEndpoint]:
        ctx = info.context
        return [WebhookEndpoint.from_domain(e) for e in await ctx.services.webhooks.endpoints(ctx.tenant_id)]


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Send these events to an http(s) URL (public addresses only unless the server allows "
        "private ones). The answer holds the signing secret.",
    )
    async def create_webhook(
        self,
        info: Info[Context, None],
        url: str,
        events: Annotated[list[WebhookEventType], strawberry.argument(description="One or more.")],  # type: ignore[valid-type]
        profile: Annotated[
            str | None,
            strawberry.argument(
                description="An export profile: asset events then carry the metadata through it."
            ),
        ] = None,
    ) -> WebhookPayload:
        ctx = info.context
        try:
            made = await ctx.services.webhooks.create(
                ctx.tenant_id, url, [str(e) for e in events], profile or ""
            )
        except WebhookError as exc:
            return WebhookPayload(endpoint=None, error=_problem(exc))
        return WebhookPayload(endpoint=WebhookEndpoint.from_domain(made), error=None)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Stop sending to an endpoint.")
    async def delete_webhook(self, info: Info[Context, None], id: strawberry.ID) -> WebhookPayload:
        ctx = info.context
        try:
            await ctx.services.webhooks.delete(ctx.tenant_id, str(id))
        except WebhookError as exc:
            return WebhookPayload(endpoint=None, error=_problem(exc))
        return WebhookPayload(endpoint=None, error=None)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="A new signing secret; the old one signs too for 24 hours (both signatures are sent).",
    )
    async def rotate_webhook_secret(self, info: Info[Context, None], id: strawberry.ID) -> WebhookPayload:
        ctx = info.context
        try:
            rotated = await ctx.services.webhooks.rotate_secret(ctx.tenant_id, str(id))
        except WebhookError as exc:
            return WebhookPayload(endpoint=None, error=_problem(exc))
        return WebhookPayload(endpoint=WebhookEndpoint.from_domain(rotated), error=None)

    @strawberry.mutation(permission_classes=[IsAdmin], description="Send to a disabled endpoint again.")
    async def enable_webhook(self, info: Info[Context, None], id: strawberry.ID) -> WebhookPayload:
        ctx = info.context
        try:
            enabled = await ctx.services.webhooks.enable(ctx.tenant_id, str(id))
        except WebhookError as exc:
            return WebhookPayload(endpoint=None, error=_problem(exc))
        return WebhookPayload(endpoint=WebhookEndpoint.from_domain(enabled), error=None)

    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Try a delivery again now (same webhook-id)."
    )
    async def redeliver_webhook(
        self, info: Info[Context, None], endpoint_id: strawberry.ID, delivery_id: strawberry.ID
    ) -> RedeliverPayload:
        ctx = info.context
        try:
            again = await ctx.services.webhooks.redeliver(ctx.tenant_id, str(endpoint_id), str(delivery_id))
        except WebhookError as exc:
            return RedeliverPayload(delivery=None, error=_problem(exc))
        return RedeliverPayload(delivery=WebhookDelivery.from_domain(again), error=None)
