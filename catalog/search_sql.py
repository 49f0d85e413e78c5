"""SQL for the embedded search index: candidate hits and the filters that narrow them.

Hits are rows (asset_id, score, label, via, confidence), one per matching asset: the score ranks; label,
via and confidence explain it (the asset's label that matched, the name asked for, its confidence).
Scores are 0–100: the confidence of the best label reached, or FILENAME_SCORE for a full-text match.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.ports import SearchQuery, SortOrder
from catalog.ranking import FILENAME_SCORE
from catalog.sqlite_db import to_db_time

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_words(text: str) -> str | None:
    """User words as FTS5 prefix terms, quoted: no FTS syntax from the user ever reaches the parser."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words) if words else None


def fts_phrase(text: str) -> str | None:
    words = _WORD.findall(text)
    return '"' + " ".join(words) + '"' if words else None


def label_hits(tenant_id: str, query: SearchQuery) -> tuple[str, list[Any]]:
    """Assets with any of query.labels (or a parent of theirs) at its threshold; score = best confidence."""
    conditions = " OR ".join("(term = ? AND confidence >= ?)" for _ in query.labels)
    params: list[Any] = [tenant_id]
    for name in query.labels:
        params += [name.lower(), query.threshold(name)]
    sql = (
        "SELECT asset_id, MAX(confidence) AS score, label, term AS via, MAX(confidence) AS confidence "
        f"FROM terms WHERE tenant_id = ? AND ({conditions}) GROUP BY asset_id"
    )
    return sql, params


def keyword_hits(tenant_id: str, text: str, min_confidence: float) -> tuple[str, list[Any]]:
    """The whole query as a label or parent name, or its words in filenames, labels and person names."""
    sql = (
        "SELECT asset_id, confidence AS score, label, term AS via, confidence FROM terms "
        "WHERE tenant_id = ? AND term = ? AND confidence >= ?"
    )
    params: list[Any] = [tenant_id, text.lower(), min_confidence]
    words = fts_words(text)
    if words:
        sql += (
            " UNION ALL SELECT asset_id, ? AS score, NULL AS label, 'text' AS via, NULL AS confidence "
            "FROM docs_fts WHERE docs_fts MATCH ? AND tenant_id = ?"
        )
        params += [FILENAME_SCORE, f"{{meta ocr}} : ({words})", tenant_id]
    return (
        f"SELECT asset_id, MAX(score) AS score, label, via, confidence FROM ({sql}) GROUP BY asset_id",
        params,
    )


def all_docs(tenant_id: str, min_confidence: float) -> tuple[str, list[Any]]:
    sql = (
        "SELECT asset_id, top_confidence AS score, NULL AS label, NULL AS via, NULL AS confidence FROM docs "
        "WHERE tenant_id = ? AND top_confidence >= ?"
    )
    return sql, [tenant_id, min_confidence]


def restrict(hits: tuple[str, list[Any]], by: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    """Rows of `hits` whose asset also appears in `by` (the filter restricts, the hits rank)."""
    sql = (
        f"SELECT t.asset_id, t.score, t.label, t.via, t.confidence FROM ({hits[0]}) t "
        f"JOIN ({by[0]}) f ON f.asset_id = t.asset_id"
    )
    return sql, hits[1] + by[1]


def filters(tenant_id: str, query: SearchQuery) -> tuple[list[str], list[Any]]:
    """WHERE clauses over `h` (hits) and `d` (docs) for the filters that only narrow."""
    clauses: list[str] = []
    params: list[Any] = []
    for name in query.all_labels:
        clauses.append(
            "h.asset_id IN (SELECT asset_id FROM terms WHERE tenant_id = ? AND term = ? AND confidence >= ?)"
        )
        params += [tenant_id, name.lower(), query.threshold(name)]
    for name in query.not_labels:
        clauses.append(
            "h.asset_id NOT IN "
            "(SELECT asset_id FROM terms WHERE tenant_id = ? AND term = ? AND confidence >= ?)"
        )
        params += [tenant_id, name.lower(), query.threshold(name)]
    if query.media_types:
        clauses.append(f"d.media_type IN ({','.join('?' * len(query.media_types))})")
        params += list(query.media_types)
    for column, op, value in (
        ("created_at", ">=", query.created_after),
        ("created_at", "<", query.created_before),
        ("captured_at", ">=", query.captured_after),
        ("captured_at", "<", query.captured_before),
    ):
        if value is not None:
            clauses.append(f"d.{column} {op} ?")
            params.append(to_db_time(value))
    if query.exclude_moderation:
        clauses.append("d.moderated = 0")
    if query.persons:
        names = [p.lower() for p in query.persons]
        clauses.append(
            "h.asset_id IN (SELECT asset_id FROM doc_persons WHERE tenant_id = ? "
            f"AND person_lc IN ({','.join('?' * len(names))}))"
        )
        params += [tenant_id, *names]
    if query.phrase is not None:
        phrase = fts_phrase(query.phrase)
        if phrase is None:
            clauses.append("0")  # a phrase of no words matches nothing
        else:
            clauses.append(
                "h.asset_id IN (SELECT asset_id FROM docs_fts WHERE docs_fts MATCH ? AND tenant_id = ?)"
            )
            params += [f"ocr : {phrase}", tenant_id]
    return clauses, params


# The sort key of each order, as an expression over h (hits) and d (docs); ties break on asset ID, descending.
SORT_KEYS = {
    SortOrder.RELEVANCE: "h.score",
    SortOrder.CONFIDENCE: "COALESCE(h.confidence, h.score)",
    SortOrder.CREATED: "d.created_at",
    SortOrder.CAPTURED: "COALESCE(d.captured_at, '')",  # no capture time sorts last in descending order
}
