"""Ingest's order of writes: the original first, then the asset row with its job (one SQLite transaction on
the embedded stack). A failure at any write leaves at most an unreferenced blob, never a row without its
original nor an asset that nothing will process; a file is read once."""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from catalog.domain.model import Stage
from catalog.domain.ports import Signal
from catalog.sqlite.queue import SqliteJobQueue
from indexer.worker import Worker, WorkerSettings
from mediasight.bootstrap import Services
from services.concepts import TRAIN_JOB
from services.ingest import Ingestor
from tests.conftest import jpeg_bytes, make_tenant


class FailingBlobs:
    """The real blob store, whose writes fail (a full disk, an S3 outage)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        raise OSError(28, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def blob_files(services: Services) -> list[Path]:
    return [p for p in services.settings.blob_dir.rglob("*") if p.is_file() and ".incoming" not in p.parts]


async def test_an_original_that_cannot_be_stored_leaves_no_asset(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    s = services.settings
    ingestor = Ingestor(
        services.catalog,
        FailingBlobs(services.blobs),  # type: ignore[arg-type]
        services.queue,
        services.cpu,
        max_pixels=s.max_pixels,
        max_bytes=s.max_upload_bytes,
    )
    with pytest.raises(OSError, match="No space"):
        await ingestor.ingest(tenant, jpeg_bytes((200, 10, 10)), "red.jpg")
    assert await services.catalog.list_assets(tenant, after=None, limit=10) == []
    assert await services.queue.pending() == 0


async def test_a_job_that_cannot_be_queued_leaves_no_asset_and_a_retry_works(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    assert isinstance(services.queue, SqliteJobQueue)
    db = services.queue.db
    db.write_sync(
        lambda c: c.execute(
            "CREATE TRIGGER no_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    )
    data = jpeg_bytes((10, 200, 10))
    with pytest.raises(Exception, match="disk full"):
        await services.ingestor.ingest(tenant, data, "green.jpg")
    assert await services.catalog.list_assets(tenant, after=None, limit=10) == []
    assert len(blob_files(services)) == 1  # the original, unreferenced: harmless, and reused below
    db.write_sync(lambda c: c.execute("DROP TRIGGER no_jobs"))
    outcome = await services.ingestor.ingest(tenant, data, "green.jpg")
    assert outcome.status == "new" and outcome.asset is not None
    await services.worker().run_until_idle()
    asset = await services.catalog.get_asset(tenant, outcome.asset.id)
    assert asset is not None and asset.status == Stage.INDEXED


async def test_an_image_file_is_opened_once(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    path = tmp_path / "blue.jpg"
    path.write_bytes(jpeg_bytes((10, 10, 200), (300, 200)))
    opened: list[object] = []
    real_open = builtins.open

    def counting_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(path):
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    outcome = await services.ingestor.ingest_file(tenant, path, path.name)
    assert outcome.status == "new" and outcome.asset is not None
    assert (outcome.asset.width, outcome.asset.height, outcome.asset.size_bytes) == (
        300,
        200,
        path.stat().st_size,
    )
    assert len(opened) == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "empty"), (b"hello", "not_an_image"), (jpeg_bytes((1, 1, 1), (300, 200))[:400], "truncated")],
)
async def test_a_bad_file_is_refused_as_from_an_upload(
    services: Services, tmp_path: Path, content: bytes, code: str
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    path = tmp_path / "bad.jpg"
    path.write_bytes(content)
    outcome = await services.ingestor.ingest_file(tenant, path, path.name)
    assert (outcome.status, outcome.code) == ("rejected", code)
    assert blob_files(services) == []


async def test_a_file_over_the_limit_or_unreadable_is_refused(services: Services, tmp_path: Path) -> None:
    tenant, _ = await make_tenant(services, "acme")
    s = services.settings
    small = Ingestor(
        services.catalog, services.blobs, services.queue, services.cpu, max_pixels=s.max_pixels, max_bytes=500
    )
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes((1, 2, 3), (300, 200)))
    outcome = await small.ingest_file(tenant, path, path.name)
    assert (outcome.status, outcome.code) == ("rejected", "too_large_bytes")
    outcome = await small.ingest_file(tenant, tmp_path, "a folder")
    assert (outcome.status, outcome.code) == ("rejected", "unreadable")


async def indexed(services: Services, tenant: str, asset_id: str) -> None:
    """Until the asset is indexed (the catalog is another thread's: nothing to wait on but its rows)."""
    while True:
        asset = await services.catalog.get_asset(tenant, asset_id)
        if asset is not None and asset.status == Stage.INDEXED:
            return
        await asyncio.sleep(0.05)


async def test_a_job_queued_in_this_process_is_claimed_at_once(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    poll = 60.0  # far beyond the test's patience: only being told of the new job gets it claimed in time
    worker = Worker(
        services.queue,
        services.catalog,
        services.pipeline,
        WorkerSettings(concurrency=2, poll_seconds=poll, recovery_seconds=poll),
        services.reprocess.preparation,
    )
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        await asyncio.sleep(0.3)  # the worker found nothing and waits
        outcome = await services.ingestor.ingest(tenant, jpeg_bytes((200, 200, 10)), "yellow.jpg")
        assert outcome.asset is not None
        async with asyncio.timeout(20):
            await indexed(services, tenant, outcome.asset.id)
    finally:
        stop.set()
        await running


async def test_a_waiter_looks_again_as_each_job_of_the_worker_ends(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    outcome = await services.ingestor.ingest(tenant, jpeg_bytes((20, 200, 200)), "cyan.jpg")
    assert outcome.asset is not None
    asked: list[Stage | None] = []

    async def indexed_now() -> bool:
        asset = await services.catalog.get_asset(tenant, outcome.asset.id)  # type: ignore[union-attr]
        asked.append(asset.status if asset else None)
        return asset is not None and asset.status == Stage.INDEXED

    worker = services.worker()
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    try:
        async with asyncio.timeout(20):  # a poll of 60 s: only the worker's signal ends the wait in time
            await worker.until(indexed_now, poll_seconds=60)
    finally:
        stop.set()
        await running
    assert asked[0] != Stage.INDEXED and asked[-1] == Stage.INDEXED


async def test_a_waiter_looks_again_when_told_to(services: Services) -> None:
    # `ingest --wait` tells it when the last file is in: the assets may all be finished by then
    flag, wake, asked = asyncio.Event(), Signal(), []

    async def flagged() -> bool:
        asked.append(flag.is_set())
        return flag.is_set()

    waiting = asyncio.create_task(services.worker().until(flagged, poll_seconds=60, wake=wake))
    while not asked:  # noqa: ASYNC110 - the first ask, then the wake
        await asyncio.sleep(0.01)
    flag.set()
    wake.fire()
    async with asyncio.timeout(20):  # a poll of 60 s: only the wake ends the wait in time
        await waiting
    assert asked == [False, True]


class BrokenClaims:
    """The real queue, whose claims fail (the database is gone)."""

    def __init__(self, real: Any) -> None:
        self._real = real

    async def claim(self, limit: int, lease_seconds: float) -> list[Any]:
        raise RuntimeError("database disk image is malformed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


async def test_run_until_idle_raises_when_its_worker_fails(services: Services) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.ingestor.ingest(tenant, jpeg_bytes((20, 20, 20)), "grey.jpg")  # a job stays pending
    worker = Worker(
        BrokenClaims(services.queue),  # type: ignore[arg-type]
        services.catalog,
        services.pipeline,
        WorkerSettings(),
        services.reprocess.preparation,
    )
    started = time.monotonic()
    async with asyncio.timeout(20):
        with pytest.raises(RuntimeError, match="malformed"):
            await worker.run_until_idle()
    assert time.monotonic() - started < 10  # it waited for the pending job until cancelled


async def test_the_worker_of_the_ingesting_process_takes_the_original_from_memory(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    reads: list[str] = []
    real_get = services.blobs.get

    async def counting_get(key: str) -> bytes:
        reads.append(key)
        return await real_get(key)

    monkeypatch.setattr(services.blobs, "get", counting_get)
    # Ingested before any worker runs here: nothing would take it, so nothing is held; the store is read.
    before = await services.ingestor.ingest(tenant, jpeg_bytes((200, 10, 10), (300, 200)), "red.jpg")
    worker = services.worker()
    after = await services.ingestor.ingest(tenant, jpeg_bytes((10, 200, 10), (300, 200)), "green.jpg")
    await worker.run_until_idle()
    assert before.asset is not None and after.asset is not None
    for outcome in (before, after):
        asset = await services.catalog.get_asset(tenant, outcome.asset.id)  # type: ignore[union-attr]
        assert asset is not None and asset.status == Stage.INDEXED and asset.phash
    assert before.asset.blob_key in reads
    assert after.asset.blob_key not in reads


async def test_a_job_this_worker_cannot_run_fails_with_its_kind_instead_of_passing_for_done(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    tenant, _ = await make_tenant(services, "acme")
    await services.queue.enqueue(TRAIN_JOB, tenant, "Crimson:1")
    worker = Worker(  # made without the concept service, as a test or an old deployment might be
        services.queue,
        services.catalog,
        services.pipeline,
        WorkerSettings(),
        services.reprocess.preparation,
    )
    with caplog.at_level(logging.ERROR, logger="indexer.worker"):
        await worker.run_until_idle()
    assert await services.queue.pending() == 0
    assert "cannot run 'concept-train' jobs" in caplog.text


async def test_a_folder_ingested_with_wait_hands_every_original_to_the_worker_in_memory(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a folder outruns the analysis: ingest waits for room in the handoff instead of pushing out
    originals the worker would then read back from the store."""
    from rich.console import Console

    from mediasight.ingest_files import ingest_paths

    tenant, _ = await make_tenant(services, "acme")
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(8):
        (folder / f"p{i}.jpg").write_bytes(jpeg_bytes((30 * i, 90, 200 - 20 * i), (320, 240), quality=95))
    largest = max(p.stat().st_size for p in folder.iterdir())
    monkeypatch.setattr(services.fresh_originals, "_max_bytes", 2 * largest)  # room for two at a time
    real_get, read_back = services.blobs.get, []

    async def get(key: str) -> bytes:
        read_back.append(key)
        return await real_get(key)

    monkeypatch.setattr(services.blobs, "get", get)
    results = await ingest_paths(
        services, tenant, [folder], as_json=False, wait=True, console=Console(quiet=True)
    )
    assert [r.outcome.status for r in results] == ["new"] * 8
    assert [k for k in read_back if k.startswith("originals/")] == []
