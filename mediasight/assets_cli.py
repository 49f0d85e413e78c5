"""`mediasight ingest` and `mediasight reprocess`: register a tenant's images, and run analyzers again
over its assets as a tracked batch (the batch helpers: mediasight.reprocess_cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mediasight.bootstrap import Services
from mediasight.shared_cli import err, with_tenant


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
    """Register image files as assets of a tenant; the same bytes twice make one asset.

    An .xmp sidecar beside a file (photo.jpg.xmp or photo.xmp) goes in with it and is not an asset itself.
    Its captions, keywords and regions are read with the metadata embedded in the file.
    """
    from mediasight.ingest_files import ingest_paths, summarize

    async def run(services: Services, tenant_id: str) -> int:
        results = await ingest_paths(services, tenant_id, paths, as_json=as_json, wait=wait, console=err)
        return await summarize(services, tenant_id, results, err)

    raise typer.Exit(with_tenant(ctx, tenant, run))


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
        str | None,
        typer.Option("--resume", help="Finish preparing this batch ID, or re-enqueue its unfinished assets."),
    ] = None,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Work on the batch here, show progress, and print its change report."),
    ] = False,
) -> None:
    """Run analyzers again over a tenant's assets as a tracked batch (new runs; old runs stay readable).

    Prints the batch ID on stdout. The assets are resolved and queued here, before the command returns;
    without --wait a running `serve` or `worker` processes them: follow the batch with the reprocessBatch
    and batchReport GraphQL queries. Exit status 1 if any asset failed, 2 if the batch could not start.
    """
    from mediasight.reprocess_cli import follow, parse_params, print_report, start_or_resume
    from services.reprocess import ReprocessError, ReprocessRequest

    async def run(services: Services, tenant_id: str) -> int:
        try:
            request = ReprocessRequest(
                analyzers=tuple(analyzer or ()), provider=provider, parameters=parse_params(param or [])
            )
            batch = await start_or_resume(
                services, tenant_id, resume=resume, asset_ids=asset or [], labels=label or [], request=request
            )
            typer.echo(batch.id)
            if batch.error:
                err.print(f"[red]error:[/] batch {batch.id} failed: {escape(batch.error)}")
                return 2
            if not wait:
                err.print(f"batch {batch.id}: {batch.total} assets queued")
                return 0
            batch = await follow(services, batch, err, work=True)
            await print_report(services, batch, err)
            return 1 if batch.failed else 0
        except ReprocessError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2

    raise typer.Exit(with_tenant(ctx, tenant, run))
