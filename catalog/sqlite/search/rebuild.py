"""Rebuilding the embedded search index — all of it, or one tenant's part — from scratch, in one transaction.

Documents go in a batch at a time without their counts (`search_rows`); at the end the counts of every
rebuilt tenant are counted from the rows at once (`search_recount`). Counting document by document made
bulk writes about three times slower.

All of it is one write transaction, on a connection and thread of its own: readers see the old index
until the new one is complete, and a rebuild that fails or is killed half-way leaves the old index as it
was (SQLite rolls the transaction back) — never documents whose counts do not match them. Other writers
wait meanwhile (the busy timeout, then their jobs retry). A full rebuild also drops the full-text table
and the secondary indexes and makes them again at the end: built from sorted rows, not grown row by row.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from catalog.domain.ports import IndexDocument
from catalog.sqlite.search import columns as search_columns
from catalog.sqlite.search import counts as search_counts
from catalog.sqlite.search import partition
from catalog.sqlite.search import recount as search_recount
from catalog.sqlite.search import rows as search_rows

T = TypeVar("T")
_TABLES = ("docs", "doc_vectors", "doc_persons", "terms")  # keyed by tenant_id, asset_id
_CACHE = "PRAGMA cache_size = -262144"  # 256 MiB: terms grows at a thousand places at once


class _Load:
    def __init__(self, path: Path, tenant_id: str | None) -> None:
        self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        self._tenant = tenant_id
        self._tenants: set[str] = set() if tenant_id is None else {tenant_id}
        self._known: dict[tuple[int, str], int] = {}  # facet value IDs, for this transaction
        self._deferred: list[str] = []  # statements making what a full rebuild dropped
        self.documents = 0

    def begin(self) -> None:
        conn = self._conn
        conn.execute(_CACHE)
        conn.execute("BEGIN IMMEDIATE")
        if self._tenant is not None:
            for stored in partition.both(self._tenant):  # its archive and its training examples
                key = search_counts.tenant_key(conn, stored)
                conn.execute(
                    "DELETE FROM docs_fts WHERE rowid IN (SELECT fts_id FROM docs WHERE tenant_id = ?)",
                    (stored,),
                )
                for table in _TABLES:
                    conn.execute(f"DELETE FROM {table} WHERE tenant_id = ?", (stored,))
                conn.execute("DELETE FROM facet_counts WHERE tenant = ?", (key,))
            return
        # facet_values and search_tenants stay: IDs keep their meaning (readers cache them).
        fts = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'docs_fts'").fetchone()[0]
        conn.execute("DROP TABLE docs_fts")  # deleting its rows one by one would take longer than it
        conn.execute(fts)
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({', '.join(repr(t) for t in _TABLES)})"
        ).fetchall()
        for name, sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
            self._deferred.append(sql)
        for table in (*_TABLES, "facet_counts"):
            conn.execute(f"DELETE FROM {table}")  # without WHERE: SQLite empties the table at once

    def add(self, docs: Sequence[IndexDocument]) -> None:
        strays = {d.tenant_id for d in docs} - self._tenants
        if self._tenant is not None and strays:
            raise ValueError(f"rebuilding tenant {self._tenant}: a document of tenant {min(strays)}")
        self._tenants |= strays
        try:
            search_rows.insert(self._conn, docs, self._known)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"a rebuild takes each asset once ({exc})") from exc
        self.documents += len(docs)

    def finish(self) -> None:
        for sql in self._deferred:
            self._conn.execute(sql)
        stored = [k for tenant_id in sorted(self._tenants) for k in partition.both(tenant_id)]
        for k in stored:
            search_recount.recount(self._conn, k)
        search_columns.touch(self._conn, stored)
        if self._tenant is None:  # every tenant's documents were dropped, those not rebuilt too
            search_columns.touch_all(self._conn)
        self._conn.execute("COMMIT")
        with contextlib.suppress(sqlite3.OperationalError):  # best effort: give the WAL's space back
            self._conn.execute("PRAGMA busy_timeout = 1000")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._conn.close()


async def rebuild(path: Path, batches: AsyncIterable[Sequence[IndexDocument]], tenant_id: str | None) -> int:
    """Replace the tenant's documents (every tenant's with None) in the index file at `path` by those of
    `batches`; returns how many. The next batch is awaited while the last one is written."""
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-rebuild")

    def run(fn: Callable[..., T], *args: object) -> asyncio.Future[T]:
        return loop.run_in_executor(pool, fn, *args)

    batch_iter = aiter(batches)
    pending: asyncio.Future[Sequence[IndexDocument] | None] | None = None
    load = await run(_Load, path, tenant_id)
    try:
        await run(load.begin)
        pending = asyncio.ensure_future(anext(batch_iter, None))
        while (batch := await pending) is not None:
            pending = asyncio.ensure_future(anext(batch_iter, None))
            await run(load.add, batch)
        await run(load.finish)
        return load.documents
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        await asyncio.shield(run(load.close))  # after any step still running: the pool has one thread
        pool.shutdown(wait=False)
