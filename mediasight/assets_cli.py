"""`mediasight ingest` and `mediasight reprocess`: register a tenant's images, and run analyzers again
over its assets as a tracked batch (the batch helpers: mediasight.reprocess_cli)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from mediasight.bootstrap import Services
from mediasight.shared_cli import err, out, queued, with_tenant


def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files and folders (walked recursively; hidden files and folders such as .DS_Store, and "
            "Thumbs.db, are passed over).",
            exists=True,
        ),
    ],
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant that owns the assets.")],
    wait: Annotated[
        bool, typer.Option("--wait", help="Return only when every asset is indexed or failed with a reason.")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON object per file: path, assetId, status, error (and duplicateOf)."
        ),
    ] = False,
) -> None:
    """Register image and video files as assets of a tenant; the same bytes twice make one asset.

    Prints each file's asset ID (and, for a duplicate, which asset and filename it already is), then a
    summary, on stdout; with --json, one JSON object per file instead. Exit status 1 if a file was
    rejected or an asset failed.

    An .xmp sidecar beside a file (photo.jpg.xmp or photo.xmp) goes in with it and is not an asset itself.
    Its captions, keywords and regions are read with the metadata embedded in the file.
    """
    from mediasight.ingest_files import ingest_paths, summarize

    async def run(services: Services, tenant_id: str) -> int:
        results = await ingest_paths(services, tenant_id, paths, as_json=as_json, wait=wait, console=err)
        # stdout: the JSON lines with --json, else the summary (the progress bars stay on stderr)
        return await summarize(services, tenant_id, results, err if as_json else out, listed=not as_json)

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
            metavar="KEY=VALUE",
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
    outdated: Annotated[
        bool,
        typer.Option(
            "--outdated",
            help="Only assets whose current run of an analyzer an older model made than this server runs now "
            "(see `mediasight outdated`), and only those analyzers.",
        ),
    ] = False,
    wait: Annotated[
        bool,
        typer.Option("--wait", help="Work on the batch here, show progress, and print its change report."),
    ] = False,
) -> None:
    """Run analyzers again over a tenant's assets as a tracked batch (new runs; old runs stay readable).

    Prints the batch ID on stdout. The assets are resolved and queued here, before the command returns;
    without --wait a running `serve` or `worker` processes them: follow the batch with the reprocessBatch
    and batchReport GraphQL queries. Exit status 1 if any asset failed, 2 if the batch could not start.

    After an upgrade, --outdated runs again only the analyzers (of --analyzer, else the tenant's) whose
    current runs an older model made, on only those assets (with --asset or --label: among those); it
    prints "nothing to do" and starts no batch when every run is current.
    """
    from mediasight.reprocess_cli import (
        follow,
        outdated_analyzers,
        parse_params,
        print_report,
        start_or_resume,
    )
    from services.reprocessing.requests import ReprocessError, ReprocessRequest

    async def run(services: Services, tenant_id: str) -> int:
        try:
            names = tuple(analyzer or ())
            if outdated and not resume:
                names = await outdated_analyzers(services, tenant_id, names)
                if not names:
                    out.print("nothing to do: every current run was made by the model this server runs")
                    return 0
            request = ReprocessRequest(
                analyzers=names,
                provider=provider,
                parameters=parse_params(param or []),
                outdated=outdated,
            )
            batch = await start_or_resume(
                services, tenant_id, resume=resume, asset_ids=asset or [], labels=label or [], request=request
            )
            typer.echo(batch.id)
            if batch.error:
                err.print(f"[red]error:[/] batch {batch.id} failed: {escape(batch.error)}")
                return 2
            if not wait:
                err.print(queued(batch))
                return 0
            batch = await follow(services, batch, err, work=True)
            await print_report(services, batch, err)
            return 1 if batch.failed else 0
        except ReprocessError as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}")
            return 2

    raise typer.Exit(with_tenant(ctx, tenant, run))
