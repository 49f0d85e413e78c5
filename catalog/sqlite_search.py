"""The embedded search index: SQLite tables derived from the catalog, FTS5 for words, numpy for vectors.

`terms` holds, per asset, every name a label query may use — the label itself and each of its parents,
lower-cased — with the confidence of the best label reachable through it. A label query is then one
index range scan per term, ranked by that confidence. A text query adds full-text matches (filename,
labels, persons, text in the image) and, given the query's embedding, semantic neighbours.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import numpy as np

from catalog import search_sql
from catalog.cursor import SortKey, decode_cursor, encode_cursor
from catalog.fingerprint import document_fingerprint
from catalog.ports import FacetValue, IndexDocument, LabelMatch, SearchHit, SearchPage, SearchQuery
from catalog.ranking import FACET_LIMIT, KEYWORD_WEIGHT, SEMANTIC_FLOOR, SEMANTIC_WEIGHT
from catalog.sqlite_db import SqliteDb, to_db_time

SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    filename TEXT NOT NULL,
    media_type TEXT NOT NULL,
    created_at TEXT NOT NULL,
    captured_at TEXT,
    top_confidence REAL NOT NULL,
    moderated INTEGER NOT NULL DEFAULT 0,
    embedding BLOB,                 -- float32 little-endian, L2-normalised
    root_id TEXT NOT NULL,          -- top of the version tree (the asset itself without a parent)
    fts_id INTEGER NOT NULL,        -- rowid of the asset's row in docs_fts
    fingerprint TEXT,               -- catalog.fingerprint of the document (NULL: written before them)
    PRIMARY KEY (tenant_id, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS docs_by_asset ON docs (asset_id);  -- all tenants in asset-ID order (verify)
CREATE TABLE IF NOT EXISTS doc_labels (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    confidence REAL NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_persons (
    tenant_id TEXT NOT NULL,
    person_lc TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (tenant_id, person_lc, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_persons_by_asset ON doc_persons (tenant_id, asset_id);
CREATE TABLE IF NOT EXISTS terms (
    tenant_id TEXT NOT NULL,
    term TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    confidence REAL NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term, asset_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_by_asset ON terms (tenant_id, asset_id);
CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts USING fts5 (
    meta, ocr, tenant_id UNINDEXED, asset_id UNINDEXED, tokenize = 'unicode61'
);
"""

_TABLES = ("docs", "doc_labels", "doc_persons", "terms", "docs_fts")
SEMANTIC_CANDIDATES = 1000  # neighbours considered per text query


def _terms(doc: IndexDocument) -> dict[str, tuple[float, str]]:
    best: dict[str, tuple[float, str]] = {}
    for label in doc.labels:
        for name in (label.name, *label.parents):
            term = name.lower()
            if term not in best or label.confidence > best[term][0]:
                best[term] = (label.confidence, label.name)
    return best


def _vector(values: tuple[float, ...]) -> bytes | None:
    return np.asarray(values, dtype="<f4").tobytes() if values else None


def _add_fingerprint_column(db: SqliteDb) -> None:
    """An index file made before fingerprints gets the column (its rows read as never fingerprinted)."""

    def missing(conn: sqlite3.Connection) -> bool:
        return "fingerprint" not in {r[1] for r in conn.execute("PRAGMA table_info(docs)")}

    def add(conn: sqlite3.Connection) -> None:
        if missing(conn):  # again under the write lock: another process may have added it meanwhile
            conn.execute("ALTER TABLE docs ADD COLUMN fingerprint TEXT")

    if db.read_sync(missing):
        db.write_sync(add)


