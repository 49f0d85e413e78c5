"""The embedded search index: SQLite tables derived from the catalog, FTS5 for words, numpy for vectors.

A label query is one index range scan per term, ranked by the confidence of the best label reached
(`search_schema` describes the tables). One-label queries — the common case — page straight from an index
and read their total and facets from counts kept at write time (`search_topk`); allLabels and notLabels
combine label sets read whole and correct those counts (`search_intersect`); any other query
materialises its hits first (`search_matched`). A text query adds full-text matches (filename, labels,
persons, text in the image) and, given the query's embedding, semantic neighbours. Upserts keep the
counts as they go; a rebuild (`mediasight reindex`) loads documents and counts them at the end.
"""

from __future__ import annotations

import dataclasses
import functools
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterable, Callable, Sequence
from typing import TypeVar

from catalog.domain.cursor import decode_cursor
from catalog.domain.ports import IndexDocument, SearchPage, SearchQuery, SearchTimeout, TrainingExamples
from catalog.sqlite.db import SqliteDb
from catalog.sqlite.search import (
    columns as search_columns,
)
from catalog.sqlite.search import (
    counts as search_counts,
)
from catalog.sqlite.search import (
    intersect as search_intersect,
)
from catalog.sqlite.search import (
    matched as search_matched,
)
from catalog.sqlite.search import (
    partition,
)
from catalog.sqlite.search import (
    rebuild as search_rebuild,
)
from catalog.sqlite.search import (
    rows as search_rows,
)
from catalog.sqlite.search import (
    text as search_text,
)
from catalog.sqlite.search import (
    topk as search_topk,
)
from catalog.sqlite.search import (
    vocab as search_vocab,
)
from catalog.sqlite.search.schema import SCHEMA, TABLES, migrate

__all__ = ["SCHEMA", "SqliteSearchIndex"]


# Per connection: map the file (no read syscall per page: hit sets jump around the B-trees) and keep
# the hot inner pages of the larger tables in SQLite's own cache. SQLite caps the map at its build
# limit (2 GiB here); pages past it are read as usual.
_PRAGMAS = ("PRAGMA mmap_size = 17179869184", "PRAGMA cache_size = -65536")

TIMEOUT_SECONDS = 10.0  # a search past this is stopped (the slowest shapes take ~0.3 s at 1M assets)
PROGRESS_STEPS = 10_000  # SQLite virtual machine steps between deadline checks (microseconds apart)

T = TypeVar("T")


