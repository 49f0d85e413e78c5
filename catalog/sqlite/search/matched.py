"""The general path of the embedded search index: every hit materialised, then counted, paged, tallied.

It answers any query; its cost grows with the number of hits. `search_topk` answers the common
one-label queries without materialising them.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from typing import Any

import numpy as np

from catalog.domain.cursor import SortKey, encode_cursor
from catalog.domain.ports import LabelMatch, SearchHit, SearchPage, SearchQuery
from catalog.domain.ranking import KEYWORD_WEIGHT, SEMANTIC_WEIGHT, meaning_cut
from catalog.sqlite.search import counts as search_counts
from catalog.sqlite.search import facets as search_facets
from catalog.sqlite.search import sql as search_sql
from catalog.sqlite.search.sql import Sql, Where
from catalog.sqlite.search.vocab import Vocabulary

SEMANTIC_CANDIDATES = 1000  # neighbours considered per text query


def search(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
) -> SearchPage:
    text = (query.text or "").strip()
    by_labels = search_sql.label_hits(tenant_id, query) if query.labels else None
    narrow = query  # what the filters still have to check
    if text:
        hits = search_sql.keyword_hits(tenant_id, query, text)
        if by_labels:
            hits = search_sql.restrict(hits, by_labels)
        if query.text_embedding:
            hits = _blend_semantic(conn, tenant_id, hits, by_labels, query.text_embedding)
    elif by_labels:
        hits = by_labels
    elif query.tone:  # the query named a tone and nothing else: its words match the tone's documents
        hits = search_sql.tone_hits(tenant_id, query.tone)
    else:
        among, narrow = _narrowest(conn, tenant_id, query)
        hits = search_sql.all_docs(tenant_id, query.min_confidence, among, query.max_confidence)
    return answer(conn, vocab, tenant_id, hits, search_sql.filters(tenant_id, narrow), query, after)


def answer(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    hits: Sql,
    where: Where,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
) -> SearchPage:
    """The page, total and facets of the hits that pass `where`, materialised."""
    materialise(conn, tenant_id, hits, where, query)
    facets = search_facets.finish(conn, tenant_id, search_facets.tally_matched(conn, vocab))
    page_sql, params = "SELECT asset_id, score, label, via, confidence, k FROM temp.matched", []
    if after is not None:
        page_sql += " WHERE (k, asset_id) < (?, ?)"
        params += [after[0], after[1]]
    page = conn.execute(f"{page_sql} ORDER BY k DESC, asset_id DESC LIMIT ?", [*params, query.first + 1])
    rows = page.fetchall()
    shown = rows[: query.first]
    meanings = _meanings(conn, query, [r["asset_id"] for r in shown])
    hits_out = tuple(
        SearchHit(
            asset_id=r["asset_id"],
            score=r["score"],
            matches=(LabelMatch(r["label"], r["confidence"], r["via"]),) if r["label"] else (),
            cursor=encode_cursor(r["k"], r["asset_id"]),
            meaning=meanings.get(r["asset_id"]),
            text_match=not r["label"] and r["via"] == "text",
        )
        for r in shown
    )
    return search_facets.page(hits_out, len(rows) > query.first, facets)


def _narrowest(
    conn: sqlite3.Connection, tenant_id: str, query: SearchQuery
) -> tuple[Sql | None, SearchQuery]:
    """The assets of the filter with the fewest (an all_labels name or the persons, by their counts; else
    the phrase), to look up instead of walking the tenant; and the query left for the filters to check."""
    options: list[tuple[int, Sql, SearchQuery]] = []
    for name in query.all_labels:
        if len(query.any_of(name)) > 1:  # a synonym group stays a filter
            continue
        term = (name.lower(), query.threshold(name))
        covered = dataclasses.replace(
            query, all_labels=tuple(n for n in query.all_labels if n.lower() != term[0])
        )
        size = search_counts.documents(conn, tenant_id, *term)
        options.append((size, search_sql.with_term(tenant_id, term, query.max_confidence), covered))
    if query.persons:
        names = sorted({p.lower() for p in query.persons})
        size = sum(search_counts.having(conn, tenant_id, search_counts.PERSON, lc) for lc in names)
        options.append(
            (size, search_sql.with_persons(tenant_id, names), dataclasses.replace(query, persons=()))
        )
    if options:
        _, among, rest = min(options, key=lambda o: o[0])
        return among, rest
    phrase = search_sql.fts_phrase(query.phrase or "")
    if phrase is None:
        return None, query
    return search_sql.with_phrase(tenant_id, phrase), dataclasses.replace(query, phrase=None)


def materialise(
    conn: sqlite3.Connection,
    tenant_id: str,
    hits: Sql,
    where: Where,
    query: SearchQuery,
) -> None:
    """Fill temp.matched with the filtered hits: (asset_id, score, label, via, confidence), the sort key
    k, and what the facets count (facet_ids, media_type, year). Only assets that have an index document
    count: the docs join keeps half-indexed rows out."""
    sort_key = search_sql.SORT_KEYS[query.sort]
    extra = f"{sort_key} AS k, d.facet_ids, d.media_type, substr(d.captured_at, 1, 4) AS year"
    join = "CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = h.asset_id"  # hits drive, docs by key
    filters = (" WHERE " + " AND ".join(where[0])) if where[0] else ""
    if query.roots_only:
        # Filter the versions themselves, then let each tree's best match speak for its root.
        rolled = (
            f"SELECT d.root_id AS asset_id, MAX(h.score) AS score, h.label, h.via, h.confidence "
            f"FROM ({hits[0]}) h {join}{filters} GROUP BY d.root_id"
        )
        base = f"SELECT h.*, {extra} FROM ({rolled}) h {join}"
        params = [*hits[1], tenant_id, *where[1], tenant_id]
    else:
        base = f"SELECT h.*, {extra} FROM ({hits[0]}) h {join}{filters}"
        params = [*hits[1], tenant_id, *where[1]]
    columns = "asset_id, score, label, via, confidence, k, facet_ids, media_type, year"
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS matched ({columns})")
    conn.execute("DELETE FROM temp.matched")
    conn.execute(f"INSERT INTO temp.matched SELECT {columns} FROM ({base})", params)


def _meanings(conn: sqlite3.Connection, query: SearchQuery, asset_ids: list[str]) -> dict[str, float | None]:
    """The similarity each of these hits got from the query's meaning (only when this query blended it in;
    a roots-only hit stands for its tree, so its own similarity would not explain it)."""
    if not ((query.text or "").strip() and query.text_embedding) or query.roots_only or not asset_ids:
        return {}
    marks = ",".join("?" * len(asset_ids))
    rows = conn.execute(
        f"SELECT asset_id, similarity FROM temp.meanings WHERE asset_id IN ({marks})", asset_ids
    )
    return {asset_id: round(similarity, 4) for asset_id, similarity in rows}


def _blend_semantic(
    conn: sqlite3.Connection,
    tenant_id: str,
    keyword: Sql,
    by_labels: Sql | None,
    embedding: tuple[float, ...],
) -> Sql:
    """Keyword hits and semantic neighbours (at or over the query's meaning_cut, which the best of all the
    tenant's vectors sets: the labels only narrow), blended into a temp table the page query reads."""
    rows: dict[str, list[Any]] = {
        r[0]: [r[0], KEYWORD_WEIGHT * r[1], r[2], r[3], r[4]] for r in conn.execute(keyword[0], keyword[1])
    }
    found = conn.execute(
        "SELECT asset_id, embedding FROM doc_vectors WHERE tenant_id = ?", [tenant_id]
    ).fetchall()
    meanings: list[tuple[str, float]] = []  # the neighbours whose meaning added to their score
    if found:
        matrix = np.frombuffer(b"".join(r[1] for r in found), dtype="<f4").reshape(len(found), -1)
        query = np.asarray(embedding, dtype=np.float32)
        if matrix.shape[1] == query.shape[0]:
            similarity = matrix @ query
            cut = meaning_cut(float(similarity.max()))
            if by_labels:  # the candidates: the labelled assets' vectors alone
                among = {r[0] for r in conn.execute(f"SELECT asset_id FROM ({by_labels[0]})", by_labels[1])}
                labelled = [i for i, r in enumerate(found) if r[0] in among]
                found, similarity = [found[i] for i in labelled], similarity[labelled]
            for i in np.argsort(-similarity, kind="stable")[:SEMANTIC_CANDIDATES]:
                if similarity[i] < cut:
                    break
                row = rows.setdefault(found[i][0], [found[i][0], 0.0, None, "meaning", None])
                row[1] = round(row[1] + SEMANTIC_WEIGHT * 100 * float(similarity[i]), 4)
                meanings.append((found[i][0], float(similarity[i])))
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS meanings (asset_id TEXT PRIMARY KEY, similarity)")
    conn.execute("DELETE FROM temp.meanings")
    conn.executemany("INSERT INTO temp.meanings VALUES (?, ?)", meanings)
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS hits (asset_id TEXT PRIMARY KEY, score, label, via, confidence)"
    )
    conn.execute("DELETE FROM temp.hits")
    conn.executemany("INSERT INTO temp.hits VALUES (?, ?, ?, ?, ?)", list(rows.values()))
    return "SELECT * FROM temp.hits", []
