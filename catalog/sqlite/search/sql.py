"""SQL for the embedded search index: candidate hits and the filters that narrow them.

Hits are rows (asset_id, score, label, via, confidence), one per matching asset: the score ranks; label,
via and confidence explain it (the asset's label that matched, the name asked for, its confidence).
Scores are 0–100: the confidence of the best label reached, or FILENAME_SCORE for a full-text match.
A `ceiling` below 100 (query.max_confidence: labelSource MACHINE) keeps the labels above it from matching;
only the general path (search_matched) passes one: the fast paths do not handle max_confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from catalog.domain.clock import to_db_time
from catalog.domain.labels.query_terms import word_forms
from catalog.domain.metadata import MEANING_MIN_CONFIDENCE
from catalog.domain.ports import SearchQuery, SortOrder
from catalog.domain.ranking import FILENAME_SCORE, WEAK_NAME_WEIGHT, query_words

_WORD = re.compile(r"\w+", re.UNICODE)
Sql = tuple[str, list[Any]]
Term = tuple[str, float]  # a lower-cased label or parent name, and the confidence it needs
FULL = 100.0  # no ceiling
Where = tuple[list[str], list[Any]]  # clauses (ANDed) and their parameters


def fts_match(text: str) -> str | None:
    """The FTS5 query of a free text's words (ranking.query_words), each to be found: as a prefix in the
    filenames, persons or image text (`{meta ocr} : "w"*`), or as a whole word of a label name in any of
    its word_forms (`labels : ("cars" OR "car")`). Every word is quoted: no FTS syntax from the user ever
    reaches the parser."""
    words = query_words(_WORD.findall(text))
    found = []
    for w in words:
        forms = " OR ".join(f'"{f}"' for f in word_forms(w))
        found.append(f'({{meta ocr}} : "{w}"* OR labels : ({forms}))')
    return " AND ".join(found) if found else None


def fts_phrase(text: str) -> str | None:
    words = _WORD.findall(text)
    return '"' + " ".join(words) + '"' if words else None


def query_terms(query: SearchQuery) -> list[Term]:
    """query.labels as terms (lower-cased, each once) with their thresholds, in the order given."""
    terms: dict[str, float] = {}
    for name in query.labels:
        terms.setdefault(name.lower(), query.threshold(name))
    return list(terms.items())


def _below(ceiling: float, column: str = "confidence") -> tuple[str, list[Any]]:
    return (f" AND {column} <= ?", [ceiling]) if ceiling < FULL else ("", [])


def term_hits(tenant_id: str, terms: Sequence[Term], among: Sql | None = None, ceiling: float = FULL) -> Sql:
    """Assets with any of the terms at its threshold, once each: score = the best confidence, label and
    via from that term (on a tie, the term listed first). `among` (asset IDs): only those, each probed."""
    below, cap = _below(ceiling)
    one = (
        "SELECT asset_id, confidence, label, term AS via{} FROM terms "
        "WHERE tenant_id = ? AND term = ? AND confidence >= ?" + below
    )
    params: list[Any] = []
    if among is not None:
        one = (
            "SELECT t.asset_id, t.confidence, t.label, t.term AS via{} FROM (" + among[0] + ") a "
            "CROSS JOIN terms t ON t.tenant_id = ? AND t.term = ? AND t.asset_id = a.asset_id "
            "WHERE t.confidence >= ?" + below
        )
    for name, threshold in terms:
        params += [*(among[1] if among else []), tenant_id, name, threshold, *cap]
    columns = "asset_id, confidence AS score, label, via, confidence"
    if len(terms) == 1:
        return f"SELECT {columns} FROM ({one.format('')})", params
    # One index range per term, then the best row of each asset (an OR of the terms would walk all the
    # tenant's terms).
    ranges = " UNION ALL ".join(one.format(f", {i} AS ord") for i in range(len(terms)))
    best = (
        "SELECT *, ROW_NUMBER() OVER (PARTITION BY asset_id ORDER BY confidence DESC, ord) AS rank "
        f"FROM ({ranges})"
    )
    return f"SELECT {columns} FROM ({best}) WHERE rank = 1", params


def label_hits(tenant_id: str, query: SearchQuery) -> Sql:
    """Assets with any of query.labels (or a parent of theirs) at its threshold; score = best confidence."""
    return term_hits(tenant_id, query_terms(query), ceiling=query.max_confidence)


def has_term(
    tenant_id: str, term: Term, asset: str = "d.asset_id", ceiling: float = FULL
) -> tuple[str, list[Any]]:
    """A clause true when the asset in column `asset` has the term at its threshold: one probe of the
    primary key."""
    below, cap = _below(ceiling, "t.confidence")
    clause = (
        f"EXISTS (SELECT 1 FROM terms t WHERE t.tenant_id = ? AND t.term = ? AND t.asset_id = {asset} "
        f"AND t.confidence >= ?{below})"
    )
    return clause, [tenant_id, *term, *cap]


def keyword_hits(tenant_id: str, query: SearchQuery, text: str) -> Sql:
    """The whole query as a label or parent name (text_label_terms: "animals" is Animal, and a synonym the
    tenant gave; under MEANING_MIN_CONFIDENCE scored WEAK_NAME_WEIGHT of its confidence), or its words
    (fts_match) in filenames, person names, image text and label names."""
    min_confidence = query.min_confidence
    below, cap = _below(query.max_confidence)
    terms = query.text_label_terms()
    sql = (
        "SELECT asset_id, CASE WHEN confidence >= ? THEN confidence ELSE confidence * ? END AS score, label, "
        "term AS via, confidence FROM terms "
        f"WHERE tenant_id = ? AND term IN ({','.join('?' * len(terms))}) AND confidence >= ?" + below
    )
    params: list[Any] = [MEANING_MIN_CONFIDENCE, WEAK_NAME_WEIGHT, tenant_id, *terms, min_confidence, *cap]
    words = fts_match(text)
    if words:
        sql += (
            " UNION ALL SELECT asset_id, ? AS score, NULL AS label, 'text' AS via, NULL AS confidence "
            "FROM docs_fts WHERE docs_fts MATCH ? AND tenant_id = ?"
        )
        params += [FILENAME_SCORE, words, tenant_id]
    return (
        f"SELECT asset_id, MAX(score) AS score, label, via, confidence FROM ({sql}) GROUP BY asset_id",
        params,
    )


def tone_hits(tenant_id: str, tone: str) -> Sql:
    """Every document of the tone a query named and said nothing else (catalog.domain.tone), as a match of
    its words: FILENAME_SCORE."""
    sql = (
        "SELECT asset_id, ? AS score, NULL AS label, 'text' AS via, NULL AS confidence FROM docs "
        "WHERE tenant_id = ? AND tone = ?"
    )
    return sql, [FILENAME_SCORE, tenant_id, tone]


def all_docs(tenant_id: str, min_confidence: float, among: Sql | None = None, ceiling: float = FULL) -> Sql:
    """Every document at its top confidence; `among` (asset IDs, e.g. one filter's): only those, looked
    up one by one instead of walking the whole tenant. Under a ceiling: every document with a label
    in [min_confidence, ceiling], at the best of those."""
    if ceiling < FULL:
        best = (
            "SELECT MAX(t.confidence) FROM terms t INDEXED BY terms_by_asset "
            "WHERE t.tenant_id = d.tenant_id AND t.asset_id = d.asset_id AND t.confidence <= ?"
        )
        columns = f"d.asset_id, ({best}) AS score, NULL AS label, NULL AS via, NULL AS confidence"
        source = "docs d WHERE d.tenant_id = ?"
        params: list[Any] = [ceiling, tenant_id]
        if among is not None:
            source = f"({among[0]}) a CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = a.asset_id"
            params = [ceiling, *among[1], tenant_id]
        return f"SELECT * FROM (SELECT {columns} FROM {source}) WHERE score >= ?", [*params, min_confidence]
    columns = "d.asset_id, d.top_confidence AS score, NULL AS label, NULL AS via, NULL AS confidence"
    if among is None:
        sql = f"SELECT {columns} FROM docs d WHERE d.tenant_id = ? AND d.top_confidence >= ?"
        return sql, [tenant_id, min_confidence]
    sql = (
        f"SELECT {columns} FROM ({among[0]}) a "
        "CROSS JOIN docs d ON d.tenant_id = ? AND d.asset_id = a.asset_id WHERE d.top_confidence >= ?"
    )
    return sql, [*among[1], tenant_id, min_confidence]


def with_term(tenant_id: str, term: Term, ceiling: float = FULL) -> Sql:
    """Assets with the term at its threshold."""
    below, cap = _below(ceiling)
    sql = "SELECT asset_id FROM terms WHERE tenant_id = ? AND term = ? AND confidence >= ?" + below
    return sql, [tenant_id, *term, *cap]


def with_persons(tenant_id: str, names: Sequence[str]) -> Sql:
    """Assets showing any of these persons (lower-cased names)."""
    return (
        "SELECT DISTINCT asset_id FROM doc_persons "
        f"WHERE tenant_id = ? AND person_lc IN ({','.join('?' * len(names))})",
        [tenant_id, *names],
    )


def with_phrase(tenant_id: str, phrase: str) -> Sql:
    """Assets whose image text has these words in this order (fts_phrase)."""
    sql = "SELECT asset_id FROM docs_fts WHERE docs_fts MATCH ? AND tenant_id = ?"
    return sql, [f"ocr : {phrase}", tenant_id]


def restrict(hits: Sql, by: Sql) -> Sql:
    """Rows of `hits` whose asset also appears in `by` (the filter restricts, the hits rank)."""
    sql = (
        f"SELECT t.asset_id, t.score, t.label, t.via, t.confidence FROM ({hits[0]}) t "
        f"JOIN ({by[0]}) f ON f.asset_id = t.asset_id"
    )
    return sql, hits[1] + by[1]


def filters(tenant_id: str, query: SearchQuery) -> Where:
    """WHERE clauses over `d` (the hit's row of docs) for the filters that only narrow."""
    clauses: list[str] = []
    params: list[Any] = []
    # Label and person filters probe each hit by primary key (an IN list would first gather every asset
    # having the name, however many fewer the hits are).
    for name in query.all_labels:  # each name, or one of its synonyms
        terms = {n.lower(): query.threshold(n) for n in query.any_of(name)}
        group = [has_term(tenant_id, term, ceiling=query.max_confidence) for term in terms.items()]
        clauses.append("(" + " OR ".join(c for c, _ in group) + ")")
        params += [p for _, more in group for p in more]
    for name in query.not_labels:
        clause, more = has_term(
            tenant_id, (name.lower(), query.threshold(name)), ceiling=query.max_confidence
        )
        clauses.append("NOT " + clause)
        params += more
    if query.media_types:
        clauses.append(f"d.media_type IN ({','.join('?' * len(query.media_types))})")
        params += list(query.media_types)
    for op, seconds in ((">=", query.min_duration), ("<=", query.max_duration)):
        if seconds is not None:
            clauses.append(f"d.duration {op} ?")  # NULL (an image) matches neither
            params.append(seconds)
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
    if query.tone:
        clauses.append("d.tone = ?")
        params.append(query.tone)
    if query.persons:
        names = [p.lower() for p in query.persons]
        clauses.append(
            "EXISTS (SELECT 1 FROM doc_persons p WHERE p.tenant_id = ? "
            f"AND p.person_lc IN ({','.join('?' * len(names))}) AND p.asset_id = d.asset_id)"
        )
        params += [tenant_id, *names]
    if query.phrase is not None:
        phrase = fts_phrase(query.phrase)
        if phrase is None:
            clauses.append("0")  # a phrase of no words matches nothing
        else:
            fts, more = with_phrase(tenant_id, phrase)
            clauses.append(f"d.asset_id IN ({fts})")
            params += more
    return clauses, params


# The sort key of each order, as an expression over h (hits) and d (docs); ties break on asset ID, descending.
SORT_KEYS = {
    SortOrder.RELEVANCE: "h.score",
    SortOrder.CONFIDENCE: "COALESCE(h.confidence, h.score)",
    SortOrder.CREATED: "d.created_at",
    SortOrder.CAPTURED: "COALESCE(d.captured_at, '')",  # no capture time sorts last in descending order
}
