"""Operator commands: `mediasight init`, `reindex`, `verify`, `faces-sweep` and `export-schema`."""

from __future__ import annotations

from typing import Annotated

import typer

from mediasight.bootstrap import Services
from mediasight.shared_cli import err, tenant_id, with_services, with_tenant


def init(ctx: typer.Context) -> None:
    """Create what the configured backends need: DynamoDB table, OpenSearch index, S3 bucket, SQS queues.

    Safe to run again; the embedded default needs nothing (its files are created on first use).
    """
    from mediasight.scale_out import initialise

    async def run(services: Services) -> list[str]:
        # opening the services already created the SQS queue and its dead-letter queue
        return await initialise(services.catalog, services.index, services.blobs)

    made = with_services(ctx, run)
    err.print(f"ready: {', '.join(made) if made else 'embedded stack (nothing to create)'}")


def reindex(
    ctx: typer.Context,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Name of the one tenant to rebuild [default: all].")
    ] = None,
) -> None:
    """Rebuild the search index from the catalog (the catalog is the truth; the index is derived).

    Searches see the old index until the rebuild commits; a failed or stopped rebuild leaves it as it was.
    Index writes of running workers wait meanwhile: on a large archive, stop the workers first.
    """
    from mediasight.reindex import rebuild

    async def run(services: Services) -> None:
        only = await tenant_id(services, tenant) if tenant is not None else None
        count = await rebuild(services, err, tenant_id=only)
        err.print(f"reindexed {count} assets" + (f" of tenant {tenant!r}" if tenant else ""))

    with_services(ctx, run)


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

    async def run(services: Services) -> DriftReport:
        only = await tenant_id(services, tenant) if tenant is not None else None
        return await run_verify(services, tenant_id=only, repair=repair, console=err)

    report = with_services(ctx, run)
    if as_json:
        print(json.dumps({**report.as_json(), "tenant": tenant}))
    else:
        print(report.summary(tenant))
    raise typer.Exit(1 if report.remaining else 0)


def faces_sweep(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Option("--tenant", help="Name of the tenant whose collection to sweep.")],
    grace: Annotated[
        float,
        typer.Option(
            help="Seconds to wait before deleting a face not in the catalog (it may be mid-analysis)."
        ),
    ] = 120.0,
) -> None:
    """Delete faces in a tenant's Rekognition collection that the catalog does not know.

    They come from an analysis that indexed faces but never finished, or from a DeleteFaces that failed.
    Prints the deleted FaceIds, one per line. Exit status 2 when Rekognition is not enabled here.
    """
    from indexer.recognizers.ports import RemoteUnavailable

    async def run(services: Services, tenant_id: str) -> list[str]:
        return await services.faces.sweep_orphans(tenant_id, grace_seconds=grace)

    try:
        deleted = with_tenant(ctx, tenant, run)
    except RemoteUnavailable as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    for face_id in deleted:
        print(face_id)
    err.print(f"deleted {len(deleted)} orphan faces")


def export_schema() -> None:
    """Print the GraphQL schema (SDL); schema.graphql in the repository must equal it."""
    from api.schema import schema

    print(schema.as_str())
