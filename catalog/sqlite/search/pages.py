"""Pages of the fast and intersection paths, straight from indexes in the sort order and resumed after a
keyset cursor.

Relevance and confidence: one walk down `terms_ranked` per term, each keeping only the assets for which
that term is the best one (the others probed by primary key), merged. A date order walks the tenant's
documents newest first and keeps those with a term, when terms are common enough that a page turns up
within a few pages' worth of documents; otherwise it sorts the terms' hits. Every walk also probes each
candidate for the query's other filters (moderation; allLabels, notLabels, media types, dates).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from catalog.domain.cursor import SortKey, encode_cursor
from catalog.domain.ports import LabelMatch, SearchHit, SearchQuery, SortOrder
from catalog.sqlite.search import counts as search_counts
from catalog.sqlite.search import sql as search_sql
from catalog.sqlite.search.sql import Term, Where

Row = tuple[str, SortKey, float, str | None, str | None]  # asset_id, sort key, score, label, via
# Sort key columns of the date orders (the expressions of the docs_by_* indexes).
_DATE_KEYS = {SortOrder.CREATED: "d.created_at", SortOrder.CAPTURED: "COALESCE(d.captured_at, '')"}
_INDEXES = {SortOrder.CREATED: "docs_by_created", SortOrder.CAPTURED: "docs_by_captured"}


def page(
    conn: sqlite3.Connection,
    tenant_id: str,
    terms: Sequence[Term],
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    total: int,
    where: Where,
) -> list[Row]:
    """Up to first + 1 rows after the cursor, of `total` hits that pass `where` (clauses over d). No
    terms: every document at its top confidence (at least query.min_confidence)."""
    limit = query.first + 1
    extra = "".join(f" AND {clause}" for clause in where[0])
    date_key = _DATE_KEYS.get(query.sort)
    if date_key is None and terms:
        rows: list[Row] = []
        for i in range(len(terms)):
            best, best_params = _best_of(tenant_id, terms, i)
            rows += _run(
                conn, best + extra, best_params + where[1], ("t.confidence", "t.asset_id"), after, limit
            )
        rows.sort(key=lambda r: (r[1], r[0]), reverse=True)
        return rows[:limit]
    if date_key is None:
        sql = (
            "SELECT d.asset_id, d.top_confidence, d.top_confidence, NULL, NULL "
            f"FROM docs d INDEXED BY docs_ranked WHERE d.tenant_id = ? AND d.top_confidence >= ?{extra}"
        )
        params: list[Any] = [tenant_id, query.min_confidence, *where[1]]
        return _run(conn, sql, params, ("d.top_confidence", "d.asset_id"), after, limit)
    walk = _walk_dates(conn, tenant_id, total, query.first)
    if not terms:
        sql = (
            f"SELECT d.asset_id, {date_key}, d.top_confidence, NULL, NULL "
            f"FROM docs d INDEXED BY {_INDEXES[query.sort] if walk else 'docs_ranked'} "
            f"WHERE d.tenant_id = ? AND d.top_confidence >= ?{extra}"
        )
        params = [tenant_id, query.min_confidence]
    elif walk:  # the tenant's documents newest first, each with its best term looked up
        matches = " OR ".join("(o.term = ? AND o.confidence >= ?)" for _ in terms)
        order = " ".join(f"WHEN ? THEN {i}" for i in range(len(terms)))
        sql = (
            f"SELECT d.asset_id, {date_key}, b.confidence, b.label, b.term "
            f"FROM docs d INDEXED BY {_INDEXES[query.sort]} CROSS JOIN terms b "
            "ON b.tenant_id = d.tenant_id AND b.asset_id = d.asset_id AND b.term = ("
            "SELECT o.term FROM terms o WHERE o.tenant_id = d.tenant_id AND o.asset_id = d.asset_id "
            f"AND ({matches}) ORDER BY o.confidence DESC, CASE o.term {order} END LIMIT 1) "
            f"WHERE d.tenant_id = ?{extra}"
        )
        params = [v for term in terms for v in term] + [name for name, _ in terms] + [tenant_id]
    else:  # the terms' hits, each looked up in docs, then sorted
        hits, params = search_sql.term_hits(tenant_id, terms)
        sql = (
            f"SELECT h.asset_id, {date_key}, h.score, h.label, h.via FROM ({hits}) h "
            f"CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = h.asset_id WHERE 1{extra}"
        )
        params = [*params, tenant_id]
    return _run(conn, sql, params + where[1], (date_key, "d.asset_id"), after, limit)


def hits(rows: list[Row], first: int) -> tuple[SearchHit, ...]:
    """The page's first `first` rows as hits, each with its cursor."""
    return tuple(
        SearchHit(
            asset_id=asset_id,
            score=score,
            matches=(LabelMatch(label, score, via),) if label and via else (),
            cursor=encode_cursor(key, asset_id),
        )
        for asset_id, key, score, label, via in rows[:first]
    )


def _best_of(tenant_id: str, terms: Sequence[Term], i: int) -> tuple[str, list[Any]]:
    """The hits of terms[i] for which no other term is better (on a tie, the first listed wins)."""
    sql = (
        "SELECT t.asset_id, t.confidence, t.confidence, t.label, t.term FROM terms t INDEXED BY terms_ranked "
        "CROSS JOIN docs d ON d.tenant_id = t.tenant_id AND d.asset_id = t.asset_id "
        "WHERE t.tenant_id = ? AND t.term = ? AND t.confidence >= ?"
    )
    params: list[Any] = [tenant_id, *terms[i]]
    for j, other in enumerate(terms):
        if j != i:
            beats = ">=" if j < i else ">"
            sql += (
                " AND NOT EXISTS (SELECT 1 FROM terms o WHERE o.tenant_id = t.tenant_id AND o.term = ? "
                f"AND o.asset_id = t.asset_id AND o.confidence >= ? AND o.confidence {beats} t.confidence)"
            )
            params += other
    return sql, params


def _run(
    conn: sqlite3.Connection,
    sql: str,
    params: list[Any],
    key: tuple[str, str],
    after: tuple[SortKey, str] | None,
    limit: int,
) -> list[Row]:
    if after is not None:
        sql += f" AND ({', '.join(key)}) < (?, ?)"
        params = [*params, after[0], after[1]]
    order = ", ".join(f"{column} DESC" for column in key)
    return conn.execute(f"{sql} ORDER BY {order} LIMIT ?", [*params, limit]).fetchall()


def _walk_dates(conn: sqlite3.Connection, tenant_id: str, hits: int, first: int) -> bool:
    """Walk the tenant's documents in date order when that finds a page in fewer lookups than sorting
    every hit (assuming the hits are spread evenly over time)."""
    documents = search_counts.documents(conn, tenant_id, search_counts.EVERY)
    return hits > 0 and (first + 1) * documents / hits < hits
