"""A SQLite database used from asyncio: blocking calls run on dedicated threads, never on the loop.

One writer thread (SQLite serialises writers anyway) and a small pool of reader threads, each with its
own connection. WAL mode lets the CLI and a running server share the file; busy_timeout makes a second
process wait for the write lock instead of failing.

Writes that queue up while the writer is busy (the assets a worker has in flight, each saving a step)
commit together: one transaction, each write in a savepoint of its own, so one write's error rolls back
that write alone and its caller alone gets it (group commit). A lone write is a transaction by itself, as
before; a write's caller resumes only once its transaction has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
GROUP_MAX = 64  # writes committed together at most (a bound on how long one transaction holds the lock)
_Write = tuple[Callable[[sqlite3.Connection], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def placeholders(n: int) -> str:
    """`?, ?, ?` for an IN list or VALUES row of n parameters."""
    return ", ".join("?" * n)


class SqliteDb:
    def __init__(
        self,
        path: Path,
        schema: str,
        *,
        readers: int = 2,
        migrate: Callable[[sqlite3.Connection], None] | None = None,
    ) -> None:
        self.path = path
        self._schema = schema
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"sqlite-w-{path.stem}")
        self._readers = ThreadPoolExecutor(readers, thread_name_prefix=f"sqlite-r-{path.stem}")
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._queued: list[_Write] = []  # writes waiting for the writer thread
        self._queue_lock = threading.Lock()
        self._draining = False  # a drain of _queued is submitted to the writer thread
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            if migrate is not None:  # before the schema script: it may create indexes on migrated columns
                conn.execute("BEGIN IMMEDIATE")
                try:
                    migrate(conn)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            conn.executescript(schema)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("PRAGMA temp_store=MEMORY")  # search materialises hits in temp tables
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn in one IMMEDIATE transaction (takes the write lock up front: no upgrade deadlocks)."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            return fn(conn)
        finally:
            if conn.in_transaction:  # an interrupted statement has rolled the transaction back already
                conn.execute("COMMIT")

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        write: _Write = (fn, loop, future)
        with self._queue_lock:
            self._queued.append(write)
            start, self._draining = not self._draining, True
        if start:
            try:
                self._writer.submit(self._drain)
            except RuntimeError:  # closed: no writer thread any more
                with self._queue_lock:
                    self._queued.remove(write)
                    self._draining = False
                raise
        return await future

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self.read_sync, fn)

    def _drain(self) -> None:
        """On the writer thread: commit what is queued, group by group, until nothing is."""
        while True:
            with self._queue_lock:
                group, self._queued = self._queued[:GROUP_MAX], self._queued[GROUP_MAX:]
                if not group:
                    self._draining = False
                    return
            try:
                outcomes = self._commit_group([fn for fn, _, _ in group])
            except BaseException as exc:  # its callers get it; the writer goes on
                self._rollback()
                outcomes = [_Failed(exc)] * len(group)
            by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], object]]] = {}
            for (_, loop, future), outcome in zip(group, outcomes, strict=True):
                by_loop.setdefault(loop, []).append((future, outcome))
            for loop, settled in by_loop.items():  # one wake-up of each loop for its whole group
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, settled)

    def _commit_group(self, fns: list[Callable[[sqlite3.Connection], Any]]) -> list[object]:
        """Each fn's result, or _Failed with the exception it (or the commit) raised."""
        if len(fns) == 1:
            try:
                return [self.write_sync(fns[0])]
            except Exception as exc:
                return [_Failed(exc)]
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except Exception as exc:
            return [_Failed(exc)] * len(fns)
        outcomes: list[object] = []
        for i, fn in enumerate(fns):
            conn.execute("SAVEPOINT one_write")
            try:
                outcomes.append(fn(conn))
            except Exception as exc:
                if not conn.in_transaction:  # SQLite rolled the whole transaction back (disk full, I/O)
                    lost = [_Failed(exc)] * (i + 1)  # this write, and those before it that it took along
                    return lost + (self._commit_group(fns[i + 1 :]) if i + 1 < len(fns) else [])
                conn.execute("ROLLBACK TO one_write")
                outcomes.append(_Failed(exc))
            conn.execute("RELEASE one_write")
        try:
            conn.execute("COMMIT")
        except Exception as exc:
            self._rollback()
            return [_Failed(exc)] * len(fns)
        return outcomes

    def _rollback(self) -> None:
        conn = self._conn()
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def close(self) -> None:  # queued writes are committed first (the writer's shutdown waits for them)
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


class _Failed:
    """A write's exception, as its outcome (a write may return an exception object as its result)."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _settle(settled: list[tuple[asyncio.Future[Any], object]]) -> None:
    for future, outcome in settled:
        if future.cancelled():  # its caller gave up; the write itself has happened (or failed) regardless
            continue
        if isinstance(outcome, _Failed):
            future.set_exception(outcome.exc)
        else:
            future.set_result(outcome)
