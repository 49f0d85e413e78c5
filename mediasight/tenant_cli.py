"""`mediasight tenant ...`: create, list, configure and delete tenants."""

from __future__ import annotations

import dataclasses
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from catalog.domain.model import ALL_SCOPES, Tenant, TenantConfig
from indexer.recognizers.ports import RemoteUnavailable
from mediasight.bootstrap import Services
from mediasight.shared_cli import err, many, print_table, tenant_named, with_services
from services.keys import issue_key
from services.tenant_names import TenantNameError, check_tenant_name

tenant_app = typer.Typer(
    help="Manage tenants and their settings.", no_args_is_help=True, rich_markup_mode=None
)


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="A unique name: letters, digits, '.', '_' or '-' (at most 64).")
    ],
) -> None:
    """Create a tenant and print a new API key alone on stdout (shown once, stored only hashed)."""

    try:
        check_tenant_name(name)
    except TenantNameError as exc:
        err.print(f"[red]{escape(str(exc))}[/]")
        raise typer.Exit(2) from exc

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


@tenant_app.command("list")
def tenant_list(ctx: typer.Context) -> None:
    """List the tenants of this data dir (or scale-out catalog): name, ID, created, assets, and what each
    chose over the server's settings (analyzers, providers, synonyms, analyzer settings)."""

    async def run(services: Services) -> list[tuple[Tenant, int]]:
        tenants = await services.catalog.list_tenants()
        return [(t, sum((await services.catalog.stage_counts(t.id)).values())) for t in tenants]

    rows = with_services(ctx, run)
    table = Table(title=many(len(rows), "tenant"))
    table.add_column("name")
    table.add_column("ID", no_wrap=True, min_width=36)
    table.add_column("created")
    table.add_column("assets", justify="right")
    table.add_column("configured (tenant configure)")
    for tenant, assets in rows:
        table.add_row(
            escape(tenant.name),
            tenant.id,
            f"{tenant.created_at:%Y-%m-%d %H:%M}",
            f"{assets:,}",
            escape(config_summary(tenant.config)),
        )
    print_table(table, "No tenants yet: create one with `mediasight tenant create NAME`.")


@tenant_app.command("configure")
def tenant_configure(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The tenant to configure.")],
    analyzers: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated analyzers for this tenant's new assets; 'default' for the server's, "
            "'none' for no recognition (renditions and search by name and metadata only)."
        ),
    ] = None,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ANALYZER=PROVIDER",
            help="ANALYZER=PROVIDER (local or rekognition); repeat for several; ANALYZER=default clears.",
        ),
    ] = None,
    synonym: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAME=NAME",
            help="Label names meaning the same, e.g. Muffin=Cupcake, added to the tenant's groups (a group "
            "sharing a name joins it); repeat for several; 'none' clears them all first.",
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ANALYZER.SETTING=VALUE",
            help="ANALYZER.SETTING=VALUE: this tenant's setting of an analyzer, used on its new assets and "
            "in its reprocessing (a reprocess --param wins), e.g. text.thorough=true for small print; "
            "repeat for several; ANALYZER.SETTING=default clears one, 'none' all.",
        ),
    ] = None,
) -> None:
    """Choose a tenant's analyzers, providers, label synonyms and analyzer settings (overrides the server
    settings). Assets already indexed keep their results: `mediasight reprocess` applies new choices."""
    from services.tenant_parameters import AnalyzerSettings, ParameterError, configured_parameters

    async def run(services: Services) -> tuple[TenantConfig, list[str]]:
        tenant = await tenant_named(services, name)
        new = _configured(tenant.config, analyzers, provider, synonym)
        if param is not None:
            known = AnalyzerSettings.of(services.analyzers, services.settings.provider_map, new)
            try:
                chosen = configured_parameters(new.parameters, param, known)
            except ParameterError as exc:
                err.print(f"[red]{escape(str(exc))}[/]")
                raise typer.Exit(2) from exc
            new = dataclasses.replace(new, parameters=chosen)
        await services.catalog.set_tenant_config(tenant.id, new)
        from indexer.analyzers import IMAGE_ANALYZERS

        running = IMAGE_ANALYZERS if new.analyzers is None else new.analyzers
        unoffered = [
            f"{a}={p}"
            for a, p in new.providers.items()
            if a in running and not services.analyzers.offers(a, p)
        ]
        return new, unoffered

    config, unoffered = with_services(ctx, run)
    err.print(f"tenant {name!r}: {escape(config_summary(config))}", soft_wrap=True)
    if unoffered:  # kept: the workers that run the tenant's assets may be other servers, set up for it
        err.print(
            f"[yellow]warning: this server does not offer {', '.join(unoffered)}: its workers fail the "
            "tenant's new assets with that analyzer until it is enabled (README, Settings: REKOGNITION)[/]",
            soft_wrap=True,
        )


