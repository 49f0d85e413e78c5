"""`mediasight reprocess`: choose assets, start a tracked batch, optionally help process it and report."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rich.console import Console

from catalog.domain.change_report import build_report
from catalog.domain.model import BatchStatus, ReprocessBatch, Stage
from mediasight.bootstrap import Services
from mediasight.ingest_files import progress_bar
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from services.search_query import InvalidSearch, SearchSpec


def parse_params(pairs: Sequence[str]) -> dict[str, object]:
    """`key=value` pairs (values typed later, against each analyzer's settings)."""
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ReprocessError("INVALID_PARAMETER", f"--param needs key=value, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


async def indexed_assets(services: Services, tenant_id: str) -> list[str]:
    """Every indexed asset of the tenant, from the catalog (a video's keyframes go with their video)."""
    out: list[str] = []
    after = None
    while assets := await services.catalog.list_assets(tenant_id, after=after, limit=500):
        out += [a.id for a in assets if a.status == Stage.INDEXED and not a.is_keyframe]
        after = assets[-1].id
    return out


async def outdated_analyzers(services: Services, tenant_id: str, analyzers: Sequence[str]) -> tuple[str, ...]:
    """Those of the analyzers (the tenant's if none) with current runs an older model made: reads every
    indexed asset's current runs (services.model_versions)."""
    census = await services.model_versions.census(tenant_id, analyzers)
    return tuple(c.analyzer for c in census if c.outdated)


async def start_or_resume(
    services: Services,
    tenant_id: str,
    *,
    resume: str | None,
    asset_ids: Sequence[str],
    labels: Sequence[str],
    request: ReprocessRequest,
) -> ReprocessBatch:
    """Start (or resume) a batch and prepare it here, before returning: this is no HTTP request that a
    client would time out, so the user learns the total (or that nothing matched) at once, and the jobs are
    queued even when no worker runs yet. Should this process die meanwhile, recovery takes over."""
    if resume:
        return await services.reprocess.resume(tenant_id, resume)
    if labels:  # with --asset too: the assets among those that have the labels (or a synonym of one)
        try:
            query = await services.queries.selection(tenant_id, SearchSpec(labels=tuple(labels)))
        except InvalidSearch as exc:
            raise ReprocessError("INVALID_FILTER", str(exc).replace("`filter.labels`", "--label")) from exc
        ids = list(asset_ids) or None
        return await services.reprocess.start(tenant_id, ids, request, query=query, inline=True)
    ids = list(asset_ids) or await indexed_assets(services, tenant_id)
    return await services.reprocess.start(tenant_id, ids, request, inline=True)


async def follow(
    services: Services, batch: ReprocessBatch, console: Console, *, work: bool, what: str = "reprocessing"
) -> ReprocessBatch:
    """Show progress until the batch finishes; with `work`, this process runs a worker meanwhile."""
    stop = asyncio.Event()
    worker = asyncio.create_task(services.worker().run(stop)) if work else None
    try:
        with progress_bar(console) as progress:
            task = progress.add_task(what, total=batch.total or None)
            while True:
                current = await services.catalog.get_batch(batch.tenant_id, batch.id)
                assert current is not None
                progress.update(
                    task,
                    total=current.total or None,
                    completed=current.done + current.failed,
                    description=f"{what} ({current.failed} failed)" if current.failed else what,
                )
                if current.status not in (BatchStatus.PREPARING, BatchStatus.RUNNING):
                    return current
                await asyncio.sleep(0.2)
    finally:
        stop.set()
        if worker is not None:
            await worker


async def print_report(services: Services, batch: ReprocessBatch, console: Console) -> None:
    report = build_report(await services.catalog.change_records(batch.tenant_id, batch_id=batch.id))
    console.print(
        f"batch {batch.id}: {batch.done} done, [red]{batch.failed} failed[/]; "
        f"{len(report.changed)} of {report.assets_compared} assets changed, "
        f"{report.top_label_changed} changed their top label"
    )
    if report.labels_gained:
        console.print("  gained: " + ", ".join(f"{n} ({c})" for n, c in report.labels_gained[:10]))
    if report.labels_lost:
        console.print("  lost:   " + ", ".join(f"{n} ({c})" for n, c in report.labels_lost[:10]))
