"""The intersection path of the embedded search index: allLabels and notLabels, with or without any of
`labels`, moderation, media types and dates, without materialising every hit.

Each label condition is a set of assets: its terms' hits at their thresholds (`labels`: any of its names;
each allLabels or notLabels name: that one). The smallest positive set drives. It and the sets not much
larger are read as sorted ID arrays (`search_sets`) and combined in numpy; a far larger set is probed
per remaining candidate instead. That gives the assets matching every label condition, S, and the
driver's assets left out, R. Total and facets are the driver's counts (`search_topk.tallies`) less R's,
tallied one by one; or S's, when S is the smaller or a media type or date filter leaves the counts no
use. When hits are dense, the page walks an index in the sort order, probing each candidate
(`search_pages`); when they are sparse, S is small and the general path answers over S alone.

Without a positive set (notLabels alone), or with one far larger than the notLabels, only the notLabels'
sets are read: R is their assets inside the positive set (or inside every document).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np

from catalog.domain.cursor import SortKey
from catalog.domain.ports import SearchPage, SearchQuery, SortOrder
from catalog.sqlite.search import (
    counts as search_counts,
)
from catalog.sqlite.search import (
    facets as search_facets,
)
from catalog.sqlite.search import (
    matched as search_matched,
)
from catalog.sqlite.search import (
    pages as search_pages,
)
from catalog.sqlite.search import (
    sets as search_sets,
)
from catalog.sqlite.search import (
    sql as search_sql,
)
from catalog.sqlite.search.counts import Tallies
from catalog.sqlite.search.sql import Sql, Term, Where
from catalog.sqlite.search.topk import MAX_TERMS, tallies
from catalog.sqlite.search.vocab import Vocabulary

# Read a set (≈0.15 µs an asset) rather than probe it per candidate (≈1.5 µs) while it has at most this
# many times as many assets as there are candidates left.
READ_RATIO = 8


@dataclass(frozen=True)
class _Set:
    terms: tuple[Term, ...]  # an asset is in it with any of these
    size: int  # about how many assets are (from the counts)


# The SearchQuery fields this path answers (PAGE_FIELDS aside). A person or phrase may be the narrowest
# filter (the general path's call); dates, media types and moderation are checked per candidate.
HANDLES = frozenset(
    {
        "labels",
        "all_labels",
        "not_labels",
        "min_confidence",
        "label_confidence",
        "include_guesses",  # in each name's threshold (SearchQuery.threshold)
        "exclude_moderation",
        "media_types",
        "created_after",
        "created_before",
        "captured_after",
        "captured_before",
    }
)


def answers(query: SearchQuery) -> bool:
    """Whether this path answers the query (the fast path took the plain label queries before)."""
    names = [*query.labels, *query.all_labels, *query.not_labels]
    return (
        bool(query.all_labels or query.not_labels)
        and query.fields_set() <= HANDLES
        and len(query.labels) <= MAX_TERMS
        and all(name.lower() != search_counts.EVERY for name in names)
    )


def search(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
) -> SearchPage:
    def size(term: Term) -> int:
        return search_counts.documents(conn, tenant_id, *term)

    labels = search_sql.query_terms(query)
    positive = [_Set(tuple(ts), sum(map(size, ts))) for ts in _groups(query)]
    if labels:
        positive.append(_Set(tuple(labels), sum(map(size, labels))))
    positive.sort(key=lambda s: s.size)
    negative = [_Set((t,), size(t)) for t in _terms(query, query.not_labels)]
    subtract = _subtracts(query)
    if not positive or (
        len(positive) == 1 and subtract and positive[0].size > READ_RATIO * sum(s.size for s in negative)
    ):
        if subtract:
            return _from_counts(conn, vocab, tenant_id, query, after, positive, negative)
        return search_matched.search(conn, vocab, tenant_id, query, after)  # every document, filtered
    return _from_driver(conn, vocab, tenant_id, query, after, positive, negative, subtract)


def _from_driver(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    positive: list[_Set],
    negative: list[_Set],
    subtract: bool,
) -> SearchPage:
    """Driven by the smallest positive set, read whole."""
    sets = _combine(conn, tenant_id, positive, negative)
    if sets is None:  # IDs that do not cut apart: the general path
        return search_matched.search(conn, vocab, tenant_id, query, after)
    kept, dropped, whole = sets
    if not _walks(conn, tenant_id, query, len(kept), len(kept)):
        return _general_over(conn, vocab, tenant_id, query, after, kept)
    counts_whole = whole is not None and all(0 <= t <= 100 for _, t in whole.terms)
    if subtract and (counts_whole or len(dropped) < len(kept)):
        counted = tallies(conn, vocab, tenant_id, list(positive[0].terms), query)
        if whole is not None and counts_whole:
            less = tallies(conn, vocab, tenant_id, list(whole.terms), query)
        else:
            less = _tally(conn, vocab, tenant_id, dropped, _moderation(query), query)
        search_facets.add(counted, less, -1)
    else:
        counted = _tally(conn, vocab, tenant_id, kept, _doc_filters(tenant_id, query), query)
    facets = search_facets.finish(conn, tenant_id, counted)
    if facets.total and not _walks(conn, tenant_id, query, facets.total, len(kept)):  # filters left few
        return _general_over(conn, vocab, tenant_id, query, after, kept)
    return _walk(conn, tenant_id, query, after, facets)


def _combine(
    conn: sqlite3.Connection, tenant_id: str, positive: list[_Set], negative: list[_Set]
) -> tuple[np.ndarray, np.ndarray, _Set | None] | None:
    """The driver's assets in every other positive set and in no negative one; the rest of them; and
    the one negative set they are exactly, if so (its counts tally them). None: IDs do not cut apart."""
    every = search_sets.of_terms(conn, tenant_id, positive[0].terms)
    if every is None:
        return None
    keep = np.ones(len(every), dtype=bool)
    probes: Where = ([], [])
    whole = None
    others = [(s, True) for s in positive[1:]] + [(s, False) for s in negative]
    for other, wanted in sorted(others, key=lambda o: o[0].size):  # the smaller first: fewer left
        left = np.flatnonzero(keep)
        if other.size > READ_RATIO * len(left):
            clause, params = _any(tenant_id, other.terms, "h.asset_id")
            probes[0].append(clause if wanted else f"NOT {clause}")
            probes[1].extend(params)
        elif (ids := search_sets.of_terms(conn, tenant_id, other.terms)) is None:
            return None
        else:
            inside = search_sets.member(every if len(left) == len(every) else every[left], ids)
            keep[left[~inside if wanted else inside]] = False
            if not wanted and len(others) == 1 and np.count_nonzero(inside) == len(ids):
                whole = other  # all inside the driver: the rest of it is this set
    if probes[0] and keep.any():
        rows, params = search_sets.rows(every[keep])
        sql = f"SELECT h.asset_id FROM ({rows}) h WHERE {' AND '.join(probes[0])}"
        passed = search_sets.read(conn, sql, params + probes[1])
        if passed is None:
            return None
        keep &= search_sets.member(every, passed)
    return every[keep], every[~keep], whole


def _from_counts(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    positive: list[_Set],
    negative: list[_Set],
) -> SearchPage:
    """Every document, or one positive set far larger than the negative ones: its counts less those of
    the negative sets' assets inside it."""
    driver = list(positive[0].terms) if positive else []
    counted = tallies(conn, vocab, tenant_id, driver, query)
    excluded = [t for s in negative for t in s.terms]
    if not driver and all(query.min_confidence <= t <= 100 for _, t in excluded):
        # Each such asset's top confidence reaches min_confidence: all of them are inside, counted.
        search_facets.add(counted, tallies(conn, vocab, tenant_id, excluded, query), -1)
    else:
        found = search_sets.of_terms(conn, tenant_id, excluded)
        if found is None:
            return search_matched.search(conn, vocab, tenant_id, query, after)
        clauses, params = _moderation(query)
        if driver:
            clause, more = _any(tenant_id, tuple(driver), "d.asset_id")
            clauses, params = [*clauses, clause], [*params, *more]
        else:  # every document at its top confidence
            clauses, params = [*clauses, "d.top_confidence >= ?"], [*params, query.min_confidence]
        search_facets.add(counted, _tally(conn, vocab, tenant_id, found, (clauses, params), query), -1)
    facets = search_facets.finish(conn, tenant_id, counted)
    if not facets.total or _walks(conn, tenant_id, query, facets.total, facets.total):
        return _walk(conn, tenant_id, query, after, facets)
    if positive:  # few hits after all: read the positive set
        return _from_driver(conn, vocab, tenant_id, query, after, positive, negative, True)
    return search_matched.search(conn, vocab, tenant_id, query, after)


