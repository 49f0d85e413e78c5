"""`mediasight tenant ...`: create a tenant (with its first API key) and configure its analyzers."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from catalog.domain.model import ALL_SCOPES, TenantConfig
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, tenant_named, with_services
from services.keys import issue_key

tenant_app = typer.Typer(help="Manage tenants and their settings.", no_args_is_help=True)


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A unique tenant name.")]
) -> None:
    """Create a tenant and print a new API key alone on stdout (shown once, stored only hashed)."""

    async def run(services: Services) -> str:
        if await services.catalog.get_tenant_by_name(name):
            err.print(f"[red]tenant {name!r} exists already[/]")
            raise typer.Exit(1)
        tenant = await services.catalog.create_tenant(name)
        secret, _ = await issue_key(services.catalog, tenant.id, ALL_SCOPES, "initial")
        return secret

    key = with_services(ctx, run)
    err.print(f"created tenant {name!r}; its API key follows on stdout. It is shown only this once.")
    print(key)


@tenant_app.command("configure")
def tenant_configure(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The tenant to configure.")],
    analyzers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated analyzers for this tenant's new assets; 'default' for the server's."
        ),
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            help="ANALYZER=PROVIDER (local or rekognition); repeat for several; ANALYZER=default clears."
        ),
    ] = None,
    synonym: Annotated[
        list[str] | None,
        typer.Option(
            help="Label names meaning the same, e.g. Muffin=Cupcake; repeat for several; 'none' clears."
        ),
    ] = None,
) -> None:
    """Choose a tenant's analyzers, providers and label synonyms (overrides the server settings)."""

    async def run(services: Services) -> TenantConfig:
        tenant = await tenant_named(services, name)
        new = _configured(tenant.config, analyzers, provider, synonym)
        await services.catalog.set_tenant_config(tenant.id, new)
        return new

    config = with_services(ctx, run)
    shown = ",".join(config.analyzers) if config.analyzers is not None else "server default"
    groups = "; ".join("=".join(g) for g in config.synonyms) or "none"
    err.print(
        f"tenant {name!r}: analyzers {shown}; providers {config.providers or 'all local'}; synonyms {groups}"
    )


def _configured(
    config: TenantConfig, analyzers: str | None, provider: list[str] | None, synonym: list[str] | None
) -> TenantConfig:
    """The tenant's config with the command's options applied (exit status 2 for a bad choice)."""
    from indexer.analyzers import UnknownAnalyzerError, validate_choice
    from mediasight.providers import provider_names

    chosen = config.analyzers
    if analyzers is not None:
        chosen = (
            None if analyzers == "default" else tuple(a.strip() for a in analyzers.split(",") if a.strip())
        )
    providers = dict(config.providers)
    for pair in provider or []:
        key, sep, value = pair.partition("=")
        if not sep:
            err.print(f"[red]--provider {pair!r}[/]: expected ANALYZER=PROVIDER, e.g. labels=rekognition")
            raise typer.Exit(2)
        if value.strip() == "default":
            providers.pop(key.strip(), None)
        else:
            providers[key.strip()] = value.strip()
    try:
        validate_choice(chosen or (), providers, provider_names())
    except UnknownAnalyzerError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    synonyms = config.synonyms
    if synonym is not None:
        groups = [tuple(n.strip() for n in g.split("=") if n.strip()) for g in synonym if g != "none"]
        synonyms = tuple(g for g in groups if len(g) > 1)
    return dataclasses.replace(config, analyzers=chosen, providers=providers, synonyms=synonyms)
