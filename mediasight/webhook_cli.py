"""`mediasight webhook ...`: a tenant's webhook endpoints, their delivery log, redelivery and rotation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from catalog.domain.webhooks import WebhookEvent
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, one_of, with_tenant
from services.webhooks import WebhookError

T = TypeVar("T")

webhook_app = typer.Typer(
    help=f"Send a tenant's events ({one_of(WebhookEvent)}) to an http(s) URL, signed the Standard "
    "Webhooks way.",
    no_args_is_help=True,
)

TenantName = Annotated[str, typer.Argument(help="The tenant whose webhooks these are.")]
EndpointId = Annotated[str, typer.Argument(help="The endpoint's ID (see `mediasight webhook list`).")]


def _run(ctx: typer.Context, tenant: str, action: Callable[[Services, str], Awaitable[T]]) -> T:
    async def guarded(services: Services, tenant_id: str) -> T:
        try:
            return await action(services, tenant_id)
        except WebhookError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from None

    return with_tenant(ctx, tenant, guarded)


@webhook_app.command("create")
def webhook_create(
    ctx: typer.Context,
    tenant: TenantName,
    url: Annotated[str, typer.Argument(help="Where to POST (http or https; public addresses only).")],
    event: Annotated[
        list[WebhookEvent],
        typer.Option(
            "--event", metavar="EVENT", help=f"An event to send: {one_of(WebhookEvent)} (repeat for more)."
        ),
    ],
    profile: Annotated[
        str, typer.Option("--profile", help="An export profile: asset events carry the metadata through it.")
    ] = "",
) -> None:
    """Add an endpoint; prints its ID, then its signing secret alone on stdout."""
    made = _run(ctx, tenant, lambda s, t: s.webhooks.create(t, url, [e.value for e in event], profile))
    err.print(f"endpoint {made.id} for {', '.join(made.events)}; verify webhook-signature with this secret:")
    print(made.secret)


@webhook_app.command("list")
def webhook_list(ctx: typer.Context, tenant: TenantName) -> None:
    """List the endpoints: ID, state, events, URL."""
    found = _run(ctx, tenant, lambda s, t: s.webhooks.endpoints(t))
    if not found:
        err.print(f"No webhooks yet: add one with `mediasight webhook create {tenant} URL --event EVENT`.")
    for e in found:
        state = "enabled" if e.enabled else f"disabled: {e.disabled_reason}"
        print(f"{e.id}\t{state}\t{','.join(e.events)}\t{e.url}")


@webhook_app.command("deliveries")
def webhook_deliveries(
    ctx: typer.Context,
    tenant: TenantName,
    endpoint: EndpointId,
    last: Annotated[int, typer.Option(help="How many, newest first (at most 100).")] = 20,
) -> None:
    """The endpoint's delivery log: each delivery and every attempt (time, HTTP status or error)."""
    found = _run(ctx, tenant, lambda s, t: s.webhooks.deliveries(t, endpoint, last))
    if not found:
        err.print("No deliveries yet: the endpoint's events have not happened since it was made.")
    for d in found:
        print(f"{d.id}\t{d.event}\t{d.state}\t{d.created_at:%Y-%m-%d %H:%M:%S}")
        for a in d.attempts:
            print(f"\t{a.at:%Y-%m-%d %H:%M:%S}\t{a.status_code or '-'}\t{a.duration_ms:.0f} ms\t{a.error}")


@webhook_app.command("redeliver")
def webhook_redeliver(
    ctx: typer.Context,
    tenant: TenantName,
    endpoint: EndpointId,
    delivery: Annotated[
        str,
        typer.Argument(
            help="The delivery's ID: the first column of `mediasight webhook deliveries TENANT ENDPOINT`."
        ),
    ],
) -> None:
    """Send a delivery again now (the receiver sees the same webhook-id)."""
    _run(ctx, tenant, lambda s, t: s.webhooks.redeliver(t, endpoint, delivery))
    err.print(f"queued {delivery} again (a worker sends it)")


@webhook_app.command("rotate")
def webhook_rotate(ctx: typer.Context, tenant: TenantName, endpoint: EndpointId) -> None:
    """A new signing secret, printed alone on stdout; the old one signs too for 24 hours."""
    rotated = _run(ctx, tenant, lambda s, t: s.webhooks.rotate_secret(t, endpoint))
    until = f"{rotated.previous_until:%Y-%m-%d %H:%M} UTC"
    err.print(f"new secret for {endpoint}; the old one keeps signing until {until}")
    print(rotated.secret)


@webhook_app.command("enable")
def webhook_enable(ctx: typer.Context, tenant: TenantName, endpoint: EndpointId) -> None:
    """Send to an endpoint that was disabled for failing again."""
    _run(ctx, tenant, lambda s, t: s.webhooks.enable(t, endpoint))
    err.print(f"enabled {endpoint}")


@webhook_app.command("delete")
def webhook_delete(ctx: typer.Context, tenant: TenantName, endpoint: EndpointId) -> None:
    """Stop sending to an endpoint (its pending deliveries end failed)."""
    _run(ctx, tenant, lambda s, t: s.webhooks.delete(t, endpoint))
    err.print(f"deleted {endpoint}")
