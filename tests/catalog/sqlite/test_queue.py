from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.sqlite import queue as sqlite_queue
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.queue import SqliteJobQueue


@pytest.fixture
def queue(tmp_path: Path) -> Iterator[SqliteJobQueue]:
    db = SqliteDb(tmp_path / "q.db", sqlite_queue.SCHEMA)
    yield SqliteJobQueue(db)
    db.close()


async def test_enqueue_is_idempotent_while_unfinished(queue: SqliteJobQueue) -> None:
    await queue.enqueue("process", "t1", "a1")
    await queue.enqueue("process", "t1", "a1")
    assert await queue.pending() == 1
    [job] = await queue.claim(10, 30)
    await queue.complete(job)
    assert await queue.pending() == 0
    await queue.enqueue("process", "t1", "a1")  # a finished job does not block new work
    assert await queue.pending() == 1


async def test_claimed_job_is_invisible_until_its_lease_runs_out(queue: SqliteJobQueue) -> None:
    await queue.enqueue("process", "t1", "a1")
    [job] = await queue.claim(10, 0.2)
    assert job.attempts == 1
    assert await queue.claim(10, 0.2) == []
    await asyncio.sleep(0.3)
    [again] = await queue.claim(10, 30)  # the first owner died: the job comes back
    assert again.id == job.id and again.attempts == 2
    # The stale owner can no longer complete or retry it.
    await queue.complete(job)
    assert await queue.pending() == 1
    await queue.complete(again)
    assert await queue.pending() == 0


async def test_extend_keeps_the_lease_and_fails_for_a_stale_token(queue: SqliteJobQueue) -> None:
    await queue.enqueue("process", "t1", "a1")
    [job] = await queue.claim(1, 0.2)
    assert await queue.extend(job, 30)
    await asyncio.sleep(0.3)
    assert await queue.claim(1, 30) == []
    await queue.complete(job)
    assert not await queue.extend(job, 30)


async def test_retry_waits_for_backoff_and_dead_is_final(queue: SqliteJobQueue) -> None:
    await queue.enqueue("process", "t1", "a1")
    [job] = await queue.claim(1, 30)
    await queue.retry(job, "boom", delay_seconds=0.2)
    assert await queue.claim(1, 30) == []
    await asyncio.sleep(0.3)
    [job] = await queue.claim(1, 30)
    await queue.dead(job, "gave up")
    assert await queue.pending() == 0
    assert await queue.claim(1, 30) == []


async def test_concurrent_claims_never_hand_out_a_job_twice(queue: SqliteJobQueue) -> None:
    for i in range(50):
        await queue.enqueue("process", "t1", f"a{i}")
    batches = await asyncio.gather(*(queue.claim(7, 30) for _ in range(10)))
    ids = [job.id for batch in batches for job in batch]
    assert len(ids) == len(set(ids)) == 50


async def test_foreground_jobs_are_claimed_before_background_ones(queue: SqliteJobQueue) -> None:
    for i in range(3):
        await queue.enqueue("reprocess:b1", "t1", f"old{i}", background=True)
    await queue.enqueue("process", "t1", "new")  # an upload arriving during a big reprocess batch
    first = await queue.claim(2, 30)
    assert [j.asset_id for j in first] == ["new", "old0"]
    rest = await queue.claim(10, 30)
    assert [j.asset_id for j in rest] == ["old1", "old2"]
