"""What the `mediasight` subcommands share: the stderr console, opening the services from the command's
settings, resolving a tenant by name, and help texts with human placeholders."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar, get_args

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperArgument, TyperGroup, TyperOption

from catalog.domain.model import BatchStatus, ReprocessBatch, Tenant
from mediasight.bootstrap import Services, open_services
from mediasight.settings import Settings

T = TypeVar("T")

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 200)  # a command's result; piped: no wrapping at 80


def print_table(table: Table, empty: str) -> None:
    """The table on stdout; when it has no rows, the sentence `empty` instead of a header alone."""
    out.print(table if table.row_count else empty)


def one_of(kind: type[Enum]) -> str:
    """An enum's values for a help text, from the enum itself so they cannot drift: 'read, write or admin'."""
    values = [str(member.value) for member in kind]
    return ", ".join(values[:-1]) + " or " + values[-1] if len(values) > 1 else "".join(values)


def many(count: int, noun: str, plural: str = "") -> str:
    """'1 tenant', '3 tenants', '1,024 files'."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def queued(batch: ReprocessBatch) -> str:
    """What a batch just started or resumed holds: 'batch X: 16 assets queued'; a resumed one's state
    ('4 of 16 assets queued again (12 done)', 'already finished: 16 done'), not its total as if new."""
    head, done = (
        f"batch {batch.id}:",
        f"{batch.done:,} done" + (f", {batch.failed:,} failed" if batch.failed else ""),
    )
    if batch.status in (BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES):
        return f"{head} already finished: {done}"
    left = batch.total - batch.done - batch.failed
    if batch.done or batch.failed:
        return f"{head} {left:,} of {many(batch.total, 'asset')} queued again ({done})"
    return f"{head} {many(batch.total, 'asset')} queued"


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


class HelpGroup(TyperGroup):
    """The `mediasight` command group. Built, it gives each parameter of every command under it a human
    placeholder in --help where the code named none: an option's values (`read|write|admin|review`), N,
    NUMBER, PATH or its own name (`--label LABEL`); an argument its name (TENANT), not typer's type hints
    (`<list[str]>`, `<float range>`, `TENANT <str>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for command in _commands_under(self):
            for param in getattr(command, "params", ()):
                if isinstance(param, TyperArgument):
                    param.metavar = param.metavar or (param.name or "").upper()
                    param.__class__ = _NamedArgument
                elif isinstance(param, TyperOption) and not (param.is_flag or param.count):
                    param.metavar = param.metavar or _placeholder(param)


def _commands_under(command: object) -> Iterator[object]:
    """The command and every command below it (typer's vendored click types are private: duck-typed)."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands_under(sub)


# what an option takes, where its name alone does not say it (an option's own metavar= wins)
_PLACEHOLDERS = {
    "--tenant": "NAME",
    "--profile": "NAME",
    "--parent": "NAME",
    "--asset": "ASSET_ID",
    "--positive": "ASSET_ID",
    "--negative": "ASSET_ID",
    "--resume": "BATCH_ID",
    "--watch": "LABEL",
    "--positive-label": "LABEL",
    "--column": "FIELD[=HEADER]",
    "--band": "LOW-HIGH",
    "--analyzers": "A,B,...",
    "--data-dir": "DIR",
    "--out": "DIR",
    "--upload": "FILE",
    "--upload-negative": "FILE",
    "--grace": "SECONDS",
    "--log-level": "LEVEL",
    "--answer": "yes|no",
}


def _placeholder(option: TyperOption) -> str:
    """read|write|admin for a choice; ASSET_ID and the like by name; N for an integer, NUMBER, PATH; else
    the option's name: LABEL."""
    desc = option.type_descriptor
    if desc.choices is not None:
        return "|".join(str(c.value if isinstance(c, Enum) else c) for c in desc.choices)
    name = max(option.opts, key=len)
    kind = get_args(desc.annotation)[0] if desc.is_list else desc.annotation
    by_type = {int: "N", float: "NUMBER", Path: "PATH"}
    return _PLACEHOLDERS.get(name) or by_type.get(kind) or name.lstrip("-").upper()


class _NamedArgument(TyperArgument):
    """An argument shown by its name alone: `TENANT` in the usage line and the list, `[QUERY]` optional."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _usage_display_name(self) -> str:
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"
