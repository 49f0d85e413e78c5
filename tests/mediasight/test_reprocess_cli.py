"""`mediasight reprocess`'s batch helpers: the CLI prepares a batch in its own process (no HTTP request to
time out), so --label batches are resolved and queued before it returns; --wait follows it; --resume
finishes a batch left PREPARING. The services of the unit tests (fake labeler at the port, real SQLite)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from rich.console import Console

from catalog.domain.model import BatchStatus, ReprocessBatch
from catalog.domain.ports import SearchQuery, SortOrder
from catalog.domain.run_ports import Claim
from mediasight.bootstrap import Services
from mediasight.reprocess_cli import follow, print_report, start_or_resume
from services.reprocessing.requests import ReprocessError, ReprocessRequest
from tests.api.test_reprocess import ingest
from tests.conftest import make_tenant


async def test_a_label_batch_is_prepared_by_the_cli_and_followed_to_its_report(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    ids = await ingest(services, tenant, {"red": (240, 20, 20), "blue": (20, 20, 200)})
    request = ReprocessRequest(parameters={"min_confidence": "60"})
    batch = await start_or_resume(
        services, tenant, resume=None, asset_ids=[], labels=["red"], request=request
    )
    assert (batch.status, batch.total) == (BatchStatus.RUNNING, 1)  # resolved and queued already
    out = io.StringIO()
    console = Console(file=out, width=200)
    done = await follow(services, batch, console, work=True)
    assert (done.status, done.done) == (BatchStatus.COMPLETED, 1)
    await print_report(services, done, console)
    assert f"batch {batch.id}: 1 done" in out.getvalue()

    # --asset with --label: the assets among those with the labels
    both = await start_or_resume(
        services, tenant, resume=None, asset_ids=[ids["blue"]], labels=["red"], request=request
    )
    assert both.status == BatchStatus.FAILED and "no indexed asset matches" in both.error


async def test_resume_finishes_a_preparing_batch_and_refuses_a_failed_one(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, {"red": (240, 20, 20), "blue": (20, 20, 200)})
    query = SearchQuery(sort=SortOrder.CREATED)
    left = await services.reprocess.start(tenant, None, ReprocessRequest(), query=query)  # as the API does
    assert left.status == BatchStatus.PREPARING

    async def resume(batch_id: str) -> ReprocessBatch:
        return await start_or_resume(
            services, tenant, resume=batch_id, asset_ids=[], labels=[], request=ReprocessRequest()
        )

    resumed = await resume(left.id)
    assert (resumed.status, resumed.total) == (BatchStatus.RUNNING, 2)
    await services.worker().run_until_idle()  # the start job still queued finds nothing left to do
    done = await services.catalog.get_batch(tenant, left.id)
    assert done is not None and (done.status, done.total, done.done) == (BatchStatus.COMPLETED, 2, 2)

    nothing = SearchQuery(labels=("nothing-like-this",), sort=SortOrder.CREATED)
    failed = await services.reprocess.start(tenant, None, ReprocessRequest(), query=nothing, inline=True)
    assert failed.status == BatchStatus.FAILED
    with pytest.raises(ReprocessError, match="failed: no indexed asset matches"):
        await resume(failed.id)


async def test_resume_leaves_a_batch_that_a_worker_is_preparing_to_it(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await ingest(services, tenant, {"red": (240, 20, 20), "blue": (20, 20, 200)})
    query = SearchQuery(sort=SortOrder.CREATED)
    batch = await services.reprocess.start(tenant, None, ReprocessRequest(), query=query)
    worker = Claim("a worker's preparation", timedelta(minutes=5))
    assert await services.catalog.claim_batch(tenant, batch.id, worker)
    resumed = await services.reprocess.resume(tenant, batch.id)  # `mediasight reprocess --resume`
    assert (resumed.status, resumed.total) == (BatchStatus.PREPARING, 0)
    assert await services.queue.pending() == 1  # the start job only: nothing was queued twice
    await services.catalog.release_batch(tenant, batch.id, worker)  # (the worker stopped)
    resumed = await services.reprocess.resume(tenant, batch.id)
    assert (resumed.status, resumed.total) == (BatchStatus.RUNNING, 2)
