"""The embedded search index: SQLite tables derived from the catalog, plus FTS5 for filenames.

`terms` holds, per asset, every name a label query may use — the label itself and each of its parents,
lower-cased — with the confidence of the best label reachable through it. A label query is then one
index range scan per term, ranked by that confidence.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
from typing import Any

from catalog.ports import FacetValue, IndexDocument, LabelMatch, SearchHit, SearchPage, SearchQuery
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
    PRIMARY KEY (tenant_id, asset_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS doc_labels (
    tenant_id TEXT NOT NULL,
    asset_id TEXT NOT NULL,
    name TEXT NOT NULL,
    confidence REAL NOT NULL,
    PRIMARY KEY (tenant_id, asset_id, name)
) WITHOUT ROWID;
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
    text, tenant_id UNINDEXED, asset_id UNINDEXED, tokenize = 'unicode61'
);
"""

# A full-text hit (filename or label words) ranks like a 50 % label match:
# below confident labels, above weak ones.
FILENAME_SCORE = 50.0
FACET_LIMIT = 25
_WORD = re.compile(r"\w+", re.UNICODE)


class CursorError(ValueError):
    pass


def encode_cursor(score: float, asset_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([score, asset_id]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        score, asset_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return float(score), str(asset_id)
    except (ValueError, TypeError) as exc:
        raise CursorError("invalid cursor: pass the endCursor of a previous page") from exc


def _terms(doc: IndexDocument) -> dict[str, tuple[float, str]]:
    best: dict[str, tuple[float, str]] = {}
    for label in doc.labels:
        for name in (label.name, *label.parents):
            term = name.lower()
            if term not in best or label.confidence > best[term][0]:
                best[term] = (label.confidence, label.name)
    return best


def _fts_query(text: str) -> str | None:
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words) if words else None


class SqliteSearchIndex:
    def __init__(self, db: SqliteDb) -> None:
        self._db = db

    async def upsert(self, doc: IndexDocument) -> None:
        terms = _terms(doc)
        top = max((lb.confidence for lb in doc.labels), default=0.0)
        text = " ".join([doc.filename, *(lb.name for lb in doc.labels)])

        def write(conn: sqlite3.Connection) -> None:
            self._delete(conn, doc.tenant_id, doc.asset_id)
            conn.execute(
                "INSERT INTO docs VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    doc.tenant_id,
                    doc.asset_id,
                    doc.filename,
                    doc.media_type,
                    to_db_time(doc.created_at),
                    to_db_time(doc.captured_at),
                    top,
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO doc_labels VALUES (?, ?, ?, ?)",
                [(doc.tenant_id, doc.asset_id, lb.name, lb.confidence) for lb in doc.labels],
            )
            conn.executemany(
                "INSERT INTO terms VALUES (?, ?, ?, ?, ?)",
                [(doc.tenant_id, t, doc.asset_id, c, lb) for t, (c, lb) in terms.items()],
            )
            conn.execute("INSERT INTO docs_fts VALUES (?, ?, ?)", (text, doc.tenant_id, doc.asset_id))

        await self._db.write(write)

    @staticmethod
    def _delete(conn: sqlite3.Connection, tenant_id: str, asset_id: str) -> None:
        for table in ("docs", "doc_labels", "terms", "docs_fts"):
            conn.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND asset_id = ?", (tenant_id, asset_id))

    async def delete(self, tenant_id: str, asset_id: str) -> None:
        await self._db.write(lambda c: self._delete(c, tenant_id, asset_id))

    async def clear(self) -> None:
        def wipe(conn: sqlite3.Connection) -> None:
            for table in ("docs", "doc_labels", "terms", "docs_fts"):
                conn.execute(f"DELETE FROM {table}")

        await self._db.write(wipe)

    async def count(self, tenant_id: str) -> int:
        row = await self._db.read(
            lambda c: c.execute("SELECT COUNT(*) FROM docs WHERE tenant_id = ?", (tenant_id,)).fetchone()
        )
        return int(row[0])

    async def search(self, tenant_id: str, query: SearchQuery) -> SearchPage:
        hits_sql, params = self._hits(tenant_id, query)
        after = decode_cursor(query.after) if query.after else None
        return await self._db.read(lambda c: self._page(c, tenant_id, hits_sql, params, query.first, after))

    @staticmethod
    def _hits(tenant_id: str, query: SearchQuery) -> tuple[str, list[Any]]:
        """SQL for (asset_id, score, label, via) rows, one per matching asset of the tenant."""
        label_terms = [name.lower() for name in query.labels]
        text = (query.text or "").strip()
        parts: list[str] = []
        params: list[Any] = []
        if label_terms:
            parts.append(
                f"SELECT asset_id, MAX(confidence) AS score, label, term AS via FROM terms "
                f"WHERE tenant_id = ? AND term IN ({','.join('?' * len(label_terms))}) AND confidence >= ? "
                "GROUP BY asset_id"
            )
            params += [tenant_id, *label_terms, query.min_confidence]
        if text:
            fts = _fts_query(text)
            text_sql = (
                "SELECT asset_id, confidence AS score, label, term AS via FROM terms "
                "WHERE tenant_id = ? AND term = ? AND confidence >= ?"
            )
            text_params: list[Any] = [tenant_id, text.lower(), query.min_confidence]
            if fts:
                text_sql += (
                    " UNION ALL SELECT asset_id, ? AS score, NULL AS label, 'text' AS via FROM docs_fts "
                    "WHERE docs_fts MATCH ? AND tenant_id = ?"
                )
                text_params += [FILENAME_SCORE, f"text : ({fts})", tenant_id]
            text_hits = (
                f"SELECT asset_id, MAX(score) AS score, label, via FROM ({text_sql}) GROUP BY asset_id"
            )
            if parts:  # labels filter AND text query: the filter restricts, the text ranks
                parts[0] = (
                    f"SELECT t.asset_id, t.score, t.label, t.via FROM ({text_hits}) t "
                    f"JOIN ({parts[0]}) f ON f.asset_id = t.asset_id"
                )
                params = text_params + params
            else:
                parts.append(text_hits)
                params += text_params
        if not parts:
            parts.append(
                "SELECT asset_id, top_confidence AS score, NULL AS label, NULL AS via FROM docs "
                "WHERE tenant_id = ? AND top_confidence >= ?"
            )
            params += [tenant_id, query.min_confidence]
        return parts[0], params

    @staticmethod
    def _page(
        conn: sqlite3.Connection,
        tenant_id: str,
        hits_sql: str,
        params: list[Any],
        first: int,
        after: tuple[float, str] | None,
    ) -> SearchPage:
        # Only assets that have an index document count: the docs join keeps half-indexed rows out.
        base = f"SELECT h.* FROM ({hits_sql}) h JOIN docs d ON d.tenant_id = ? AND d.asset_id = h.asset_id"
        base_params = [*params, tenant_id]
        total = conn.execute(f"SELECT COUNT(*) FROM ({base})", base_params).fetchone()[0]
        page_sql = f"SELECT * FROM ({base})"
        page_params = list(base_params)
        if after is not None:
            page_sql += " WHERE score < ? OR (score = ? AND asset_id < ?)"
            page_params += [after[0], after[0], after[1]]
        page_sql += " ORDER BY score DESC, asset_id DESC LIMIT ?"
        rows = conn.execute(page_sql, [*page_params, first + 1]).fetchall()
        has_next = len(rows) > first
        rows = rows[:first]
        hits = tuple(
            SearchHit(
                asset_id=r["asset_id"],
                score=r["score"],
                matches=(LabelMatch(r["label"], r["score"], r["via"]),) if r["via"] and r["label"] else (),
            )
            for r in rows
        )
        facets = conn.execute(
            f"SELECT l.name, COUNT(*) AS n FROM doc_labels l JOIN ({base}) h ON h.asset_id = l.asset_id "
            "WHERE l.tenant_id = ? GROUP BY l.name ORDER BY n DESC, l.name LIMIT ?",
            [*base_params, tenant_id, FACET_LIMIT],
        ).fetchall()
        end = encode_cursor(rows[-1]["score"], rows[-1]["asset_id"]) if rows else None
        return SearchPage(
            total=total,
            hits=hits,
            end_cursor=end,
            has_next=has_next,
            label_facets=tuple(FacetValue(f["name"], f["n"]) for f in facets),
        )
