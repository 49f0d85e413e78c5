"""The text path of the embedded search index: a free-text query (its words, and its meaning when embedded),
maybe narrowed by moderation, media types and dates, answered over the tenant's columns in memory
(`search_columns`).

It means what the general path (`search_matched`) means by such a query, hit for hit and score for score: the
whole query as a label or parent name (at min_confidence) or its words (as prefixes in filenames, persons and
image text, as whole words in label names: search_sql.fts_match; FILENAME_SCORE) — the better of the two per
asset — blended with the query's meaning (the nearest SEMANTIC_CANDIDATES vectors at or over its meaning_cut).
What costs there is reading: the term's rows (asset ID, confidence) in primary-key order and the words'
full-text rowids (of every tenant: each maps to a document through the columns, with no lookup of the
full-text table's own tenant column). Scores, filters, the page, the total and the facets are array
operations.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

import numpy as np

from catalog.domain.clock import to_db_time
from catalog.domain.cursor import SortKey, encode_cursor
from catalog.domain.metadata import MEANING_MIN_CONFIDENCE
from catalog.domain.ports import LabelMatch, SearchHit, SearchPage, SearchQuery, SortOrder
from catalog.domain.ranking import (
    FILENAME_SCORE,
    KEYWORD_WEIGHT,
    SEMANTIC_WEIGHT,
    WEAK_NAME_WEIGHT,
    meaning_cut,
)
from catalog.sqlite.search import columns as search_columns
from catalog.sqlite.search import facets as search_facets
from catalog.sqlite.search import sets as search_sets
from catalog.sqlite.search import sql as search_sql
from catalog.sqlite.search.columns import Columns
from catalog.sqlite.search.counts import CAPTURE_YEAR, MEDIA_TYPE, Tallies
from catalog.sqlite.search.matched import SEMANTIC_CANDIDATES
from catalog.sqlite.search.vocab import Vocabulary

# The SearchQuery fields this path answers (PAGE_FIELDS aside); any other takes the general path.
HANDLES = frozenset(
    {
        "text",
        "text_embedding",
        "min_confidence",
        "label_confidence",  # names no label of a text-only query: no effect
        "include_guesses",  # no label condition to widen: no effect (the text finds guesses by name)
        "exclude_moderation",
        "media_types",
        "created_after",
        "created_before",
        "captured_after",
        "captured_before",
        "tone",
    }
)


def answers(query: SearchQuery) -> bool:
    return bool((query.text or "").strip() or query.tone) and query.fields_set() <= HANDLES


class _Scored:
    """Every document's part in the result, by position (NaN / False: not a hit that way)."""

    def __init__(self, size: int) -> None:
        self.score = np.full(size, np.nan)
        self.confidence = np.full(size, np.nan)  # the term's confidence, where it set the keyword score
        self.similarity = np.full(size, np.nan)  # where the meaning added to the score
        self.words = np.zeros(size, dtype=bool)  # where the words, not a label, set the keyword score
        self.hit = np.zeros(size, dtype=bool)


def search(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    *,
    cache: search_columns.Cache,
) -> SearchPage:
    # One read transaction (SqliteDb.read): the columns, the term's rows and the words' rowids agree.
    return _search(conn, vocab, cache.get(conn, tenant_id), tenant_id, query, after)


def _search(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    cols: Columns,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
) -> SearchPage:
    text = (query.text or "").strip()
    if text:
        scored = _keyword(conn, cols, tenant_id, query, text)
    else:  # the query named a tone and nothing else: its words match every document (_passes: the tone's)
        scored = _Scored(len(cols))
        scored.score[:] = FILENAME_SCORE
        scored.words[:] = True
        scored.hit[:] = True
    if text and query.text_embedding:
        _blend_meaning(cols, scored, query.text_embedding)
    rows = np.flatnonzero(scored.hit & _passes(cols, query))
    keys = _sort_keys(cols, scored, query.sort)
    page = _page(cols, rows, keys[rows], after, query.first + 1)
    facets = search_facets.finish(conn, tenant_id, _tally(conn, vocab, cols, rows))
    terms = query.text_label_terms()
    labels = _labels(conn, cols, tenant_id, terms, page[~np.isnan(scored.confidence[page])])
    hits = tuple(
        SearchHit(
            asset_id=cols.ids[p].decode(),
            score=float(scored.score[p]),
            matches=(LabelMatch(labels[p][0], float(scored.confidence[p]), labels[p][1]),)
            if p in labels
            else (),
            cursor=encode_cursor(_key(keys[p]), cols.ids[p].decode()),
            meaning=None if np.isnan(scored.similarity[p]) else round(float(scored.similarity[p]), 4),
            text_match=bool(scored.words[p]),
        )
        for p in page[: query.first].tolist()
    )
    return search_facets.page(hits, len(page) > query.first, facets)


