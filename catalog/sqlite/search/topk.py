"""The fast path of the embedded search index: any of a few labels (synonyms) or none, each at its
threshold, maybe without moderated assets, in any order.

Total and facets come from the facet counts (`search_counts`) of the commonest label; the hits of the
other labels that lack it are tallied one by one. The page comes straight from indexes in the sort order
(`search_pages`): the hits are never materialised.
"""

from __future__ import annotations

import math
import sqlite3

from catalog.domain.cursor import SortKey
from catalog.domain.ports import SearchPage, SearchQuery
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
    sql as search_sql,
)
from catalog.sqlite.search.counts import Tallies
from catalog.sqlite.search.sql import Term
from catalog.sqlite.search.vocab import Vocabulary

MAX_TERMS = 8  # more label names (synonyms) than this: the general path


# The SearchQuery fields this path answers (PAGE_FIELDS aside); a query setting any other takes another path.
HANDLES = frozenset({"labels", "min_confidence", "label_confidence", "include_guesses", "exclude_moderation"})


def answers(query: SearchQuery) -> bool:
    """Whether the fast path answers this query (else the general path does)."""
    thresholds = [t for _, t in search_sql.query_terms(query)] or [query.min_confidence]
    return (
        query.fields_set() <= HANDLES
        and len(query.labels) <= MAX_TERMS
        and all(name.lower() != search_counts.EVERY for name in query.labels)
        and all(0 <= t <= 100 for t in thresholds)  # what the counts answer exactly
    )


def search(
    conn: sqlite3.Connection,
    vocab: Vocabulary,
    tenant_id: str,
    query: SearchQuery,
    after: tuple[SortKey, str] | None,
) -> SearchPage:
    terms = search_sql.query_terms(query)
    facets = search_facets.finish(conn, tenant_id, tallies(conn, vocab, tenant_id, terms, query))
    where = search_sql.filters(tenant_id, query)  # moderation alone, on this path
    rows = search_pages.page(conn, tenant_id, terms, query, after, facets.total, where)
    return search_facets.page(search_pages.hits(rows, query.first), len(rows) > query.first, facets)


def tallies(
    conn: sqlite3.Connection, vocab: Vocabulary, tenant_id: str, terms: list[Term], query: SearchQuery
) -> Tallies:
    """Facets of the hits of any of the terms (none: every document at query.min_confidence), maybe
    without moderated ones: the counts of the commonest term, plus the other terms' hits that lack it,
    tallied one by one (few, when the other names are rarer synonyms)."""
    if not terms:
        return _term_tallies(conn, vocab, tenant_id, (search_counts.EVERY, query.min_confidence), query)
    if len(terms) > 1:
        terms = sorted(terms, key=lambda t: -search_counts.documents(conn, tenant_id, *t))
    counted = _term_tallies(conn, vocab, tenant_id, terms[0], query)
    if len(terms) > 1:
        lacks, params = search_sql.has_term(tenant_id, terms[0])
        where = [f"NOT {lacks}", *_moderation(query)]
        search_matched.materialise(
            conn, tenant_id, search_sql.term_hits(tenant_id, terms[1:]), (where, params), query
        )
        search_facets.add(counted, search_facets.tally_matched(conn, vocab))
    return counted


def _term_tallies(
    conn: sqlite3.Connection, vocab: Vocabulary, tenant_id: str, term: Term, query: SearchQuery
) -> Tallies:
    """Facets of one term's hits from the counts. A fractional threshold: the counts from the nearer
    whole point, corrected by the hits between it and the threshold, tallied one by one."""
    name, threshold = term
    low, high = math.floor(threshold), math.ceil(threshold)
    below = threshold - low <= high - threshold
    tallies = search_counts.read(
        conn, tenant_id, name, low if below else high, exclude_moderated=query.exclude_moderation
    )
    if low < high:
        edge = (
            _between(tenant_id, name, low, threshold) if below else _between(tenant_id, name, threshold, high)
        )
        search_matched.materialise(conn, tenant_id, edge, (_moderation(query), []), query)
        search_facets.add(tallies, search_facets.tally_matched(conn, vocab), -1 if below else 1)
    return tallies


def _moderation(query: SearchQuery) -> list[str]:
    return ["d.moderated = 0"] if query.exclude_moderation else []


def _between(tenant_id: str, term: str, low: float, high: float) -> search_sql.Sql:
    """Hits (asset_id, score, label, via, confidence) with the term's confidence in [low, high)."""
    if term:
        return (
            "SELECT asset_id, confidence AS score, label, term AS via, confidence FROM terms "
            "WHERE tenant_id = ? AND term = ? AND confidence >= ? AND confidence < ?",
            [tenant_id, term, low, high],
        )
    return (
        "SELECT asset_id, top_confidence AS score, NULL AS label, NULL AS via, NULL AS confidence "
        "FROM docs WHERE tenant_id = ? AND top_confidence >= ? AND top_confidence < ?",
        [tenant_id, low, high],
    )
