"""A new asset and its first job: one SQLite transaction on the embedded stack, so no crash or failed
write leaves a registered asset that nothing will process."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catalog.domain.model import Asset, Stage
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.queue import SqliteJobQueue
from catalog.sqlite.registration import SqliteRegistration
from mediasight.bootstrap import Adapters, asset_registration, embedded_adapters
from mediasight.settings import Settings
from services.ingest import PROCESS_JOB, RegisterThenEnqueue


@pytest.fixture
def adapters(tmp_path: Path) -> Iterator[Adapters]:
    a = embedded_adapters(Settings(data_dir=tmp_path / "data"))
    yield a
    for db in a.dbs:
        db.close()


async def new_asset(a: Adapters, sha256: str = "ab" * 32) -> Asset:
    tenant = await a.catalog.create_tenant("acme")
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Asset(
        id="0190f5a0-0000-7000-8000-000000000001",
        tenant_id=tenant.id,
        sha256=sha256,
        size_bytes=3,
        media_type="image/jpeg",
        width=1,
        height=1,
        filename="a.jpg",
        blob_key=f"originals/{tenant.id}/{sha256}",
        created_at=now,
        updated_at=now,
        status=Stage.STORED,
    )


def db_of(a: Adapters) -> SqliteDb:
    assert isinstance(a.queue, SqliteJobQueue)
    return a.queue.db


async def test_the_embedded_stack_registers_and_queues_in_one_transaction(adapters: Adapters) -> None:
    registration = asset_registration(adapters)
    assert isinstance(registration, SqliteRegistration)
    asset = await new_asset(adapters)
    registered, created = await registration.register_queued(asset, PROCESS_JOB)
    assert created and registered.id == asset.id
    [job] = await adapters.queue.claim(10, 30)
    assert (job.kind, job.tenant_id, job.asset_id) == (PROCESS_JOB, asset.tenant_id, asset.id)
    again, created = await registration.register_queued(asset, PROCESS_JOB)  # the same bytes
    assert not created and again.id == asset.id
    assert await adapters.queue.pending() == 1  # no second job


async def test_a_job_that_cannot_be_written_leaves_no_asset(adapters: Adapters) -> None:
    db_of(adapters).write_sync(
        lambda c: c.execute(
            "CREATE TRIGGER no_jobs BEFORE INSERT ON jobs BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    )
    asset = await new_asset(adapters)
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        await asset_registration(adapters).register_queued(asset, PROCESS_JOB)
    assert await adapters.catalog.find_asset_by_sha256(asset.tenant_id, asset.sha256) is None


async def test_a_queue_told_of_each_new_job(adapters: Adapters) -> None:
    told: list[str] = []
    stop = adapters.queue.new_jobs.subscribe(lambda: told.append("job"))
    asset = await new_asset(adapters)
    await asset_registration(adapters).register_queued(asset, PROCESS_JOB)
    await asset_registration(adapters).register_queued(asset, PROCESS_JOB)  # a duplicate: no new job
    stop()
    await adapters.queue.enqueue("refresh", asset.tenant_id, asset.id)
    assert told == ["job"]


async def test_two_databases_get_two_writes(adapters: Adapters, tmp_path: Path) -> None:
    from catalog.sqlite import queue as sqlite_queue

    other = SqliteDb(tmp_path / "other.db", sqlite_queue.SCHEMA)
    try:
        adapters.queue = SqliteJobQueue(other)
        assert isinstance(asset_registration(adapters), RegisterThenEnqueue)
    finally:
        other.close()
