"""SQL for the embedded search index: candidate hits and the filters that narrow them.

Hits are rows (asset_id, score, label, via, confidence), one per matching asset: the score ranks; label,
via and confidence explain it (the asset's label that matched, the name asked for, its confidence).
Scores are 0–100: the confidence of the best label reached, or FILENAME_SCORE for a full-text match.
"""

from __future__ import annotations

import re
from typing import Any

from catalog.ports import SearchQuery

# A full-text hit (filename, label or person words) ranks like a 50 % label match:
# below confident labels, above weak ones.
FILENAME_SCORE = 50.0
_WORD = re.compile(r"\w+", re.UNICODE)


def fts_words(text: str) -> str | None:
    """User words as FTS5 prefix terms, quoted: no FTS syntax from the user ever reaches the parser."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words) if words else None


def fts_phrase(text: str) -> str | None:
    words = _WORD.findall(text)
    return '"' + " ".join(words) + '"' if words else None


def label_hits(tenant_id: str, labels: tuple[str, ...], min_confidence: float) -> tuple[str, list[Any]]:
    terms = [name.lower() for name in labels]
    sql = (
        "SELECT asset_id, MAX(confidence) AS score, label, term AS via, MAX(confidence) AS confidence "
        "FROM terms "
        f"WHERE tenant_id = ? AND term IN ({','.join('?' * len(terms))}) AND confidence >= ? "
        "GROUP BY asset_id"
    )
    return sql, [tenant_id, *terms, min_confidence]


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
