"""The long-running work, composed in one place: the worker, plus S3 event ingest when configured, whether
`mediasight worker` runs it alone or `mediasight serve` runs it beside the API."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from indexer.worker import Worker
from mediasight.bootstrap import Services, open_services
from mediasight.settings import Settings

if TYPE_CHECKING:
    from indexer.s3_events import S3EventIngestor

log = logging.getLogger(__name__)


@dataclass
class Background:
    """The worker and, when MEDIASIGHT_S3_EVENTS_QUEUE is set, the S3 event consumer."""

    worker: Worker
    events: S3EventIngestor | None

    async def run(self, stop: asyncio.Event) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self.worker.run(stop))
            if self.events is not None:
                tasks.create_task(self.events.run(stop))


def freeze_startup_objects() -> None:
    """Move what startup built (schema, models, services) out of the garbage collector's sight, in a
    long-running process: a full collection then walks only the garbage of requests and jobs, not the
    ~72,000 objects of opened services (33 ms a collection; bench.ingest's process met one every ~60
    images, ~52 ms with its models loaded; 0.0 ms once frozen)."""
    gc.collect()
    gc.freeze()


async def background(services: Services) -> Background:
    """Compose the background work and check it can run. ValueError: S3 event ingest is misconfigured
    (a bad mapping, an unknown tenant or queue) -- say so now, not on the first event."""
    events = await services.s3_event_ingestor()
    if events is not None:
        await events.check()
    return Background(services.worker(), events)


@contextlib.asynccontextmanager
async def serving(settings: Settings, *, worker: bool) -> AsyncIterator[Services]:
    """The services of a server process (the API's OpenServices), with the background work running beside
    the API when `worker` is set; stopped, then closed, on exit."""
    services = await open_services(settings)
    try:
        if not worker:
            freeze_startup_objects()
            yield services
            return
        try:
            work = await background(services)
        except ValueError as exc:
            log.error("S3 event ingest: %s", exc)
            raise
        stop = asyncio.Event()
        freeze_startup_objects()
        task = asyncio.create_task(work.run(stop))
        try:
            yield services
        finally:
            stop.set()
            await task
    finally:
        await services.aclose()