def _keyword(
    conn: sqlite3.Connection, cols: Columns, tenant_id: str, query: SearchQuery, text: str
) -> _Scored:
    """The keyword hits: the term's confidence (WEAK_NAME_WEIGHT of it under MEANING_MIN_CONFIDENCE), or
    FILENAME_SCORE for the words, whichever is higher (the label explains a tie). What is read is remembered
    with the columns: the next page asks for it again."""
    scored = _Scored(len(cols))
    words = search_sql.fts_match(text)
    if words:
        at = cols.remember(("words", words), lambda: _word_hits(conn, cols, words))
        scored.score[at] = FILENAME_SCORE
        scored.words[at] = True
        scored.hit[at] = True
    at, confidence = _terms_hits(conn, cols, tenant_id, query.text_label_terms(), query.min_confidence)
    score = np.where(confidence >= MEANING_MIN_CONFIDENCE, confidence, confidence * WEAK_NAME_WEIGHT)
    wins = ~(scored.score[at] > score)  # NaN (no word hit) compares False: the term wins
    scored.score[at[wins]] = score[wins]
    scored.confidence[at[wins]] = confidence[wins]
    scored.words[at[wins]] = False
    scored.hit[at] = True
    return scored


def _word_hits(conn: sqlite3.Connection, cols: Columns, words: str) -> np.ndarray:
    """Positions of the documents with these words (an fts_match query) in filename, persons, image text or
    label names."""
    (found,) = conn.execute(
        "SELECT group_concat(rowid, ' ') FROM docs_fts WHERE docs_fts MATCH ?", (words,)
    ).fetchone()
    return cols.of_fts(np.fromstring(found or "", dtype=np.int64, sep=" "))