class SqliteSearchIndex:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db
        _add_fingerprint_column(db)

    async def upsert(self, doc: IndexDocument) -> None:
        await self.upsert_many([doc])

    async def upsert_many(self, docs: Sequence[IndexDocument]) -> None:
        """Index several documents in one transaction (reindex, bulk loads)."""

        def write(conn: sqlite3.Connection) -> None:
            for doc in docs:
                self._write(conn, doc)

        await self._db.write(write)

    def _write(self, conn: sqlite3.Connection, doc: IndexDocument) -> None:
        t, a = doc.tenant_id, doc.asset_id
        self._delete(conn, t, a)
        meta = " ".join([doc.filename, *(lb.name for lb in doc.labels), *doc.persons])
        fts_id = conn.execute("INSERT INTO docs_fts VALUES (?, ?, ?, ?)", (meta, doc.text, t, a)).lastrowid
        top = max((lb.confidence for lb in doc.labels), default=0.0)
        conn.execute(
            "INSERT INTO docs (tenant_id, asset_id, filename, media_type, created_at, captured_at, "
            "top_confidence, moderated, embedding, root_id, fts_id, fingerprint) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (t, a, doc.filename, doc.media_type, to_db_time(doc.created_at), to_db_time(doc.captured_at),
             top, int(doc.moderated), _vector(doc.embedding), doc.root_id or a, fts_id,
             document_fingerprint(doc)),
        )  # fmt: skip
        conn.executemany(
            "INSERT OR REPLACE INTO doc_labels VALUES (?, ?, ?, ?)",
            [(t, a, lb.name, lb.confidence) for lb in doc.labels],
        )
        conn.executemany(
            "INSERT OR IGNORE INTO doc_persons VALUES (?, ?, ?, ?)",
            [(t, p.lower(), a, p) for p in doc.persons],
        )
        conn.executemany(
            "INSERT INTO terms VALUES (?, ?, ?, ?, ?)",
            [(t, term, a, c, lb) for term, (c, lb) in _terms(doc).items()],
        )

    @staticmethod
    def _delete(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> None:
        row = conn.execute(
            "SELECT fts_id FROM docs WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id)
        ).fetchone()
        if row is None:
            return  # never indexed: nothing of it in any table
        # By rowid: a DELETE on the FTS table's unindexed columns would scan the whole table.
        conn.execute("DELETE FROM docs_fts WHERE rowid = ?", (row[0],))
        for table in ("docs", "doc_labels", "doc_persons", "terms"):
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))

    async def delete(self, tenant_id: str, asset_id: str) -> None:
        await self._db.write(lambda c: self._delete(c, tenant_id, asset_id))

    async def clear(self) -> None:
        def wipe(conn: sqlite3.Connection) -> None:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")

        await self._db.write(wipe)

    async def count(self, tenant_id: str) -> int:
        row = await self._db.read(
            lambda c: c.execute("SELECT COUNT(*) FROM docs WHERE tenant_id = ?", (tenant_id,)).fetchone()
        )
        return int(row[0])

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
        return await self._db.read(lambda c: self._search(c, tenant_id, query, after))

    def _search(
        self, conn: sqlite3.Connection, tenant_id: str, query: SearchQuery, after: tuple[SortKey, str] | None
    ) -> SearchPage:
        text = (query.text or "").strip()
        by_labels = search_sql.label_hits(tenant_id, query) if query.labels else None
        if text:
            hits = search_sql.keyword_hits(tenant_id, text, query.min_confidence)
            if by_labels:
                hits = search_sql.restrict(hits, by_labels)
            if query.text_embedding:
                hits = self._blend_semantic(conn, tenant_id, hits, by_labels, query.text_embedding)
        else:
            hits = by_labels or search_sql.all_docs(tenant_id, query.min_confidence)
        return self._page(conn, tenant_id, hits, search_sql.filters(tenant_id, query), query, after)

    @staticmethod
    def _blend_semantic(
        conn: sqlite3.Connection,
        tenant_id: str,
        keyword: tuple[str, list[Any]],
        by_labels: tuple[str, list[Any]] | None,
        embedding: tuple[float, ...],
    ) -> tuple[str, list[Any]]:
        """Keyword hits and semantic neighbours, blended into a temp table the page query reads."""
        rows: dict[str, list[Any]] = {
            r[0]: [r[0], KEYWORD_WEIGHT * r[1], r[2], r[3], r[4]]
            for r in conn.execute(keyword[0], keyword[1])
        }
        sql, params = (
            "SELECT asset_id, embedding FROM docs WHERE tenant_id = ? AND embedding IS NOT NULL",
            [tenant_id],
        )
        if by_labels:
            sql += f" AND asset_id IN (SELECT asset_id FROM ({by_labels[0]}))"
            params += by_labels[1]
        found = conn.execute(sql, params).fetchall()
        if found:
            matrix = np.frombuffer(b"".join(r[1] for r in found), dtype="<f4").reshape(len(found), -1)
            query = np.asarray(embedding, dtype=np.float32)
            if matrix.shape[1] == query.shape[0]:
                similarity = matrix @ query
                for i in np.argsort(-similarity, kind="stable")[:SEMANTIC_CANDIDATES]:
                    if similarity[i] < SEMANTIC_FLOOR:
                        break
                    row = rows.setdefault(found[i][0], [found[i][0], 0.0, None, "meaning", None])
                    row[1] = round(row[1] + SEMANTIC_WEIGHT * 100 * float(similarity[i]), 4)
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS hits (asset_id TEXT PRIMARY KEY, score, label, via, confidence)"
        )
        conn.execute("DELETE FROM temp.hits")
        conn.executemany("INSERT INTO temp.hits VALUES (?, ?, ?, ?, ?)", list(rows.values()))
        return "SELECT * FROM temp.hits", []

    @staticmethod
    def _page(
        conn: sqlite3.Connection,
        tenant_id: str,
        hits: tuple[str, list[Any]],
        where: tuple[list[str], list[Any]],
        query: SearchQuery,
        after: tuple[SortKey, str] | None,
    ) -> SearchPage:
        # Only assets that have an index document count: the docs join keeps half-indexed rows out.
        key = search_sql.SORT_KEYS[query.sort]
        join = "CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = h.asset_id"  # hits drive, docs by key
        filters = (" WHERE " + " AND ".join(where[0])) if where[0] else ""
        if query.roots_only:
            # Filter the versions themselves, then let each tree's best match speak for its root.
            rolled = (
                f"SELECT d.root_id AS asset_id, MAX(h.score) AS score, h.label, h.via, h.confidence "
                f"FROM ({hits[0]}) h {join}{filters} GROUP BY d.root_id"
            )
            base = f"SELECT h.*, {key} AS k FROM ({rolled}) h {join}"
            base_params = [*hits[1], tenant_id, *where[1], tenant_id]
        else:
            base = f"SELECT h.*, {key} AS k FROM ({hits[0]}) h {join}{filters}"
            base_params = [*hits[1], tenant_id, *where[1]]
        # Materialise the filtered hits once: the count, the page and four facets all read them.
        conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS matched "
            "(asset_id TEXT PRIMARY KEY, score, label, via, confidence, k) WITHOUT ROWID"
        )
        conn.execute("DELETE FROM temp.matched")
        conn.execute(
            f"INSERT INTO temp.matched SELECT asset_id, score, label, via, confidence, k FROM ({base})",
            base_params,
        )
        total = conn.execute("SELECT COUNT(*) FROM temp.matched").fetchone()[0]
        page_sql, page_params = "SELECT * FROM temp.matched", []
        if after is not None:
            page_sql += " WHERE k < ? OR (k = ? AND asset_id < ?)"
            page_params += [after[0], after[0], after[1]]
        page = conn.execute(
            f"{page_sql} ORDER BY k DESC, asset_id DESC LIMIT ?", [*page_params, query.first + 1]
        ).fetchall()
        has_next = len(page) > query.first
        page = page[: query.first]

        def facet(sql: str) -> tuple[FacetValue, ...]:
            rows = conn.execute(sql, [tenant_id, FACET_LIMIT]).fetchall()
            return tuple(FacetValue(str(r[0]), r[1]) for r in rows)

        return SearchPage(
            total=total,
            hits=tuple(
                SearchHit(
                    asset_id=r["asset_id"],
                    score=r["score"],
                    matches=(LabelMatch(r["label"], r["confidence"], r["via"]),) if r["label"] else (),
                    cursor=encode_cursor(r["k"], r["asset_id"]),
                )
                for r in page
            ),
            end_cursor=encode_cursor(page[-1]["k"], page[-1]["asset_id"]) if page else None,
            has_next=has_next,
            # CROSS JOIN fixes the loop order: walk the matched set, look each asset up by primary key
            # (left to itself the planner may scan the tenant's whole table instead).
            label_facets=facet(
                "SELECT l.name, COUNT(*) AS n FROM temp.matched h CROSS JOIN doc_labels l "
                "ON l.tenant_id = ? AND l.asset_id = h.asset_id "
                "GROUP BY l.name ORDER BY n DESC, l.name LIMIT ?"
            ),
            person_facets=facet(
                "SELECT p.name, COUNT(*) AS n FROM temp.matched h CROSS JOIN doc_persons p "
                "ON p.tenant_id = ? AND p.asset_id = h.asset_id "
                "GROUP BY p.person_lc ORDER BY n DESC, p.name LIMIT ?"
            ),
            media_type_facets=facet(
                "SELECT d.media_type, COUNT(*) AS n FROM temp.matched h CROSS JOIN docs d "
                "ON d.tenant_id = ? AND d.asset_id = h.asset_id "
                "GROUP BY d.media_type ORDER BY n DESC, d.media_type LIMIT ?"
            ),
            capture_year_facets=facet(
                "SELECT substr(d.captured_at, 1, 4) AS y, COUNT(*) AS n "
                "FROM temp.matched h CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = h.asset_id "
                "WHERE d.captured_at IS NOT NULL "
                "GROUP BY y ORDER BY y DESC LIMIT ?"
            ),
        )