def config_summary(config: TenantConfig) -> str:
    """What a tenant chose over the server's settings, part by part; 'server defaults' for nothing."""
    from services.tenant_parameters import describe

    parts = []
    if config.analyzers is not None:
        parts.append(f"analyzers {','.join(config.analyzers) or 'none'}")
    if config.providers:
        parts.append("providers " + ", ".join(f"{a}={p}" for a, p in sorted(config.providers.items())))
    if config.synonyms:
        parts.append("synonyms " + "; ".join("=".join(g) for g in config.synonyms))
    if config.parameters:
        parts.append(f"settings {describe(config.parameters)}")
    return "; ".join(parts) or "server defaults"


def _configured(
    config: TenantConfig, analyzers: str | None, provider: list[str] | None, synonym: list[str] | None
) -> TenantConfig:
    """The tenant's config with the command's options applied (exit status 2 for a bad choice)."""
    from indexer.analyzers import UnknownAnalyzerError, validate_choice
    from mediasight.providers import provider_names

    chosen = config.analyzers
    if analyzers is not None:
        named = () if analyzers == "none" else tuple(a.strip() for a in analyzers.split(",") if a.strip())
        chosen = None if analyzers == "default" else named
        if chosen == () and analyzers != "none":
            err.print(
                "[red]--analyzers chose nothing[/]: name analyzers, 'default', or 'none' for no recognition",
                soft_wrap=True,
            )
            raise typer.Exit(2)
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
    synonyms = list(config.synonyms)
    for given in synonym or []:
        if given == "none":
            synonyms = []
            continue
        group = tuple(dict.fromkeys(n.strip() for n in given.split("=") if n.strip()))
        if len(group) < 2:
            err.print(f"[red]--synonym {escape(given)!r}[/]: expected two names or more, e.g. Muffin=Cupcake")
            raise typer.Exit(2)
        synonyms = _joined(synonyms, group)
    return dataclasses.replace(config, analyzers=chosen, providers=providers, synonyms=tuple(synonyms))


def _joined(groups: list[tuple[str, ...]], group: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The synonym groups with `group` added: one group with each it shares a name with (case aside), so
    Car=Auto then Auto=Automobile is one group of three, and Muffin=Cupcake is kept beside it."""
    names = {n.casefold() for n in group}
    touching = [g for g in groups if names & {n.casefold() for n in g}]
    merged: dict[str, str] = {}
    for name in (n for g in (*touching, group) for n in g):
        merged.setdefault(name.casefold(), name)
    return [g for g in groups if g not in touching] + [tuple(merged.values())]


@tenant_app.command("delete")
def tenant_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The tenant to delete.")],
    yes: Annotated[
        bool,
        typer.Option("--yes", help="Delete without asking (scripts); otherwise type the name to confirm."),
    ] = False,
) -> None:
    """Delete a tenant and everything it owns: assets, originals, renditions, runs, faces and persons,
    index documents, webhooks, exports, its Rekognition face collection, then its API keys.

    This cannot be undone. Stop the tenant's uploads first; if it is interrupted (or a provider is down),
    run it again: it picks up where it stopped."""
    from services.tenant_deletion import STEPS, TenantDeletion, delete_tenant

    async def count(services: Services) -> int:
        tenant = await tenant_named(services, name)
        return sum((await services.catalog.stage_counts(tenant.id)).values())

    if not yes:
        assets = with_services(ctx, count)
        err.print(
            f"tenant {name!r} has {assets:,} assets. Deleting it removes them and all it owns, for good."
        )
        if not sys.stdin.isatty():
            err.print("[red]not deleted[/]: pass --yes to delete without a prompt")
            raise typer.Exit(2)
        if typer.prompt("type the tenant's name to delete it", default="", show_default=False) != name:
            err.print("[red]not deleted[/]: the name did not match")
            raise typer.Exit(1)

    async def run(services: Services) -> TenantDeletion:
        tenant = await tenant_named(services, name)
        with Progress(*Progress.get_default_columns(), console=err) as progress:
            task = progress.add_task("deleting", total=len(STEPS))

            def step(what: str) -> None:
                progress.update(task, completed=STEPS.index(what), description=what)

            try:
                done = await delete_tenant(
                    tenant,
                    catalog=services.catalog,
                    index=services.index,
                    blobs=services.blobs,
                    faces=services.faces,
                    on_step=step,
                )
            except RemoteUnavailable as exc:
                err.print(f"[red]stopped, nothing of the tenant's assets deleted yet[/]: {escape(str(exc))}")
                raise typer.Exit(1) from exc
            progress.update(task, completed=len(STEPS), description="done")
        return done

    done = with_services(ctx, run)
    err.print(
        f"deleted tenant {name!r}: {done.records:,} catalog records, "
        f"{done.index_documents:,} index documents, {done.blobs:,} blobs, "
        f"{many(done.keys_revoked, 'live API key')}"
        + ("; its Rekognition face collection" if done.remote_collection else "")
    )
