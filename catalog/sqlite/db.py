"""A SQLite database used from asyncio: blocking calls run on dedicated threads, never on the loop.

One writer thread (SQLite serialises writers anyway) and a small pool of reader threads, each with its
own connection. WAL mode lets the CLI and a running server share the file; busy_timeout makes a second
process wait for the write lock instead of failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


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
        return await asyncio.get_running_loop().run_in_executor(self._writer, self.write_sync, fn)

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self.read_sync, fn)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
