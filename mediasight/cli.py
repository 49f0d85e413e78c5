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
from rich.markup import escape

from catalog.keys import issue_key, rotate_key
from catalog.model import ALL_SCOPES, Scope
from mediasight.bootstrap import Services, open_services
from mediasight.settings import Settings

app = typer.Typer(
    help="Mediasight: register images, enrich them with recognizers, search them over GraphQL.",
    no_args_is_help=True,
    add_completion=False,
)
tenant_app = typer.Typer(help="Manage tenants and their settings.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
key_app = typer.Typer(help="Manage a tenant's API keys (scopes: read, write, admin).", no_args_is_help=True)
app.add_typer(key_app, name="key")
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


async def _open(ctx: typer.Context) -> Services:
    settings: Settings = ctx.obj
    return await open_services(settings)


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
        services = await _open(ctx)
        try:
            if await services.catalog.get_tenant_by_name(name):
                err.print(f"[red]tenant {name!r} exists already[/]")
                raise typer.Exit(1)
            tenant = await services.catalog.create_tenant(name)
            secret, _ = await issue_key(services.catalog, tenant.id, ALL_SCOPES, "initial")
            return secret
        finally:
            await services.aclose()

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
    synonym: Annotated[
        list[str] | None,
        typer.Option(
            help="Label names meaning the same, e.g. Muffin=Cupcake; repeat for several; 'none' clears."
        ),
    ] = None,
) -> None:
    """Choose a tenant's analyzers, providers and label synonyms (overrides the server settings)."""
    from catalog.model import TenantConfig
    from indexer.analyzers import UnknownAnalyzerError, validate_choice

    async def run() -> TenantConfig:
        services = await _open(ctx)
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
            synonyms = config.synonyms
            if synonym is not None:
                groups = [tuple(n.strip() for n in g.split("=") if n.strip()) for g in synonym if g != "none"]
                synonyms = tuple(g for g in groups if len(g) > 1)
            new = TenantConfig(analyzers=chosen, providers=providers, synonyms=synonyms)
            await services.catalog.set_tenant_config(tenant.id, new)
            return new
        finally:
            await services.aclose()

    config = asyncio.run(run())
    shown = ",".join(config.analyzers) if config.analyzers is not None else "server default"
    groups = "; ".join("=".join(g) for g in config.synonyms) or "none"
    err.print(
        f"tenant {name!r}: analyzers {shown}; providers {config.providers or 'all local'}; synonyms {groups}"
    )


TenantName = Annotated[str, typer.Argument(help="The tenant whose keys these are.")]


def _run_with_tenant(ctx: typer.Context, name: str, action: Any) -> Any:
    """Open the services, resolve the tenant by name (exit 2 if missing), run action(services, tenant_id)."""

    async def run() -> Any:
        services = await _open(ctx)
        try:
            return await action(services, await _tenant_id(services, name))
        finally:
            await services.aclose()

    return asyncio.run(run())


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    tenant: TenantName,
    scope: Annotated[
        list[Scope] | None, typer.Option(help="read, write or admin; repeat for several [default: read].")
    ] = None,
    name: Annotated[str, typer.Option(help="A label to recognise the key by.")] = "",
) -> None:
    """Issue a key; the secret is printed alone on stdout, once, and stored only hashed."""
    scopes = tuple(scope or (Scope.READ,))
    secret, key = _run_with_tenant(ctx, tenant, lambda s, t: issue_key(s.catalog, t, scopes, name))
    err.print(f"key {key.id} ({','.join(key.scopes)}) for {tenant!r}; it is shown only this once.")
    print(secret)


@key_app.command("list")
def key_list(ctx: typer.Context, tenant: TenantName) -> None:
    """List a tenant's keys (never their secrets)."""
    found = _run_with_tenant(ctx, tenant, lambda s, t: s.catalog.list_api_keys(t))
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "live"
        print(f"{key.id}\t{','.join(key.scopes)}\t{state}\t{key.name}")


@key_app.command("revoke")
def key_revoke(ctx: typer.Context, tenant: TenantName, key_id: Annotated[str, typer.Argument()]) -> None:
    """Revoke a key: requests with it fail from now on."""
    if not _run_with_tenant(ctx, tenant, lambda s, t: s.catalog.revoke_api_key(t, key_id)):
        err.print(f"[red]no live key {key_id} for tenant {tenant!r}[/] (see `mediasight key list {tenant}`)")
        raise typer.Exit(1)
    err.print(f"revoked {key_id}")


@key_app.command("rotate")
def key_rotate(ctx: typer.Context, tenant: TenantName, key_id: Annotated[str, typer.Argument()]) -> None:
    """Replace a key by a new one with the same scopes; prints the new secret; the old one stops at once."""
    issued = _run_with_tenant(ctx, tenant, lambda s, t: rotate_key(s.catalog, t, key_id))
    if issued is None:
        err.print(f"[red]no live key {key_id} for tenant {tenant!r}[/] (see `mediasight key list {tenant}`)")
        raise typer.Exit(1)
    err.print(f"rotated {key_id} → {issued[1].id}; the new key is shown only this once.")
    print(issued[0])


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
    bind_host, bind_port = host or settings.host, port or settings.port
    err.print(f"GraphiQL: http://{bind_host}:{bind_port}/graphql   data dir: {settings.data_dir.resolve()}")
    # The app opens its services in its lifespan: cloud clients must belong to uvicorn's event loop.
    uvicorn.run(
        create_app(settings=settings, run_worker=worker), host=bind_host, port=bind_port, log_config=None
    )