def _walk(
    conn: sqlite3.Connection,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    facets: search_facets.Facets,
) -> SearchPage:
    """The page from indexes in the sort order, each candidate probed for every filter."""
    labels = search_sql.query_terms(query)
    where = search_sql.filters(tenant_id, query)
    rows = (
        search_pages.page(conn, tenant_id, labels, query, after, facets.total, where) if facets.total else []
    )
    return search_facets.page(search_pages.hits(rows, query.first), len(rows) > query.first, facets)


def _general_over(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
    kept: np.ndarray,
) -> SearchPage:
    """The general path over the assets `kept` alone (every filter checked again on them)."""
    among = search_sets.rows(kept)
    labels = search_sql.query_terms(query)
    if labels:
        hits = search_sql.term_hits(tenant_id, labels, among)
    else:
        hits = search_sql.all_docs(tenant_id, query.min_confidence, among)
    where = search_sql.filters(tenant_id, query)
    return search_matched.answer(conn, vocab, tenant_id, hits, where, query, after)


def _walks(conn: sqlite3.Connection, tenant_id: str, query: SearchQuery, hits: int, sorting: int) -> bool:
    """Whether walking an index in the sort order finds a page of the hits in fewer steps than sorting
    `sorting` assets would take (assuming the hits are spread evenly over the walk)."""
    labels = search_sql.query_terms(query)
    if query.sort in (SortOrder.RELEVANCE, SortOrder.CONFIDENCE) and labels:
        walked = sum(search_counts.documents(conn, tenant_id, *t) for t in labels)
    else:
        walked = search_counts.documents(conn, tenant_id, search_counts.EVERY)
    return (query.first + 1) * walked < hits * sorting


