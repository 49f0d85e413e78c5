"""The worker: claims pipeline jobs with leases, runs them concurrently, retries with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from catalog.domain.clock import utcnow
from catalog.domain.model import BatchStatus, Stage
from catalog.domain.ports import CatalogStore, Job, JobQueue, Signal
from catalog.domain.review.rules import applies_rules
from catalog.domain.run_ports import BatchItemState
from catalog.domain.webhooks import WebhookEvent
from indexer.analyzers import UnknownAnalyzerError
from indexer.errors import PermanentError
from indexer.image_errors import ImageRejected
from indexer.pipeline import Pipeline
from indexer.recognizers.ports import AnalyzerInputError
from services.concepts import RETIRE_JOB, SCORE_JOB, TRAIN_JOB, ConceptService
from services.export_jobs import EXPORT_JOB, ExportJobs
from services.ingest import PROCESS_JOB, REFRESH_JOB
from services.reprocessing.preparation import BatchPreparation, batch_of, prepared_batch_of, recover_batches
from services.webhook_feed import FOLLOW_JOB, FeedFollower
from services.webhooks import WEBHOOK_JOB, WebhookService, event_id

log = logging.getLogger(__name__)
ReviewRulesItem = Callable[[str, str, str], Awaitable[object]]  # (tenant, asset, batch)


@dataclass(frozen=True)
class WorkerSettings:
    concurrency: int = 4
    lease_seconds: float = 60.0
    max_attempts: int = 5
    retry_base_seconds: float = 2.0
    poll_seconds: float = 0.2
    recovery_seconds: float = 30.0


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        catalog: CatalogStore,
        pipeline: Pipeline,
        settings: WorkerSettings,
        preparation: BatchPreparation,
        webhooks: WebhookService | None = None,
        export_jobs: ExportJobs | None = None,
        concepts: ConceptService | None = None,
        feed: FeedFollower | None = None,
        review_rules: ReviewRulesItem | None = None,
    ) -> None:
        self._queue = queue
        self._catalog = catalog
        self._pipeline = pipeline
        self._settings = settings
        self._preparation = preparation
        self._webhooks = webhooks
        self._export_jobs = export_jobs
        self._concepts = concepts
        self._feed = feed
        self._review_rules = review_rules  # an archive sweep's item: the tenant's review rules on the asset
        self._tasks: set[asyncio.Task[None]] = set()
        # Fired after each job this worker handled (done, failed or put back): who waits for the work, as
        # `ingest --wait` does, looks again at once instead of at its next poll.
        self.finished = Signal()

    async def recover(self) -> int:
        """Re-enqueue unfinished assets, so nothing stays stranded after a crash.

        Where enqueue dedupes (SQLite) every unfinished asset is offered. Where it cannot (SQS), only assets
        untouched for longer than a job could take with all its retries: otherwise each sweep of each worker
        would add one more copy of the whole backlog.
        """
        s = self._settings
        stuck_before = utcnow() - timedelta(
            seconds=s.lease_seconds * s.max_attempts + s.retry_base_seconds * 2**s.max_attempts
        )
        count, after = await recover_batches(self._catalog, self._queue), None
        while True:
            assets = await self._catalog.unfinished_assets(after=after, limit=500)
            for asset in assets:
                if self._queue.dedupes or asset.updated_at < stuck_before:
                    await self._queue.enqueue(PROCESS_JOB, asset.tenant_id, asset.id)
            count += len(assets)
            if len(assets) < 500:
                return count
            after = assets[-1].id

    async def run(self, stop: asyncio.Event, *, recover: bool = True) -> None:
        s = self._settings
        log.info("worker started (concurrency %d)", s.concurrency)
        if recover:
            await self.recover()
        loop = asyncio.get_running_loop()
        next_recovery = loop.time() + s.recovery_seconds
        wake = asyncio.Event()  # set when a job finishes (a slot is free), is queued here, or on stop
        relay = asyncio.create_task(stop.wait())
        relay.add_done_callback(lambda _: wake.set())

        # A job queued in this process (by any loop's thread) is claimed at once, not at the next poll.
        def queued() -> None:
            with contextlib.suppress(RuntimeError):  # this loop has closed: no worker here to wake
                loop.call_soon_threadsafe(wake.set)

        unsubscribe = self._queue.new_jobs.subscribe(queued)

        def finished(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            wake.set()
            self.finished.fire()

        try:
            while not stop.is_set():
                wake.clear()
                free = s.concurrency - len(self._tasks)
                jobs = await self._queue.claim(free, s.lease_seconds) if free > 0 else []
                for job in jobs:
                    task = asyncio.create_task(self._handle(job))
                    self._tasks.add(task)
                    task.add_done_callback(finished)
                if loop.time() >= next_recovery:
                    await self.recover()
                    next_recovery = loop.time() + s.recovery_seconds
                # Slots left over mean the queue ran dry: poll. Otherwise sleep until a slot frees.
                idle = len(jobs) < free
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), s.poll_seconds if idle else None)
        finally:
            unsubscribe()
            relay.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("worker stopped")

    async def until(
        self,
        done: Callable[[], Awaitable[bool]],
        *,
        poll_seconds: float,
        min_interval: float = 0.0,
        wake: Signal | None = None,
    ) -> None:
        """Return once done() is true: asked again when a job of this worker ends or `wake` fires (at most
        every min_interval seconds: an ask may cost a query per 500 assets), and every poll_seconds for the
        jobs of other processes."""
        again = asyncio.Event()
        unsubscribe = self.finished.subscribe(again.set)
        unsubscribe_wake = wake.subscribe(again.set) if wake is not None else None
        loop = asyncio.get_running_loop()
        try:
            while True:
                asked = loop.time()
                again.clear()  # before asking: a job that ends while done() runs makes it ask once more
                if await done():
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(again.wait(), poll_seconds)
                await asyncio.sleep(max(0.0, asked + min_interval - loop.time()))
        finally:
            unsubscribe()
            if unsubscribe_wake is not None:
                unsubscribe_wake()

    async def run_until_idle(self) -> None:
        """Process jobs until none is ready (tests, benchmarks, `ingest --wait` without a server)."""
        await self.recover()
        stop = asyncio.Event()
        runner = asyncio.create_task(self.run(stop, recover=False))
        try:
            # A run that failed (its claim raised) ends the wait: awaiting it below raises its error.
            while not runner.done() and await self._queue.pending() > 0:  # noqa: ASYNC110 - shared queue
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            await runner

    async def _keep_lease(self, job: Job) -> None:
        while True:
            await asyncio.sleep(self._settings.lease_seconds / 3)
            try:
                kept = await self._queue.extend(job, self._settings.lease_seconds)
            except Exception as exc:  # a blip (network, throttling): the lease runs for a while yet
                log.warning("could not extend the lease of job %s (%s): trying again", job.id, exc)
                continue
            if not kept:
                log.warning("lost the lease of job %s", job.id)
                return

    async def _handle(self, job: Job) -> None:
        if job.kind == WEBHOOK_JOB:
            await self._deliver_webhook(job)
            return
        if job.kind == FOLLOW_JOB:
            await self._follow_feed(job)
            return
        keeper = asyncio.create_task(self._keep_lease(job))
        try:
            if (batch_id := batch_of(job.kind)) is not None:
                await self._reprocess(job, batch_id)
            elif (batch_id := prepared_batch_of(job.kind)) is not None:
                await self._preparation.prepare(job.tenant_id, batch_id)
            elif job.kind == EXPORT_JOB and self._export_jobs is not None:
                await self._export_jobs.run(job.tenant_id, job.asset_id)
            elif job.kind == TRAIN_JOB and self._concepts is not None:
                await self._concepts.run_training(job.tenant_id, job.asset_id)
            elif job.kind == RETIRE_JOB and self._concepts is not None:
                await self._concepts.retire(job.tenant_id, job.asset_id)
            elif job.kind == SCORE_JOB and self._concepts is not None:
                await self._concepts.run_scoring(job.tenant_id, job.asset_id)
            elif job.kind == REFRESH_JOB:
                await self._pipeline.refresh(job.tenant_id, job.asset_id)
            elif job.kind == PROCESS_JOB:
                retry = job.attempts > 1
                if await self._pipeline.process(job.tenant_id, job.asset_id, retry=retry) == Stage.INDEXED:
                    await self._announce(job.tenant_id, WebhookEvent.ASSET_INDEXED, assetId=job.asset_id)
            else:  # e.g. a concept job for a worker made without the concept service: it was done as nothing
                raise PermanentError(f"this worker cannot run {job.kind!r} jobs")
            await self._queue.complete(job)
            await self._nudge_feed(job)
        except (ImageRejected, PermanentError, AnalyzerInputError, UnknownAnalyzerError) as exc:
            await self._fail(job, str(exc))
        except Exception as exc:
            # What a person reads on the asset: the message, not the Python class (the log keeps both).
            reason = str(exc) or type(exc).__name__
            if job.attempts >= self._settings.max_attempts:
                log.warning("asset %s: %s: %s", job.asset_id, type(exc).__name__, exc)
                tries = f"{job.attempts} attempt" + ("s" if job.attempts != 1 else "")
                await self._fail(job, f"gave up after {tries}: {reason}")
            else:
                delay = self._settings.retry_base_seconds * 2 ** (job.attempts - 1) * random.uniform(0.5, 1.5)
                log.warning(
                    "asset %s attempt %d failed (%s: %s); retry in %.1fs",
                    job.asset_id,
                    job.attempts,
                    type(exc).__name__,
                    reason,
                    delay,
                )
                await self._queue.retry(job, reason, delay)
        finally:
            keeper.cancel()

    async def _reprocess(self, job: Job, batch_id: str) -> None:
        batch = await self._catalog.get_batch(job.tenant_id, batch_id)
        if batch is None:
            raise PermanentError(f"reprocess batch {batch_id} does not exist")
        state = await self._catalog.batch_item_state(job.tenant_id, batch_id, job.asset_id)
        if state != BatchItemState.PENDING:  # a duplicate message (SQS, recovery): the work is done
            return
        if applies_rules(batch):
            if self._review_rules is None:
                raise PermanentError("this worker cannot apply review rules")
            await self._review_rules(job.tenant_id, job.asset_id, batch_id)
        else:
            # a change: in the feed
            await self._pipeline.reprocess(job.tenant_id, job.asset_id, batch, retry=job.attempts > 1)
        await self._catalog.finish_batch_item(job.tenant_id, batch_id, job.asset_id, failed=False)
        await self._batch_finished(job.tenant_id, batch_id)

    async def _announce(
        self, tenant_id: str, event: WebhookEvent, about: tuple[str, ...] = (), **data: str
    ) -> None:
        """Tell the tenant's webhooks; the event's ID comes from what happened (its data, and `about`), so
        a job run twice announces it once."""
        if self._webhooks is not None:
            eid = event_id(event, tenant_id, *data.values(), *about)
            await self._webhooks.announce(tenant_id, event, data, event_id=eid)

    async def _batch_finished(self, tenant_id: str, batch_id: str) -> None:
        batch = await self._catalog.get_batch(tenant_id, batch_id)
        if batch is not None and batch.status in (BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_FAILURES):
            await self._announce(
                tenant_id, WebhookEvent.BATCH_FINISHED, batchId=batch_id, status=batch.status.value
            )

    async def _nudge_feed(self, job: Job) -> None:
        """Metadata may have changed: metadata-changed webhooks follow the feed (services.webhook_feed)."""
        if self._feed is None or job.kind == EXPORT_JOB:
            return
        try:
            await self._feed.nudge(job.tenant_id)
        except Exception as exc:  # the next job of the tenant nudges again; nothing of the feed is lost
            log.warning("could not start following tenant %s's change feed: %s", job.tenant_id, exc)

    async def _follow_feed(self, job: Job) -> None:
        try:
            delay = await self._feed.follow(job.tenant_id) if self._feed else None
        except Exception as exc:  # the store failed: the position is saved, follow again soon
            log.warning("following tenant %s's change feed failed (%s); trying again", job.tenant_id, exc)
            await self._queue.retry(
                job, str(exc), self._settings.retry_base_seconds * 2 ** min(job.attempts, 10)
            )
            return
        if delay is None:
            await self._queue.complete(job)
        else:
            await self._queue.retry(job, "following the change feed", delay)

    async def _deliver_webhook(self, job: Job) -> None:
        """One attempt of a webhook delivery; its own schedule decides the next (not the asset retries)."""
        try:
            delay = (
                await self._webhooks.deliver(job.tenant_id, job.asset_id, job.attempts)
                if self._webhooks
                else None
            )
        except Exception as exc:  # the store, not the receiver, failed: try again soon
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("webhook job %s failed (%s); trying again", job.asset_id, reason)
            await self._queue.retry(
                job, reason, self._settings.retry_base_seconds * 2 ** min(job.attempts, 10)
            )
            return
        if delay is None:
            await self._queue.complete(job)
        else:
            await self._queue.retry(job, "waiting for the delivery's next attempt", delay)

    async def _fail(self, job: Job, reason: str) -> None:
        log.error("%s job of asset %s failed: %s", job.kind, job.asset_id, reason)
        if job.kind == PROCESS_JOB:  # a failed refresh or reprocess leaves the asset as it was: indexed
            await self._catalog.set_stage(job.tenant_id, job.asset_id, Stage.FAILED, reason)
        if (batch_id := batch_of(job.kind)) is not None:
            await self._catalog.finish_batch_item(
                job.tenant_id, batch_id, job.asset_id, failed=True, error=reason
            )
            await self._batch_finished(job.tenant_id, batch_id)
        if (batch_id := prepared_batch_of(job.kind)) is not None:
            await self._preparation.abandon(job.tenant_id, batch_id, reason)
        if job.kind == EXPORT_JOB and self._export_jobs is not None:
            await self._export_jobs.fail(job.tenant_id, job.asset_id, reason)
        if job.kind == TRAIN_JOB and self._concepts is not None:
            await self._concepts.fail_training(job.tenant_id, job.asset_id, reason)
        await self._queue.dead(job, reason)