@app.command("worker")
def worker_cmd(ctx: typer.Context) -> None:
    """Run the indexer worker alone: renditions, recognition and indexing of queued assets.

    With MEDIASIGHT_S3_EVENTS_QUEUE set it also registers the objects S3 announces on that queue, as
    assets of the tenants MEDIASIGHT_S3_EVENTS_TENANTS maps their bucket/prefix to.
    """

    async def run() -> None:
        services = await _open(ctx)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            try:
                events = await services.s3_event_ingestor()
                if events is not None:
                    await events.check()  # every mapped tenant exists: fail now, not on the first event
            except ValueError as exc:  # a bad mapping, an unknown tenant or queue
                err.print(f"[red]S3 event ingest: {escape(str(exc))}[/]")
                raise typer.Exit(2) from exc
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(services.worker().run(stop))
                if events is not None:
                    tasks.create_task(events.run(stop))
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
        services = await _open(ctx)
        try:
            tenant_id = await _tenant_id(services, tenant)
            results = await ingest_paths(services, tenant_id, paths, as_json=as_json, wait=wait, console=err)
            return await summarize(services, tenant_id, results, err)
        finally:
            await services.aclose()

    raise typer.Exit(asyncio.run(run()))


@app.command()
def reprocess(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant whose assets to reprocess.")],
    analyzer: Annotated[
        list[str] | None,
        typer.Option(
            "--analyzer", help="Analyzer to run again (repeat for several) [default: the tenant's]."
        ),
    ] = None,
    provider: Annotated[
        str | None, typer.Option("--provider", help="local or rekognition [default: as configured].")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            help="Analyzer setting as key=value, e.g. min_confidence=80 or labels.max_labels=5 (repeatable).",
        ),
    ] = None,
    asset: Annotated[
        list[str] | None,
        typer.Option("--asset", help="Asset ID (repeatable) [default: every indexed asset]."),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Only assets with any of these labels (repeatable).")
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Re-enqueue the unfinished assets of this batch ID.")
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Work on the batch here, show progress, and print its change report."),
    ] = False,
) -> None:
    """Run analyzers again over a tenant's assets as a tracked batch (new runs; old runs stay readable).

    Prints the batch ID on stdout. Without --wait a running `serve` or `worker` processes the batch; follow
    it with the reprocessBatch and batchReport GraphQL queries. Exit status 1 if any asset failed.
    """
    from indexer.reprocess import ReprocessError, ReprocessRequest
    from mediasight.reprocess_cli import follow, parse_params, print_report, start_or_resume

    async def run() -> int:
        services = await _open(ctx)
        try:
            tenant_id = await _tenant_id(services, tenant)
            request = ReprocessRequest(
                analyzers=tuple(analyzer or ()), provider=provider, parameters=parse_params(param or [])
            )
            batch = await start_or_resume(
                services, tenant_id, resume=resume, asset_ids=asset or [], labels=label or [], request=request
            )
            typer.echo(batch.id)
            if not wait:
                err.print(f"batch {batch.id}: {batch.total} assets queued")
                return 0
            batch = await follow(services, batch, err, work=True)
            await print_report(services, batch, err)
            return 1 if batch.failed else 0
        except ReprocessError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2
        finally:
            await services.aclose()

    raise typer.Exit(asyncio.run(run()))


@app.command()
def init(ctx: typer.Context) -> None:
    """Create what the configured backends need: DynamoDB table, OpenSearch index, S3 bucket, SQS queues.

    Safe to run again; the embedded default needs nothing (its files are created on first use).
    """
    from mediasight.scale_out import initialise

    async def run() -> list[str]:
        services = await _open(ctx)  # opening the SQS queue already creates it and its dead-letter queue
        try:
            return await initialise(services.catalog, services.index, services.blobs)
        finally:
            await services.aclose()

    made = asyncio.run(run())
    err.print(f"ready: {', '.join(made) if made else 'embedded stack (nothing to create)'}")


@app.command()
def reindex(ctx: typer.Context) -> None:
    """Rebuild the search index from the catalog (the catalog is the truth; the index is derived)."""
    from mediasight.reindex import rebuild

    async def run() -> None:
        services = await _open(ctx)
        try:
            count = await rebuild(services, err)
            err.print(f"reindexed {count} assets")
        finally:
            await services.aclose()

    asyncio.run(run())


@app.command()
def verify(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix the drift: reindex missing and stale, delete extra.")
    ] = False,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Name of the one tenant to check [default: all].")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
) -> None:
    """Compare the search index with the catalog: missing, extra and stale documents.

    Exit status 0 when the index agrees with the catalog (or every drift was repaired), 1 when drift
    remains, 2 for an unknown tenant.
    """
    import json

    from mediasight.verify import DriftReport
    from mediasight.verify import verify as run_verify

    async def run() -> DriftReport:
        services = await _open(ctx)
        try:
            tenant_id = await _tenant_id(services, tenant) if tenant is not None else None
            return await run_verify(services, tenant_id=tenant_id, repair=repair, console=err)
        finally:
            await services.aclose()

    report = asyncio.run(run())
    if as_json:
        print(json.dumps({**report.as_json(), "tenant": tenant}))
    else:
        print(report.summary(tenant))
    raise typer.Exit(1 if report.remaining else 0)


@app.command("export-schema")
def export_schema() -> None:
    """Print the GraphQL schema (SDL); schema.graphql in the repository must equal it."""
    from api.schema import schema

    print(schema.as_str())


def main() -> None:
    app()