class SqliteSearchIndex:
    def __init__(self, db: SqliteDb, *, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._db = db
        self._timeout = timeout_seconds
        self._vocab = search_vocab.Vocabulary()
        self._columns = search_columns.Cache()  # for free-text queries (`search_text`)
        self._tuned: set[int] = set()  # id() of the connections given _PRAGMAS (they live as long as db)
        migrate(db)

    def _tune(self, fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        def run(conn: sqlite3.Connection) -> T:
            if id(conn) not in self._tuned:
                for pragma in _PRAGMAS:
                    conn.execute(pragma)
                self._tuned.add(id(conn))
            return fn(conn)

        return run

    async def upsert(self, doc: IndexDocument) -> None:
        await self.upsert_many([doc])

    async def upsert_many(self, docs: Sequence[IndexDocument]) -> None:
        """Index several documents in one transaction, their counts changed with them."""
        # One after the other, the last of an asset would win: so it does here.
        latest = list({(d.tenant_id, d.asset_id): d for d in docs}.values())

        def write(conn: sqlite3.Connection) -> None:
            # Under both keys (`partition`): a training example that joined the archive moves over.
            stored = [(k, d.asset_id) for d in latest for k in partition.both(d.tenant_id)]
            old = search_rows.delete(conn, stored)
            search_rows.insert(conn, latest, {})
            deltas: Counter[search_counts.Key] = Counter()
            for doc in latest:
                facts = search_counts.Facts.of(doc)
                for k in partition.both(doc.tenant_id):
                    now = facts if k == partition.of(doc) else None
                    search_counts.change(deltas, k, old.get((k, doc.asset_id)), now)
            search_counts.apply(conn, deltas)
            search_columns.touch(conn, list(dict.fromkeys(k for k, _ in stored)))

        await self._db.write(self._tune(write))  # tuned: bulk loads touch many pages too

    async def rebuild(
        self, batches: AsyncIterable[Sequence[IndexDocument]], *, tenant_id: str | None = None
    ) -> int:
        """Replace the tenant's documents (all with None) in one transaction, counted at the end
        (`search_rebuild`): for `mediasight reindex` and bulk loads, not for incremental writes."""
        return await search_rebuild.rebuild(self._db.path, batches, tenant_id)

    async def delete(self, tenant_id: str, asset_id: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            deltas: Counter[search_counts.Key] = Counter()
            keys = partition.both(tenant_id)
            old = search_rows.delete(conn, [(k, asset_id) for k in keys])
            for k in keys:
                search_counts.change(deltas, k, old.get((k, asset_id)), None)
            search_counts.apply(conn, deltas)
            search_columns.touch(conn, list(keys))

        await self._db.write(remove)

    async def clear(self) -> None:
        def wipe(conn: sqlite3.Connection) -> None:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")
            search_columns.touch_all(conn)

        await self._db.write(wipe)

    async def count(self, tenant_id: str) -> int:
        """The tenant's documents, training examples too."""
        return await self._db.read(
            lambda c: sum(
                search_counts.documents(c, k, search_counts.EVERY) for k in partition.both(tenant_id)
            )
        )

    async def fingerprints(
        self, tenant_id: str | None, *, after: str | None, limit: int
    ) -> list[tuple[str, str, str]]:
        if limit <= 0:
            return []
        end = " ORDER BY asset_id, tenant_id LIMIT ?"
        if tenant_id is None:  # docs_by_asset walks all tenants in asset-ID order
            sql = "SELECT tenant_id, asset_id, fingerprint FROM docs WHERE asset_id > ?" + end
            ranges = [(sql, [after or "", limit])]
        else:  # the primary key's ranges of the tenant's two keys (`partition`), merged
            sql = "SELECT tenant_id, asset_id, fingerprint FROM docs WHERE tenant_id = ? AND asset_id > ?"
            ranges = [(sql + end, [k, after or "", limit]) for k in partition.both(tenant_id)]

        def read(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
            rows = [r for s, params in ranges for r in conn.execute(s, params).fetchall()]
            found = [(partition.tenant_of(r[0]), r[1], r[2] or "") for r in rows]
            return sorted(found, key=lambda r: (r[1], r[0]))[:limit]

        return await self._db.read(read)

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        after = decode_cursor(query.after) if query.after else None
        if query.training_examples is TrainingExamples.ONLY:  # their own key: every path answers it
            tenant_id = partition.key(tenant_id, True)
            query = dataclasses.replace(query, training_examples=TrainingExamples.EXCLUDE)
        path = search_matched.search
        if search_text.answers(query):
            path = functools.partial(search_text.search, cache=self._columns)
        elif search_topk.answers(query):
            path = search_topk.search
        elif search_intersect.answers(query):
            path = search_intersect.search
        return await self._db.read(
            self._tune(self._in_time(lambda c: path(c, self._vocab, tenant_id, query, after)))
        )

    def _in_time(self, fn: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
        """fn, interrupted once it runs past the time limit (SQLite calls the handler every few thousand
        instructions of a statement; a true answer aborts it)."""

        def run(conn: sqlite3.Connection) -> T:
            deadline = time.monotonic() + self._timeout
            conn.set_progress_handler(lambda: time.monotonic() > deadline, PROGRESS_STEPS)
            try:
                return fn(conn)
            except sqlite3.OperationalError as exc:
                if "interrupted" not in str(exc):
                    raise
                raise SearchTimeout(
                    f"the search ran longer than {self._timeout:g} s and was stopped: narrow it (a label, a "
                    "date range, fewer names in allLabels or notLabels) and try again"
                ) from exc
            finally:
                conn.set_progress_handler(None, 0)

        return run
