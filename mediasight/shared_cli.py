"""What the `mediasight` subcommands share: the stderr console, opening the services from the command's
settings, and resolving a tenant by name."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from catalog.domain.model import Tenant
from mediasight.bootstrap import Services, open_services
from mediasight.settings import Settings

T = TypeVar("T")

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)  # a command's result; piped: no wrapping at 80


def many(count: int, noun: str, plural: str = "") -> str:
    """'1 tenant', '3 tenants', '1,024 files'."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


async def open_from(ctx: typer.Context) -> Services:
    """The services for the settings the main callback put on the context."""
    settings: Settings = ctx.obj
    return await open_services(settings)


async def tenant_named(services: Services, name: str) -> Tenant:
    """The tenant called `name`, or exit status 2 with a hint."""
    tenant = await services.catalog.get_tenant_by_name(name)
    if tenant is None:
        err.print(f"[red]no tenant named {name!r}[/]: create it with `mediasight tenant create {name}`")
        raise typer.Exit(2)
    return tenant


async def tenant_id(services: Services, name: str) -> str:
    return (await tenant_named(services, name)).id


def with_services(ctx: typer.Context, action: Callable[[Services], Awaitable[T]]) -> T:
    """Open the services, run action(services) to completion, close them."""

    async def run() -> T:
        services = await open_from(ctx)
        try:
            return await action(services)
        finally:
            await services.aclose()

    return asyncio.run(run())


def with_tenant(ctx: typer.Context, name: str, action: Callable[[Services, str], Awaitable[T]]) -> T:
    """Open the services, resolve the tenant by name (exit 2 if missing), run action(services, tenant_id)."""

    async def run(services: Services) -> T:
        return await action(services, await tenant_id(services, name))

    return with_services(ctx, run)
