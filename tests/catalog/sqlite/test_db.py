"""SqliteDb's writes: queued writes commit together, each in its own savepoint (group commit)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from catalog.sqlite.db import SqliteDb

SCHEMA = "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v INTEGER NOT NULL);"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDb]:
    database = SqliteDb(tmp_path / "t.db", SCHEMA)
    yield database
    database.close()


def insert(key: str, value: int) -> Callable[[sqlite3.Connection], int]:
    def fn(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (key, value))
        return value

    return fn


async def rows(db: SqliteDb) -> dict[str, int]:
    return dict(await db.read(lambda c: c.execute("SELECT k, v FROM t").fetchall()))


async def held_writer(db: SqliteDb, commits: list[str]) -> tuple[asyncio.Future[None], threading.Event]:
    """A write that holds the writer thread until the event is set; the writer's statements are traced."""
    release, started = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        conn.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        started.set()
        release.wait(5)

    first = asyncio.ensure_future(db.write(hold))
    await asyncio.to_thread(started.wait, 5)
    return first, release


async def test_writes_queued_behind_a_busy_writer_commit_together(db: SqliteDb) -> None:
    commits: list[str] = []
    first, release = await held_writer(db, commits)
    queued = [asyncio.ensure_future(db.write(insert(f"k{i}", i))) for i in range(5)]
    await asyncio.sleep(0.05)  # all five are queued while the writer is held
    release.set()
    await first
    assert await asyncio.gather(*queued) == [0, 1, 2, 3, 4]  # each caller gets its own result
    assert len(commits) == 2  # the held write's transaction, then one for the five
    assert await rows(db) == {f"k{i}": i for i in range(5)}


async def test_a_failing_write_in_a_group_fails_alone(db: SqliteDb) -> None:
    commits: list[str] = []
    first, release = await held_writer(db, commits)

    def half_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (k, v) VALUES ('half', 1)")
        conn.execute("INSERT INTO t (k, v) VALUES ('a', 2)")  # 'a' exists by then: IntegrityError

    queued = [
        asyncio.ensure_future(db.write(insert("a", 1))),
        asyncio.ensure_future(db.write(half_then_fail)),
        asyncio.ensure_future(db.write(insert("b", 3))),
    ]
    await asyncio.sleep(0.05)
    release.set()
    await first
    results = await asyncio.gather(*queued, return_exceptions=True)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert len(commits) == 2  # the three were one transaction
    assert await rows(db) == {"a": 1, "b": 3}  # the failed write's first insert was rolled back with it


async def test_a_lone_write_is_its_own_transaction_and_its_error_reaches_its_caller(db: SqliteDb) -> None:
    assert await db.write(insert("x", 7)) == 7
    with pytest.raises(sqlite3.IntegrityError):
        await db.write(insert("x", 8))
    assert await rows(db) == {"x": 7}
    assert await db.write(insert("y", 9)) == 9  # the writer goes on after an error


async def test_a_write_after_close_raises_and_leaves_nothing_queued(tmp_path: Path) -> None:
    database = SqliteDb(tmp_path / "closed.db", SCHEMA)
    database.close()
    with pytest.raises(RuntimeError):
        await database.write(insert("x", 1))
    with pytest.raises(RuntimeError):  # not wedged waiting on a drain that never started
        await database.write(insert("y", 2))