def _tally(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    ids: np.ndarray,
    where: Where,
    query: SearchQuery,
) -> Tallies:
    """Facets of the assets `ids` that pass `where`, tallied one by one."""
    if not len(ids):
        return search_facets.empty()
    rows, params = search_sets.rows(ids)
    hits: Sql = (
        f"SELECT asset_id, NULL AS score, NULL AS label, NULL AS via, NULL AS confidence FROM ({rows})",
        params,
    )
    search_matched.materialise(conn, tenant_id, hits, where, query)
    return search_facets.tally_matched(conn, vocab)


def _terms(query: SearchQuery, names: tuple[str, ...]) -> list[Term]:
    """Each name as a term (lower-cased, once) at its threshold."""
    return list({name.lower(): query.threshold(name) for name in names}.items())


def _groups(query: SearchQuery) -> list[list[Term]]:
    """Each all_labels name as the terms that satisfy it (the name or a synonym), once per name."""
    names = dict.fromkeys(name.lower() for name in query.all_labels)
    return [_terms(query, query.any_of(name)) for name in names]


def _any(tenant_id: str, terms: tuple[Term, ...], asset: str) -> tuple[str, list[Any]]:
    """A clause true when the asset in column `asset` has any of the terms at its threshold."""
    clauses = [search_sql.has_term(tenant_id, term, asset) for term in terms]
    return "(" + " OR ".join(c for c, _ in clauses) + ")", [p for _, params in clauses for p in params]


def _moderation(query: SearchQuery) -> Where:
    return (["d.moderated = 0"], []) if query.exclude_moderation else ([], [])


def _doc_filters(tenant_id: str, query: SearchQuery) -> Where:
    """What S still needs checking in docs: media types, dates, moderation and, without `labels`, the
    top confidence."""
    clauses, params = search_sql.filters(tenant_id, dataclasses.replace(query, all_labels=(), not_labels=()))
    if not query.labels:
        clauses, params = [*clauses, "d.top_confidence >= ?"], [*params, query.min_confidence]
    return clauses, params


def _subtracts(query: SearchQuery) -> bool:
    """Whether the driver's counts less R give the facets exactly: thresholds the counts answer (0–100),
    no filter they cannot see but moderation, and without `labels` every hit's top confidence reaching
    min_confidence."""
    # A hit holds each all_labels name through one of its terms: its top confidence reaches at least the
    # lowest threshold of every group, so the highest of those lowest ones.
    own = [min(t for _, t in terms) for terms in _groups(query)]
    thresholds = [t for _, t in search_sql.query_terms(query)]
    thresholds += [t for terms in _groups(query) for _, t in terms]
    if not query.labels:
        thresholds.append(query.min_confidence)
    return (
        all(0 <= t <= 100 for t in thresholds)
        and not query.media_types
        and all(
            v is None
            for v in (query.created_after, query.created_before, query.captured_after, query.captured_before)
        )
        and (bool(query.labels) or not own or max(own) >= query.min_confidence)
    )