def _terms_hits(
    conn: sqlite3.Connection, cols: Columns, tenant_id: str, terms: tuple[str, ...], least: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the documents with any of the terms (label_terms) at `least` or more, each once, at
    the best confidence it has through them."""

    def hits(term: str) -> tuple[np.ndarray, np.ndarray]:
        return cols.remember(("term", term, least), lambda: _term_hits(conn, cols, tenant_id, term, least))

    found = [hits(t) for t in terms]
    if len(found) == 1:
        return found[0]
    at = np.concatenate([a for a, _ in found])
    confidence = np.concatenate([c for _, c in found])
    order = np.lexsort((-confidence, at))  # by position, the best confidence first
    at, confidence = at[order], confidence[order]
    first = np.r_[True, at[1:] != at[:-1]] if at.size else np.zeros(0, dtype=bool)
    return at[first], confidence[first]


def _term_hits(
    conn: sqlite3.Connection, cols: Columns, tenant_id: str, term: str, least: float
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the documents with the term at `least` or more, and its confidence in each."""
    # Its rows in asset-ID order (`+`: the primary key's range, not the ranked index): the IDs as one
    # blob, then the confidences alone, as plain tuples (Python objects per row are what reading them
    # costs; a sqlite3.Row each doubles it).
    where = "FROM terms WHERE tenant_id = ? AND term = ? AND +confidence >= ? AND asset_id >= ''"
    where += " ORDER BY asset_id"
    params = (tenant_id, term, least)
    ids = search_sets.read(conn, f"SELECT asset_id {where}", params)
    plain = conn.cursor()
    plain.row_factory = None
    confidences = plain.execute(f"SELECT confidence {where}", params).fetchall()
    if ids is None or len(ids) != len(confidences):  # IDs that do not cut apart: one row at a time
        rows = plain.execute(f"SELECT asset_id, confidence {where}", params).fetchall()
        ids = np.array([r[0].encode() for r in rows], dtype=bytes)
        confidences = [(r[1],) for r in rows]
    at = cols.positions(ids)
    confidence = np.fromiter((r[0] for r in confidences), dtype=np.float64, count=len(confidences))
    return at[at >= 0], confidence[at >= 0]


def _blend_meaning(cols: Columns, scored: _Scored, embedding: tuple[float, ...]) -> None:
    """Keyword scores weighed down, plus the meaning of the nearest vectors at or over the query's cut (the
    columns hold every vector of the tenant's partition: its best sets the cut), rounded as the general path
    rounds them, so that both give the same scores and cursors."""
    scored.score[scored.hit] *= KEYWORD_WEIGHT
    query = np.asarray(embedding, dtype=np.float32)
    if not len(cols.vector_rows) or cols.vectors.shape[1] != query.shape[0]:
        return
    similarity = cols.vectors @ query
    cut = meaning_cut(float(similarity.max()))
    for i in _nearest(similarity, SEMANTIC_CANDIDATES).tolist():
        if similarity[i] < cut:
            break
        p = int(cols.vector_rows[i])
        base = float(scored.score[p]) if scored.hit[p] else 0.0
        scored.score[p] = round(base + SEMANTIC_WEIGHT * 100 * float(similarity[i]), 4)
        scored.similarity[p] = float(similarity[i])
        scored.hit[p] = True


def _nearest(similarity: np.ndarray, k: int) -> np.ndarray:
    """The first k of np.argsort(-similarity, kind="stable") without sorting them all: the k largest and
    every one tied with the k-th (in position order), sorted."""
    if len(similarity) > k:
        kth = np.partition(similarity, len(similarity) - k)[len(similarity) - k]
        near = np.flatnonzero(similarity >= kth)
    else:
        near = np.arange(len(similarity))
    return near[np.argsort(-similarity[near], kind="stable")][:k]


def _passes(cols: Columns, query: SearchQuery) -> np.ndarray:
    """Which documents pass the filters that only narrow (moderation, tone, media types, dates)."""
    keep = np.ones(len(cols), dtype=bool)
    if query.exclude_moderation:
        keep &= ~cols.moderated
    if query.tone:
        keep &= np.isin(cols.tone, [i for i, t in enumerate(cols.tones) if t == query.tone])
    if query.media_types:
        codes = [i for i, m in enumerate(cols.media_types) if m in set(query.media_types)]
        keep &= np.isin(cols.media, codes)
    dated = cols.captured != ""  # no capture time: outside every capture range
    for column, after, before, known in (
        (cols.created, query.created_after, query.created_before, True),
        (cols.captured, query.captured_after, query.captured_before, dated),
    ):
        if after is not None:
            keep &= known & (column >= to_db_time(after))
        if before is not None:
            keep &= known & (column < to_db_time(before))
    return keep


def _sort_keys(cols: Columns, scored: _Scored, order: SortOrder) -> np.ndarray:
    """search_sql.SORT_KEYS, by position."""
    if order is SortOrder.CREATED:
        return cols.created
    if order is SortOrder.CAPTURED:
        return cols.captured
    if order is SortOrder.CONFIDENCE:  # the matched label's own confidence, else the score
        return np.where(np.isnan(scored.confidence), scored.score, scored.confidence)
    return scored.score


def _page(
    cols: Columns, rows: np.ndarray, keys: np.ndarray, after: tuple[SortKey, str] | None, limit: int
) -> np.ndarray:
    """Up to `limit` of the rows after the cursor, by key then asset ID, both descending."""
    if after is not None:
        key, asset_id = after
        text_keys = keys.dtype.kind == "U"
        if isinstance(key, str) != text_keys:  # SQLite: every number sorts before every text
            below = np.full(len(rows), not text_keys)
        else:
            below = (keys < key) | ((keys == key) & (cols.ids[rows] < asset_id.encode()))
        rows, keys = rows[below], keys[below]
    order = np.lexsort((cols.ids[rows], keys))[::-1]
    return rows[order[:limit]]


def _key(value: object) -> SortKey:
    return str(value) if isinstance(value, str) else float(value)  # type: ignore[arg-type]


def _labels(
    conn: sqlite3.Connection, cols: Columns, tenant_id: str, terms: tuple[str, ...], rows: np.ndarray
) -> dict[int, tuple[str, str]]:
    """The label that matched and the term it matched as, of each of these hits (a page's, where the term
    set the score)."""
    if not len(rows):
        return {}
    ids = [cols.ids[p].decode() for p in rows.tolist()]
    found: dict[str, tuple[str, str]] = {}
    named = ",".join("?" * len(terms))
    for asset_id, label, term in conn.execute(  # the best confidence's last, as the general path's MAX picks
        f"SELECT asset_id, label, term FROM terms WHERE tenant_id = ? AND term IN ({named}) "
        f"AND asset_id IN ({','.join('?' * len(ids))}) ORDER BY confidence",
        (tenant_id, *terms, *ids),
    ).fetchall():
        found[asset_id] = (label, term)
    return {p: found[a] for p, a in zip(rows.tolist(), ids, strict=True) if a in found}


def _tally(conn: sqlite3.Connection, vocab: Vocabulary, cols: Columns, rows: np.ndarray) -> Tallies:
    """The facet values of the hits at these positions."""
    tallies = search_facets.empty()
    media = np.bincount(cols.media[rows], minlength=len(cols.media_types))
    tallies[MEDIA_TYPE] = Counter(
        {m: int(n) for m, n in zip(cols.media_types, media.tolist(), strict=True) if n}
    )
    captured = cols.captured[rows]
    years, counts = np.unique(captured[captured != ""].astype("U4"), return_counts=True)
    tallies[CAPTURE_YEAR] = Counter(dict(zip(years.tolist(), counts.tolist(), strict=True)))
    values = cols.facet_values_of(rows)
    if len(values):
        counts = np.bincount(values)
        for i, (facet, value) in vocab.values(conn, np.flatnonzero(counts).tolist()).items():
            tallies[facet][value] += int(counts[i])
    return tallies
