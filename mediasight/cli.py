"""The `mediasight` command line."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from catalog.keys import hash_api_key, new_api_key
from mediasight.bootstrap import Services, build
from mediasight.settings import Settings

app = typer.Typer(
    help="Mediasight: register images, enrich them with recognizers, search them over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
)
tenant_app = typer.Typer(help="Manage tenants and their API keys.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        envvar="MEDIASIGHT_DATA_DIR",
        help="Folder with the catalog, index, blobs and model cache [default: ./.mediasight].",
        show_default=False,
    ),
]


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: DataDir = None,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    overrides: dict[str, Any] = {"data_dir": data_dir} if data_dir else {}
    ctx.obj = Settings(**overrides)


def _services(ctx: typer.Context) -> Services:
    settings: Settings = ctx.obj
    return build(settings)


async def _tenant_id(services: Services, name: str) -> str:
    tenant = await services.catalog.get_tenant_by_name(name)
    if tenant is None:
        err.print(f"[red]no tenant named {name!r}[/]: create it with `mediasight tenant create {name}`")
        raise typer.Exit(2)
    return tenant.id


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="A unique tenant name.")]
) -> None:
    """Create a tenant and print a new API key alone on stdout (shown once, stored only hashed)."""

    async def run() -> str:
        services = _services(ctx)
        try:
            if await services.catalog.get_tenant_by_name(name):
                err.print(f"[red]tenant {name!r} exists already[/]")
                raise typer.Exit(1)
            tenant = await services.catalog.create_tenant(name)
            key = new_api_key()
            await services.catalog.add_api_key(tenant.id, hash_api_key(key))
            return key
        finally:
            services.close()

    key = asyncio.run(run())
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
) -> None:
    """Choose which analyzers run for a tenant, and with which provider (overrides the server settings)."""
    from catalog.model import TenantConfig
    from indexer.analyzers import UnknownAnalyzerError, validate_choice

    async def run() -> TenantConfig:
        services = _services(ctx)
        try:
            tenant = await services.catalog.get_tenant_by_name(name)
            if tenant is None:
                err.print(
                    f"[red]no tenant named {name!r}[/]: create it with `mediasight tenant create {name}`"
                )
                raise typer.Exit(2)
            config = tenant.config
            chosen = config.analyzers
            if analyzers is not None:
                chosen = (
                    None
                    if analyzers == "default"
                    else tuple(a.strip() for a in analyzers.split(",") if a.strip())
                )
            providers = dict(config.providers)
            for pair in provider or []:
                key, sep, value = pair.partition("=")
                if not sep:
                    err.print(
                        f"[red]--provider {pair!r}[/]: expected ANALYZER=PROVIDER, e.g. labels=rekognition"
                    )
                    raise typer.Exit(2)
                if value.strip() == "default":
                    providers.pop(key.strip(), None)
                else:
                    providers[key.strip()] = value.strip()
            try:
                validate_choice(chosen or (), providers)
            except UnknownAnalyzerError as exc:
                err.print(f"[red]{exc}[/]")
                raise typer.Exit(2) from exc
            new = TenantConfig(analyzers=chosen, providers=providers)
            await services.catalog.set_tenant_config(tenant.id, new)
            return new
        finally:
            services.close()

    config = asyncio.run(run())
    shown = ",".join(config.analyzers) if config.analyzers is not None else "server default"
    err.print(f"tenant {name!r}: analyzers {shown}; providers {config.providers or 'all local'}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Interface to bind [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: 8000].")] = None,
    worker: Annotated[bool, typer.Option(help="Run the indexer worker in this process too.")] = True,
) -> None:
    """Serve the GraphQL API (GraphiQL at /graphql in a browser) and run the indexer worker."""
    import uvicorn

    from api.app import create_app

    settings: Settings = ctx.obj
    services = build(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    err.print(f"GraphiQL: http://{bind_host}:{bind_port}/graphql   data dir: {settings.data_dir.resolve()}")
    try:
        uvicorn.run(create_app(services, run_worker=worker), host=bind_host, port=bind_port, log_config=None)
    finally:
        services.close()


@app.command("worker")
def worker_cmd(ctx: typer.Context) -> None:
    """Run the indexer worker alone: renditions, recognition and indexing of queued assets."""

    async def run() -> None:
        services = _services(ctx)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await services.start()
            await services.worker().run(stop)
        finally:
            await services.aclose()

    asyncio.run(run())


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Files and folders (walked recursively).", exists=True)],
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant that owns the assets.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Return only when every asset is indexed or failed with a reason.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per file: path, assetId, status, error.")
    ] = False,
) -> None:
    """Register image files as assets of a tenant; the same bytes twice make one asset."""
    from mediasight.ingest_files import ingest_paths, summarize

    async def run() -> int:
        services = _services(ctx)
        try:
            await services.start()
            tenant_id = await _tenant_id(services, tenant)
            results = await ingest_paths(services, tenant_id, paths, as_json=as_json, wait=wait, console=err)
            return await summarize(services, tenant_id, results, err)
        finally:
            await services.aclose()

    raise typer.Exit(asyncio.run(run()))


@app.command()
def reindex(ctx: typer.Context) -> None:
    """Rebuild the search index from the catalog (the catalog is the truth; the index is derived)."""
    from mediasight.reindex import rebuild

    async def run() -> None:
        services = _services(ctx)
        try:
            count = await rebuild(services, err)
            err.print(f"reindexed {count} assets")
        finally:
            services.close()

    asyncio.run(run())


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL); schema.graphql in the repository must equal it."""
    from api.schema import schema

    print(schema.as_str())


def main() -> None:
    app()
