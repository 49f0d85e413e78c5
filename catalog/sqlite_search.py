"""The embedded search index: SQLite tables derived from the catalog, FTS5 for words, numpy for vectors.

A label query is one index range scan per term, ranked by the confidence of the best label reached
(`search_schema` describes the tables). One-label queries — the common case — page straight from an index
and read their total and facets from counts kept at write time (`search_topk`); allLabels and notLabels
combine label sets read whole and correct those counts (`search_intersect`); any other query
materialises its hits first (`search_matched`). A text query adds full-text matches (filename, labels,
persons, text in the image) and, given the query's embedding, semantic neighbours.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from catalog import search_counts, search_intersect, search_matched, search_topk, search_vocab
from catalog.cursor import decode_cursor
from catalog.fingerprint import document_fingerprint
from catalog.ports import IndexDocument, SearchPage, SearchQuery, SearchTimeout
from catalog.search_schema import SCHEMA, TABLES, migrate
from catalog.sqlite_db import SqliteDb, to_db_time

__all__ = ["SCHEMA", "SqliteSearchIndex"]


# Per connection: map the file (no read syscall per page: hit sets jump around the B-trees) and keep
# the hot inner pages of the larger tables in SQLite's own cache. SQLite caps the map at its build
# limit (2 GiB here); pages past it are read as usual.
_PRAGMAS = ("PRAGMA mmap_size = 17179869184", "PRAGMA cache_size = -65536")

TIMEOUT_SECONDS = 10.0  # a search past this is stopped (the slowest shapes take ~0.3 s at 1M assets)
PROGRESS_STEPS = 10_000  # SQLite virtual machine steps between deadline checks (microseconds apart)

T = TypeVar("T")


def _vector(values: tuple[float, ...]) -> bytes:
    return np.asarray(values, dtype="<f4").tobytes()


class SqliteSearchIndex:
    def __init__(self, db: SqliteDb, *, timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        self._db = db
        self._timeout = timeout_seconds
        self._vocab = search_vocab.Vocabulary()
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
        """Index several documents in one transaction (reindex, bulk loads)."""

        def write(conn: sqlite3.Connection) -> None:
            deltas: Counter[search_counts.Key] = Counter()
            known: dict[tuple[int, str], int] = {}  # facet value IDs, for this transaction
            for doc in docs:
                facts = search_counts.Facts.of(doc)
                old = self._delete_rows(conn, doc.tenant_id, doc.asset_id)
                self._insert_rows(conn, doc, search_vocab.pack(search_vocab.ids(conn, facts.listed(), known)))
                search_counts.change(deltas, doc.tenant_id, old, facts)
            search_counts.apply(conn, deltas)

        await self._db.write(self._tune(write))  # tuned: bulk loads touch many pages too

    @staticmethod
    def _insert_rows(conn: sqlite3.Connection, doc: IndexDocument, facet_ids: bytes) -> None:
        t, a = doc.tenant_id, doc.asset_id
        meta = " ".join([doc.filename, *(lb.name for lb in doc.labels), *doc.persons])
        fts_id = conn.execute("INSERT INTO docs_fts VALUES (?, ?, ?, ?)", (meta, doc.text, t, a)).lastrowid
        top = max((lb.confidence for lb in doc.labels), default=0.0)
        conn.execute(
            "INSERT INTO docs (tenant_id, asset_id, filename, media_type, created_at, captured_at, "
            "top_confidence, moderated, root_id, fts_id, fingerprint, facet_ids) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t, a, doc.filename, doc.media_type, to_db_time(doc.created_at), to_db_time(doc.captured_at),
             top, int(doc.moderated), doc.root_id or a, fts_id, document_fingerprint(doc), facet_ids),
        )  # fmt: skip
        if doc.embedding:
            conn.execute("INSERT INTO doc_vectors VALUES (?, ?, ?)", (t, a, _vector(doc.embedding)))
        conn.executemany(
            "INSERT OR IGNORE INTO doc_persons VALUES (?, ?, ?, ?)",
            [(t, p.lower(), a, p) for p in doc.persons],
        )
        conn.executemany(
            "INSERT INTO terms VALUES (?, ?, ?, ?, ?)",
            [(t, term, a, c, lb) for term, (c, lb) in search_counts.document_terms(doc).items()],
        )

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> search_counts.Facts | None:
        """Remove the document's rows; returns what it counted for (None: it was not indexed)."""
        row = conn.execute(
            "SELECT fts_id FROM docs WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id)
        ).fetchone()
        if row is None:
            return None  # never indexed: nothing of it in any table
        facts = search_counts.stored_facts(conn, tenant_id, asset_id, asset_id)[asset_id]
        # By rowid: a DELETE on the FTS table's unindexed columns would scan the whole table.
        conn.execute("DELETE FROM docs_fts WHERE rowid = ?", (row[0],))
        for table in ("docs", "doc_vectors", "doc_persons", "terms"):
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))
        return facts

    async def delete(self, tenant_id: str, asset_id: str) -> None:
        def remove(conn: sqlite3.Connection) -> None:
            deltas: Counter[search_counts.Key] = Counter()
            search_counts.change(deltas, tenant_id, self._delete_rows(conn, tenant_id, asset_id), None)
            search_counts.apply(conn, deltas)

        await self._db.write(remove)

    async def clear(self) -> None:
        def wipe(conn: sqlite3.Connection) -> None:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")

        await self._db.write(wipe)

    async def count(self, tenant_id: str) -> int:
        return await self._db.read(lambda c: search_counts.documents(c, tenant_id, search_counts.EVERY))

    async def fingerprints(
        self, tenant_id: str | None, *, after: str | None, limit: int
    ) -> list[tuple[str, str, str]]:
        if limit <= 0:
            return []
        if tenant_id is None:  # docs_by_asset walks all tenants in asset-ID order
            sql, params = "SELECT tenant_id, asset_id, fingerprint FROM docs WHERE asset_id > ?", []
        else:  # the primary key's range of one tenant
            sql = "SELECT tenant_id, asset_id, fingerprint FROM docs WHERE tenant_id = ? AND asset_id > ?"
            params = [tenant_id]
        sql += " ORDER BY asset_id, tenant_id LIMIT ?"
        rows = await self._db.read(lambda c: c.execute(sql, [*params, after or "", limit]).fetchall())
        return [(r[0], r[1], r[2] or "") for r in rows]

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        after = decode_cursor(query.after) if query.after else None
        path = search_matched.search
        if search_topk.answers(query):
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
